//! Prometheus metrics per frontend and per backend. A frontend or backend's series leave the
//! families once nothing uses them: a reload removed it and its last connection closed.
//! A name removed and added again shares the series until both are gone.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use ferrolb_daemon::{register_all, MetricDef};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::forward::ByteSink;

/// Label of frontend metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct FrontendLabel {
    /// The frontend's name.
    pub frontend: String,
}

/// Label of backend metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct BackendLabel {
    /// The frontend's name.
    pub frontend: String,
    /// The backend's address.
    pub backend: String,
}

fn check_histogram() -> Histogram {
    // 100 µs to ~3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Handles to every load balancer metric (cheap to clone).
#[derive(Debug, Clone)]
pub struct Metrics {
    frontend_active: Family<FrontendLabel, Gauge>,
    frontend_total: Family<FrontendLabel, Counter>,
    frontend_received: Family<FrontendLabel, Counter>,
    frontend_sent: Family<FrontendLabel, Counter>,
    frontend_unserved: Family<FrontendLabel, Counter>,
    backend_active: Family<BackendLabel, Gauge>,
    backend_total: Family<BackendLabel, Counter>,
    backend_sent: Family<BackendLabel, Counter>,
    backend_received: Family<BackendLabel, Counter>,
    backend_connect_errors: Family<BackendLabel, Counter>,
    backend_up: Family<BackendLabel, Gauge>,
    check_seconds: Family<BackendLabel, Histogram, fn() -> Histogram>,
    frontend_users: Users<FrontendLabel>,
    backend_users: Users<BackendLabel>,
}

/// How many running frontends or backends use each label's series.
#[derive(Debug)]
struct Users<L>(Arc<Mutex<HashMap<L, usize>>>);

impl<L> Clone for Users<L> {
    fn clone(&self) -> Self {
        Users(self.0.clone())
    }
}

impl<L> Default for Users<L> {
    fn default() -> Self {
        Users(Arc::default())
    }
}

impl<L: Clone + Eq + Hash> Users<L> {
    fn add(&self, label: &L) {
        *crate::backend::lock(&self.0)
            .entry(label.clone())
            .or_insert(0) += 1;
    }

    /// `true` when that was the last user: the series can go.
    fn remove(&self, label: &L) -> bool {
        let mut users = crate::backend::lock(&self.0);
        match users.get_mut(label) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                users.remove(label);
                true
            }
            None => false,
        }
    }
}

impl Default for Metrics {
    /// Metrics registered nowhere (for a load balancer without a registry).
    fn default() -> Self {
        Metrics {
            frontend_active: Family::default(),
            frontend_total: Family::default(),
            frontend_received: Family::default(),
            frontend_sent: Family::default(),
            frontend_unserved: Family::default(),
            backend_active: Family::default(),
            backend_total: Family::default(),
            backend_sent: Family::default(),
            backend_received: Family::default(),
            backend_connect_errors: Family::default(),
            backend_up: Family::default(),
            check_seconds: Family::new_with_constructor(check_histogram),
            frontend_users: Users::default(),
            backend_users: Users::default(),
        }
    }
}

impl Metrics {
    /// Creates the metrics and registers them in `registry` (names get its prefix).
    pub fn register(registry: &mut Registry) -> Metrics {
        let m = Metrics::default();
        register_all(
            registry,
            [
                MetricDef::new(
                    "frontend_connections_active",
                    "Client connections open now",
                    m.frontend_active.clone(),
                ),
                MetricDef::new(
                    "frontend_connections",
                    "Client connections accepted",
                    m.frontend_total.clone(),
                ),
                MetricDef::new(
                    "frontend_received",
                    "Bytes received from clients",
                    m.frontend_received.clone(),
                )
                .unit(Unit::Bytes),
                MetricDef::new(
                    "frontend_sent",
                    "Bytes sent to clients",
                    m.frontend_sent.clone(),
                )
                .unit(Unit::Bytes),
                MetricDef::new(
                    "frontend_unserved",
                    "Client connections closed because no backend could take them",
                    m.frontend_unserved.clone(),
                ),
                MetricDef::new(
                    "backend_connections_active",
                    "Connections open to the backend now",
                    m.backend_active.clone(),
                ),
                MetricDef::new(
                    "backend_connections",
                    "Connections established to the backend",
                    m.backend_total.clone(),
                ),
                MetricDef::new(
                    "backend_sent",
                    "Bytes sent to the backend",
                    m.backend_sent.clone(),
                )
                .unit(Unit::Bytes),
                MetricDef::new(
                    "backend_received",
                    "Bytes received from the backend",
                    m.backend_received.clone(),
                )
                .unit(Unit::Bytes),
                MetricDef::new(
                    "backend_connect_errors",
                    "Failed or timed-out connection attempts to the backend",
                    m.backend_connect_errors.clone(),
                ),
                MetricDef::new(
                    "backend_up",
                    "1 while health checks keep the backend in rotation",
                    m.backend_up.clone(),
                ),
                MetricDef::new(
                    "backend_check",
                    "Duration of health checks",
                    m.check_seconds.clone(),
                )
                .unit(Unit::Seconds),
            ],
        );
        m
    }

