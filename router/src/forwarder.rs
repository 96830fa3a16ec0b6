//! The forwarding task: Loc-RIB changes in, kernel routes out.
//!
//! One task owns the learned routes, the import policy, the next-hop resolutions and the
//! desired kernel state, so changes apply in order without locks. It drains whatever batches
//! queued up while it was busy and applies them as one (so a node going away, and anything
//! else that happened meanwhile, becomes one set of group rewrites). Every [`AUDIT_INTERVAL`] it
//! resolves the next hops again and compares the kernel with the desired state, repairing what
//! changed underneath (a link going down flushes its nexthop objects); it does the same at once
//! after a failed operation.
//!
//! A speaker whose session ends (and whose routes no graceful restart keeps) is taken out of
//! every route at once, before the Loc-RIB has withdrawn its prefixes one by one: with nexthop
//! groups that is one group rewrite per group it was in, whatever the number of prefixes. Its
//! address stays out of every route until its session is established again, also where
//! another speaker names it as a next hop (its node is the one that stopped speaking).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_api::router_config::NexthopGroups;
use ferrolb_bgp::instance::{LatestChanges, LatestUpdate};
use futures::StreamExt;
use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};

use crate::api::{RouteView, UnusableNextHop};
use crate::fib::netlink::{Netlink, NetlinkError, Reach};
use crate::fib::{Fib, Mode, Op, Resolved};
use crate::import::ImportPolicy;
use crate::metrics::RouterMetrics;
use crate::routes::{learned, Desired, NextHopAddrs, RouteTable};

/// How often next hops are resolved again and the kernel compared with the desired state.
pub const AUDIT_INTERVAL: Duration = Duration::from_secs(10);
/// Next hops resolved at once.
const RESOLVE_CONCURRENCY: usize = 32;

/// Settings of the forwarding task.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `fib.nexthopGroups`.
    pub nexthop_groups: NexthopGroups,
    /// `fib.keepRoutesOnShutdown`.
    pub keep_routes_on_shutdown: bool,
    /// How long routes a previous run left behind may stay before they are swept (while the
    /// speakers come back); zero sweeps them at start.
    pub stale_grace: Duration,
}

/// Why the forwarding task could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Talking to the kernel failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// `fib.nexthopGroups: on` on a kernel without nexthop objects.
    #[error("fib.nexthopGroups is on, but this kernel does not support nexthop objects (Linux 5.3 or later is needed); use auto or off")]
    NoNextHopObjects,
}

/// Per next-hop address: installed routes forwarding to it, refused routes announced with it.
pub type NextHopUse = BTreeMap<IpAddr, (u64, u64)>;

/// Requests to the forwarding task.
enum Command {
    Routes(oneshot::Sender<Vec<RouteView>>),
    NextHopUse(oneshot::Sender<NextHopUse>),
    SetPolicy(ImportPolicy, oneshot::Sender<(usize, usize)>),
    SetKeepRoutes(bool),
    Shutdown(oneshot::Sender<()>),
}

/// Talks to the forwarding task; cheap to clone.
#[derive(Debug, Clone)]
pub struct ForwarderHandle {
    commands: mpsc::Sender<Command>,
}

/// The forwarding task has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the forwarding task has stopped")]
pub struct Stopped;

impl ForwarderHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Every learned route with its verdict and kernel state.
    pub async fn routes(&self) -> Result<Vec<RouteView>, Stopped> {
        self.ask(Command::Routes).await
    }

    /// Route counts per next-hop address.
    pub async fn next_hop_use(&self) -> Result<NextHopUse, Stopped> {
        self.ask(Command::NextHopUse).await
    }

    /// Applies a new import policy; returns (routes now accepted, routes now refused).
    pub async fn set_policy(&self, policy: ImportPolicy) -> Result<(usize, usize), Stopped> {
        self.ask(|tx| Command::SetPolicy(policy, tx)).await
    }

    /// Changes `fib.keepRoutesOnShutdown`.
    pub async fn set_keep_routes(&self, keep: bool) -> Result<(), Stopped> {
        self.commands
            .send(Command::SetKeepRoutes(keep))
            .await
            .map_err(|_| Stopped)
    }

    /// Stops the task, removing or keeping the routes as configured.
    pub async fn shutdown(&self) -> Result<(), Stopped> {
        self.ask(Command::Shutdown).await
    }
}

