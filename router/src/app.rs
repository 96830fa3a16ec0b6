//! The running router: BGP instance, forwarding task, admin API and metrics, started in order,
//! reloaded on SIGHUP and stopped on SIGTERM.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferrolb_api::router_config::{ListenAddress, UpstreamNeighbor};
use ferrolb_api::RouterConfig;
use ferrolb_bgp::instance::Instance;
use ferrolb_daemon::{
    AdminAddr, AdminServer, Daemon, DaemonArgs, ReloadSignal, RunningAdminServer,
};
use ferrolb_tcplb::LoadBalancer;
use ipnet::IpNet;
use tokio::sync::mpsc;

use crate::admin::{self, AdminState, Services};
use crate::bfd::{BfdPeers, BfdTask};
use crate::bgp::{self, Passwords};
use crate::fib::netlink::Netlink;
use crate::forwarder::{Forwarder, ForwarderHandle, Settings};
use crate::import::ImportPolicy;
use crate::kube_pools::KubePools;
use crate::metrics::{self, RouterMetrics};
use crate::policy::PolicyInForce;
use crate::reload::{self, Action};
use crate::upstream::{self, AggregateTask, UpstreamPasswords};
use crate::vrrp::Vrrp;
use crate::{config, lb, sysctl};

/// How often per-peer metrics are refreshed.
const PEER_METRICS_INTERVAL: Duration = Duration::from_secs(1);
/// How long the start waits for the cluster's pools (`import.kubernetes`).
const CLUSTER_POOLS_WAIT: Duration = Duration::from_secs(10);
/// Least time routes kept from a previous run wait for the speakers to come back.
const MIN_STALE_GRACE: Duration = Duration::from_secs(30);

/// The secrets a configuration refers to, read from their files.
pub struct Secrets {
    passwords: Passwords,
    upstream: UpstreamPasswords,
    token: Option<String>,
}

impl Secrets {
    /// Reads the password and token files of `config`.
    pub fn read(config: &RouterConfig) -> anyhow::Result<Secrets> {
        Ok(Secrets {
            passwords: bgp::read_passwords(config)?,
            upstream: upstream::read_passwords(config)?,
            token: admin::read_token(config.admin.token_file.as_deref())?,
        })
    }
}

/// The admin address: `--admin-listen` if given, else `admin.listen`.
fn admin_addr(args: &DaemonArgs, config: &RouterConfig) -> AdminAddr {
    args.admin_listen
        .clone()
        .unwrap_or(match &config.admin.listen {
            ListenAddress::Tcp(a) => AdminAddr::Tcp(*a),
            ListenAddress::Unix(p) => AdminAddr::Unix(p.clone()),
        })
}

/// How long kept routes may wait for their speakers: the longest restart or hold time of the
/// peer groups, at least [`MIN_STALE_GRACE`]; zero when routes are not kept across restarts.
fn stale_grace(config: &RouterConfig) -> Duration {
    if !config.fib.keep_routes_on_shutdown {
        return Duration::ZERO;
    }
    config
        .bgp
        .peer_groups
        .iter()
        .flat_map(|g| {
            let restart = g
                .graceful_restart
                .as_ref()
                .map(|gr| gr.restart_time.as_std());
            let hold = g.hold_time.map(|h| h.as_std());
            restart.into_iter().chain(hold)
        })
        .fold(MIN_STALE_GRACE, Duration::max)
}

