//! The FerroLB controller: assigns load-balancer addresses from
//! `IPAddressPool`s to Kubernetes Services of `type: LoadBalancer`.
//!
//! - [`allocator`]: the pure allocation rules and state;
//! - [`reconcile`]: the Kubernetes side — watches, status writes, Events;
//! - [`leader`]: leader election on a `coordination.k8s.io/v1` Lease, so
//!   that of several replicas exactly one writes;
//! - [`metrics`]: the controller's Prometheus metrics;
//! - [`webhook`]: the validating admission webhook and its certificate;
//! - [`run`]: all of it together, as the `ferrolb-controller` binary runs it.
#![warn(missing_docs)]

pub mod allocator;
pub mod config;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod webhook;

use std::future::Future;

use ferrolb_daemon::Readiness;
use kube::Client;
use tokio::sync::watch;

pub use config::{ControllerConfig, LeaseSettings, CONTROLLER_NAME};
use leader::{Elector, Role};
pub use metrics::Metrics;

/// Invalid settings.
#[derive(Debug, thiserror::Error)]
#[error("invalid lease settings: {0}")]
pub struct ConfigError(String);

/// Runs the controller until `shutdown` completes: campaigns for the
/// leader Lease and, while leading, reconciles (each term starts by
/// rebuilding the allocation state from Service statuses). Marks
/// `readiness` ready once the first election round has completed. On
/// shutdown, stops reconciling first and then releases the Lease.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    metrics: Metrics,
    readiness: Readiness,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConfigError> {
    config.lease.check().map_err(ConfigError)?;
    let mut elector = Elector::new(client.clone(), &config);
    let role = elector.subscribe();
    {
        let campaign = elector.campaign();
        let work = lead_while_elected(client, config, metrics.clone(), role.clone());
        let ready = async {
            let mut role = role.clone();
            let decided = role.wait_for(|r| *r != Role::Unknown).await.is_ok();
            if decided {
                readiness.set_ready();
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            () = shutdown => tracing::info!("stopping"),
            () = campaign => {}
            () = work => {}
            () = ready => {}
        }
    }
    // Every writer is gone with the futures above: hand over.
    metrics.set_leader(false);
    elector.release().await;
    Ok(())
}

/// Runs a reconciler term each time this replica becomes leader, and drops
/// it as soon as it is not.
async fn lead_while_elected(
    client: Client,
    config: ControllerConfig,
    metrics: Metrics,
    mut role: watch::Receiver<Role>,
) {
    loop {
        let elected = role.wait_for(|r| *r == Role::Leader).await.is_ok();
        if !elected {
            return;
        }
        metrics.set_leader(true);
        let deposed = async { role.wait_for(|r| *r != Role::Leader).await.is_ok() };
        tokio::select! {
            stopped = reconcile::run(client.clone(), config.clone(), metrics.clone()) => {
                tracing::error!(error = %stopped, "reconciling stopped; restarting");
                tokio::time::sleep(config.lease.retry_period).await;
            }
            deposed = deposed => {
                if !deposed {
                    return;
                }
                tracing::warn!("lost the leader lease; stopped reconciling");
            }
        }
        metrics.set_leader(false);
        metrics.set_pools(&[]);
    }
}