/// The forwarding task's state.
pub struct Forwarder {
    netlink: Netlink,
    fib: Fib,
    table: RouteTable,
    policy: ImportPolicy,
    reach: BTreeMap<IpAddr, Reach>,
    /// Next hops whose nexthop object the kernel refused, left out until the next audit.
    refused: BTreeSet<IpAddr>,
    /// Neighbours whose session ended and whose routes are going: left out of every route
    /// until they are back.
    gone: BTreeSet<IpAddr>,
    metrics: RouterMetrics,
    keep_routes: bool,
    sweep_at: Option<Instant>,
    dirty: bool,
}

impl Forwarder {
    /// Picks the route mode, then removes (or, with a grace period, adopts the ids of) what
    /// a previous run left in the kernel.
    pub async fn start(
        netlink: Netlink,
        settings: &Settings,
        policy: ImportPolicy,
        metrics: RouterMetrics,
    ) -> Result<Forwarder, StartError> {
        let supported = match settings.nexthop_groups {
            NexthopGroups::Off => false,
            NexthopGroups::On | NexthopGroups::Auto => netlink.supports_next_hops().await?,
        };
        let mode = match (settings.nexthop_groups, supported) {
            (NexthopGroups::On, false) => return Err(StartError::NoNextHopObjects),
            (_, true) => Mode::Groups,
            (NexthopGroups::Auto, false) => {
                tracing::warn!("the kernel has no nexthop objects; using multipath routes");
                Mode::Multipath
            }
            (_, false) => Mode::Multipath,
        };
        let mut forwarder = Forwarder {
            fib: Fib::new(mode),
            netlink,
            table: RouteTable::default(),
            policy,
            reach: BTreeMap::new(),
            refused: BTreeSet::new(),
            gone: BTreeSet::new(),
            metrics,
            keep_routes: settings.keep_routes_on_shutdown,
            sweep_at: None,
            dirty: false,
        };
        let kernel = forwarder.netlink.kernel_state().await?;
        let protocol = forwarder.netlink.protocol();
        let stale_objects = kernel
            .next_hops
            .values()
            .filter(|nh| nh.protocol == protocol)
            .count();
        let sweep = settings.stale_grace.is_zero();
        if !sweep && !kernel.routes.is_empty() {
            forwarder.sweep_at = Some(Instant::now() + settings.stale_grace);
        }
        tracing::info!(
            mode = mode.as_str(),
            protocol,
            stale_routes = kernel.routes.len(),
            stale_nexthops = stale_objects,
            grace = ?(!sweep).then_some(settings.stale_grace),
            "{}",
            if sweep || kernel.routes.is_empty() {
                "kernel forwarding ready; removing what a previous run left"
            } else {
                "kernel forwarding ready; keeping the previous run's routes while the speakers reconnect"
            }
        );
        let ops = forwarder
            .fib
            .reconcile(&kernel, protocol, sweep || kernel.routes.is_empty());
        forwarder.execute(ops).await;
        Ok(forwarder)
    }

    /// How routes are expressed.
    pub fn mode(&self) -> Mode {
        self.fib.mode()
    }

    /// Runs until shut down; `rib` is the BGP instance's change stream (latest state per
    /// prefix: while the kernel is busy, a prefix's intermediate next-hop sets are skipped).
    pub fn spawn(self, rib: LatestChanges) -> ForwarderHandle {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(self.run(rib, rx));
        ForwarderHandle { commands: tx }
    }

    async fn run(mut self, mut rib: LatestChanges, mut commands: mpsc::Receiver<Command>) {
        let mut audit = tokio::time::interval(AUDIT_INTERVAL);
        audit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        audit.tick().await;
        let mut rib_open = true;
        loop {
            tokio::select! {
                update = rib.recv_update(), if rib_open => match update {
                    Some(update) => self.on_update(update).await,
                    None => rib_open = false,
                },
                command = commands.recv() => match command {
                    Some(Command::Shutdown(done)) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.command(command).await,
                    None => return,
                },
                _ = audit.tick() => self.audit().await,
            }
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Routes(reply) => {
                let _ = reply.send(self.route_views());
            }
            Command::NextHopUse(reply) => {
                let _ = reply.send(self.next_hop_use());
            }
            Command::SetPolicy(policy, reply) => {
                let desired = self.table.set_policy(&policy);
                self.policy = policy;
                let accepted = desired.iter().filter(|(_, nh)| nh.is_some()).count();
                let refused = desired.len() - accepted;
                self.sync(desired).await;
                let _ = reply.send((accepted, refused));
            }
            Command::SetKeepRoutes(keep) => self.keep_routes = keep,
            Command::Shutdown(_) => {}
        }
    }

