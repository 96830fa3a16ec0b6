//! A daemon's process lifecycle: start logging, metrics, signal handling and
//! the admin server in one step, and stop them in order.

use std::time::Duration;

use axum::Router;

use crate::admin::{AdminAddr, AdminError, AdminServer, Readiness, RunningAdminServer};
use crate::cli::DaemonArgs;
use crate::logging::{self, LoggingError};
use crate::metrics::MetricsRegistry;
use crate::shutdown::{Shutdown, SignalError};

/// How long [`Daemon::finish`] waits for open admin requests: a client that
/// never finishes its request must not hold the process up.
const ADMIN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a daemon could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Logging could not be set up.
    #[error(transparent)]
    Logging(#[from] LoggingError),
    /// Signal handlers could not be installed.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// The admin server failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// Describes a daemon before it starts; see [`Daemon::builder`].
#[must_use]
pub struct DaemonBuilder {
    program: &'static str,
    version: &'static str,
    default_admin_listen: AdminAddr,
    admin_routes: Router,
}

impl DaemonBuilder {
    /// Admin address used when `--admin-listen` is not given.
    pub fn default_admin_listen(mut self, addr: AdminAddr) -> Self {
        self.default_admin_listen = addr;
        self
    }

    /// Extra routes served by the admin server next to `/metrics`,
    /// `/healthz` and `/readyz`.
    pub fn admin_routes(mut self, routes: Router) -> Self {
        self.admin_routes = self.admin_routes.merge(routes);
        self
    }

    /// Initialises logging, catches SIGTERM/SIGINT, registers
    /// `ferrolb_build_info` and starts the admin server. The daemon starts
    /// not ready ("starting"); mark it ready with [`Daemon::readiness`].
    pub async fn start(self, args: &DaemonArgs) -> Result<Daemon, DaemonError> {
        logging::init(&args.log)?;
        tracing::info!(program = self.program, version = self.version, "starting");

        let shutdown = Shutdown::new();
        shutdown.install_signal_handlers()?;
        let metrics = MetricsRegistry::new();
        metrics.register_build_info(self.program, self.version);
        let readiness = Readiness::new("starting");

        let listen = args
            .admin_listen
            .as_ref()
            .unwrap_or(&self.default_admin_listen);
        let admin = AdminServer::new(metrics.clone(), readiness.clone())
            .merge(self.admin_routes)
            .start(listen, shutdown.clone())
            .await?;
        Ok(Daemon {
            program: self.program,
            metrics,
            readiness,
            shutdown,
            admin,
        })
    }
}

/// A running daemon's shared plumbing.
#[derive(Debug)]
pub struct Daemon {
    program: &'static str,
    metrics: MetricsRegistry,
    readiness: Readiness,
    shutdown: Shutdown,
    admin: RunningAdminServer,
}

impl Daemon {
    /// Starts describing daemon `program` (e.g. `"ferrolb-router"`) at
    /// `version`, with the admin server on `127.0.0.1:0` unless
    /// [`DaemonBuilder::default_admin_listen`] says otherwise.
    pub fn builder(program: &'static str, version: &'static str) -> DaemonBuilder {
        DaemonBuilder {
            program,
            version,
            default_admin_listen: AdminAddr::Tcp((std::net::Ipv4Addr::LOCALHOST, 0).into()),
            admin_routes: Router::new(),
        }
    }

    /// The metrics registry served on `/metrics`.
    pub fn metrics(&self) -> &MetricsRegistry {
        &self.metrics
    }

    /// The readiness reported on `/readyz`.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// The process shutdown handle (fired by SIGTERM/SIGINT).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Where the admin server listens.
    pub fn admin_addr(&self) -> &AdminAddr {
        self.admin.local_addr()
    }

    /// Fires shutdown (if no signal did), reports not ready and waits (a
    /// few seconds at most) for the admin server to finish open requests.
    pub async fn finish(self) -> Result<(), DaemonError> {
        self.readiness.set_not_ready("shutting down");
        self.shutdown.trigger();
        match tokio::time::timeout(ADMIN_DRAIN_TIMEOUT, self.admin.join()).await {
            Ok(stopped) => stopped?,
            Err(_) => tracing::warn!(
                timeout = ?ADMIN_DRAIN_TIMEOUT,
                "admin requests still open; leaving them behind"
            ),
        }
        tracing::info!(program = self.program, "stopped");
        Ok(())
    }
}
