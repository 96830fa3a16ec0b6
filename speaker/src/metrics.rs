//! The speaker's metrics: `ferrolb_speaker_announced{service,protocol,ip}`
//! and `ferrolb_speaker_bgp_session_up{peer,address,state}`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use ferrolb_daemon::MetricsRegistry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::bgp::BgpStatus;

/// Labels of `ferrolb_speaker_announced`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, EncodeLabelSet)]
pub struct AnnouncedLabels {
    /// `namespace/name` of the Service.
    pub service: String,
    /// `bgp` or `l2`.
    pub protocol: String,
    /// The announced address.
    pub ip: String,
}

/// Labels of `ferrolb_speaker_bgp_session_up`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, EncodeLabelSet)]
pub struct SessionLabels {
    /// BGPPeer name.
    pub peer: String,
    /// Peer address.
    pub address: String,
    /// FSM state.
    pub state: String,
}

/// Handles on the speaker's metrics; clones update the same metrics.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    announced: Family<AnnouncedLabels, Gauge>,
    sessions: Family<SessionLabels, Gauge>,
    /// Label sets currently exported, to remove the ones that go away.
    current: Arc<Mutex<(BTreeSet<AnnouncedLabels>, BTreeSet<SessionLabels>)>>,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &MetricsRegistry) -> Metrics {
        let m = Metrics::default();
        registry.with_sub_registry("speaker", |r| {
            r.register(
                "announced",
                "1 for each Service address this node announces, by protocol",
                m.announced.clone(),
            );
            r.register(
                "bgp_session_up",
                "1 when the BGP session to the peer is Established, else 0; state names the FSM state",
                m.sessions.clone(),
            );
        });
        m
    }

    /// Replaces the announced set.
    pub fn set_announced(&self, now: BTreeSet<AnnouncedLabels>) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        for gone in current.0.difference(&now) {
            self.announced.remove(gone);
        }
        for labels in &now {
            self.announced.get_or_create(labels).set(1);
        }
        current.0 = now;
    }

    /// Replaces the session states.
    pub fn set_sessions(&self, status: &BgpStatus) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        let now: BTreeSet<SessionLabels> = status
            .iter()
            .map(|(peer, s)| SessionLabels {
                peer: peer.clone(),
                address: s.address.to_string(),
                state: format!("{:?}", s.state),
            })
            .collect();
        for gone in current.1.difference(&now) {
            self.sessions.remove(gone);
        }
        for labels in &now {
            let up = i64::from(labels.state == "Established");
            self.sessions.get_or_create(labels).set(up);
        }
        current.1 = now;
    }
}
