//! A BGP speaker: sessions, the RIB and the change stream, run together.
//!
//! [`Instance`] ties the pieces of this crate into what a daemon runs: one task owns the
//! [`LocRib`](crate::rib::LocRib) and every neighbour's Adj-RIB-Out; each session task (see
//! [`session`](crate::session)) feeds it [`SessionEvent`](crate::session::SessionEvent)s; the
//! changes of the Loc-RIB go to every established neighbour (packed into few UPDATEs) and to
//! every subscriber (the router's FIB writer, an admin API).
//!
//! Routes the application originates itself (a speaker's service addresses) are announced with
//! [`Instance::announce`] and [`Instance::withdraw`]; they go to every neighbour whose export
//! policy permits them but are not part of the Loc-RIB's decision process.
//!
//! A prefix is either originated or learned, not both: if it is both, neighbours are sent the
//! originated route, and after it is withdrawn they see the learned one again only once their
//! session restarts or asks for a ROUTE-REFRESH (FerroLB's speaker only originates and its
//! router only learns, so neither meets this).
//!
//! ```no_run
//! use ferrolb_bgp::instance::{Instance, InstanceConfig, NeighborConfig};
//! use ferrolb_bgp::session::PeerConfig;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = InstanceConfig::new(65000, "192.0.2.1".parse()?, vec!["0.0.0.0:179".parse()?]);
//! let instance = Instance::spawn(config)?;
//! let mut changes = instance.subscribe().await?;
//! instance
//!     .add_neighbor(NeighborConfig::new(PeerConfig::new("192.0.2.2".parse()?, 65000, 65001, "192.0.2.1".parse()?)))
//!     .await?;
//! while let Some(batch) = changes.recv().await {
//!     for change in batch.iter() {
//!         println!("{} -> {:?}", change.prefix, change.best.as_ref().map(|b| b.next_hops.len()));
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod export;
mod latest;
mod neighbor;
mod status;
mod task;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};

use crate::attribute::{NextHop, PathAttributes};
use crate::message::{subcode, Notification};
use crate::rib::{BestRoute, DecisionConfig, ExportPolicy, ImportPolicy, RibChange};
use crate::session::{DynamicNeighbors, Listener, PeerConfig, SessionError};
use crate::types::{Asn, RouterId};

pub use latest::{LatestChanges, LatestUpdate};
pub use status::{NeighborStatus, PrefixCounters};

/// One batch of Loc-RIB changes, shared by every subscriber.
pub type ChangeBatch = Arc<Vec<RibChange>>;

/// Settings of the whole speaker.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// Our AS.
    pub local_asn: Asn,
    /// Our BGP identifier.
    pub router_id: RouterId,
    /// Best path and multipath settings.
    pub decision: DecisionConfig,
    /// Addresses to accept BGP connections on; empty for outgoing connections only.
    pub listen: Vec<SocketAddr>,
}

impl InstanceConfig {
    /// A speaker with the default decision process.
    pub fn new(local_asn: Asn, router_id: RouterId, listen: Vec<SocketAddr>) -> InstanceConfig {
        InstanceConfig {
            local_asn,
            router_id,
            decision: DecisionConfig::default(),
            listen,
        }
    }
}

/// A configured neighbour with its policies.
#[derive(Debug, Clone)]
pub struct NeighborConfig {
    /// Session and transport settings.
    pub peer: PeerConfig,
    /// What we accept from it.
    pub import: ImportPolicy,
    /// What we send it. Unset local addresses are filled in from the session's own address.
    pub export: ExportPolicy,
    /// Keep its routes as stale when its session drops, as RFC 4724's receiving speaker does.
    pub graceful_restart_helper: bool,
}

impl NeighborConfig {
    /// A neighbour that accepts and sends everything, helping graceful restarts.
    pub fn new(peer: PeerConfig) -> NeighborConfig {
        NeighborConfig {
            peer,
            import: ImportPolicy::default(),
            export: ExportPolicy::default(),
            graceful_restart_helper: true,
        }
    }
}