/// Runs the router until SIGTERM/SIGINT.
pub async fn run(
    args: &DaemonArgs,
    path: &Path,
    config: RouterConfig,
    secrets: Secrets,
) -> anyhow::Result<()> {
    let listen = admin_addr(args, &config);
    admin::check_exposure(&listen, secrets.token.as_deref())?;
    let state = AdminState::new(secrets.token.clone());
    let daemon = Daemon::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .default_admin_listen(listen)
        .admin_routes(admin::routes(state.clone()))
        .start(args)
        .await?;
    let metrics_server = match start_metrics_listener(&daemon, &config).await {
        Ok(server) => server,
        Err(error) => {
            daemon.finish().await?;
            return Err(error);
        }
    };
    let mut reload = ReloadSignal::install()?;
    let metrics = RouterMetrics::register(daemon.metrics());
    let lb_metrics = metrics::register_load_balancer(daemon.metrics());
    // BFD tells VRRP of failed peers.
    let (vrrp_bfd, vrrp_bfd_rx) = mpsc::unbounded_channel();
    let mut router = match Router::start(
        config,
        daemon.admin_addr().clone(),
        &secrets,
        (metrics, lb_metrics),
        &state,
        vrrp_bfd,
    )
    .await
    {
        Ok(router) => router,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot start");
            daemon.finish().await?;
            return Err(error);
        }
    };
    // Last, so the virtual addresses come only once what serves them runs.
    let vrrp = match Vrrp::start(
        &router.config,
        router.load_balancer.clone(),
        daemon.metrics(),
        state.vrrp_board(),
        vrrp_bfd_rx,
    )
    .await
    {
        Ok(vrrp) => vrrp,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot start VRRP");
            router.stop().await;
            daemon.finish().await?;
            return Err(error);
        }
    };
    daemon.readiness().set_ready();
    loop {
        tokio::select! {
            () = daemon.shutdown().wait() => break,
            () = reload.recv() => match config::load_file(path).and_then(|c| Ok((Secrets::read(&c)?, c))) {
                Ok((secrets, new)) => {
                    router.reload(new, secrets, &state).await;
                    vrrp.reload(&router.config).await;
                }
                Err(error) => tracing::error!(
                    path = %path.display(),
                    error = format!("{error:#}"),
                    "configuration rejected; keeping the running one"
                ),
            },
        }
    }
    vrrp.stop().await;
    router.stop().await;
    daemon.finish().await?;
    if let Some(server) = metrics_server {
        server.join().await?;
    }
    Ok(())
}

/// Serves `/metrics` on `metrics.listen` too, when configured: with the same registry and
/// readiness as the admin server, stopped by the same shutdown.
async fn start_metrics_listener(
    daemon: &Daemon,
    config: &RouterConfig,
) -> anyhow::Result<Option<RunningAdminServer>> {
    let Some(addr) = config.metrics.listen else {
        return Ok(None);
    };
    let server = AdminServer::new(daemon.metrics().clone(), daemon.readiness().clone())
        .start(&AdminAddr::Tcp(addr), daemon.shutdown().clone())
        .await
        .with_context(|| format!("metrics.listen {addr}"))?;
    tracing::info!(%addr, "metrics listener started");
    Ok(Some(server))
}

/// The router's running parts.
struct Router {
    config: RouterConfig,
    /// Where the admin API listens (to refuse dropping its token while exposed).
    admin: AdminAddr,
    bgp: Instance,
    forwarder: Option<ForwarderHandle>,
    load_balancer: Arc<LoadBalancer>,
    /// BFD for the neighbours and the VRRP peers.
    bfd: BfdTask,
    /// Originates the upstream aggregates; started with the first one.
    aggregates: Option<AggregateTask>,
    /// The import policy in force (file and cluster pools).
    import: PolicyInForce,
    /// The cluster's pools (`import.kubernetes`) and the task applying them.
    cluster_pools: Option<(tokio::task::JoinHandle<()>, KubePools)>,
    peer_metrics: tokio::task::JoinHandle<()>,
}

