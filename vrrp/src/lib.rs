//! VRRPv3 (RFC 5798): moves a virtual IP address between FerroLB router VMs.
//!
//! - [`packet`]: the ADVERTISEMENT codec with the RFC's receive checks (pure, fuzzed);
//! - [`machine`]: the Initialize / Backup / Master state machine (pure, time passed in);
//! - [`Instance`]: the tokio driver: a raw IP socket (protocol 112) on one interface, the
//!   multicast group 224.0.0.18 or unicast peers, the virtual addresses added to and removed
//!   from the interface with rtnetlink, and gratuitous ARP (built by `ferrolb-l2`) on takeover.
//!
//! The driver serves IPv4; the codec and state machine also handle IPv6.
#![warn(missing_docs)]

mod announce;
pub mod checksum;
mod config;
mod driver;
mod error;
pub mod machine;
mod netlink;
pub mod packet;
mod socket;

pub use config::InstanceConfig;
pub use driver::{Instance, Status};
pub use error::VrrpError;
pub use machine::{State, VirtualRouter};
