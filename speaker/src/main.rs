//! `ferrolb-speaker`: announces load-balancer IPs from Kubernetes nodes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use ferrolb_daemon::{AdminAddr, Daemon, DaemonArgs};
use ferrolb_speaker::bfd::Bfd;
use ferrolb_speaker::bgp::{BgpPlan, BgpSettings, BgpSpeaker, BgpStatus};
use ferrolb_speaker::cluster::status::StatusWriter;
use ferrolb_speaker::cluster::{self, snapshot, Outputs, Stores, Summary};
use ferrolb_speaker::l2::{Announcer, L2Sink, NotEnabled};
use ferrolb_speaker::metrics::Metrics;
use tokio::sync::{watch, Notify};

/// Admin server address unless `--admin-listen` says otherwise.
const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9611);

/// How often BGP session states are read for status and metrics (BFD
/// state changes are read at once).
const SESSION_POLL: Duration = Duration::from_secs(1);

/// FerroLB speaker: announces load-balancer IPs from this node.
#[derive(Debug, Parser)]
#[command(name = "ferrolb-speaker", version, about)]
struct Cli {
    #[command(flatten)]
    daemon: DaemonArgs,

    /// Name of the Node this speaker runs on.
    #[arg(long, env = "NODE_NAME")]
    node_name: String,

    /// FerroLB's namespace: its configuration, Secrets and status objects.
    #[arg(long, env = "POD_NAMESPACE", default_value = "ferrolb-system")]
    namespace: String,

    /// Kubeconfig file. Without it: $KUBECONFIG, ~/.kube/config, then the
    /// in-cluster service account.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,

    /// On SIGTERM, routes are withdrawn first and sessions stay up this
    /// long, so that traffic moves to other nodes before they close. Peers
    /// with graceful restart are not drained: their sessions end without a
    /// NOTIFICATION and they keep this node's routes until it is back.
    #[arg(long, default_value = "5s")]
    drain_period: ferrolb_api::Duration,

    /// BGP identifier (default: the Node's IPv4 InternalIP).
    #[arg(long)]
    bgp_router_id: Option<Ipv4Addr>,

    #[command(flatten)]
    l2: L2Args,
}

/// L2 announcing and the speakers' liveness group.
#[derive(Debug, clap::Args)]
struct L2Args {
    /// Do not answer ARP/NDP (BGP only; no NET_RAW needed).
    #[arg(long)]
    no_l2: bool,

    /// File holding the shared key of the speakers' liveness group (mount
    /// the `ferrolb-memberlist` Secret here). Without a key, L2 owners
    /// change only when Kubernetes marks a Node NotReady (tens of seconds).
    #[arg(long, env = "FERROLB_MEMBERLIST_KEY_FILE", value_name = "PATH")]
    memberlist_key_file: Option<PathBuf>,

    /// UDP port of the liveness group, on the Node's InternalIP.
    #[arg(long, default_value_t = ferrolb_membership::DEFAULT_PORT)]
    memberlist_port: u16,

    /// Re-send gratuitous ARP / unsolicited NA for owned addresses this
    /// often, so that switch tables do not age them out.
    #[arg(long, default_value = "60s")]
    l2_refresh: ferrolb_api::Duration,

    /// Answer ARP/NDP only on these interfaces (comma-separated; default:
    /// every interface not excluded). L2Advertisements' `interfaces`
    /// narrow this further.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    l2_interfaces: Vec<String>,

    /// Never answer on interfaces whose name starts with one of these
    /// (comma-separated; container and overlay plumbing by default).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "PREFIXES",
        default_values = ferrolb_l2::policy::DEFAULT_EXCLUDE_PREFIXES
    )]
    l2_exclude_interfaces: Vec<String>,

    /// Also answer on bond and bridge members (by default only the bond or
    /// bridge itself answers).
    #[arg(long)]
    l2_allow_enslaved: bool,
}

/// Starts the ARP/NDP announcer, or the sink that says L2 is off.
async fn l2_sink(
    args: &L2Args,
    metrics: &ferrolb_daemon::MetricsRegistry,
) -> anyhow::Result<Box<dyn L2Sink>> {
    if args.no_l2 {
        return Ok(Box::new(NotEnabled::default()));
    }
    let config = ferrolb_l2::L2Config {
        refresh_interval: args.l2_refresh.as_std(),
        interfaces: ferrolb_l2::InterfacePolicy {
            include: args.l2_interfaces.clone(),
            exclude_prefixes: args
                .l2_exclude_interfaces
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect(),
            allow_enslaved: args.l2_allow_enslaved,
        },
        ..ferrolb_l2::L2Config::default()
    };
    let announcer = ferrolb_l2::L2Announcer::start(config)
        .await
        .context("starting the ARP/NDP announcer (needs CAP_NET_RAW; --no-l2 turns it off)")?;
    metrics.with_sub_registry("speaker", |registry| announcer.register_metrics(registry));
    Ok(Box::new(Announcer(announcer)))
}

