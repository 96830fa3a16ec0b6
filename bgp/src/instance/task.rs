//! The instance task: one loop owning the RIB, fed by commands and by every session's events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::mpsc;

use crate::fsm::{DownReason, State};
use crate::message::{subcode, Notification};
use crate::rib::{ExportPolicy, ImportVerdict, LocRib, PeerId, PeerInfo, RibChange};
use crate::session::{spawn_peer, Listener, PeerHandle, SessionDown, SessionEvent};
use crate::types::AddressFamily;

use super::export::{Job, LocalRoute, LocalRoutes, Originated};
use super::latest::LatestPublisher;
use super::neighbor::{Neighbor, Session};
use super::{
    ChangeBatch, Command, DynamicNeighborConfig, Farewell, InstanceConfig, InstanceError,
    NeighborConfig,
};

/// Export jobs a session may have waiting before the instance task yields to let them run.
const EXPORT_BACKLOG: usize = 8;

/// How long stale routes of a neighbour that came back may wait for its End-of-RIB (FRR's
/// default stale-path time).
const STALE_PATH_TIME: Duration = Duration::from_secs(360);

/// Something a session (or a timer of one) reports to the instance task.
// Almost every event is a session event; boxing it would allocate per UPDATE for nothing.
#[allow(clippy::large_enum_variant)]
enum PeerEvent {
    Session {
        address: IpAddr,
        generation: u64,
        event: SessionEvent,
    },
    /// The session's event stream ended (the peer task is gone).
    Closed { address: IpAddr, generation: u64 },
    /// The graceful-restart (or stale-path) timer of a neighbour expired.
    RestartTimer { address: IpAddr, generation: u64 },
}

struct Task {
    config: InstanceConfig,
    listener: Option<Listener>,
    rib: LocRib,
    neighbors: HashMap<IpAddr, Neighbor>,
    local: LocalRoutes,
    subscribers: Vec<mpsc::UnboundedSender<ChangeBatch>>,
    /// Subscribers that take only the latest state of each prefix.
    latest: Vec<LatestPublisher>,
    events: mpsc::Sender<PeerEvent>,
    dynamic: mpsc::Sender<(PeerHandle, Arc<DynamicNeighborConfig>)>,
    next_generation: u64,
    /// A peer whose routes go once the latest subscribers have had a chance to run (see
    /// [`Task::down`]).
    deferred_flush: Option<PeerId>,
}

pub(super) async fn run(
    config: InstanceConfig,
    listener: Option<Listener>,
    mut commands: mpsc::Receiver<Command>,
) {
    let (events, mut events_rx) = mpsc::channel(1024);
    let (dynamic, mut dynamic_rx) = mpsc::channel(64);
    let mut task = Task {
        rib: LocRib::new(config.decision.clone()),
        config,
        listener,
        neighbors: HashMap::new(),
        local: LocalRoutes::default(),
        subscribers: Vec::new(),
        latest: Vec::new(),
        events,
        dynamic,
        next_generation: 0,
        deferred_flush: None,
    };
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Shutdown(farewell, done)) => {
                    task.shutdown(farewell).await;
                    let _ = done.send(());
                    return;
                }
                Some(command) => task.command(command),
                None => break,
            },
            Some(event) = events_rx.recv() => {
                task.peer_event(event);
                if let Some(peer) = task.deferred_flush.take() {
                    // A woken task waits in this worker's LIFO slot until this one yields:
                    // let the FIB writer act on the neighbour's liveness before the Loc-RIB
                    // spends a while on its prefixes.
                    tokio::task::yield_now().await;
                    let changes = task.rib.peer_down(peer).unwrap_or_default();
                    task.distribute(changes);
                }
                if task.neighbors.values().any(|n| n.export_backlog() >= EXPORT_BACKLOG) {
                    // The export tasks just woken wait in this worker's LIFO slot, which other
                    // workers may not steal: they would only run once this task ran out of
                    // events, their batches piling up meanwhile. Yielding lets them run here
                    // while another worker takes this task over.
                    tokio::task::yield_now().await;
                }
            }
            Some((handle, range)) = dynamic_rx.recv() => task.dynamic_peer(handle, &range),
        }
    }
    task.shutdown(Farewell::Cease).await;
}

