//! Plumbing shared by the FerroLB daemons (`ferrolb-controller`,
//! `ferrolb-speaker`, `ferrolb-router`): structured logging, a Prometheus /
//! OpenMetrics registry, the admin HTTP server (`/metrics`, `/healthz`,
//! `/readyz`), signal-driven shutdown and the command-line flags every daemon
//! shares.
//!
//! A daemon's `main` typically does:
//!
//! ```no_run
//! # async fn run() -> Result<(), ferrolb_daemon::DaemonError> {
//! use ferrolb_daemon::{AdminAddr, Daemon, DaemonArgs};
//! # let args: DaemonArgs = unimplemented!();
//! let daemon = Daemon::builder("ferrolb-example", "0.1.0")
//!     .default_admin_listen(AdminAddr::Tcp(([127, 0, 0, 1], 9600).into()))
//!     .start(&args)
//!     .await?;
//! daemon.readiness().set_ready();
//! daemon.shutdown().wait().await;
//! daemon.finish().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod admin;
pub mod cli;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod reload;
pub mod runtime;
pub mod shutdown;
#[cfg(feature = "test-util")]
pub mod testing;

pub use admin::{AdminAddr, AdminError, AdminServer, Readiness, RunningAdminServer};
pub use cli::DaemonArgs;
pub use lifecycle::{Daemon, DaemonBuilder, DaemonError};
pub use logging::{LogArgs, LogFormat, LoggingError};
pub use metrics::{register_all, MetricDef, MetricsError, MetricsRegistry};
pub use reload::ReloadSignal;
pub use shutdown::{Shutdown, SignalError};
