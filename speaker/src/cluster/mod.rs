//! The Kubernetes edge: watches feeding the decision, and the loop that
//! turns every change into a BGP plan, L2 ownerships, status and metrics.

pub mod snapshot;
pub mod status;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_api::ServiceReference;
use tokio::sync::{watch as channel, Notify};
use tokio_util::sync::CancellationToken;

use crate::bgp::BgpPlan;
use crate::decision::{decide, ServiceAnnouncements};
use crate::l2::{AliveSpeakers, L2Sink};
use crate::metrics::{AnnouncedLabels, Metrics};

pub use watch::Stores;

/// API changes arriving within this window are decided on together. A
/// change of the alive speakers is decided on at once: it is what L2
/// failover waits for.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// What this node announces per Service, and whether L2 really runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Per-Service announcements.
    pub services: BTreeMap<ServiceReference, ServiceAnnouncements>,
    /// Whether the L2 ownerships are really answered for.
    pub l2_enabled: bool,
}

/// Where the decision loop sends its results.
pub struct Outputs {
    /// The BGP task's plan.
    pub plan: channel::Sender<BgpPlan>,
    /// The status writer's input.
    pub summary: channel::Sender<Summary>,
    /// The L2 announcer.
    pub l2: Box<dyn L2Sink>,
    /// Metrics.
    pub metrics: Metrics,
}

/// Decides on every change (API changes debounced, liveness changes at
/// once) until `stop` is cancelled.
pub async fn run_decisions(
    stores: Stores,
    changed: Arc<Notify>,
    mut alive: AliveSpeakers,
    node_name: String,
    mut out: Outputs,
    stop: CancellationToken,
) {
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut alive_open = true;
    loop {
        let mut state = stores.cluster_state(&node_name);
        state.alive_speakers = alive.borrow_and_update().clone();
        let decision = decide(&state);
        for problem in decision.problems.difference(&reported) {
            tracing::warn!(%problem, "configuration problem; the object is skipped");
        }
        reported = decision.problems.clone();
        let mut plan = BgpPlan::default();
        for (name, session) in stores.peer_sessions(decision.peers.keys()) {
            match session {
                Ok(session) => {
                    plan.peers.insert(name, session);
                }
                Err(reason) if reported.insert(reason.clone()) => {
                    tracing::warn!(peer = %name, %reason, "BGPPeer skipped");
                }
                Err(_) => {}
            }
        }
        plan.routes = decision
            .routes
            .into_iter()
            .filter(|(peer, _)| plan.peers.contains_key(peer))
            .collect();
        out.plan.send_if_modified(|current| {
            let changed = *current != plan;
            *current = plan;
            changed
        });
        out.l2.set_owned(decision.l2);
        let summary = Summary {
            services: decision.services,
            l2_enabled: out.l2.is_enabled(),
        };
        out.metrics.set_announced(announced_labels(&summary));
        out.summary.send_if_modified(|current| {
            let changed = *current != summary;
            *current = summary;
            changed
        });
        // Without membership, the last known set stays in use.
        let api_changed = tokio::select! {
            () = changed.notified() => true,
            result = alive.changed(), if alive_open => {
                alive_open = result.is_ok();
                false
            }
            () = stop.cancelled() => return,
        };
        if api_changed {
            // Let a burst of API events settle, unless the alive set moves.
            tokio::select! {
                () = tokio::time::sleep(DEBOUNCE) => {}
                result = alive.changed(), if alive_open => alive_open = result.is_ok(),
                () = stop.cancelled() => return,
            }
        }
    }
}

/// The label sets of `ferrolb_speaker_announced`.
fn announced_labels(summary: &Summary) -> BTreeSet<AnnouncedLabels> {
    let mut labels = BTreeSet::new();
    for (id, ann) in &summary.services {
        let service = format!("{}/{}", id.namespace, id.name);
        let l2 = ann.l2.as_ref().filter(|_| summary.l2_enabled);
        for (protocol, announced) in [("bgp", ann.bgp.as_ref()), ("l2", l2)] {
            for ip in announced.into_iter().flat_map(|a| a.ips.iter()) {
                labels.insert(AnnouncedLabels {
                    service: service.clone(),
                    protocol: protocol.to_owned(),
                    ip: ip.to_string(),
                });
            }
        }
    }
    labels
}