impl Task {
    fn command(&mut self, command: Command) {
        match command {
            Command::AddNeighbor(config, reply) => {
                let _ = reply.send(self.add_neighbor(*config));
            }
            Command::RemoveNeighbor(address, reply) => {
                let _ = reply.send(self.remove_neighbor(address));
            }
            Command::SetExportPolicy(address, export, reply) => {
                let _ = reply.send(self.set_export_policy(address, *export));
            }
            Command::AddDynamic(config, reply) => {
                let _ = reply.send(self.add_dynamic(*config));
            }
            Command::CloseSession(address, notification, reply) => {
                let result = match self.neighbors.get(&address) {
                    Some(n) => {
                        let control = n.control.clone();
                        tokio::spawn(async move { control.close(notification).await });
                        Ok(())
                    }
                    None => Err(InstanceError::UnknownNeighbor(address)),
                };
                let _ = reply.send(result);
            }
            Command::Announce(prefixes, attributes, next_hop) => {
                let route = LocalRoute {
                    attributes,
                    next_hop,
                };
                let local = Arc::make_mut(&mut self.local);
                for p in &prefixes {
                    local.insert(*p, route.clone());
                }
                self.send_local(&prefixes, &[]);
            }
            Command::Withdraw(prefixes) => {
                let local = Arc::make_mut(&mut self.local);
                let gone: Vec<IpNet> = prefixes
                    .into_iter()
                    .filter(|p| local.remove(p).is_some())
                    .collect();
                // A learned route for the prefix, if any, takes its place.
                let relearned: Vec<RibChange> = gone
                    .iter()
                    .filter_map(|p| {
                        self.rib.best(p).map(|best| RibChange {
                            prefix: *p,
                            best: Some(best),
                        })
                    })
                    .collect();
                self.send_local(&[], &gone);
                self.distribute(relearned);
            }
            Command::Subscribe(reply) => {
                let (tx, rx) = mpsc::unbounded_channel();
                let snapshot = self.snapshot();
                if !snapshot.is_empty() {
                    let _ = tx.send(Arc::new(snapshot));
                }
                self.subscribers.push(tx);
                let _ = reply.send(rx);
            }
            Command::SubscribeLatest(reply) => {
                let (publisher, changes) = LatestPublisher::pair();
                let snapshot = self.snapshot();
                publisher.publish(&snapshot);
                self.latest.push(publisher);
                let _ = reply.send(changes);
            }
            Command::Neighbors(reply) => {
                let mut list: Vec<_> = self
                    .neighbors
                    .values()
                    .map(|n| n.status(&self.rib))
                    .collect();
                list.sort_by_key(|s| s.address);
                let _ = reply.send(list);
            }
            Command::Routes(reply) => {
                let _ = reply.send(self.rib.routes().collect());
            }
            Command::Shutdown(..) => {}
        }
    }

