//! The controller's Prometheus metrics.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferrolb_api::AddressFamily;
use ferrolb_daemon::{MetricDef, MetricsRegistry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Unit;

use crate::allocator::PoolUsage;

/// Labels of the per-pool gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PoolLabels {
    /// Pool name.
    pub pool: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
}

/// Labels of the failure counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    /// [`AllocationError::reason`](crate::allocator::AllocationError::reason).
    pub reason: String,
}

/// Handles on the controller's metrics; clones update the same metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    pool_total: Family<PoolLabels, Gauge<f64, AtomicU64>>,
    pool_in_use: Family<PoolLabels, Gauge<f64, AtomicU64>>,
    allocations: Counter,
    releases: Counter,
    failures: Family<ReasonLabels, Counter>,
    reconcile_duration: Histogram,
    leader: Gauge,
    /// Pools that have gauges, to drop them when the pool goes.
    pools: Arc<Mutex<BTreeSet<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            pool_total: Family::default(),
            pool_in_use: Family::default(),
            allocations: Counter::default(),
            releases: Counter::default(),
            failures: Family::default(),
            // 100 µs to ~6.5 s.
            reconcile_duration: Histogram::new(exponential_buckets(0.0001, 4.0, 9)),
            leader: Gauge::default(),
            pools: Arc::default(),
        }
    }
}

fn pool_labels(pool: &str, family: AddressFamily) -> PoolLabels {
    PoolLabels {
        pool: pool.to_owned(),
        family: match family {
            AddressFamily::V4 => "ipv4".to_owned(),
            AddressFamily::V6 => "ipv6".to_owned(),
        },
    }
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`:
    /// `ferrolb_pool_addresses_total{pool,family}`,
    /// `ferrolb_pool_addresses_in_use{pool,family}`,
    /// `ferrolb_allocations_total`, `ferrolb_releases_total`,
    /// `ferrolb_allocation_failures_total{reason}`,
    /// `ferrolb_reconcile_duration_seconds` and `ferrolb_controller_leader`.
    pub fn register(registry: &MetricsRegistry) -> Self {
        let m = Metrics::default();
        registry.register_all([
            MetricDef::new(
                "pool_addresses_total",
                "Addresses a pool can assign, per family",
                m.pool_total.clone(),
            ),
            MetricDef::new(
                "pool_addresses_in_use",
                "Addresses assigned from a pool, per family",
                m.pool_in_use.clone(),
            ),
            MetricDef::new(
                "allocations",
                "Addresses assignments made to Services",
                m.allocations.clone(),
            ),
            MetricDef::new(
                "releases",
                "Services whose addresses were taken back",
                m.releases.clone(),
            ),
            MetricDef::new(
                "allocation_failures",
                "Services that could not be given an address, by reason",
                m.failures.clone(),
            ),
            MetricDef::new(
                "reconcile_duration",
                "Time to reconcile one Service",
                m.reconcile_duration.clone(),
            )
            .unit(Unit::Seconds),
            MetricDef::new(
                "controller_leader",
                "1 while this replica holds the leader Lease",
                m.leader.clone(),
            ),
        ]);
        m
    }

    /// Sets the per-pool gauges to `pools`, dropping pools no longer listed.
    pub fn set_pools(&self, pools: &[(String, PoolUsage)]) {
        let mut known = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let current: BTreeSet<String> = pools.iter().map(|(name, _)| name.clone()).collect();
        for gone in known.difference(&current) {
            for family in [AddressFamily::V4, AddressFamily::V6] {
                let labels = pool_labels(gone, family);
                self.pool_total.remove(&labels);
                self.pool_in_use.remove(&labels);
            }
        }
        for (name, usage) in pools {
            for family in [AddressFamily::V4, AddressFamily::V6] {
                let labels = pool_labels(name, family);
                let usage = usage.family(family);
                // Gauges are floats: exact up to 2^53, approximate beyond.
                self.pool_total
                    .get_or_create(&labels)
                    .set(usage.size as f64);
                self.pool_in_use
                    .get_or_create(&labels)
                    .set(usage.in_use as f64);
            }
        }
        *known = current;
    }

    /// Counts an assignment.
    pub fn allocated(&self) {
        self.allocations.inc();
    }

    /// Counts a release.
    pub fn released(&self) {
        self.releases.inc();
    }

    /// Counts a failure for `reason`.
    pub fn failed(&self, reason: &str) {
        self.failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records how long a reconcile took.
    pub fn observe_reconcile(&self, took: Duration) {
        self.reconcile_duration.observe(took.as_secs_f64());
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::FamilyUsage;

    #[test]
    fn exposes_pool_gauges_and_counters() {
        let registry = MetricsRegistry::new();
        let m = Metrics::register(&registry);
        let usage = PoolUsage {
            ipv4: FamilyUsage {
                size: 256,
                in_use: 3,
            },
            ipv6: FamilyUsage::default(),
        };
        m.set_pools(&[("a".into(), usage), ("b".into(), usage)]);
        m.set_pools(&[("a".into(), usage)]);
        m.allocated();
        m.failed("pool_exhausted");
        m.observe_reconcile(Duration::from_millis(2));
        m.set_leader(true);
        let text = registry.encode().unwrap();
        for line in [
            "ferrolb_pool_addresses_total{pool=\"a\",family=\"ipv4\"} 256.0",
            "ferrolb_pool_addresses_in_use{pool=\"a\",family=\"ipv4\"} 3.0",
            "ferrolb_pool_addresses_in_use{pool=\"a\",family=\"ipv6\"} 0.0",
            "ferrolb_allocations_total 1",
            "ferrolb_allocation_failures_total{reason=\"pool_exhausted\"} 1",
            "ferrolb_reconcile_duration_seconds_count 1",
            "ferrolb_controller_leader 1",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(!text.contains("pool=\"b\""), "{text}");
    }
}