/// A range of addresses that unconfigured neighbours may connect from, with their policies.
#[derive(Debug, Clone)]
pub struct DynamicNeighborConfig {
    /// The range, allowed ASNs and per-session settings.
    pub range: DynamicNeighbors,
    /// What we accept from each.
    pub import: ImportPolicy,
    /// What we send each.
    pub export: ExportPolicy,
    /// Keep routes as stale when a session drops (RFC 4724 helper).
    pub graceful_restart_helper: bool,
}

/// Errors of [`Instance`] operations.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Setting up a session or the listener failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A neighbour with this address is already configured.
    #[error("neighbour {0} is already configured")]
    DuplicateNeighbor(IpAddr),
    /// No neighbour with this address is configured.
    #[error("no neighbour {0}")]
    UnknownNeighbor(IpAddr),
    /// The instance has no listener, so it cannot accept dynamic neighbours.
    #[error("dynamic neighbours need a listener: the instance listens on no address")]
    NoListener,
    /// The instance task has ended.
    #[error("the BGP instance has stopped")]
    Stopped,
}

/// Requests to the instance task.
pub(crate) enum Command {
    AddNeighbor(
        Box<NeighborConfig>,
        oneshot::Sender<Result<(), InstanceError>>,
    ),
    RemoveNeighbor(IpAddr, oneshot::Sender<Result<(), InstanceError>>),
    CloseSession(
        IpAddr,
        Notification,
        oneshot::Sender<Result<(), InstanceError>>,
    ),
    SetExportPolicy(
        IpAddr,
        Box<ExportPolicy>,
        oneshot::Sender<Result<(), InstanceError>>,
    ),
    AddDynamic(
        Box<DynamicNeighborConfig>,
        oneshot::Sender<Result<(), InstanceError>>,
    ),
    Announce(Vec<IpNet>, Arc<PathAttributes>, Option<NextHop>),
    Withdraw(Vec<IpNet>),
    Subscribe(oneshot::Sender<mpsc::UnboundedReceiver<ChangeBatch>>),
    SubscribeLatest(oneshot::Sender<LatestChanges>),
    Neighbors(oneshot::Sender<Vec<NeighborStatus>>),
    Routes(oneshot::Sender<Vec<(IpNet, BestRoute)>>),
    Shutdown(Farewell, oneshot::Sender<()>),
}

/// How [`Instance`] sessions end when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Farewell {
    /// Cease/Administrative Shutdown: peers drop our routes.
    Cease,
    /// No NOTIFICATION: peers helping graceful restarts keep our routes until we are back.
    Restart,
}

/// A running BGP speaker. Cheap to clone; the task stops on [`Instance::shutdown`] or when the
/// last clone is dropped.
#[derive(Clone, Debug)]
pub struct Instance {
    commands: mpsc::Sender<Command>,
    local_addrs: Arc<Vec<SocketAddr>>,
}

impl Instance {
    /// Binds the listener (if any) and starts the instance task. Must be called within a tokio
    /// runtime.
    pub fn spawn(config: InstanceConfig) -> Result<Instance, InstanceError> {
        let listener = if config.listen.is_empty() {
            None
        } else {
            Some(Listener::bind(&config.listen)?)
        };
        let local_addrs = Arc::new(
            listener
                .as_ref()
                .map(|l| l.local_addrs().to_vec())
                .unwrap_or_default(),
        );
        let (commands, rx) = mpsc::channel(256);
        tokio::spawn(task::run(config, listener, rx));
        Ok(Instance {
            commands,
            local_addrs,
        })
    }

