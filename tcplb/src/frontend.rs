//! A frontend at run time: its listen sockets, its backends and the life of each client
//! connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::backend::{lock, Backend};
use crate::balance::{Balancer, Candidate};
use crate::forward::{self, End};
use crate::listen::{Admit, Listeners};
use crate::metrics::{ConnectionBytes, FrontendMetrics, Metrics};
use crate::proxy_protocol;
use crate::retire::Retirement;
use crate::settings::{Settings, SettingsCell};
use crate::Error;

/// Most backends tried for one client connection before giving up on it.
const MAX_ATTEMPTS: usize = 3;

/// One load-balanced service.
#[derive(Debug)]
pub(crate) struct Frontend {
    pub name: String,
    pub settings: SettingsCell,
    pub backends: RwLock<Vec<Arc<Backend>>>,
    balancer: Mutex<Balancer>,
    listeners: Mutex<Listeners>,
    /// Client connections from accept to close; the metric series go after the last one
    /// of a removed frontend.
    connections: Retirement,
    /// Caps concurrent client connections (`maxConnections`); replaced on reload.
    limit: RwLock<Option<Arc<Semaphore>>>,
    pub metrics: FrontendMetrics,
    all_metrics: Metrics,
}

impl Frontend {
    pub fn new(name: &str, settings: Settings, metrics: &Metrics) -> Frontend {
        let limit = semaphore(&settings);
        Frontend {
            name: name.to_owned(),
            settings: SettingsCell::new(settings),
            backends: RwLock::new(Vec::new()),
            balancer: Mutex::new(Balancer::default()),
            listeners: Mutex::new(Listeners::default()),
            connections: Retirement::default(),
            limit: RwLock::new(limit),
            metrics: metrics.frontend(name),
            all_metrics: metrics.clone(),
        }
    }

    /// Replaces the settings; new connections and the next checks use them.
    pub fn set_settings(&self, settings: Settings) {
        let new_limit = semaphore(&settings);
        let old_max = self.settings.get().max_connections;
        if old_max != settings.max_connections {
            // Connections holding permits of the old semaphore keep them until they end.
            *self.limit.write().unwrap_or_else(|e| e.into_inner()) = new_limit;
        }
        for b in self.backends().iter() {
            b.set_thresholds(settings.rise, settings.fall);
        }
        self.settings.set(settings);
    }

