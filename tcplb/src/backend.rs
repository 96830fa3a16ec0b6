//! A backend at run time: its health, administrative state, connection count and health
//! checking task.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::health::{Health, Transition};
use crate::metrics::{BackendMetrics, Metrics};
use crate::retire::Retirement;
use crate::settings::SettingsCell;
use crate::slow_start;

/// What an operator allows a backend to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AdminState {
    /// Takes new connections while healthy.
    Ready,
    /// Takes no new connections; established ones stay until they end. Still checked.
    Drain,
    /// Maintenance: takes no new connections and is not checked; established ones stay.
    Maint,
}

impl AdminState {
    fn from_u8(v: u8) -> AdminState {
        match v {
            1 => AdminState::Drain,
            2 => AdminState::Maint,
            _ => AdminState::Ready,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            AdminState::Ready => 0,
            AdminState::Drain => 1,
            AdminState::Maint => 2,
        }
    }
}

/// One backend of one frontend.
#[derive(Debug)]
pub(crate) struct Backend {
    pub id: u64,
    pub address: SocketAddr,
    pub key: String,
    frontend: String,
    weight: AtomicU32,
    admin: AtomicU8,
    health: Mutex<Health>,
    /// When the backend last came up (slow start counts from here).
    /// `None` for a backend up since it was configured (no slow start then).
    up_since: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
    connections: Retirement,
    pub metrics: BackendMetrics,
    all_metrics: Metrics,
    checker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Keeps a backend's active count raised while a connection (or attempt) to it exists.
#[derive(Debug)]
pub(crate) struct ActiveGuard(Arc<Backend>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.metrics.active.dec();
        if self.0.connections.close() {
            self.0.release_metrics();
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Backend {
    pub fn new(
        frontend: &str,
        address: SocketAddr,
        weight: u32,
        rise: u32,
        fall: u32,
        all_metrics: &Metrics,
    ) -> Backend {
        let key = address.to_string();
        let metrics = all_metrics.backend(frontend, &key);
        metrics.up.set(1);
        Backend {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            address,
            key,
            frontend: frontend.to_owned(),
            weight: AtomicU32::new(weight.max(1)),
            admin: AtomicU8::new(AdminState::Ready.as_u8()),
            health: Mutex::new(Health::new(rise, fall)),
            // A configured backend starts at full weight; slow start is for recoveries.
            up_since: Mutex::new(None),
            last_error: Mutex::new(None),
            connections: Retirement::default(),
            metrics,
            all_metrics: all_metrics.clone(),
            checker: Mutex::new(None),
        }
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight.max(1), Ordering::Relaxed);
    }

    pub fn admin(&self) -> AdminState {
        AdminState::from_u8(self.admin.load(Ordering::Relaxed))
    }

    pub fn set_admin(&self, state: AdminState) {
        self.admin.store(state.as_u8(), Ordering::Relaxed);
    }

    pub fn is_up(&self) -> bool {
        lock(&self.health).is_up()
    }

    pub fn active(&self) -> u64 {
        self.connections.active()
    }

    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Whether a new connection may go here (limit: per-backend connection cap).
    pub fn is_eligible(&self, limit: Option<u32>) -> bool {
        !self.connections.is_retired()
            && self.admin() == AdminState::Ready
            && self.is_up()
            && limit.is_none_or(|l| self.active() < u64::from(l))
    }

    /// The balancing weight now, slow start applied.
    pub fn effective_weight(&self, slow_start: Option<Duration>) -> u32 {
        let up_for = lock(&self.up_since).map_or(Duration::MAX, |t| t.elapsed());
        slow_start::effective_weight(self.weight(), up_for, slow_start)
    }

    /// Counts a connection (attempt) until the guard is dropped.
    pub fn open(self: &Arc<Self>) -> ActiveGuard {
        self.connections.open();
        self.metrics.active.inc();
        ActiveGuard(self.clone())
    }

    /// New rise and fall counts.
    pub fn set_thresholds(&self, rise: u32, fall: u32) {
        lock(&self.health).set_thresholds(rise, fall);
    }

    /// Records a check result or a passive connect outcome.
    pub fn observe(&self, result: Result<(), String>) {
        let ok = result.is_ok();
        if let Err(e) = &result {
            *lock(&self.last_error) = Some(e.clone());
        }
        let transition = lock(&self.health).observe(ok);
        match transition {
            Some(Transition::WentUp) => {
                *lock(&self.up_since) = Some(Instant::now());
                self.metrics.up.set(1);
                tracing::info!(frontend = %self.frontend, backend = %self.address, "backend up");
            }
            Some(Transition::WentDown) => {
                self.metrics.up.set(0);
                tracing::warn!(
                    frontend = %self.frontend,
                    backend = %self.address,
                    reason = result.err().unwrap_or_default(),
                    "backend down"
                );
            }
            None => {}
        }
    }

    /// Starts health checking with the frontend's current settings.
    pub fn start_checks(self: &Arc<Self>, settings: SettingsCell) {
        let me = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let s = settings.get();
                if me.admin() != AdminState::Maint {
                    let started = Instant::now();
                    let result = s.probe.check(me.address).await;
                    me.metrics
                        .check_seconds
                        .observe(started.elapsed().as_secs_f64());
                    me.observe(result);
                }
                tokio::time::sleep(s.check_interval).await;
            }
        });
        if let Some(old) = lock(&self.checker).replace(task) {
            old.abort();
        }
    }

    /// Takes the backend out for good: no new connections, no checks. Its metric series
    /// go once its last connection has closed.
    pub fn retire(&self) {
        if let Some(task) = lock(&self.checker).take() {
            task.abort();
        }
        if self.connections.retire() {
            self.release_metrics();
        }
    }

    fn release_metrics(&self) {
        self.all_metrics.release_backend(&self.frontend, &self.key);
    }
}

/// Locks a mutex, also after a panic elsewhere (the data stays consistent: plain values).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