    /// The handles of one frontend, which uses them until [`Metrics::release_frontend`].
    pub(crate) fn frontend(&self, name: &str) -> FrontendMetrics {
        let l = FrontendLabel {
            frontend: name.to_owned(),
        };
        self.frontend_users.add(&l);
        FrontendMetrics {
            active: self.frontend_active.get_or_create(&l).clone(),
            total: self.frontend_total.get_or_create(&l).clone(),
            received: self.frontend_received.get_or_create(&l).clone(),
            sent: self.frontend_sent.get_or_create(&l).clone(),
            unserved: self.frontend_unserved.get_or_create(&l).clone(),
        }
    }

    /// The handles of one backend, which uses them until [`Metrics::release_backend`].
    pub(crate) fn backend(&self, frontend: &str, backend: &str) -> BackendMetrics {
        let l = BackendLabel {
            frontend: frontend.to_owned(),
            backend: backend.to_owned(),
        };
        self.backend_users.add(&l);
        BackendMetrics {
            active: self.backend_active.get_or_create(&l).clone(),
            total: self.backend_total.get_or_create(&l).clone(),
            sent: self.backend_sent.get_or_create(&l).clone(),
            received: self.backend_received.get_or_create(&l).clone(),
            connect_errors: self.backend_connect_errors.get_or_create(&l).clone(),
            up: self.backend_up.get_or_create(&l).clone(),
            check_seconds: self.check_seconds.get_or_create(&l).clone(),
        }
    }

    /// A frontend that is gone with no connections left stops using its series; they are
    /// dropped unless a frontend of the same name uses them too.
    pub(crate) fn release_frontend(&self, name: &str) {
        let l = FrontendLabel {
            frontend: name.to_owned(),
        };
        if !self.frontend_users.remove(&l) {
            return;
        }
        self.frontend_active.remove(&l);
        self.frontend_total.remove(&l);
        self.frontend_received.remove(&l);
        self.frontend_sent.remove(&l);
        self.frontend_unserved.remove(&l);
    }

    /// A backend that is gone with no connections left stops using its series; they are
    /// dropped unless a backend of the same frontend and address uses them too.
    pub(crate) fn release_backend(&self, frontend: &str, backend: &str) {
        let l = BackendLabel {
            frontend: frontend.to_owned(),
            backend: backend.to_owned(),
        };
        if !self.backend_users.remove(&l) {
            return;
        }
        self.backend_active.remove(&l);
        self.backend_total.remove(&l);
        self.backend_sent.remove(&l);
        self.backend_received.remove(&l);
        self.backend_connect_errors.remove(&l);
        self.backend_up.remove(&l);
        self.check_seconds.remove(&l);
    }
}

/// One frontend's metric handles.
#[derive(Debug, Clone)]
pub(crate) struct FrontendMetrics {
    pub active: Gauge,
    pub total: Counter,
    pub received: Counter,
    pub sent: Counter,
    pub unserved: Counter,
}

/// One backend's metric handles.
#[derive(Debug, Clone)]
pub(crate) struct BackendMetrics {
    pub active: Gauge,
    pub total: Counter,
    pub sent: Counter,
    pub received: Counter,
    pub connect_errors: Counter,
    pub up: Gauge,
    pub check_seconds: Histogram,
}

/// Counts a connection's bytes on its frontend and backend as they move.
pub(crate) struct ConnectionBytes {
    pub frontend: FrontendMetrics,
    pub backend: BackendMetrics,
}

impl ByteSink for ConnectionBytes {
    fn to_backend(&self, n: u64) {
        self.frontend.received.inc_by(n);
        self.backend.sent.inc_by(n);
    }

    fn to_client(&self, n: u64) {
        self.backend.received.inc_by(n);
        self.frontend.sent.inc_by(n);
    }
}
