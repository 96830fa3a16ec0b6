//! BFD on the router's BGP sessions (RFC 5882): one `ferrolb-bfd` session per Established
//! neighbour whose peer group names a BFD profile. When a session goes from Up to Down (not by
//! the peer's AdminDown), the neighbour's BGP session is closed at once with Cease/BFD Down and
//! its routes go with it, so the forwarding task drops that next hop from every nexthop group
//! in one update instead of waiting for the hold timer.
//!
//! A VRRP instance that names a profile gets a session to each of its unicast peers; a failure
//! is passed on to the VRRP task, where a backup whose master that is takes over at once
//! instead of waiting out VRRP's Master_Down_Interval.
//!
//! A neighbour on a connected subnet gets a single-hop session (RFC 5881) bound to the
//! interface the kernel reaches it through; one behind a gateway a multihop session (RFC 5883),
//! as FRR decides for its BGP neighbours. The session is active (sends first) unless the
//! profile sets `passiveMode`. The driver runs on a thread of its own (see `ferrolb_bfd`) and
//! starts with the first session, so a router without BFD binds no BFD port.

mod plan;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ferrolb_api::RouterConfig;
use ferrolb_bfd::{BfdDriver, DriverConfig, SessionHandle, SessionKey, SessionParams};
use ferrolb_bgp::instance::Instance;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::api::{bfd_view, BfdView};
use crate::fib::netlink::{Netlink, Reach};
use crate::metrics::RouterMetrics;
pub use plan::{plan, vrrp_profiles, Listed, Plan};

/// How often the sessions are compared with the BGP neighbours: a new neighbour gets its BFD
/// session within this time of becoming Established.
const RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// One running session.
struct Running {
    handle: SessionHandle,
    params: SessionParams,
    /// Acts on each failure (BGP session closed, VRRP told).
    watcher: JoinHandle<()>,
}

/// The BFD sessions of the neighbours, shared with the admin API and metrics.
#[derive(Clone, Default)]
pub struct BfdPeers {
    sessions: Arc<Mutex<BTreeMap<IpAddr, Running>>>,
}

impl std::fmt::Debug for BfdPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BfdPeers")
            .field("sessions", &self.lock().len())
            .finish()
    }
}

impl BfdPeers {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<IpAddr, Running>> {
        // Poisoning only means a panic elsewhere; the map is still consistent.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every neighbour's session as the admin API shows it.
    pub fn views(&self) -> BTreeMap<IpAddr, BfdView> {
        self.lock()
            .iter()
            .map(|(address, r)| (*address, bfd_view(r.handle.key(), &r.handle.status())))
            .collect()
    }
}

/// The task keeping the BFD sessions in line with the neighbours and the configuration.
pub struct BfdTask {
    peers: BfdPeers,
    config: watch::Sender<Arc<RouterConfig>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Option<BfdDriver>>,
}

impl BfdTask {
    /// Starts the task for `config`'s peer groups and VRRP peers; the address of a peer whose
    /// session fails goes to `vrrp`.
    pub fn spawn(
        config: &RouterConfig,
        bgp: Instance,
        netlink: Netlink,
        metrics: RouterMetrics,
        vrrp: mpsc::UnboundedSender<IpAddr>,
    ) -> BfdTask {
        let peers = BfdPeers::default();
        let (config_tx, config_rx) = watch::channel(Arc::new(config.clone()));
        let (stop, stop_rx) = oneshot::channel();
        let supervisor = Supervisor {
            bgp,
            netlink,
            metrics,
            peers: peers.clone(),
            driver: None,
            vrrp,
        };
        BfdTask {
            peers,
            config: config_tx,
            stop,
            task: tokio::spawn(supervisor.run(config_rx, stop_rx)),
        }
    }

    /// The sessions, for the admin API and metrics.
    pub fn peers(&self) -> BfdPeers {
        self.peers.clone()
    }

    /// Applies a reloaded configuration (profiles and the groups' `bfd`) without touching
    /// any BGP session.
    pub fn set_config(&self, config: &RouterConfig) {
        self.config.send_replace(Arc::new(config.clone()));
    }

    /// Ends every session, telling the peers AdminDown first so that they do not take the
    /// router's shutdown for a path failure (RFC 5882 section 3.2).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let driver = match self.task.await {
            Ok(driver) => driver,
            Err(e) => {
                tracing::warn!(error = %e, "BFD task failed");
                None
            }
        };
        for (_, running) in std::mem::take(&mut *self.peers.lock()) {
            running.watcher.abort();
        }
        if let Some(driver) = driver {
            // Joins the driver thread once the AdminDown packets are out.
            if let Err(e) = tokio::task::spawn_blocking(move || driver.shutdown()).await {
                tracing::warn!(error = %e, "stopping the BFD driver");
            }
        }
    }
}

/// The task's state.
struct Supervisor {
    bgp: Instance,
    netlink: Netlink,
    metrics: RouterMetrics,
    peers: BfdPeers,
    /// Started with the first session.
    driver: Option<BfdDriver>,
    /// Told the address of every failed peer.
    vrrp: mpsc::UnboundedSender<IpAddr>,
}

