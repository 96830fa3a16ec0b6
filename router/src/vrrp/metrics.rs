//! `ferrolb_router_vrrp_*`: each instance's state, priority and protocol counters.

use ferrolb_daemon::{MetricDef, MetricsRegistry};
use ferrolb_vrrp::{State, Status};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// Every state, for the one-hot state gauge.
const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    instance: String,
    state: String,
}

type Counters = Family<InstanceLabels, Counter>;
/// Reads one counter's total from an instance's status.
type Read = fn(&Status) -> u64;

/// The VRRP metrics.
#[derive(Clone, Default)]
pub(super) struct Metrics {
    state: Family<StateLabels, Gauge>,
    priority: Family<InstanceLabels, Gauge>,
    transitions: Counters,
    master_transitions: Counters,
    adverts_sent: Counters,
    adverts_received: Counters,
    invalid_received: Counters,
    checksum_errors: Counters,
    ttl_errors: Counters,
    priority_zero_sent: Counters,
    priority_zero_received: Counters,
    takeovers_on_unreachable: Counters,
}

/// The counters and how each is read from an instance's status.
fn counters(m: &Metrics) -> [(&Counters, Read); 10] {
    [
        (&m.transitions, |s| s.transitions),
        (&m.master_transitions, |s| s.became_master),
        (&m.adverts_sent, |s| s.adverts_sent),
        (&m.adverts_received, |s| s.adverts_received),
        (&m.invalid_received, |s| s.invalid_received),
        (&m.checksum_errors, |s| s.checksum_errors),
        (&m.ttl_errors, |s| s.ttl_errors),
        (&m.priority_zero_sent, |s| s.priority_zero_sent),
        (&m.priority_zero_received, |s| s.priority_zero_received),
        (&m.takeovers_on_unreachable, |s| s.takeovers_on_unreachable),
    ]
}

impl Metrics {
    /// Creates and registers the metrics as `ferrolb_router_vrrp_*`.
    pub(super) fn register(registry: &MetricsRegistry) -> Metrics {
        let m = Metrics::default();
        registry.with_sub_registry("router", |r| {
            ferrolb_daemon::register_all(
                r.sub_registry_with_prefix("vrrp"),
                [
                    MetricDef::new(
                        "state",
                        "1 for the VRRP state each instance is in",
                        m.state.clone(),
                    ),
                    MetricDef::new(
                        "priority",
                        "The priority the instance advertises",
                        m.priority.clone(),
                    ),
                    MetricDef::new("transitions", "VRRP state changes", m.transitions.clone()),
                    MetricDef::new(
                        "master_transitions",
                        "Times the instance became master",
                        m.master_transitions.clone(),
                    ),
                    MetricDef::new(
                        "adverts_sent",
                        "VRRP advertisements sent",
                        m.adverts_sent.clone(),
                    ),
                    MetricDef::new(
                        "adverts_received",
                        "Valid VRRP advertisements received",
                        m.adverts_received.clone(),
                    ),
                    MetricDef::new(
                        "invalid_received",
                        "VRRP packets discarded by the receive checks",
                        m.invalid_received.clone(),
                    ),
                    MetricDef::new(
                        "checksum_errors",
                        "VRRP packets discarded for a bad checksum",
                        m.checksum_errors.clone(),
                    ),
                    MetricDef::new(
                        "ttl_errors",
                        "VRRP packets discarded for a TTL other than 255",
                        m.ttl_errors.clone(),
                    ),
                    MetricDef::new(
                        "priority_zero_sent",
                        "Advertisements sent with priority 0 (resigning)",
                        m.priority_zero_sent.clone(),
                    ),
                    MetricDef::new(
                        "priority_zero_received",
                        "Advertisements received with priority 0 (the master resigning)",
                        m.priority_zero_received.clone(),
                    ),
                    MetricDef::new(
                        "takeovers_on_unreachable",
                        "Times this backup took over because BFD found the master unreachable",
                        m.takeovers_on_unreachable.clone(),
                    ),
                ],
            );
        });
        m
    }

    /// Brings one instance's series up to its status.
    pub(super) fn set(&self, s: &Status) {
        for state in STATES {
            self.state
                .get_or_create(&state_labels(&s.name, state))
                .set(i64::from(s.state == state));
        }
        let labels = instance_labels(&s.name);
        self.priority
            .get_or_create(&labels)
            .set(i64::from(s.priority));
        for (family, read) in counters(self) {
            let c = family.get_or_create(&labels);
            c.inc_by(read(s).saturating_sub(c.get()));
        }
    }

    /// Drops the series of a removed instance.
    pub(super) fn remove(&self, name: &str) {
        for state in STATES {
            self.state.remove(&state_labels(name, state));
        }
        let labels = instance_labels(name);
        self.priority.remove(&labels);
        for (family, _) in counters(self) {
            family.remove(&labels);
        }
    }
}

fn instance_labels(name: &str) -> InstanceLabels {
    InstanceLabels {
        instance: name.to_owned(),
    }
}

fn state_labels(name: &str, state: State) -> StateLabels {
    StateLabels {
        instance: name.to_owned(),
        state: state.as_str().to_owned(),
    }
}
