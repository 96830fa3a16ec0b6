//! FerroLB L2 announcements: answers ARP requests (IPv4) and Neighbor Solicitations (IPv6) for
//! the service IPs this node owns, and announces takeovers with gratuitous ARP / unsolicited
//! Neighbor Advertisements.
//!
//! The speaker decides which IPs this node owns and calls [`L2Announcer::set_owned`]; this
//! crate does the rest:
//! - one `AF_PACKET` socket per eligible interface ([`InterfacePolicy`]), with a classic BPF
//!   filter so the kernel queues only received ARP requests and Neighbor Solicitations;
//! - answers with the receiving interface's MAC; joins the solicited-node multicast group of
//!   each owned IPv6 address;
//! - newly owned IPs are announced `gratuitous_count` times, and all of them again every
//!   `refresh_interval`;
//! - the link table is re-read every `link_poll_interval` to follow interfaces coming and going.
//!
//! The node's kernel must not answer for the same IPs: keep service IPs off the answering
//! interfaces, or, when they sit on `lo` so the node accepts their traffic, set
//! `net.ipv4.conf.all.arp_ignore=1` (Linux answers NDP only for addresses on the receiving
//! interface anyway).
//!
//! Frame parsing and building ([`packet`]) and interface eligibility ([`policy`]) are pure.
#![warn(missing_docs)]

mod announcer;
mod bpf;
mod config;
mod error;
mod interface;
pub mod mac;
pub mod netlink;
pub mod packet;
pub mod policy;
mod responder;
mod socket;
mod stats;

pub use announcer::L2Announcer;
pub use config::L2Config;
pub use error::L2Error;
pub use mac::MacAddr;
pub use packet::{parse_frame, ParseError, Request};
pub use policy::{Eligibility, InterfacePolicy, LinkFacts, LinkKind};
pub use stats::{InterfaceStats, L2Stats};