/// Joins the liveness group when a key is configured.
async fn join_membership(
    cli: &Cli,
    stores: &Stores,
    metrics: &ferrolb_daemon::MetricsRegistry,
) -> anyhow::Result<Option<ferrolb_membership::Membership>> {
    let Some(path) = (!cli.l2.no_l2)
        .then_some(())
        .and(cli.l2.memberlist_key_file.as_ref())
    else {
        if !cli.l2.no_l2 {
            tracing::warn!("no --memberlist-key-file: L2 owners follow Node readiness only, so failover is slow");
        }
        return Ok(None);
    };
    let key =
        std::fs::read(path).with_context(|| format!("--memberlist-key-file {}", path.display()))?;
    let address = stores
        .node(&cli.node_name)
        .as_deref()
        .and_then(ferrolb_speaker::membership::node_address)
        .with_context(|| {
            format!(
                "Node {} has no InternalIP for the liveness group",
                cli.node_name
            )
        })?;
    let bind = SocketAddr::new(address, cli.l2.memberlist_port);
    let config = ferrolb_membership::MembershipConfig::new(cli.node_name.clone(), bind, bind, key);
    let membership = ferrolb_membership::Membership::start(config)
        .await
        .with_context(|| format!("joining the liveness group on {bind}"))?;
    metrics.with_sub_registry("speaker", |registry| membership.register_metrics(registry));
    tracing::info!(%bind, "joined the speakers' liveness group");
    Ok(Some(membership))
}

async fn kube_client(cli: &Cli) -> anyhow::Result<kube::Client> {
    let config = ferrolb_api::kubeconfig::client_config(cli.kubeconfig.as_deref()).await?;
    kube::Client::try_from(config).context("creating the Kubernetes client")
}

/// Router ID and next hops from the flags and the Node's InternalIPs.
fn bgp_settings(cli: &Cli, stores: &Stores) -> anyhow::Result<BgpSettings> {
    let ips = stores
        .node(&cli.node_name)
        .map(|n| snapshot::internal_ips(&n))
        .unwrap_or_default();
    let v4 = ips.iter().find_map(|ip| match ip {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    });
    let v6 = ips.iter().find_map(|ip| match ip {
        IpAddr::V6(v6) => Some(*v6),
        IpAddr::V4(_) => None,
    });
    let router_id = cli.bgp_router_id.or(v4).with_context(|| {
        format!(
            "Node {} has no IPv4 InternalIP to use as BGP router ID; pass --bgp-router-id",
            cli.node_name
        )
    })?;
    Ok(BgpSettings {
        router_id,
        ipv6_next_hop: v6,
        ipv4_next_hop: v4,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let daemon = Daemon::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .default_admin_listen(AdminAddr::Tcp(DEFAULT_ADMIN_LISTEN))
        .start(&cli.daemon)
        .await?;
    let client = kube_client(&cli).await?;
    let metrics = Metrics::register(daemon.metrics());
    let stop = daemon.shutdown().token();

    let changed = Arc::new(Notify::new());
    let stores = Stores::start(&client, &cli.namespace, &changed);
    tokio::select! {
        ready = stores.wait_until_ready() => ready.context("watching the API server")?,
        () = stop.cancelled() => return Ok(daemon.finish().await?),
    }
    let settings = bgp_settings(&cli, &stores)?;
    tracing::info!(node = %cli.node_name, router_id = %settings.router_id, "speaker started");

    let (plan_tx, mut plan_rx) = watch::channel(BgpPlan::default());
    let (summary_tx, summary_rx) = watch::channel(Summary::default());
    let (status_tx, status_rx) = watch::channel(BgpStatus::new());
    // Without a liveness group, Node state alone decides (None).
    let (alive_tx, alive_rx) = watch::channel(None);
    let membership = match join_membership(&cli, &stores, daemon.metrics()).await? {
        Some(membership) => Some(tokio::spawn(ferrolb_speaker::membership::run(
            membership,
            stores.clone(),
            cli.l2.memberlist_port,
            alive_tx,
            stop.clone(),
        ))),
        None => None,
    };
    let outputs = Outputs {
        plan: plan_tx,
        summary: summary_tx,
        l2: l2_sink(&cli.l2, daemon.metrics()).await?,
        metrics: metrics.clone(),
    };
    let decisions = tokio::spawn(cluster::run_decisions(
        stores,
        changed,
        alive_rx,
        cli.node_name.clone(),
        outputs,
        stop.clone(),
    ));
    let writer = StatusWriter::new(client, cli.namespace.clone(), cli.node_name.clone());
    let status_writer = tokio::spawn(writer.run(summary_rx, status_rx.clone(), stop.clone()));

    let bfd_changed = Arc::new(Notify::new());
    let bfd = Bfd::new(bfd_changed.clone());
    let mut bgp = BgpSpeaker::new(settings, status_tx, bfd);
    let mut poll = tokio::time::interval(SESSION_POLL);
    // The first plan (from complete caches) arrives at once; sessions start
    // with it, so a restarted speaker never offers a peer an empty table.
    plan_rx.mark_changed();
    loop {
        tokio::select! {
            changed = plan_rx.changed() => {
                if changed.is_err() { break }
                let plan = plan_rx.borrow_and_update().clone();
                for e in bgp.apply(&plan).await {
                    tracing::warn!(error = %e, "BGP peer not set up");
                }
                daemon.readiness().set_ready();
            }
            _ = poll.tick() => {
                bgp.refresh_status().await;
                metrics.set_sessions(&status_rx.borrow());
            }
            () = bfd_changed.notified() => {
                bgp.refresh_status().await;
                metrics.set_sessions(&status_rx.borrow());
            }
            () = stop.cancelled() => break,
        }
    }

    // Withdraw first so peers move traffic away, then close. Leaving the
    // liveness group hands this node's L2 addresses over at once.
    let _ = decisions.await;
    if let Some(membership) = membership {
        let _ = membership.await;
    }
    // Peers with graceful restart keep our routes while we restart; only the
    // others are drained.
    if bgp.stop_for_restart().await > 0 {
        bgp.withdraw_all().await;
        tracing::info!(drain_period = %cli.drain_period, "routes withdrawn; draining before closing sessions");
        tokio::time::sleep(cli.drain_period.as_std()).await;
    }
    bgp.close().await;
    let _ = status_writer.await;
    daemon.finish().await?;
    Ok(())
}
