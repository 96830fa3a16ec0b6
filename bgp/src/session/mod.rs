//! The tokio driver that runs sessions over TCP: connections, timers, MD5, GTSM, listener.
//!
//! Each peer is a task running the [`fsm`](crate::fsm) state machine: it connects out (from a
//! chosen source address, with a connect timeout and ConnectRetry backoff), takes the
//! connections a [`Listener`] accepted from its address, keeps the hold and keepalive timers,
//! resolves connection collisions and reports what happens as [`SessionEvent`]s. The
//! application talks to it through a [`PeerHandle`].
//!
//! Socket options: TCP MD5 signatures ([`md5`]), GTSM or eBGP multihop TTL ([`TtlMode`]),
//! TCP_NODELAY and DSCP CS6 on every session socket.
//!
//! # Example
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use ferrolb_bgp::session::{spawn_peer, Listener, PeerConfig, SessionEvent};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = Listener::bind(&["0.0.0.0:179".parse()?])?;
//! let mut config = PeerConfig::new("192.0.2.1".parse()?, 65001, 65002, Ipv4Addr::new(192, 0, 2, 10));
//! config.local_address = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)));
//! config.md5_password = Some("s3cret".into());
//! config.session.hold_time = 9;
//! let mut peer = spawn_peer(config, Some(&listener))?;
//! peer.start().await?;
//! while let Some(event) = peer.next_event().await {
//!     match event {
//!         SessionEvent::Established { negotiated, .. } => {
//!             // Send the table, then End-of-RIB per family.
//!             for family in &negotiated.families {
//!                 peer.send_end_of_rib(*family).await?;
//!             }
//!         }
//!         SessionEvent::Update(update) => println!("{} routes", update.announced().count()),
//!         SessionEvent::Down(down) => println!("down: {}", down.reason),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod connection;
mod error;
mod handle;
mod listener;
pub mod md5;
mod peer;
mod slot;
mod socket;
mod task;
mod timers;

pub use config::{PeerConfig, TtlMode, BGP_PORT};
pub use error::SessionError;
pub use handle::{PeerControl, PeerHandle, SessionEvent};
pub use listener::{DynamicNeighbors, Listener};
pub use peer::spawn_peer;
pub use socket::{GTSM_TTL, TOS_CS6};

// The session types applications need alongside the driver.
pub use crate::fsm::{
    DownReason, GracefulRestartConfig, Negotiated, PeerAsn, SessionConfig, SessionDown, State,
};
