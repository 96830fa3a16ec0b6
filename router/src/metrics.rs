//! The router's metrics, all named `ferrolb_router_*`.
//!
//! ECMP width is exported as a distribution, `ferrolb_router_ecmp_width_routes{width="N"}`
//! (installed routes with N next hops), not as one series per prefix: a service pool can hold
//! thousands of addresses and each would be a series of its own. The distribution answers the
//! operational question ("do all routes have every node?") at a fixed cost of at most one
//! series per node count.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_daemon::{register_all, MetricDef, MetricsRegistry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Unit;

use crate::api::PeerView;
use crate::import::RejectReason;

/// Label of per-peer metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PeerLabel {
    /// The neighbour's address.
    pub peer: String,
}

/// Label of rejection counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why.
    pub reason: String,
}

/// Label of the ECMP width distribution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WidthLabel {
    /// Number of next hops.
    pub width: String,
}

/// Label of FIB operation failures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OpLabel {
    /// The failed operation kind.
    pub op: String,
}

/// Handles to every router metric.
#[derive(Debug, Clone)]
pub struct RouterMetrics {
    session_up: Family<PeerLabel, Gauge>,
    bfd_session_up: Family<PeerLabel, Gauge>,
    bfd_down: Family<PeerLabel, Counter>,
    prefixes_received: Family<PeerLabel, Gauge>,
    prefixes_accepted: Family<PeerLabel, Gauge>,
    rejected: Family<ReasonLabel, Counter>,
    /// Seconds to apply one batch of changes to the kernel.
    pub fib_install_seconds: Histogram,
    ecmp_width: Family<WidthLabel, Gauge>,
    routes_installed: Gauge,
    nexthop_groups: Gauge,
    fib_errors: Family<OpLabel, Counter>,
    known_peers: std::sync::Arc<std::sync::Mutex<BTreeSet<IpAddr>>>,
    known_widths: std::sync::Arc<std::sync::Mutex<BTreeSet<usize>>>,
    /// For families registered later (the BFD driver starts with its first session).
    registry: MetricsRegistry,
}

/// Registers the load balancer's metrics as `ferrolb_router_lb_*`.
pub fn register_load_balancer(registry: &MetricsRegistry) -> ferrolb_tcplb::Metrics {
    registry.with_sub_registry("router", |r| {
        ferrolb_tcplb::Metrics::register(r.sub_registry_with_prefix("lb"))
    })
}

impl RouterMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &MetricsRegistry) -> RouterMetrics {
        let m = RouterMetrics {
            session_up: Family::default(),
            bfd_session_up: Family::default(),
            bfd_down: Family::default(),
            prefixes_received: Family::default(),
            prefixes_accepted: Family::default(),
            rejected: Family::default(),
            // 100 µs to ~6.5 s.
            fib_install_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 17),
            ),
            ecmp_width: Family::default(),
            routes_installed: Gauge::default(),
            nexthop_groups: Gauge::default(),
            fib_errors: Family::default(),
            known_peers: Default::default(),
            known_widths: Default::default(),
            registry: registry.clone(),
        };
        for reason in RejectReason::ALL {
            // Every reason is exported from the start, at 0.
            let _ = m.rejected.get_or_create(&ReasonLabel {
                reason: reason.as_str().to_owned(),
            });
        }
        registry.with_sub_registry("router", |r| {
            register_all(
                r,
                [
                    MetricDef::new(
                        "bgp_session_up",
                        "1 while the BGP session with the peer is Established",
                        m.session_up.clone(),
                    ),
                    MetricDef::new(
                        "bfd_session_up",
                        "1 while the BFD session with the peer is Up (peers of groups using BFD)",
                        m.bfd_session_up.clone(),
                    ),
                    MetricDef::new(
                        "bfd_down_events",
                        "BGP sessions with the peer closed because BFD detected the path down",
                        m.bfd_down.clone(),
                    ),
                    MetricDef::new(
                        "bgp_prefixes_received",
                        "Prefix announcements received from the peer since it was first seen",
                        m.prefixes_received.clone(),
                    ),
                    MetricDef::new(
                        "bgp_prefixes_accepted",
                        "Prefixes from the peer currently held and accepted by import safety",
                        m.prefixes_accepted.clone(),
                    ),
                    MetricDef::new(
                        "prefixes_rejected",
                        "Learned routes (prefix and announcing next hop) refused by import safety",
                        m.rejected.clone(),
                    ),
                    MetricDef::new(
                        "fib_install",
                        "Time to apply one batch of route changes to the kernel",
                        m.fib_install_seconds.clone(),
                    )
                    .unit(Unit::Seconds),
                    MetricDef::new(
                        "ecmp_width_routes",
                        "Installed routes by number of next hops",
                        m.ecmp_width.clone(),
                    ),
                    MetricDef::new(
                        "routes_installed",
                        "Routes installed in the kernel",
                        m.routes_installed.clone(),
                    ),
                    MetricDef::new(
                        "nexthop_groups",
                        "Kernel nexthop groups in use",
                        m.nexthop_groups.clone(),
                    ),
                    MetricDef::new(
                        "fib_errors",
                        "Kernel route or nexthop operations that failed",
                        m.fib_errors.clone(),
                    ),
                ],
            );
        });
        m
    }

    /// Counts newly refused routes.
    pub fn count_rejected(&self, rejected: &BTreeMap<RejectReason, u64>) {
        for (reason, n) in rejected {
            self.rejected
                .get_or_create(&ReasonLabel {
                    reason: reason.as_str().to_owned(),
                })
                .inc_by(*n);
        }
    }

    /// Counts a BGP session closed because its BFD session failed.
    pub fn count_bfd_down(&self, peer: IpAddr) {
        self.bfd_down.get_or_create(&peer_label(peer)).inc();
    }

    /// Counts a failed kernel operation.
    pub fn count_fib_error(&self, op: &str) {
        self.fib_errors
            .get_or_create(&OpLabel { op: op.to_owned() })
            .inc();
    }

    /// Sets the installed-route gauges.
    pub fn set_fib(&self, routes: usize, groups: usize, widths: &BTreeMap<usize, usize>) {
        self.routes_installed.set(to_i64(routes));
        self.nexthop_groups.set(to_i64(groups));
        let mut known = lock(&self.known_widths);
        for gone in known.iter().filter(|w| !widths.contains_key(w)) {
            self.ecmp_width.remove(&width_label(*gone));
        }
        for (width, count) in widths {
            self.ecmp_width
                .get_or_create(&width_label(*width))
                .set(to_i64(*count));
        }
        *known = widths.keys().copied().collect();
    }

    /// Sets the per-peer gauges (counted as the admin API counts them); peers that are gone
    /// lose their series.
    pub fn set_peers(&self, neighbors: &[PeerView]) {
        let mut known = lock(&self.known_peers);
        let now: BTreeSet<IpAddr> = neighbors.iter().map(|n| n.address).collect();
        for gone in known.difference(&now) {
            let label = peer_label(*gone);
            self.session_up.remove(&label);
            self.remove_bfd(&label);
            self.prefixes_received.remove(&label);
            self.prefixes_accepted.remove(&label);
        }
        for n in neighbors {
            let label = peer_label(n.address);
            self.session_up
                .get_or_create(&label)
                .set(i64::from(n.established));
            self.prefixes_received
                .get_or_create(&label)
                .set(u64_to_i64(n.prefixes.received));
            self.prefixes_accepted
                .get_or_create(&label)
                .set(u64_to_i64(n.prefixes.accepted));
            match &n.bfd {
                Some(bfd) => {
                    self.bfd_session_up
                        .get_or_create(&label)
                        .set(i64::from(bfd.is_up()));
                }
                None => self.remove_bfd(&label),
            }
        }
        *known = now;
    }
}

