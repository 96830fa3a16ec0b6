//! Errors of the session driver.

use std::io;
use std::net::{IpAddr, SocketAddr};

use super::md5::Md5Error;

/// What can go wrong setting up or talking to a peer.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The peer configuration is unusable.
    #[error("invalid peer configuration: {0}")]
    InvalidConfig(String),
    /// The TCP MD5 signature key could not be installed.
    #[error(transparent)]
    Md5(#[from] Md5Error),
    /// A listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// A socket option could not be set.
    #[error("cannot set {option}: {source}")]
    SocketOption {
        /// The option.
        option: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The listener already has a peer (or dynamic range) for this address.
    #[error("the listener already serves peer {0}")]
    DuplicatePeer(IpAddr),
    /// The peer task has ended; the command was not delivered.
    #[error("the peer task has ended")]
    PeerGone,
}