    /// The addresses the listener is bound to, with the ports in use.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, InstanceError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| InstanceError::Stopped)?;
        rx.await.map_err(|_| InstanceError::Stopped)
    }

    /// Configures a neighbour and starts its session. Routes announced before this call go in
    /// the session's first UPDATEs, ahead of End-of-RIB: a restarting speaker announces first,
    /// so that its End-of-RIB does not make the peer purge routes it still means to send.
    pub async fn add_neighbor(&self, config: NeighborConfig) -> Result<(), InstanceError> {
        self.request(|tx| Command::AddNeighbor(Box::new(config), tx))
            .await?
    }

    /// Stops a neighbour's session (Cease) and withdraws what it sent.
    pub async fn remove_neighbor(&self, address: IpAddr) -> Result<(), InstanceError> {
        self.request(|tx| Command::RemoveNeighbor(address, tx))
            .await?
    }

    /// Closes one neighbour's session at once with `notification` (AutomaticStop). Its routes
    /// go at once too (a session we close is no graceful restart), and the session comes back
    /// by itself after the IdleHold backoff.
    pub async fn close_session(
        &self,
        address: IpAddr,
        notification: Notification,
    ) -> Result<(), InstanceError> {
        self.request(|tx| Command::CloseSession(address, notification, tx))
            .await?
    }

    /// Closes the session of a neighbour whose forwarding path BFD reports down (RFC 5882
    /// section 4.3), with Cease/BFD Down (RFC 9384).
    pub async fn bfd_down(&self, address: IpAddr) -> Result<(), InstanceError> {
        self.close_session(address, Notification::cease(subcode::cease::BFD_DOWN))
            .await
    }

    /// Replaces a configured neighbour's export policy in place. An established session is
    /// sent only the difference (new routes, withdrawals, changed attributes); it is not reset.
    pub async fn set_export_policy(
        &self,
        address: IpAddr,
        export: ExportPolicy,
    ) -> Result<(), InstanceError> {
        self.request(|tx| Command::SetExportPolicy(address, Box::new(export), tx))
            .await?
    }

    /// Accepts neighbours from a range of addresses.
    pub async fn add_dynamic_neighbors(
        &self,
        config: DynamicNeighborConfig,
    ) -> Result<(), InstanceError> {
        self.request(|tx| Command::AddDynamic(Box::new(config), tx))
            .await?
    }

    /// Originates `prefixes` with `attributes`. The next hop is `next_hop`, or this router's
    /// address on each session when `None`. Announcing a prefix again replaces its attributes.
    pub async fn announce(
        &self,
        prefixes: Vec<IpNet>,
        attributes: PathAttributes,
        next_hop: Option<NextHop>,
    ) -> Result<(), InstanceError> {
        let attributes = Arc::new(attributes.without_nlri());
        self.commands
            .send(Command::Announce(prefixes, attributes, next_hop))
            .await
            .map_err(|_| InstanceError::Stopped)
    }

    /// Stops originating `prefixes`.
    pub async fn withdraw(&self, prefixes: Vec<IpNet>) -> Result<(), InstanceError> {
        self.commands
            .send(Command::Withdraw(prefixes))
            .await
            .map_err(|_| InstanceError::Stopped)
    }

    /// A stream of Loc-RIB changes. The first batch is the whole current table (as changes), so
    /// a subscriber that starts late still sees everything; nothing is dropped for a slow reader.
    pub async fn subscribe(&self) -> Result<mpsc::UnboundedReceiver<ChangeBatch>, InstanceError> {
        self.request(Command::Subscribe).await
    }

    /// Loc-RIB changes for a consumer that needs only the current state, such as a FIB
    /// writer: each prefix that changed is reported once with its latest state, however many
    /// changes it went through meanwhile, so a slow reader holds at most one entry per prefix.
    /// The first batch is the whole current table.
    pub async fn subscribe_latest(&self) -> Result<LatestChanges, InstanceError> {
        self.request(Command::SubscribeLatest).await
    }

    /// Every neighbour's session state and counters.
    pub async fn neighbors(&self) -> Result<Vec<NeighborStatus>, InstanceError> {
        self.request(Command::Neighbors).await
    }

    /// The Loc-RIB's routes: best path and multipath next hops per prefix.
    pub async fn routes(&self) -> Result<Vec<(IpNet, BestRoute)>, InstanceError> {
        self.request(Command::Routes).await
    }

    /// Sends Cease to every neighbour and stops the task.
    pub async fn shutdown(&self) -> Result<(), InstanceError> {
        self.request(|tx| Command::Shutdown(Farewell::Cease, tx))
            .await
    }

    /// Stops the task for a restart: every connection is dropped without a NOTIFICATION, so
    /// that neighbours that negotiated graceful restart (RFC 4724) keep our routes, stale,
    /// until the restarted instance re-establishes and sends End-of-RIB (or their restart
    /// timer runs out). Routes are not withdrawn first: they should stay in use meanwhile.
    pub async fn shutdown_for_restart(&self) -> Result<(), InstanceError> {
        self.request(|tx| Command::Shutdown(Farewell::Restart, tx))
            .await
    }
}