impl Router {
    async fn start(
        config: RouterConfig,
        admin: AdminAddr,
        secrets: &Secrets,
        (metrics, lb_metrics): (RouterMetrics, ferrolb_tcplb::Metrics),
        state: &AdminState,
        vrrp_bfd: mpsc::UnboundedSender<IpAddr>,
    ) -> anyhow::Result<Router> {
        let (cluster_pools, cluster) = start_cluster_pools(&config).await?;
        let policy = ImportPolicy::new(&config.import).with_pools(&cluster);
        // A router without peer groups has nothing to route and leaves the kernel alone.
        let forwarding = !config.bgp.peer_groups.is_empty();
        if forwarding {
            sysctl::apply(&config.fib, policy.has_ipv6())?;
        } else {
            tracing::info!("no peer groups configured: not listening for BGP, not routing");
        }
        let bgp = Instance::spawn(bgp::instance_config(&config)).context("starting BGP")?;
        let rib = bgp.subscribe_latest().await?;
        let mut forwarder = None;
        if forwarding {
            let netlink = Netlink::connect(config.fib.route_protocol)?;
            let settings = Settings {
                nexthop_groups: config.fib.nexthop_groups,
                keep_routes_on_shutdown: config.fib.keep_routes_on_shutdown,
                stale_grace: stale_grace(&config),
            };
            let started =
                Forwarder::start(netlink.clone(), &settings, policy, metrics.clone()).await?;
            let mode = started.mode();
            let handle = started.spawn(rib);
            forwarder = Some((handle, netlink, mode));
        }
        for group in &config.bgp.peer_groups {
            let password = secrets.passwords.get(&group.name).map(String::as_str);
            if let Some(range) =
                bgp::dynamic_neighbors(&config, group, &group.listen_ranges, password)
            {
                bgp.add_dynamic_neighbors(range)
                    .await
                    .with_context(|| format!("peer group {:?}", group.name))?;
            }
            for n in &group.neighbors {
                bgp.add_neighbor(bgp::static_neighbor(&config, group, n, password))
                    .await
                    .with_context(|| {
                        format!("peer group {:?}, neighbour {}", group.name, n.address)
                    })?;
            }
            tracing::info!(
                group = %group.name,
                ranges = ?group.listen_ranges,
                neighbors = group.neighbors.len(),
                "peer group configured"
            );
        }
        for u in &config.upstream {
            add_upstream(&bgp, &config, u, secrets).await?;
        }
        let import = PolicyInForce::new(
            &config.import,
            cluster,
            forwarder.as_ref().map(|(h, _, _)| h.clone()),
        );
        let cluster_pools = cluster_pools.map(|pools| (import.follow(pools.prefixes()), pools));
        let aggregates = upstream::aggregates(&config);
        let aggregate_task = if aggregates.is_empty() {
            None
        } else {
            Some(AggregateTask::spawn(bgp.clone(), import.subscribe(), aggregates).await?)
        };
        let load_balancer = lb::start(&config, lb_metrics)?;
        // BFD serves the neighbours and the VRRP peers; it resolves a peer's interface by
        // netlink even on a router that routes nothing. Its driver starts with the first session.
        let bfd_netlink = match &forwarder {
            Some((_, netlink, _)) => netlink.clone(),
            None => Netlink::connect(config.fib.route_protocol)?,
        };
        let bfd = BfdTask::spawn(&config, bgp.clone(), bfd_netlink, metrics.clone(), vrrp_bfd);
        let bfd_peers = Some(bfd.peers());
        state.set_services(Services {
            bgp: bgp.clone(),
            forwarder: forwarder.clone(),
            load_balancer: load_balancer.clone(),
            bfd: bfd_peers.clone(),
        });
        let peer_metrics = tokio::spawn(refresh_peer_metrics(
            bgp.clone(),
            forwarder.as_ref().map(|(h, _, _)| h.clone()),
            bfd_peers,
            metrics,
        ));
        Ok(Router {
            config,
            admin,
            bgp,
            forwarder: forwarder.map(|(h, _, _)| h),
            load_balancer,
            bfd,
            aggregates: aggregate_task,
            import,
            cluster_pools,
            peer_metrics,
        })
    }

    async fn reload(&mut self, new: RouterConfig, secrets: Secrets, state: &AdminState) {
        let plan = reload::diff(&self.config, &new);
        for what in &plan.restart_needed {
            tracing::warn!(change = %what, "configuration change needs a restart to take effect");
        }
        let mut applied = Vec::new();
        for action in &plan.actions {
            match self.apply(action, &new, &secrets, state).await {
                Ok(summary) => applied.push(summary),
                Err(error) => tracing::error!(
                    ?action,
                    error = format!("{error:#}"),
                    "cannot apply configuration change"
                ),
            }
        }
        tracing::info!(
            applied = applied.len(),
            changes = %applied.join("; "),
            restart_needed = plan.restart_needed.len(),
            "configuration reloaded"
        );
        // What needs a restart keeps its running value, so the next reload reports it again.
        let mut kept = new;
        kept.router_id = self.config.router_id;
        kept.asn = self.config.asn;
        kept.bgp.listen_addresses = self.config.bgp.listen_addresses.clone();
        kept.bgp.port = self.config.bgp.port;
        kept.fib.route_protocol = self.config.fib.route_protocol;
        kept.fib.nexthop_groups = self.config.fib.nexthop_groups;
        kept.admin.listen = self.config.admin.listen.clone();
        kept.metrics = self.config.metrics.clone();
        kept.logging = self.config.logging.clone();
        kept.import.kubernetes = self.config.import.kubernetes.clone();
        if self.config.bgp.peer_groups.is_empty() {
            kept.bgp.peer_groups.clear();
        }
        self.config = kept;
    }

