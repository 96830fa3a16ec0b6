//! The group's Prometheus metrics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::envelope::Rejection;
use crate::view::MemberView;

type ReasonLabel = Vec<(&'static str, &'static str)>;

/// Counters shared between the running group and whoever registered them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    members_alive: Gauge,
    quorum: Gauge,
    datagrams_received: Counter,
    datagrams_sent: Counter,
    auth_failures: Family<ReasonLabel, Counter>,
}

/// A snapshot of the group's traffic counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MembershipStats {
    /// Datagrams received, authenticated or not.
    pub datagrams_received: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Datagrams dropped because they were malformed, failed authentication, were stale or
    /// replayed.
    pub auth_failures: u64,
}

impl Metrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "members_alive",
            "Speakers this node sees alive in the liveness group, itself included",
            self.members_alive.clone(),
        );
        registry.register(
            "membership_quorum",
            "1 if this node sees a majority of the expected speakers alive, else 0",
            self.quorum.clone(),
        );
        registry.register(
            "membership_datagrams_received",
            "Liveness-group datagrams received",
            self.datagrams_received.clone(),
        );
        registry.register(
            "membership_datagrams_sent",
            "Liveness-group datagrams sent",
            self.datagrams_sent.clone(),
        );
        registry.register(
            "membership_auth_failures",
            "Liveness-group datagrams dropped by authentication, by reason",
            self.auth_failures.clone(),
        );
    }

    pub(crate) fn received(&self) {
        self.datagrams_received.inc();
    }

    pub(crate) fn sent(&self) {
        self.datagrams_sent.inc();
    }

    pub(crate) fn rejected(&self, why: Rejection) {
        self.auth_failures
            .get_or_create(&vec![("reason", why.reason())])
            .inc();
    }

    pub(crate) fn observe(&self, view: &MemberView) {
        self.members_alive
            .set(i64::try_from(view.alive.len()).unwrap_or(i64::MAX));
        self.quorum.set(i64::from(view.has_quorum));
    }

    pub(crate) fn stats(&self) -> MembershipStats {
        MembershipStats {
            datagrams_received: self.datagrams_received.get(),
            datagrams_sent: self.datagrams_sent.get(),
            auth_failures: Rejection::ALL
                .iter()
                .map(|why| {
                    self.auth_failures
                        .get_or_create(&vec![("reason", why.reason())])
                        .get()
                })
                .sum(),
        }
    }
}
