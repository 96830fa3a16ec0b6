//! FerroLB speaker membership: which speakers are alive, detected in well under a second.
//!
//! Speakers form a SWIM group (the `foca` implementation) over UDP. Every datagram travels in an
//! HMAC-SHA256 envelope keyed by a shared secret, with a timestamp and nonce against replays
//! ([`envelope`]). Kubernetes supplies the expected members ([`Membership::set_expected`]):
//! they are the seeds to join and the denominator of the quorum that keeps a partitioned
//! minority from answering for L2 IPs. Choosing an owner for each IP among the alive members is
//! the speaker's job; this crate only reports liveness ([`MemberView`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferrolb_membership::MembershipError> {
//! use ferrolb_membership::{Membership, MembershipConfig};
//! let addr = "192.0.2.10:7946".parse().unwrap();
//! let member = Membership::start(MembershipConfig::new("node-a", addr, addr, vec![0; 32])).await?;
//! member.set_expected([("node-a".to_owned(), addr)].into());
//! let mut view = member.view();
//! while view.changed().await.is_ok() {
//!     let now = view.borrow_and_update().clone();
//!     println!("alive: {:?}, quorum: {}", now.alive, now.has_quorum);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod config;
pub mod envelope;
mod error;
mod identity;
mod membership;
mod metrics;
mod runtime;
mod view;

pub use config::{MembershipConfig, DEFAULT_PORT};
pub use error::MembershipError;
pub use membership::Membership;
pub use metrics::MembershipStats;
pub use view::MemberView;