    async fn apply(
        &mut self,
        action: &Action,
        new: &RouterConfig,
        secrets: &Secrets,
        state: &AdminState,
    ) -> anyhow::Result<String> {
        let group_of = |name: &str| {
            new.bgp
                .peer_groups
                .iter()
                .find(|g| g.name == name)
                .with_context(|| format!("peer group {name:?} vanished"))
        };
        Ok(match action {
            Action::SetImportPolicy => {
                let (accepted, refused) = self.import.set_file(&new.import).await?;
                if self.forwarder.is_none() {
                    return Ok("import (nothing routed)".to_owned());
                }
                format!("import: {accepted} routes now accepted, {refused} now refused")
            }
            Action::AddRanges { group, ranges } => {
                let g = group_of(group)?;
                let password = secrets.passwords.get(group).map(String::as_str);
                if let Some(range) = bgp::dynamic_neighbors(new, g, ranges, password) {
                    self.bgp.add_dynamic_neighbors(range).await?;
                }
                format!("peer group {group:?}: listening to {ranges:?}")
            }
            Action::AddNeighbor { group, neighbor } => {
                let g = group_of(group)?;
                let password = secrets.passwords.get(group).map(String::as_str);
                self.bgp
                    .add_neighbor(bgp::static_neighbor(new, g, neighbor, password))
                    .await?;
                format!("neighbour {} added", neighbor.address)
            }
            Action::RemoveNeighbor(address) => {
                self.bgp.remove_neighbor(*address).await?;
                format!("neighbour {address} removed")
            }
            Action::ApplySysctls => {
                if self.forwarder.is_some() {
                    sysctl::apply(&new.fib, ImportPolicy::new(&new.import).has_ipv6())?;
                }
                "fib sysctls applied".to_owned()
            }
            Action::SetKeepRoutes(keep) => {
                if let Some(f) = &self.forwarder {
                    f.set_keep_routes(*keep).await?;
                }
                format!("fib.keepRoutesOnShutdown: {keep}")
            }
            Action::ApplyLoadBalancer => {
                self.load_balancer.apply(&new.load_balancer)?;
                format!(
                    "loadBalancer: {} frontends",
                    new.load_balancer.frontends.len()
                )
            }
            Action::AddUpstream(address) => {
                let u = new
                    .upstream
                    .iter()
                    .find(|u| u.address == *address)
                    .with_context(|| format!("upstream {address} vanished"))?;
                add_upstream(&self.bgp, new, u, secrets).await?;
                format!("upstream {address} added")
            }
            Action::SetUpstreamExport(address) => {
                let u = new
                    .upstream
                    .iter()
                    .find(|u| u.address == *address)
                    .with_context(|| format!("upstream {address} vanished"))?;
                self.bgp
                    .set_export_policy(*address, upstream::export_policy(&new.import, u))
                    .await
                    .with_context(|| format!("upstream {address}"))?;
                format!("upstream {address}: export follows the new import section")
            }
            Action::SetAggregates => {
                let aggregates = upstream::aggregates(new);
                match &self.aggregates {
                    Some(task) => task.set(aggregates),
                    None if aggregates.is_empty() => {}
                    None => {
                        let policy = self.import.subscribe();
                        self.aggregates =
                            Some(AggregateTask::spawn(self.bgp.clone(), policy, aggregates).await?);
                    }
                }
                format!("upstream aggregates: {:?}", upstream::aggregates(new))
            }
            Action::SetBfd => {
                self.bfd.set_config(new);
                "bfd: sessions follow the new profiles".to_owned()
            }
            Action::ReloadToken => {
                admin::check_exposure(&self.admin, secrets.token.as_deref())?;
                state.set_token(secrets.token.clone());
                "admin token read again".to_owned()
            }
        })
    }