    pub fn backends(&self) -> Vec<Arc<Backend>> {
        self.backends
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adds a backend and starts checking it.
    pub fn add_backend(&self, address: SocketAddr, weight: u32) {
        if self.backends().iter().any(|b| b.address == address) {
            return;
        }
        let s = self.settings.get();
        let backend = Arc::new(Backend::new(
            &self.name,
            address,
            weight,
            s.rise,
            s.fall,
            &self.all_metrics,
        ));
        backend.start_checks(self.settings.clone());
        self.backends
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(backend);
    }

    /// Takes a backend out of the set; its established connections stay open.
    pub fn remove_backend(&self, address: SocketAddr) {
        let mut backends = self.backends.write().unwrap_or_else(|e| e.into_inner());
        backends.retain(|b| {
            if b.address != address {
                return true;
            }
            b.retire();
            false
        });
    }

    /// Listens on `address` with `workers` SO_REUSEPORT sockets, each with its accepting
    /// task; an address already listened on gets that many sockets, in place.
    pub fn listen(self: &Arc<Self>, address: SocketAddr, workers: usize) -> Result<(), Error> {
        let mut listeners = lock(&self.listeners);
        let before = listeners.sockets(address);
        let result = listeners.resize(address, workers, self);
        let after = listeners.sockets(address);
        if before != after {
            tracing::info!(frontend = %self.name, %address, sockets = after, "listening");
        }
        result.map_err(|source| Error::Listen {
            frontend: self.name.clone(),
            address,
            source,
        })
    }

    /// Brings every listen address to `workers` sockets (`acceptWorkers`).
    pub fn set_workers(self: &Arc<Self>, workers: usize) -> Result<(), Error> {
        for address in self.listen_addresses() {
            self.listen(address, workers)?;
        }
        Ok(())
    }

    /// Closes the listen sockets of `address`; accepted connections are not affected.
    pub fn unlisten(&self, address: SocketAddr) {
        if lock(&self.listeners).remove(address) {
            tracing::info!(frontend = %self.name, %address, "stopped listening");
        }
    }

    /// Stops listening everywhere and stops all health checks, for good. The metric series
    /// go once the last connection has closed.
    pub fn stop(&self) {
        for a in self.listen_addresses() {
            self.unlisten(a);
        }
        for b in self.backends() {
            b.retire();
        }
        if self.connections.retire() {
            self.all_metrics.release_frontend(&self.name);
        }
    }

    pub fn listen_addresses(&self) -> Vec<SocketAddr> {
        lock(&self.listeners).addresses()
    }

    /// Picks an eligible backend not in `tried`.
    fn pick(&self, settings: &Settings, client: SocketAddr, tried: &[u64]) -> Option<Arc<Backend>> {
        let backends = self.backends();
        let eligible: Vec<&Arc<Backend>> = backends
            .iter()
            .filter(|b| !tried.contains(&b.id) && b.is_eligible(settings.backend_max_connections))
            .collect();
        let candidates: Vec<Candidate> = eligible
            .iter()
            .map(|b| Candidate {
                id: b.id,
                key: b.key.clone(),
                weight: b.effective_weight(settings.slow_start),
                configured_weight: b.weight(),
                active: b.active(),
            })
            .collect();
        let i = lock(&self.balancer).pick(settings.algorithm, &candidates, client.ip())?;
        eligible.get(i).map(|b| (*b).clone())
    }

    /// Serves one client connection from backend choice to close.
    async fn serve(&self, client: TcpStream, peer: SocketAddr) {
        let started = Instant::now();
        let settings = self.settings.get();
        self.metrics.total.inc();
        self.metrics.active.inc();
        let _ = client.set_nodelay(true);
        let mut tried = Vec::new();
        while tried.len() < MAX_ATTEMPTS {
            let Some(backend) = self.pick(&settings, peer, &tried) else {
                break;
            };
            tried.push(backend.id);
            let guard = backend.open();
            let connected = tokio::time::timeout(
                settings.connect_timeout,
                TcpStream::connect(backend.address),
            )
            .await;
            let mut server = match connected {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    backend.metrics.connect_errors.inc();
                    backend.observe(Err(format!("connect: {e}")));
                    continue;
                }
                Err(_) => {
                    backend.metrics.connect_errors.inc();
                    backend.observe(Err(format!(
                        "connect: no answer within {:?}",
                        settings.connect_timeout
                    )));
                    continue;
                }
            };
            backend.metrics.total.inc();
            let _ = server.set_nodelay(true);
            if settings.proxy_protocol {
                let local = client.local_addr().unwrap_or(peer);
                if server
                    .write_all(&proxy_protocol::encode(peer, local))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let sink = Arc::new(ConnectionBytes {
                frontend: self.metrics.clone(),
                backend: backend.metrics.clone(),
            });
            let totals = forward::forward(&client, &server, settings.timeouts, sink).await;
            if totals.end == End::Error {
                // One side reset (or failed): pass the reset on rather than a FIN, as the
                // peer would have seen without a proxy. Neither socket lingers in TIME_WAIT.
                for socket in [&client, &server] {
                    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
                }
            }
            drop(guard);
            if settings.access_log {
                tracing::info!(
                    target: "ferrolb_tcplb::access",
                    frontend = %self.name,
                    client = %peer,
                    backend = %backend.address,
                    duration_ms = started.elapsed().as_millis() as u64,
                    bytes_from_client = totals.to_backend,
                    bytes_to_client = totals.to_client,
                    end = match totals.end { End::Closed => "closed", End::TimedOut => "timeout", End::Error => "error" },
                    "connection"
                );
            }
            self.metrics.active.dec();
            return;
        }
        self.metrics.unserved.inc();
        self.metrics.active.dec();
        if settings.access_log {
            tracing::info!(target: "ferrolb_tcplb::access", frontend = %self.name, client = %peer, "no backend available");
        }
    }
}

impl Admit for Frontend {
    fn admit(frontend: &Arc<Self>, client: TcpStream, peer: SocketAddr) {
        // Accept first, then wait for a slot: with SO_REUSEPORT each socket has its own
        // queue, and a task holding a slot while waiting on an empty queue would starve the
        // others.
        let limit = frontend
            .limit
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let connection = Connection::open(frontend.clone());
        tokio::spawn(async move {
            let _permit = match limit {
                Some(sem) => match sem.acquire_owned().await {
                    Ok(p) => Some(p),
                    Err(_) => return,
                },
                None => None,
            };
            connection.0.serve(client, peer).await;
        });
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Counts a client connection on its frontend from accept to close.
struct Connection(Arc<Frontend>);

impl Connection {
    fn open(frontend: Arc<Frontend>) -> Connection {
        frontend.connections.open();
        Connection(frontend)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.0.connections.close() {
            self.0.all_metrics.release_frontend(&self.0.name);
        }
    }
}

fn semaphore(settings: &Settings) -> Option<Arc<Semaphore>> {
    settings
        .max_connections
        .map(|n| Arc::new(Semaphore::new(n as usize)))
}
