//! The load balancer: the set of running frontends, reconfigured in place.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ferrolb_api::router_config::{Backend, Frontend as FrontendConfig, LoadBalancerConfig};
use serde::Serialize;

use crate::backend::{lock, AdminState};
use crate::diff::{self, FrontendChange};
use crate::frontend::Frontend;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::Error;

/// The running load balancer. Dropping it stops listening and checking; established
/// connections run on until they end.
#[derive(Debug)]
pub struct LoadBalancer {
    metrics: Metrics,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    config: Vec<FrontendConfig>,
    workers: usize,
    frontends: BTreeMap<String, Arc<Frontend>>,
}

/// A frontend as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrontendStatus {
    /// Its name.
    pub name: String,
    /// Addresses it listens on.
    pub listen: Vec<SocketAddr>,
    /// Backends in configuration order.
    pub backends: Vec<BackendStatus>,
}

/// A backend as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendStatus {
    /// Its address.
    pub address: SocketAddr,
    /// Whether health checks keep it in rotation.
    pub up: bool,
    /// What the operator set (`ready`, `drain`, `maint`).
    pub admin_state: AdminState,
    /// Whether it takes new connections now (ready, up, below its connection limit).
    pub in_rotation: bool,
    /// Configured weight.
    pub weight: u32,
    /// Connections open to it now.
    pub active_connections: u64,
    /// Why its last failed check or connection attempt failed.
    pub last_error: Option<String>,
}

impl LoadBalancer {
    /// An empty load balancer reporting to `metrics`.
    pub fn new(metrics: Metrics) -> LoadBalancer {
        LoadBalancer {
            metrics,
            state: Mutex::new(State::default()),
        }
    }

