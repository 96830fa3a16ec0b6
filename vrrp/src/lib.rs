//! VRRPv3 (RFC 5798): moves a virtual IP address between FerroLB router VMs.
//!
//! - [`packet`]: the ADVERTISEMENT codec with the RFC's receive checks (pure, fuzzed);
//! - [`machine`]: the Initialize / Backup / Master state machine (pure, time passed in);
//! - [`Instance`]: the tokio driver: a raw IP socket (protocol 112) on one interface, the
//!   multicast group 224.0.0.18 / ff02::12 or unicast peers, the virtual addresses added to
//!   and removed from the interface with rtnetlink (IPv6 without duplicate address
//!   detection), and gratuitous ARP / unsolicited Neighbor Advertisements (built by
//!   `ferrolb-l2`) on takeover; optionally (IPv4) from the virtual MAC on a macvlan child of
//!   the interface ([`virtual_mac`]). Priority, preemption and timers change in place
//!   ([`Instance::reconfigure`]).
//!
//! IPv4 and IPv6 virtual routers are separate instances (RFC 5798 1); an IPv6 one
//! advertises from the interface's link-local address.
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
mod status;
mod vmac;

pub use config::InstanceConfig;
pub use driver::Instance;
pub use error::VrrpError;
pub use ferrolb_l2::MacAddr;
pub use machine::{State, VirtualRouter};
pub use status::Status;
pub use vmac::virtual_mac;
