//! Prometheus metrics of the BFD driver, per session (`peer`, `local`, `mode` labels). The
//! names carry no prefix: the daemon registers them under its own (`ferrolb_router_bfd_...`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::SessionKey;

/// The label set of one session.
pub(crate) type Labels = Vec<(String, String)>;

/// Every BFD metric family; clones share the same values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    state: Family<Labels, Gauge>,
    state_changes: Family<Labels, Counter>,
    detection_events: Family<Labels, Counter>,
    packets_received: Family<Labels, Counter>,
    packets_sent: Family<Labels, Counter>,
    packets_dropped: Family<Labels, Counter>,
}

/// The labels of the session `key`.
pub(crate) fn labels(key: &SessionKey) -> Labels {
    vec![
        ("peer".into(), key.peer.to_string()),
        ("local".into(), key.local.to_string()),
        ("mode".into(), key.mode.to_string()),
    ]
}

impl Metrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "session_state",
            "BFD session state (RFC 5880 code: 0 AdminDown, 1 Down, 2 Init, 3 Up)",
            self.state.clone(),
        );
        registry.register(
            "state_changes",
            "BFD session state changes",
            self.state_changes.clone(),
        );
        registry.register(
            "detection_events",
            "BFD sessions taken down because the detection time passed without a packet",
            self.detection_events.clone(),
        );
        registry.register(
            "packets_received",
            "BFD Control packets accepted",
            self.packets_received.clone(),
        );
        registry.register(
            "packets_sent",
            "BFD Control packets sent",
            self.packets_sent.clone(),
        );
        registry.register(
            "packets_dropped",
            "BFD packets discarded, by reason",
            self.packets_dropped.clone(),
        );
    }

    pub(crate) fn set_state(&self, labels: &Labels, code: u8) {
        self.state.get_or_create(labels).set(i64::from(code));
    }

    pub(crate) fn state_changed(&self, labels: &Labels) {
        self.state_changes.get_or_create(labels).inc();
    }

    pub(crate) fn detection_event(&self, labels: &Labels) {
        self.detection_events.get_or_create(labels).inc();
    }

    pub(crate) fn received(&self, labels: &Labels) {
        self.packets_received.get_or_create(labels).inc();
    }

    pub(crate) fn sent(&self, labels: &Labels) {
        self.packets_sent.get_or_create(labels).inc();
    }

    pub(crate) fn dropped(&self, reason: &'static str) {
        self.packets_dropped
            .get_or_create(&vec![("reason".into(), reason.into())])
            .inc();
    }

    /// Forgets a removed session's series.
    pub(crate) fn remove(&self, labels: &Labels) {
        for family in [
            &self.state_changes,
            &self.detection_events,
            &self.packets_received,
            &self.packets_sent,
        ] {
            family.remove(labels);
        }
        self.state.remove(labels);
    }
}
