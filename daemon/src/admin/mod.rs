//! The admin HTTP server: `/metrics`, `/healthz`, `/readyz`, plus whatever
//! routes a daemon merges in.
//!
//! It listens on loopback TCP by default, or on a unix socket, and stops
//! gracefully when the process [`Shutdown`] fires.

mod addr;
mod readiness;

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;

pub use addr::{AdminAddr, AdminAddrParseError, UNIX_PREFIX};
pub use readiness::{Readiness, ReadyState};

use crate::metrics::{MetricsRegistry, OPENMETRICS_CONTENT_TYPE};
use crate::shutdown::Shutdown;

/// Message logged (with an `addr` field) once the admin server is bound.
pub const LISTENING_MESSAGE: &str = "admin server listening";

/// Why the admin server failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The requested address.
        addr: AdminAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Something other than a stale socket of ours occupies the unix socket path.
    #[error("cannot listen on {addr}: {reason}")]
    PathInUse {
        /// The requested address.
        addr: AdminAddr,
        /// What is in the way.
        reason: &'static str,
    },
    /// Serving connections failed.
    #[error("admin server failed")]
    Serve(#[source] io::Error),
    /// The server task panicked or was aborted.
    #[error("admin server task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

/// The admin server, before it is started.
pub struct AdminServer {
    router: Router,
}

impl AdminServer {
    /// Builds the standard endpoints over `metrics` and `readiness`.
    pub fn new(metrics: MetricsRegistry, readiness: Readiness) -> Self {
        let router = Router::new()
            .route("/metrics", get(serve_metrics).with_state(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(serve_readiness).with_state(readiness));
        Self { router }
    }

    /// Adds a daemon's own routes (e.g. the router's JSON API).
    ///
    /// # Panics
    ///
    /// If `routes` defines `/metrics`, `/healthz` or `/readyz` (a programming
    /// error, caught by any test that starts the daemon).
    pub fn merge(self, routes: Router) -> Self {
        Self {
            router: self.router.merge(routes),
        }
    }

    /// Binds `addr`, logs [`LISTENING_MESSAGE`] with the bound address and
    /// serves in a background task until `shutdown` fires.
    ///
    /// A unix socket left behind by a previous run is replaced; one that
    /// another process still accepts on is not. The socket file is removed
    /// when the server stops.
    pub async fn start(
        self,
        addr: &AdminAddr,
        shutdown: Shutdown,
    ) -> Result<RunningAdminServer, AdminError> {
        let bind_error = |source| AdminError::Bind {
            addr: addr.clone(),
            source,
        };
        let (local_addr, task) = match addr {
            AdminAddr::Tcp(socket_addr) => {
                let listener = TcpListener::bind(socket_addr).await.map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                let task = tokio::spawn(serve(listener, self.router, shutdown, None));
                (AdminAddr::Tcp(local), task)
            }
            AdminAddr::Unix(path) => {
                remove_stale_socket(addr, path)?;
                let listener = UnixListener::bind(path).map_err(bind_error)?;
                let task = tokio::spawn(serve(listener, self.router, shutdown, Some(path.clone())));
                (addr.clone(), task)
            }
        };
        tracing::info!(addr = %local_addr, "{LISTENING_MESSAGE}");
        Ok(RunningAdminServer { local_addr, task })
    }
}

/// A started admin server.
#[derive(Debug)]
pub struct RunningAdminServer {
    local_addr: AdminAddr,
    task: JoinHandle<Result<(), AdminError>>,
}

impl RunningAdminServer {
    /// The bound address (with the actual port when port 0 was requested).
    pub fn local_addr(&self) -> &AdminAddr {
        &self.local_addr
    }

    /// Waits for the server to stop (after shutdown fired and open requests
    /// finished).
    pub async fn join(self) -> Result<(), AdminError> {
        self.task.await?
    }
}

async fn serve<L>(
    listener: L,
    router: Router,
    shutdown: Shutdown,
    socket_path: Option<PathBuf>,
) -> Result<(), AdminError>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
        .map_err(AdminError::Serve);
    if let Some(path) = socket_path {
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), %error, "cannot remove admin socket");
        }
    }
    tracing::debug!("admin server stopped");
    served
}

/// Removes a unix socket file nobody accepts on any more, so a restart after
/// a crash can bind again. Anything else at `path` is left alone.
fn remove_stale_socket(addr: &AdminAddr, path: &Path) -> Result<(), AdminError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(AdminError::Bind {
                addr: addr.clone(),
                source,
            })
        }
    };
    let in_use = |reason| AdminError::PathInUse {
        addr: addr.clone(),
        reason,
    };
    if !metadata.file_type().is_socket() {
        return Err(in_use("path exists and is not a socket"));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(in_use("another process is listening on it")),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing stale admin socket");
            std::fs::remove_file(path).map_err(|source| AdminError::Bind {
                addr: addr.clone(),
                source,
            })
        }
        Err(source) => Err(AdminError::Bind {
            addr: addr.clone(),
            source,
        }),
    }
}

async fn serve_metrics(State(metrics): State<MetricsRegistry>) -> Response {
    match metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

async fn serve_readiness(State(readiness): State<Readiness>) -> Response {
    match readiness.state() {
        ReadyState::Ready => (StatusCode::OK, "ready").into_response(),
        ReadyState::NotReady(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}"),
        )
            .into_response(),
    }
}