    async fn on_update(&mut self, update: LatestUpdate) {
        let mut ops = Vec::new();
        for address in update.neighbors_down {
            if self.gone.insert(address) {
                tracing::info!(next_hop = %address, "speaker gone; removing it from every route");
                ops.extend(self.fib.withdraw_next_hop(address));
            }
        }
        self.execute(ops).await;
        let back: BTreeSet<IpAddr> = update
            .neighbors_up
            .into_iter()
            .filter(|a| self.gone.remove(a))
            .collect();
        if !back.is_empty() {
            let through: Vec<Desired> = self
                .table
                .accepted()
                .filter(|(_, next_hops)| !next_hops.is_disjoint(&back))
                .map(|(prefix, next_hops)| (*prefix, Some(next_hops.clone())))
                .collect();
            self.sync(through).await;
        }
        if !update.changes.is_empty() {
            self.on_rib(update.changes.iter().map(learned).collect())
                .await;
        }
    }

    async fn on_rib(&mut self, changes: Vec<Desired>) {
        let outcome = self.table.apply(changes, &self.policy);
        for (reason, n) in &outcome.rejected {
            tracing::warn!(%reason, routes = n, "refused routes from the speakers");
        }
        self.metrics.count_rejected(&outcome.rejected);
        self.sync(outcome.desired).await;
    }

    /// Installs, changes or removes the routes of `desired`.
    async fn sync(&mut self, desired: Vec<Desired>) {
        let desired: BTreeMap<IpNet, Option<NextHopAddrs>> = desired.into_iter().collect();
        let addrs: BTreeSet<IpAddr> = desired
            .values()
            .flatten()
            .flatten()
            .copied()
            .filter(|a| !self.reach.contains_key(a))
            .collect();
        self.resolve(addrs).await;
        let changes = desired
            .into_iter()
            .map(|(p, nh)| (p, nh.map(|set| self.usable(&set))))
            .collect();
        let ops = self.fib.plan(changes);
        self.execute(ops).await;
        if self.dirty {
            self.repair(false).await;
        }
    }

    /// The next hops of `set` that can be installed, with their interfaces.
    fn usable(&self, set: &NextHopAddrs) -> Resolved {
        set.iter()
            .filter(|a| !self.refused.contains(a) && !self.gone.contains(a))
            .filter_map(|a| Some((*a, self.reach.get(a)?.oif()?)))
            .collect()
    }

    async fn resolve(&mut self, addrs: BTreeSet<IpAddr>) {
        let results: Vec<(IpAddr, Result<Reach, NetlinkError>)> = futures::stream::iter(addrs)
            .map(|a| {
                let netlink = self.netlink.clone();
                async move { (a, netlink.resolve(a).await) }
            })
            .buffer_unordered(RESOLVE_CONCURRENCY)
            .collect()
            .await;
        for (addr, result) in results {
            match result {
                Ok(reach) => {
                    let old = self.reach.insert(addr, reach);
                    if old != Some(reach) && reach.oif().is_none() {
                        tracing::warn!(next_hop = %addr, ?reach, "next hop is not directly connected; not installed");
                    } else if old.is_some() && old != Some(reach) {
                        tracing::info!(next_hop = %addr, ?reach, "next hop reachability changed");
                    }
                }
                Err(error) => {
                    tracing::warn!(next_hop = %addr, %error, "cannot resolve next hop");
                    self.reach.remove(&addr);
                }
            }
        }
    }

    /// Applies ops to the kernel and records the outcome.
    async fn execute(&mut self, ops: Vec<Op>) {
        if ops.is_empty() {
            return;
        }
        let started = Instant::now();
        let applied = self.netlink.apply(&ops).await;
        let elapsed = started.elapsed();
        self.metrics
            .fib_install_seconds
            .observe(elapsed.as_secs_f64());
        tracing::debug!(
            ops = ops.len(),
            done = applied.done,
            ?elapsed,
            "kernel updated"
        );
        for (op, error) in &applied.failed {
            tracing::warn!(%error, "kernel refused a change; will repair");
            self.metrics.count_fib_error(op.kind());
            if let Op::NewNextHop { gateway, .. } | Op::ReplaceNextHop { gateway, .. } = op {
                self.refused.insert(*gateway);
            }
        }
        if !applied.failed.is_empty() {
            self.dirty = true;
        }
        self.metrics.set_fib(
            self.fib.route_count(),
            self.fib.group_count(),
            &self.fib.widths(),
        );
    }

