//! The speaker's metrics: `ferrolb_speaker_announced{service,protocol,ip}`,
//! `ferrolb_speaker_bgp_session_up{peer,address,state}` and, for peers with
//! BFD, `ferrolb_speaker_bfd_session_up{peer,address}` and
//! `ferrolb_speaker_bfd_failures{peer,address}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ferrolb_api::{BfdSessionStatus, BfdState};
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

/// Labels of the BFD metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, EncodeLabelSet)]
pub struct PeerLabels {
    /// BGPPeer name.
    pub peer: String,
    /// Peer address.
    pub address: String,
}

/// Label sets currently exported, to remove the ones that go away.
#[derive(Debug, Default)]
struct Exported {
    announced: BTreeSet<AnnouncedLabels>,
    sessions: BTreeSet<SessionLabels>,
    bfd: BTreeSet<PeerLabels>,
}

/// Handles on the speaker's metrics; clones update the same metrics.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    announced: Family<AnnouncedLabels, Gauge>,
    sessions: Family<SessionLabels, Gauge>,
    bfd_up: Family<PeerLabels, Gauge>,
    bfd_failures: Family<PeerLabels, Gauge>,
    current: Arc<Mutex<Exported>>,
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
            r.register(
                "bfd_session_up",
                "1 when the BFD session watching a BGP session is Up, else 0",
                m.bfd_up.clone(),
            );
            r.register(
                "bfd_failures",
                "Times BFD detected the path to the peer down (each closed the BGP session)",
                m.bfd_failures.clone(),
            );
        });
        m
    }

    /// Replaces the announced set.
    pub fn set_announced(&self, now: BTreeSet<AnnouncedLabels>) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        for gone in current.announced.difference(&now) {
            self.announced.remove(gone);
        }
        for labels in &now {
            self.announced.get_or_create(labels).set(1);
        }
        current.announced = now;
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
        for gone in current.sessions.difference(&now) {
            self.sessions.remove(gone);
        }
        for labels in &now {
            let up = i64::from(labels.state == "Established");
            self.sessions.get_or_create(labels).set(up);
        }
        current.sessions = now;
        let bfd: BTreeMap<PeerLabels, &BfdSessionStatus> = status
            .iter()
            .filter_map(|(peer, s)| {
                let labels = PeerLabels {
                    peer: peer.clone(),
                    address: s.address.to_string(),
                };
                Some((labels, s.bfd.as_ref()?))
            })
            .collect();
        for gone in current.bfd.iter().filter(|l| !bfd.contains_key(*l)) {
            self.bfd_up.remove(gone);
            self.bfd_failures.remove(gone);
        }
        for (labels, b) in &bfd {
            let up = i64::from(b.state == BfdState::Up);
            self.bfd_up.get_or_create(labels).set(up);
            self.bfd_failures
                .get_or_create(labels)
                .set(i64::from(b.failures));
        }
        current.bfd = bfd.into_keys().collect();
    }
}
