//! Errors starting the membership group.

use std::net::SocketAddr;

/// Why [`crate::Membership::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// The configuration is unusable; the message says which setting.
    #[error("invalid membership configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("binding UDP {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}