    async fn stop(self) {
        self.peer_metrics.abort();
        self.load_balancer.stop();
        if let Some(task) = self.aggregates {
            task.stop();
        }
        if let Some((follower, pools)) = self.cluster_pools {
            follower.abort();
            pools.stop();
        }
        // BFD first: the peers hear AdminDown, so the BGP Cease that follows is no failure.
        self.bfd.stop().await;
        if let Err(error) = self.bgp.shutdown().await {
            tracing::warn!(%error, "stopping BGP");
        }
        if let Some(f) = &self.forwarder {
            if let Err(error) = f.shutdown().await {
                tracing::warn!(%error, "stopping the forwarding task");
            }
        }
    }
}

/// Configures the upstream neighbour `u`.
async fn add_upstream(
    bgp: &Instance,
    config: &RouterConfig,
    u: &UpstreamNeighbor,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let password = secrets.upstream.get(&u.address).map(String::as_str);
    bgp.add_neighbor(upstream::neighbor_config(config, u, password))
        .await
        .with_context(|| format!("upstream {}", u.address))?;
    tracing::info!(address = %u.address, asn = u.asn, announce = ?u.announce, "upstream neighbour configured");
    Ok(())
}

/// Starts following the cluster's pools when `import.kubernetes` is on, and waits (a little)
/// for their first list, so that routes in them are accepted from the start.
async fn start_cluster_pools(
    config: &RouterConfig,
) -> anyhow::Result<(Option<KubePools>, BTreeSet<IpNet>)> {
    let Some(k) = config.import.kubernetes.as_ref().filter(|k| k.enabled) else {
        return Ok((None, BTreeSet::new()));
    };
    let pools = KubePools::start(k).await.context("import.kubernetes")?;
    let mut prefixes = pools.prefixes();
    let listed = tokio::time::timeout(CLUSTER_POOLS_WAIT, prefixes.wait_for(Option::is_some)).await;
    let first = match listed {
        Ok(Ok(first)) => first.clone().unwrap_or_default(),
        _ => {
            tracing::warn!(
                wait = ?CLUSTER_POOLS_WAIT,
                "the cluster's IPAddressPools are not listed yet; starting with the file's pools"
            );
            BTreeSet::new()
        }
    };
    Ok((Some(pools), first))
}

async fn refresh_peer_metrics(
    bgp: Instance,
    forwarder: Option<ForwarderHandle>,
    bfd: Option<BfdPeers>,
    metrics: RouterMetrics,
) {
    let mut tick = tokio::time::interval(PEER_METRICS_INTERVAL);
    loop {
        tick.tick().await;
        let Ok(views) = admin::peer_views(&bgp, forwarder.as_ref(), bfd.as_ref()).await else {
            return;
        };
        metrics.set_peers(&views);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_routes_wait_for_the_longest_restart_or_hold_time() {
        let yaml = |keep: bool| {
            format!(
                "routerId: 192.0.2.1\nasn: 64512\nimport: {{servicePools: [10.96.0.0/24]}}\n\
                 fib: {{keepRoutesOnShutdown: {keep}}}\nbgp:\n  peerGroups:\n\
                 \x20   - {{name: a, neighbors: [{{address: 198.18.0.2, asn: 1}}], holdTime: 90s}}\n\
                 \x20   - {{name: b, neighbors: [{{address: 198.18.0.3, asn: 1}}], gracefulRestart: {{restartTime: 120s}}}}\n"
            )
        };
        let keep = RouterConfig::from_yaml_str(&yaml(true)).unwrap();
        assert_eq!(stale_grace(&keep), Duration::from_secs(120));
        let drop = RouterConfig::from_yaml_str(&yaml(false)).unwrap();
        assert_eq!(stale_grace(&drop), Duration::ZERO);
    }
}
