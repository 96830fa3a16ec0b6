//! The RFC 4271 section 8 session state machine, as a pure function from events to actions.
//!
//! [`Fsm`] owns no socket and reads no clock. The driver (see `session`) feeds it [`Event`]s —
//! messages read from the connection, connection results, operator commands and timer expiries —
//! and carries out the [`Action`]s it returns: connect, send, close, start or stop a [`Timer`],
//! report the session [`Action::Established`] or [`Action::Down`], hand UPDATEs to the RIB.
//!
//! [`open_check`] validates the peer's OPEN and computes the [`Negotiated`] parameters;
//! [`collision`] decides which of two simultaneous connections survives.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use ferrolb_bgp::fsm::{Action, Event, Fsm, PeerAsn, SessionConfig, State};
//!
//! let config = SessionConfig::new(65001, PeerAsn::Exact(65002), Ipv4Addr::new(10, 0, 0, 1));
//! let mut fsm = Fsm::new(config, 7);
//! let actions = fsm.handle(Event::ManualStart { passive: false });
//! assert_eq!(fsm.state(), State::Connect);
//! assert!(actions.contains(&Action::Connect));
//! let actions = fsm.handle(Event::TcpConnectionAcknowledged);
//! assert_eq!(fsm.state(), State::OpenSent);
//! assert!(actions.iter().any(|a| matches!(a, Action::SendOpen(_))));
//! ```

mod action;
mod backoff;
pub mod collision;
mod config;
mod event;
mod machine;
mod negotiated;
pub mod open_check;
mod state;

pub use action::{Action, DownReason, SessionDown, Timer};
pub use backoff::{Backoff, Jitter};
pub use config::{GracefulRestartConfig, PeerAsn, SessionConfig};
pub use event::Event;
pub use machine::Fsm;
pub use negotiated::{Negotiated, PeerGracefulRestart};
pub use state::State;