    /// The whole Loc-RIB as changes, for a new subscriber.
    fn snapshot(&self) -> Vec<RibChange> {
        self.rib.snapshot()
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn add_neighbor(&mut self, config: NeighborConfig) -> Result<(), InstanceError> {
        let address = config.peer.address;
        if self.neighbors.contains_key(&address) {
            return Err(InstanceError::DuplicateNeighbor(address));
        }
        let configured_asn = match &config.peer.session.peer_asn {
            crate::fsm::PeerAsn::Exact(asn) => Some(*asn),
            _ => None,
        };
        let handle = spawn_peer(config.peer, self.listener.as_ref())?;
        let generation = self.generation();
        let (control, events) = handle.into_parts();
        forward(address, generation, events, self.events.clone());
        let start = control.clone();
        tokio::spawn(async move {
            let _ = start.start().await;
        });
        let mut neighbor = Neighbor::new(control, generation, config.import, config.export);
        neighbor.configured_asn = configured_asn;
        neighbor.gr_helper = config.graceful_restart_helper;
        self.neighbors.insert(address, neighbor);
        Ok(())
    }

    fn remove_neighbor(&mut self, address: IpAddr) -> Result<(), InstanceError> {
        let mut neighbor = self
            .neighbors
            .remove(&address)
            .ok_or(InstanceError::UnknownNeighbor(address))?;
        neighbor.cancel_restart_timer();
        let control = neighbor.control.clone();
        tokio::spawn(async move { control.shutdown().await });
        if let Some(peer) = neighbor.rib_peer {
            self.neighbor_liveness(address, false);
            match self.rib.remove_peer(peer) {
                Ok(changes) => self.distribute(changes),
                Err(e) => tracing::error!(%address, error = %e, "removing neighbour from the RIB"),
            }
        }
        Ok(())
    }

    fn set_export_policy(
        &mut self,
        address: IpAddr,
        export: ExportPolicy,
    ) -> Result<(), InstanceError> {
        let n = self
            .neighbors
            .get_mut(&address)
            .ok_or(InstanceError::UnknownNeighbor(address))?;
        let exported_before = exportable(&self.local, n);
        n.export = export;
        let Some(local) = n.session.as_ref().map(|s| s.local) else {
            return Ok(());
        };
        let policy = n.session_export(local);
        let withdrawn = exported_before
            .into_iter()
            .filter(|p| !n.exports(p))
            .collect();
        n.export(resync(
            &self.rib,
            &self.local,
            n,
            Some(policy),
            false,
            withdrawn,
        ));
        tracing::info!(%address, "export policy replaced");
        Ok(())
    }

    fn add_dynamic(&mut self, config: DynamicNeighborConfig) -> Result<(), InstanceError> {
        let listener = self.listener.as_ref().ok_or(InstanceError::NoListener)?;
        let mut handles = listener.add_dynamic(config.range.clone())?;
        let config = Arc::new(config);
        let tx = self.dynamic.clone();
        tokio::spawn(async move {
            while let Some(handle) = handles.recv().await {
                if tx.send((handle, config.clone())).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    /// A neighbour from a dynamic range connected (its Established event is queued on `handle`).
    fn dynamic_peer(&mut self, handle: PeerHandle, range: &DynamicNeighborConfig) {
        let address = handle.peer();
        let generation = self.generation();
        let (control, events) = handle.into_parts();
        forward(address, generation, events, self.events.clone());
        match self.neighbors.get_mut(&address) {
            // Back after a graceful restart: keep its stale routes and RIB id.
            Some(existing) if existing.dynamic => {
                existing.control = control;
                existing.generation = generation;
            }
            Some(_) => {
                tracing::warn!(%address, "dynamic neighbour has the address of a configured one; closing");
                tokio::spawn(async move { control.shutdown().await });
            }
            None => {
                let mut neighbor = Neighbor::new(
                    control,
                    generation,
                    range.import.clone(),
                    range.export.clone(),
                );
                neighbor.dynamic = true;
                neighbor.gr_helper = range.graceful_restart_helper;
                self.neighbors.insert(address, neighbor);
            }
        }
    }

    fn peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Session {
                address,
                generation,
                event,
            } => {
                if self
                    .neighbors
                    .get(&address)
                    .is_some_and(|n| n.generation == generation)
                {
                    self.session_event(address, event);
                }
            }
            PeerEvent::Closed {
                address,
                generation,
            } => {
                let Some(n) = self.neighbors.get(&address) else {
                    return;
                };
                // A dynamic neighbour ends with its connection, unless its routes wait for it.
                if n.generation == generation && n.dynamic && n.restart_timer.is_none() {
                    let _ = self.remove_neighbor(address);
                }
            }
            PeerEvent::RestartTimer {
                address,
                generation,
            } => {
                let Some(n) = self.neighbors.get_mut(&address) else {
                    return;
                };
                if n.generation != generation {
                    return;
                }
                n.restart_timer = None;
                let Some(peer) = n.rib_peer else { return };
                tracing::info!(%address, "graceful restart timer expired; removing stale routes");
                let closed = n.session.is_none() && n.dynamic;
                if n.session.is_none() {
                    self.neighbor_liveness(address, false);
                }
                let changes = self.rib.restart_timer_expired(peer).unwrap_or_default();
                self.distribute(changes);
                if closed {
                    let _ = self.remove_neighbor(address);
                }
            }
        }
    }

    fn session_event(&mut self, address: IpAddr, event: SessionEvent) {
        match event {
            SessionEvent::StateChanged { to, .. } => {
                if let Some(n) = self.neighbors.get_mut(&address) {
                    n.state = to;
                }
            }
            SessionEvent::Established {
                negotiated,
                local,
                remote,
            } => self.established(address, negotiated, local, remote.ip()),
            SessionEvent::Update(update) => {
                let Some(n) = self.neighbors.get(&address) else {
                    return;
                };
                let Some(peer) = n.rib_peer else { return };
                for e in &update.errors {
                    tracing::warn!(%address, type_code = e.type_code, action = ?e.action, reason = %e.reason, "malformed attribute");
                }
                match self.rib.apply_update(peer, &update) {
                    Ok(outcome) => {
                        self.max_prefix_verdict(address, outcome.verdict);
                        self.distribute(outcome.changes);
                    }
                    Err(e) => tracing::error!(%address, error = %e, "applying update"),
                }
            }
            SessionEvent::EndOfRib(family) => {
                let Some(peer) = self.neighbors.get(&address).and_then(|n| n.rib_peer) else {
                    return;
                };
                let changes = self.rib.end_of_rib(peer, family).unwrap_or_default();
                self.distribute(changes);
            }
            SessionEvent::RouteRefresh(_) => {
                let Some(n) = self.neighbors.get(&address) else {
                    return;
                };
                n.export(resync(&self.rib, &self.local, n, None, true, Vec::new()));
            }
            SessionEvent::Down(down) => self.down(address, down),
        }
    }

    fn established(
        &mut self,
        address: IpAddr,
        negotiated: crate::fsm::Negotiated,
        local: std::net::SocketAddr,
        remote: IpAddr,
    ) {
        let local_asn = self.config.local_asn;
        let Some(n) = self.neighbors.get_mut(&address) else {
            return;
        };
        n.state = State::Established;
        let info = PeerInfo::new(
            remote,
            negotiated.peer_asn,
            local_asn,
            negotiated.peer_router_id,
        );
        let mut changes = Vec::new();
        let peer = match n.rib_peer {
            Some(peer) => {
                changes.extend(
                    self.rib
                        .set_router_id(peer, negotiated.peer_router_id)
                        .unwrap_or_default(),
                );
                // Families whose forwarding the peer did not preserve lose their stale routes now.
                for family in AddressFamily::ALL {
                    let preserved = negotiated.graceful_restart.as_ref().is_some_and(|gr| {
                        gr.families
                            .iter()
                            .any(|f| f.family == family && f.forwarding_preserved)
                    });
                    if !preserved {
                        changes.extend(self.rib.end_of_rib(peer, family).unwrap_or_default());
                    }
                }
                peer
            }
            None => {
                let peer = self.rib.add_peer(info.clone(), n.import.clone());
                n.rib_peer = Some(peer);
                peer
            }
        };
        if n.restart_timer.is_some() {
            n.cancel_restart_timer();
            n.restart_timer = Some(restart_timer(
                address,
                n.generation,
                STALE_PATH_TIME,
                &self.events,
            ));
        }
        let export = n.session_export(local);
        let families = negotiated.families.clone();
        n.session = Some(Session::new(
            &n.control, &info, peer, negotiated, local, export,
        ));
        n.export(resync(&self.rib, &self.local, n, None, false, Vec::new()));
        n.export(Job::EndOfRib(families));
        tracing::info!(%address, "session established");
        self.neighbor_liveness(address, true);
        self.distribute(changes);
    }

    fn down(&mut self, address: IpAddr, down: SessionDown) {
        let Some(n) = self.neighbors.get_mut(&address) else {
            return;
        };
        n.state = State::Idle;
        n.last_down = Some(describe_down(&down));
        let Some(session) = n.session.take() else {
            return;
        };
        tracing::info!(%address, reason = %down.reason, "session down");
        let Some(peer) = n.rib_peer else { return };
        // RFC 4724: a session lost without a NOTIFICATION keeps the peer's routes, stale; so
        // does one replaced by the restarted peer's new connection (the session layer resolves
        // that as a collision before the old connection's loss is even noticed).
        let restarted = matches!(
            down.reason,
            DownReason::ConnectionLost | DownReason::ConnectionCollision
        ) && down.received.is_none();
        let restart = session
            .negotiated
            .graceful_restart
            .as_ref()
            .filter(|gr| n.gr_helper && restarted && !gr.families.is_empty());
        let changes = match restart {
            Some(gr) => {
                let families: Vec<AddressFamily> = gr.families.iter().map(|f| f.family).collect();
                tracing::info!(%address, restart_time = ?gr.restart_time, "keeping routes stale for graceful restart");
                n.cancel_restart_timer();
                n.restart_timer = Some(restart_timer(
                    address,
                    n.generation,
                    gr.restart_time,
                    &self.events,
                ));
                self.rib
                    .peer_down_graceful(peer, &families)
                    .unwrap_or_default()
            }
            None => {
                n.cancel_restart_timer();
                self.neighbor_liveness(address, false);
                self.deferred_flush = Some(peer);
                return;
            }
        };
        self.distribute(changes);
    }

    /// Tells the latest-state subscribers that `address` is up, or that its routes are going
    /// (before the Loc-RIB works through them, so a FIB writer can act on the whole at once).
    fn neighbor_liveness(&mut self, address: IpAddr, up: bool) {
        self.latest.retain(LatestPublisher::is_open);
        for l in &self.latest {
            l.neighbor(address, up);
        }
    }

    fn max_prefix_verdict(&mut self, address: IpAddr, verdict: ImportVerdict) {
        match verdict {
            ImportVerdict::Continue => {}
            ImportVerdict::Warn { limit, accepted } => {
                tracing::warn!(%address, limit, accepted, "neighbour exceeds its prefix limit");
            }
            ImportVerdict::Teardown { limit, accepted } => {
                tracing::warn!(%address, limit, accepted, "neighbour exceeds its prefix limit; closing the session");
                if let Some(n) = self.neighbors.get(&address) {
                    let control = n.control.clone();
                    let cease = Notification::cease(subcode::cease::MAXIMUM_PREFIXES_REACHED);
                    tokio::spawn(async move { control.close(cease).await });
                }
            }
        }
    }

    /// Hands Loc-RIB changes to subscribers and to every established neighbour.
    fn distribute(&mut self, changes: Vec<RibChange>) {
        if changes.is_empty() {
            return;
        }
        // The FIB first: it forwards traffic, the neighbours only hear about it.
        self.latest.retain(LatestPublisher::is_open);
        for l in &self.latest {
            l.publish(&changes);
        }
        let batch: ChangeBatch = Arc::new(changes);
        for n in self.neighbors.values() {
            if n.session.is_some() {
                n.export(Job::Changes(Arc::clone(&batch)));
            }
        }
        self.subscribers.retain(|s| s.send(batch.clone()).is_ok());
    }

    /// Sends originated routes (and withdrawals of originated routes) to every neighbour.
    fn send_local(&mut self, announce: &[IpNet], withdraw: &[IpNet]) {
        for n in self.neighbors.values() {
            if n.session.is_none() {
                continue;
            }
            let pick = |list: &[IpNet]| list.iter().copied().filter(|p| n.exports(p)).collect();
            n.export(Job::Originated(Originated {
                all: Arc::clone(&self.local),
                announce: pick(announce),
                withdraw: pick(withdraw),
            }));
        }
    }

    async fn shutdown(&mut self, farewell: Farewell) {
        for n in self.neighbors.values() {
            match farewell {
                Farewell::Cease => n.control.shutdown().await,
                Farewell::Restart => n.control.abandon().await,
            }
        }
        self.neighbors.clear();
    }
}

/// The job that brings a neighbour's Adj-RIB-Out in line with the whole Loc-RIB and sends it
/// the originated routes its policy permits (and withdraws `withdraw`).
fn resync(
    rib: &LocRib,
    local: &LocalRoutes,
    n: &Neighbor,
    policy: Option<ExportPolicy>,
    refresh: bool,
    withdraw: Vec<IpNet>,
) -> Job {
    Job::Resync {
        routes: Arc::new(rib.snapshot()),
        policy,
        refresh,
        originated: Originated {
            all: Arc::clone(local),
            announce: exportable(local, n),
            withdraw,
        },
    }
}

/// Originated prefixes a neighbour's export policy permits.
fn exportable(local: &HashMap<IpNet, LocalRoute>, n: &Neighbor) -> Vec<IpNet> {
    local.keys().copied().filter(|p| n.exports(p)).collect()
}

fn describe_down(down: &SessionDown) -> String {
    match (&down.sent, &down.received) {
        (_, Some(n)) => format!("{}: received {n}", down.reason),
        (Some(n), None) => format!("{}: sent {n}", down.reason),
        (None, None) => down.reason.to_string(),
    }
}

/// Forwards a session's events into the instance task's queue.
fn forward(
    address: IpAddr,
    generation: u64,
    mut events: mpsc::Receiver<SessionEvent>,
    tx: mpsc::Sender<PeerEvent>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let event = PeerEvent::Session {
                address,
                generation,
                event,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        let _ = tx
            .send(PeerEvent::Closed {
                address,
                generation,
            })
            .await;
    });
}

fn restart_timer(
    address: IpAddr,
    generation: u64,
    after: Duration,
    tx: &mpsc::Sender<PeerEvent>,
) -> tokio::task::JoinHandle<()> {
    let tx = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let _ = tx
            .send(PeerEvent::RestartTimer {
                address,
                generation,
            })
            .await;
    })
}
