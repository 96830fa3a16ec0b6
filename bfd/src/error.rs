//! Errors of the BFD library.

use thiserror::Error;

/// What can go wrong in FerroLB's BFD.
#[derive(Debug, Error)]
pub enum BfdError {
    /// Session parameters RFC 5880 does not allow.
    #[error("invalid BFD session parameters: {0}")]
    InvalidParams(String),
    /// A socket or thread operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The driver thread has ended (shut down or panicked).
    #[error("the BFD driver has stopped")]
    DriverGone,
}

impl BfdError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> BfdError {
        BfdError::Io {
            context: context.into(),
            source,
        }
    }
}
