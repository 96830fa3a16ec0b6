//! FerroLB's BGP implementation: wire codec, session state machine, RIB and a tokio driver.
//!
//! Layers, from the bottom up:
//! - [`types`], [`attribute`], [`message`]: BGP as plain data.
//! - `codec`: bytes to messages and back (no I/O), with RFC 4271 / RFC 7606 error handling.
//! - `fsm`: the RFC 4271 section 8 session state machine as a pure function (events in, actions out).
//! - `rib`: Adj-RIB-In, Loc-RIB with best path and multipath, Adj-RIB-Out, policy, change stream.
//! - `session`: the tokio driver running the FSM over TCP (MD5, GTSM, collisions, dynamic neighbours).
#![warn(missing_docs)]

pub mod attribute;
pub mod codec;
pub mod fsm;
pub mod instance;
pub mod message;
pub mod rib;
pub mod session;
pub mod types;

pub use attribute::{
    AsPath, AsSegment, Community, LargeCommunity, NextHop, Origin, PathAttributes,
};
pub use message::{Capability, IgnoredRouteRefresh, Message, Notification, Open, Update};
pub use types::{AddressFamily, Afi, Asn, RouterId};