    /// Brings the running frontends to `config`, changing only what differs. Must be called
    /// inside a Tokio runtime. On error the parts that could be applied are; the rest is
    /// reported, and the next `apply` retries it: what is remembered as running is what
    /// really runs, so the next plan covers whatever is still missing.
    pub fn apply(&self, config: &LoadBalancerConfig) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let workers = config
            .accept_workers
            .map_or_else(default_workers, |n| n.max(1) as usize);
        let plan = diff::diff(&state.config, &config.frontends);
        let mut errors = Vec::new();
        for name in &plan.removed {
            if let Some(f) = state.frontends.remove(name) {
                f.stop();
                tracing::info!(frontend = %name, "frontend removed");
            }
        }
        let by_name = |name: &str| config.frontends.iter().find(|f| f.name == name);
        // What runs after this apply, by frontend; a frontend left out runs nothing.
        let mut running: BTreeMap<String, FrontendConfig> = state
            .config
            .iter()
            .filter(|fc| !plan.removed.contains(&fc.name))
            .map(|fc| (fc.name.clone(), fc.clone()))
            .collect();
        for name in &plan.added {
            let Some(fc) = by_name(name) else { continue };
            match self.start_frontend(fc, workers) {
                Ok(f) => {
                    state.frontends.insert(name.clone(), f);
                    running.insert(name.clone(), fc.clone());
                }
                Err(e) => errors.push(e),
            }
        }
        for change in &plan.changed {
            let (Some(fc), Some(f)) = (by_name(&change.name), state.frontends.get(&change.name))
            else {
                continue;
            };
            if change.settings_changed {
                match Settings::new(fc) {
                    Ok(settings) => f.set_settings(settings),
                    Err(e) => {
                        // Nothing changed: the old configuration still runs.
                        errors.push(e);
                        continue;
                    }
                }
            }
            let now = match update_frontend(f, fc, change, workers) {
                Ok(()) => fc.clone(),
                Err(e) => {
                    errors.push(e);
                    as_running(f, fc)
                }
            };
            running.insert(change.name.clone(), now);
        }
        if workers != state.workers {
            tracing::info!(workers, "accept workers per listen address");
        }
        // Every apply, so sockets a failed one could not open are opened now.
        for f in state.frontends.values() {
            if let Err(e) = f.set_workers(workers) {
                errors.push(e);
            }
        }
        // In configuration order, as the next diff expects nothing else of it.
        state.config = config
            .frontends
            .iter()
            .filter_map(|fc| running.remove(&fc.name))
            .collect();
        state.workers = workers;
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Several(errors)),
        }
    }

    fn start_frontend(&self, fc: &FrontendConfig, workers: usize) -> Result<Arc<Frontend>, Error> {
        let f = Arc::new(Frontend::new(&fc.name, Settings::new(fc)?, &self.metrics));
        for b in &fc.backends {
            f.add_backend(b.address, b.weight);
        }
        for address in &fc.listen {
            if let Err(e) = f.listen(*address, workers) {
                f.stop();
                return Err(e);
            }
        }
        tracing::info!(frontend = %fc.name, backends = fc.backends.len(), "frontend started");
        Ok(f)
    }

    /// Every frontend with its backends' state.
    pub fn status(&self) -> Vec<FrontendStatus> {
        let state = lock(&self.state);
        state
            .frontends
            .values()
            .map(|f| {
                let limit = f.settings.get().backend_max_connections;
                FrontendStatus {
                    name: f.name.clone(),
                    listen: f.listen_addresses(),
                    backends: f
                        .backends()
                        .iter()
                        .map(|b| BackendStatus {
                            address: b.address,
                            up: b.is_up(),
                            admin_state: b.admin(),
                            in_rotation: b.is_eligible(limit),
                            weight: b.weight(),
                            active_connections: b.active(),
                            last_error: b.last_error(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Sets a backend to `ready`, `drain` or `maint`.
    pub fn set_admin_state(
        &self,
        frontend: &str,
        backend: SocketAddr,
        admin: AdminState,
    ) -> Result<(), Error> {
        let state = lock(&self.state);
        let f = state
            .frontends
            .get(frontend)
            .ok_or_else(|| Error::NoFrontend(frontend.to_owned()))?;
        let b = f
            .backends()
            .into_iter()
            .find(|b| b.address == backend)
            .ok_or_else(|| Error::NoBackend {
                frontend: frontend.to_owned(),
                backend,
            })?;
        b.set_admin(admin);
        tracing::info!(frontend, %backend, state = ?admin, "backend state set");
        Ok(())
    }

    /// Stops listening and checking everywhere; established connections run on.
    pub fn stop(&self) {
        let mut state = lock(&self.state);
        for f in state.frontends.values() {
            f.stop();
        }
        state.frontends.clear();
        state.config.clear();
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn update_frontend(
    f: &Arc<Frontend>,
    fc: &FrontendConfig,
    change: &FrontendChange,
    workers: usize,
) -> Result<(), Error> {
    for address in &change.backends_removed {
        f.remove_backend(*address);
    }
    for b in &change.backends_added {
        f.add_backend(b.address, b.weight);
    }
    for (address, weight) in &change.reweighted {
        if let Some(b) = f.backends().iter().find(|b| b.address == *address) {
            b.set_weight(*weight);
        }
    }
    for address in &change.listen_removed {
        f.unlisten(*address);
    }
    let mut result = Ok(());
    for address in &change.listen_added {
        if let Err(e) = f.listen(*address, workers) {
            result = result.and(Err(e));
        }
    }
    tracing::info!(frontend = %fc.name, ?change, ok = result.is_ok(), "frontend updated");
    result
}

/// What a frontend whose update failed part way runs: the new settings (they are set
/// first), its listen addresses and backends as they are.
fn as_running(f: &Frontend, fc: &FrontendConfig) -> FrontendConfig {
    let mut now = fc.clone();
    now.listen = f.listen_addresses();
    now.backends = f
        .backends()
        .iter()
        .map(|b| Backend {
            address: b.address,
            weight: b.weight(),
        })
        .collect();
    now
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
