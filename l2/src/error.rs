//! Errors of the L2 announcer.

use crate::netlink::NetlinkError;

/// Why the announcer could not start.
#[derive(Debug, thiserror::Error)]
pub enum L2Error {
    /// Packet sockets cannot be opened (the process lacks CAP_NET_RAW).
    #[error("opening a packet socket (needs CAP_NET_RAW): {0}")]
    PacketSocket(std::io::Error),
    /// The interface list cannot be read.
    #[error("listing interfaces: {0}")]
    Links(#[from] NetlinkError),
    /// A configuration value is out of range.
    #[error("invalid L2 configuration: {0}")]
    Config(String),
}