    /// Recomputes every route from the learned ones and makes the kernel match.
    async fn repair(&mut self, sweep: bool) {
        self.dirty = false;
        let mut changes: BTreeMap<IpNet, Option<Resolved>> =
            self.fib.routes().map(|(p, _)| (*p, None)).collect();
        for (prefix, next_hops) in self.table.accepted() {
            changes.insert(*prefix, Some(self.usable(next_hops)));
        }
        let ops = self.fib.plan(changes.into_iter().collect());
        self.execute(ops).await;
        let kernel = match self.netlink.kernel_state().await {
            Ok(kernel) => kernel,
            Err(error) => {
                tracing::warn!(%error, "cannot read the kernel's routes back");
                self.dirty = true;
                return;
            }
        };
        let ops = self.fib.reconcile(&kernel, self.netlink.protocol(), sweep);
        if !ops.is_empty() {
            tracing::info!(
                ops = ops.len(),
                "kernel differs from the desired routes; repairing"
            );
        }
        // A failure here waits for the next audit rather than looping.
        self.execute(ops).await;
    }

    async fn audit(&mut self) {
        self.refused.clear();
        let needed = self.table.next_hop_addrs();
        self.reach.retain(|a, _| needed.contains(a));
        self.resolve(needed).await;
        let sweep = match self.sweep_at {
            Some(at) if Instant::now() >= at => {
                tracing::info!("removing routes the previous run left and nobody announced again");
                self.sweep_at = None;
                true
            }
            Some(_) => false,
            None => true,
        };
        let merged = self.fib.consolidate();
        self.execute(merged).await;
        self.repair(sweep).await;
    }

    async fn shutdown(&mut self) {
        if self.keep_routes {
            tracing::info!(
                routes = self.fib.route_count(),
                "keeping the installed routes (fib.keepRoutesOnShutdown)"
            );
            return;
        }
        let kernel = match self.netlink.kernel_state().await {
            Ok(kernel) => kernel,
            Err(error) => {
                tracing::error!(%error, "cannot read the kernel's routes to remove them");
                return;
            }
        };
        let ops = Fib::flush(&kernel, self.netlink.protocol());
        let count = ops.len();
        let applied = self.netlink.apply(&ops).await;
        for (_, error) in &applied.failed {
            tracing::warn!(%error, "cannot remove a route or nexthop");
        }
        tracing::info!(
            removed = applied.done,
            of = count,
            "removed FerroLB's routes and nexthops"
        );
    }

    fn route_views(&self) -> Vec<RouteView> {
        self.table
            .iter()
            .map(|(prefix, learned)| {
                let installed = self.fib.route(prefix);
                let unusable = learned
                    .next_hops
                    .iter()
                    .filter_map(|a| {
                        let reason = if self.refused.contains(a) {
                            "refused-by-kernel"
                        } else if self.gone.contains(a) {
                            "speaker-gone"
                        } else {
                            match self.reach.get(a) {
                                None => "not-resolved-yet",
                                Some(Reach::Connected(_)) => return None,
                                Some(Reach::ViaGateway) => "via-gateway",
                                Some(Reach::Local) => "local-address",
                                Some(Reach::OwnRoute) => "own-route",
                                Some(Reach::Unreachable) => "unreachable",
                            }
                        };
                        Some(UnusableNextHop {
                            address: *a,
                            reason: reason.to_owned(),
                        })
                    })
                    .collect();
                RouteView {
                    prefix: *prefix,
                    next_hops: learned.next_hops.iter().copied().collect(),
                    accepted: learned.verdict.is_ok(),
                    reject_reason: learned.verdict.err().map(|r| r.as_str().to_owned()),
                    installed: installed.is_some(),
                    installed_next_hops: installed
                        .as_ref()
                        .map(|i| i.next_hops.clone())
                        .unwrap_or_default(),
                    unusable_next_hops: if learned.verdict.is_ok() {
                        unusable
                    } else {
                        Vec::new()
                    },
                    nexthop_group: installed.and_then(|i| i.group),
                }
            })
            .collect()
    }

    fn next_hop_use(&self) -> NextHopUse {
        let mut uses = NextHopUse::new();
        for (_, next_hops) in self.fib.routes() {
            for a in next_hops {
                uses.entry(a).or_default().0 += 1;
            }
        }
        for (_, learned) in self.table.iter().filter(|(_, l)| l.verdict.is_err()) {
            for a in &learned.next_hops {
                uses.entry(*a).or_default().1 += 1;
            }
        }
        uses
    }
}
