//! FerroLB BFD: Bidirectional Forwarding Detection in asynchronous mode (RFC 5880) over UDP,
//! single-hop (RFC 5881) and multihop (RFC 5883), for clients such as BGP (RFC 5882).
//!
//! - [`packet`]: the Control packet codec and its reception checks (pure).
//! - [`session`]: one session's state machine, events in and actions out (pure).
//! - [`timers`]: transmission intervals with jitter and detection times (pure).
//! - [`driver`]: the sockets and timers, on a thread of their own, and the client API
//!   ([`BfdDriver`], [`SessionHandle`]).
//!
//! A client such as a BGP session starts one driver per process (in the network namespace the
//! sessions live in), adds a session per peer and acts when the status reports a failure:
//!
//! ```no_run
//! use std::time::Duration;
//! use ferrolb_bfd::{BfdDriver, DriverConfig, SessionKey, SessionParams};
//!
//! # async fn example() -> Result<(), ferrolb_bfd::BfdError> {
//! let driver = BfdDriver::start(DriverConfig::default())?;
//! let key = SessionKey::single_hop("192.0.2.2".parse().unwrap(), "192.0.2.1".parse().unwrap())
//!     .on_interface("eth0");
//! let session = driver.add_session(key, SessionParams::new(Duration::from_millis(50), 3))?;
//! let mut failures = session.failures();
//! while let Some(status) = failures.next().await {
//!     // RFC 5882: the forwarding path failed (Up to Down, not an AdminDown); bring the BGP
//!     // session down now.
//!     println!("BFD failed: {:?}", status.diag);
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod driver;
pub mod error;
pub mod packet;
pub mod session;
pub mod timers;

pub use driver::{BfdDriver, DriverConfig, Failures, HopMode, SessionHandle, SessionKey};
pub use error::BfdError;
pub use packet::{ControlPacket, Diag, State};
pub use session::{SessionParams, SessionStatus};