impl RouterMetrics {
    fn remove_bfd(&self, label: &PeerLabel) {
        self.bfd_session_up.remove(label);
    }

    /// Registers the BFD driver's per-session metrics (state, state changes, detection
    /// events, packets in and out) as `ferrolb_router_bfd_*`, once the driver runs.
    pub fn register_bfd_driver(&self, driver: &ferrolb_bfd::BfdDriver) {
        self.registry.with_sub_registry("router", |r| {
            driver.register_metrics(r.sub_registry_with_prefix("bfd"));
        });
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn peer_label(address: IpAddr) -> PeerLabel {
    PeerLabel {
        peer: address.to_string(),
    }
}

fn width_label(width: usize) -> WidthLabel {
    WidthLabel {
        width: width.to_string(),
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u64_to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_and_rejection_metrics_are_exposed() {
        let registry = MetricsRegistry::new();
        let m = RouterMetrics::register(&registry);
        m.count_rejected(&[(RejectReason::OutsidePools, 2)].into_iter().collect());
        m.set_fib(3, 1, &[(3, 2), (2, 1)].into_iter().collect());
        m.set_fib(3, 1, &[(3, 3)].into_iter().collect());
        m.count_fib_error("new-group");
        m.fib_install_seconds.observe(0.002);
        let text = registry.encode().unwrap();
        for line in [
            "ferrolb_router_prefixes_rejected_total{reason=\"outside-service-pools\"} 2\n",
            "ferrolb_router_prefixes_rejected_total{reason=\"default-route\"} 0\n",
            "ferrolb_router_routes_installed 3\n",
            "ferrolb_router_nexthop_groups 1\n",
            "ferrolb_router_ecmp_width_routes{width=\"3\"} 3\n",
            "ferrolb_router_fib_errors_total{op=\"new-group\"} 1\n",
            "ferrolb_router_fib_install_seconds_count 1\n",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(!text.contains("width=\"2\""), "{text}");
    }

    #[test]
    fn bfd_sessions_are_exposed_per_peer() {
        use crate::api::{BfdView, PrefixCounts};
        let registry = MetricsRegistry::new();
        let m = RouterMetrics::register(&registry);
        let peer = |address: &str, bfd: Option<(&str, u64)>| PeerView {
            address: address.parse().unwrap(),
            asn: Some(64513),
            state: "Established".into(),
            established: true,
            uptime_seconds: Some(1),
            dynamic: false,
            last_down: None,
            prefixes: PrefixCounts::default(),
            bfd: bfd.map(|(state, failures)| BfdView {
                state: state.into(),
                remote_state: state.into(),
                diag: "none".into(),
                mode: "single-hop".into(),
                local: "198.18.0.1".parse().unwrap(),
                interface: None,
                detection_time_ms: 900,
                failures,
            }),
        };
        m.set_peers(&[
            peer("198.18.0.2", Some(("Up", 2))),
            peer("198.18.0.3", None),
        ]);
        let text = registry.encode().unwrap();
        assert!(
            text.contains("ferrolb_router_bfd_session_up{peer=\"198.18.0.2\"} 1\n"),
            "{text}"
        );
        assert!(
            !text.contains("bfd_session_up{peer=\"198.18.0.3\"}"),
            "{text}"
        );
        // The session goes down, then its peer goes away.
        m.set_peers(&[peer("198.18.0.2", Some(("Down", 3)))]);
        let text = registry.encode().unwrap();
        assert!(text.contains("ferrolb_router_bfd_session_up{peer=\"198.18.0.2\"} 0\n"));
        m.set_peers(&[]);
        assert!(!registry.encode().unwrap().contains("198.18.0.2"));
    }
}
