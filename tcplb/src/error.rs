//! Errors of the load balancer.

use std::net::SocketAddr;

/// What can go wrong applying a configuration or an admin request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listen socket could not be opened.
    #[error("cannot listen on {address} for frontend {frontend:?}: {source}")]
    Listen {
        /// The frontend.
        frontend: String,
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS settings of a health check are unusable.
    #[error("health check TLS: {0}")]
    Tls(String),
    /// No frontend of that name.
    #[error("no frontend {0:?}")]
    NoFrontend(String),
    /// No backend of that address in the frontend.
    #[error("frontend {frontend:?} has no backend {backend}")]
    NoBackend {
        /// The frontend.
        frontend: String,
        /// The backend address asked for.
        backend: SocketAddr,
    },
    /// Several frontends failed; each error in turn.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<Error>),
}