impl Supervisor {
    async fn run(
        mut self,
        mut config: watch::Receiver<Arc<RouterConfig>>,
        mut stop: oneshot::Receiver<()>,
    ) -> Option<BfdDriver> {
        let mut tick = tokio::time::interval(RECONCILE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
                changed = config.changed() => if changed.is_err() { break },
            }
            let current = config.borrow_and_update().clone();
            let Ok(neighbors) = self.bgp.neighbors().await else {
                break;
            };
            let listed: Vec<Listed> = neighbors
                .iter()
                .map(|n| Listed {
                    address: n.address,
                    established: n.is_established(),
                })
                .collect();
            let running: BTreeMap<IpAddr, SessionParams> = self
                .peers
                .lock()
                .iter()
                .map(|(a, r)| (*a, r.params))
                .collect();
            self.apply(plan(&current, &listed, &running)).await;
        }
        self.driver
    }

    async fn apply(&mut self, plan: Plan) {
        for address in plan.remove {
            let Some(running) = self.peers.lock().remove(&address) else {
                continue;
            };
            running.watcher.abort();
            if let Some(driver) = &self.driver {
                driver.remove_session(running.handle.key());
            }
            tracing::info!(peer = %address, "BFD session removed");
        }
        for (address, params) in plan.update {
            let mut sessions = self.peers.lock();
            let Some(running) = sessions.get_mut(&address) else {
                continue;
            };
            match running.handle.set_params(params) {
                Ok(()) => running.params = params,
                Err(e) => tracing::warn!(peer = %address, error = %e, "cannot change BFD timers"),
            }
        }
        for (address, params) in plan.add {
            match self.start_session(address, params).await {
                Ok(running) => {
                    tracing::info!(peer = %address, key = %running.handle.key(), "BFD session started");
                    self.peers.lock().insert(address, running);
                }
                // Tried again on the next round.
                Err(e) => tracing::warn!(peer = %address, error = %e, "cannot start a BFD session"),
            }
        }
    }

    async fn start_session(
        &mut self,
        address: IpAddr,
        params: SessionParams,
    ) -> Result<Running, String> {
        let key = self.session_key(address).await?;
        if self.driver.is_none() {
            let driver = BfdDriver::start(DriverConfig::default())
                .map_err(|e| format!("starting the BFD driver: {e}"))?;
            self.metrics.register_bfd_driver(&driver);
            self.driver = Some(driver);
        }
        let driver = self.driver.as_ref().ok_or("no BFD driver")?;
        let handle = driver.add_session(key, params).map_err(|e| e.to_string())?;
        let watcher = tokio::spawn(act_on_failures(
            address,
            handle.clone(),
            self.bgp.clone(),
            self.vrrp.clone(),
            self.metrics.clone(),
        ));
        Ok(Running {
            handle,
            params,
            watcher,
        })
    }

    /// Single-hop on the interface a connected neighbour is reached through, multihop behind
    /// a gateway; the local address is the one the kernel picks towards the neighbour (the
    /// address its BGP session uses).
    async fn session_key(&self, peer: IpAddr) -> Result<SessionKey, String> {
        let reach = self
            .netlink
            .resolve(peer)
            .await
            .map_err(|e| e.to_string())?;
        let local = source_address(peer).map_err(|e| format!("no route to {peer}: {e}"))?;
        match reach {
            Reach::Connected(oif) => {
                let key = SessionKey::single_hop(peer, local);
                Ok(match crate::admin::interface_name(oif) {
                    Some(name) => key.on_interface(&name),
                    None => key,
                })
            }
            Reach::ViaGateway => Ok(SessionKey::multihop(peer, local)),
            other => Err(format!("{peer} is not reachable for BFD ({other:?})")),
        }
    }
}

/// The source address the kernel chooses for packets to `peer` (no packet is sent).
fn source_address(peer: IpAddr) -> std::io::Result<IpAddr> {
    let any = match peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(SocketAddr::new(peer, ferrolb_bfd::driver::SINGLE_HOP_PORT))?;
    Ok(socket.local_addr()?.ip())
}

/// RFC 5882 section 4.3: a failed BFD session brings the BGP session down at once; VRRP hears
/// of it too (it only acts on its instances' peers).
async fn act_on_failures(
    address: IpAddr,
    handle: SessionHandle,
    bgp: Instance,
    vrrp: mpsc::UnboundedSender<IpAddr>,
    metrics: RouterMetrics,
) {
    let mut failures = handle.failures();
    while let Some(status) = failures.next().await {
        tracing::warn!(
            peer = %address,
            diag = crate::api::diag_name(status.diag),
            "BFD detected the path down"
        );
        metrics.count_bfd_down(address);
        let _ = vrrp.send(address);
        if let Err(e) = bgp.bfd_down(address).await {
            tracing::debug!(peer = %address, error = %e, "no BGP session to close");
        }
    }
}
