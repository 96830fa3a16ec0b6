//! Errors of the VRRP driver.

use std::io;

/// Why a VRRP instance could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The interface is missing or has no usable address.
    #[error("interface {interface}: {reason}")]
    Interface {
        /// The interface name.
        interface: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A socket could not be opened or used.
    #[error("{what}: {source}")]
    Socket {
        /// Which socket operation failed.
        what: &'static str,
        /// The system error.
        source: io::Error,
    },
    /// An rtnetlink request failed.
    #[error("netlink: {0}")]
    Netlink(String),
}

impl VrrpError {
    /// Wraps a socket error with what was being done.
    pub(crate) fn socket(what: &'static str) -> impl FnOnce(io::Error) -> VrrpError {
        move |source| VrrpError::Socket { what, source }
    }
}
