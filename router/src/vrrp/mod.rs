//! The router's virtual addresses (`vrrp:`): one `ferrolb-vrrp` instance per configured
//! instance (IPv4 or IPv6), resigning while a tracked load balancer frontend has no healthy backend,
//! with its state in `/metrics` (`ferrolb_router_vrrp_*`, [`metrics`]) and on
//! `GET /api/v1/vrrp` ([`view`]). A reload adds, removes and changes instances in place
//! (priority, preemption, interval, tracking); other changes replace the instance. An instance
//! naming a BFD profile hears from the BFD task when a unicast peer fails: if that peer is its
//! master, it takes over at once.

mod metrics;
pub mod view;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferrolb_api::router_config::VrrpInstance;
use ferrolb_api::RouterConfig;
use ferrolb_daemon::MetricsRegistry;
use ferrolb_tcplb::{FrontendStatus, LoadBalancer};
use ferrolb_vrrp::{Instance, InstanceConfig};
use tokio::sync::{mpsc, oneshot};

use metrics::Metrics;
pub use view::VrrpBoard;

/// How often tracked frontends are checked and the metrics refreshed.
const TRACK_INTERVAL: Duration = Duration::from_millis(500);

/// The VRRP task: owns the instances, follows tracked frontends, applies reloads.
pub struct Vrrp {
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

enum Command {
    Reload(Vec<VrrpInstance>, oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

/// One running instance.
struct Running {
    config: VrrpInstance,
    instance: Instance,
    /// The fault last reported to the instance (`None`: not yet).
    fault: Option<bool>,
}

/// The VRRP settings of one configured instance.
fn instance_config(i: &VrrpInstance) -> anyhow::Result<InstanceConfig> {
    let mut c = InstanceConfig::new(&i.name, &i.interface, i.vrid, i.addresses.iter().copied());
    c.priority = i.priority;
    c.advert_interval = i.advert_interval;
    c.preempt = i.preempt;
    c.preempt_delay = i.preempt_delay.as_std();
    c.unicast_peers = i.unicast_peers.clone();
    c.virtual_mac = i.use_virtual_mac;
    c.validate()
        .with_context(|| format!("vrrp.instances {:?}", i.name))?;
    Ok(c)
}

/// The frontends with at least one backend that passes its health checks.
fn healthy_frontends(statuses: &[FrontendStatus]) -> BTreeSet<&str> {
    statuses
        .iter()
        .filter(|f| f.backends.iter().any(|b| b.up))
        .map(|f| f.name.as_str())
        .collect()
}

/// Whether a link's `operstate` (as `/sys/class/net/<name>/operstate` reads) lets traffic
/// through: `up`, or `unknown` for links that report no state (loopback, tun); a missing
/// link is down.
fn link_up(operstate: Option<&str>) -> bool {
    matches!(operstate.map(str::trim), Some("up" | "unknown"))
}

/// The `operstate` of the link `name` in this network namespace.
fn operstate(name: &str) -> Option<String> {
    // Interface names never hold a slash; refuse anything that would leave the directory.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/operstate")).ok()
}

/// The tracked interfaces that are down.
fn interfaces_down(tracked: &[String], state: impl Fn(&str) -> Option<String>) -> Vec<&str> {
    tracked
        .iter()
        .map(String::as_str)
        .filter(|name| !link_up(state(name).as_deref()))
        .collect()
}

/// Whether every tracked frontend is healthy (none tracked: healthy).
fn tracked_healthy(healthy: &BTreeSet<&str>, tracked: &[String]) -> bool {
    tracked.iter().all(|name| healthy.contains(name.as_str()))
}

impl Vrrp {
    /// Starts every configured instance (an instance that cannot start fails the start:
    /// its address would otherwise be served by no one without anybody noticing).
    /// `bfd_failures` carries the address of each peer whose BFD session fails.
    pub async fn start(
        config: &RouterConfig,
        load_balancer: Arc<LoadBalancer>,
        registry: &MetricsRegistry,
        board: VrrpBoard,
        bfd_failures: mpsc::UnboundedReceiver<IpAddr>,
    ) -> anyhow::Result<Vrrp> {
        let mut running = Vec::new();
        for i in &config.vrrp.instances {
            running.push(start_instance(i).await?);
        }
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let task = Task {
            running,
            load_balancer,
            metrics: Metrics::register(registry),
            board,
        };
        Ok(Vrrp {
            commands,
            task: tokio::spawn(task.run(commands_rx, bfd_failures)),
        })
    }

    /// Applies a reloaded `vrrp:` section: instances added, removed, changed in place, or
    /// replaced when what changed needs a new instance (interface, VRID, addresses, peers,
    /// virtual MAC). Returns once applied.
    pub async fn reload(&self, config: &RouterConfig) {
        let (done, wait) = oneshot::channel();
        if self
            .commands
            .send(Command::Reload(config.vrrp.instances.clone(), done))
            .is_ok()
        {
            let _ = wait.await;
        }
    }

    /// Resigns mastership (priority 0) and removes the virtual addresses.
    pub async fn stop(self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Stop(done)).is_ok() {
            let _ = wait.await;
        }
        let _ = self.task.await;
    }
}

async fn start_instance(config: &VrrpInstance) -> anyhow::Result<Running> {
    let instance = Instance::start(instance_config(config)?)
        .await
        .with_context(|| format!("vrrp.instances {:?}", config.name))?;
    Ok(Running {
        config: config.clone(),
        instance,
        fault: None,
    })
}

struct Task {
    running: Vec<Running>,
    load_balancer: Arc<LoadBalancer>,
    metrics: Metrics,
    board: VrrpBoard,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut bfd_failures: mpsc::UnboundedReceiver<IpAddr>,
    ) {
        self.publish();
        let mut tick = tokio::time::interval(TRACK_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => self.track(),
                Some(peer) = bfd_failures.recv() => self.peer_failed(peer),
                command = commands.recv() => match command {
                    Some(Command::Reload(configs, done)) => {
                        self.reload(configs).await;
                        self.track();
                        let _ = done.send(());
                    }
                    Some(Command::Stop(done)) => {
                        self.stop().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop().await;
                        return;
                    }
                },
            }
        }
    }

    /// Follows the tracked frontends' health and refreshes the metrics.
    fn track(&mut self) {
        let frontends = self.load_balancer.status();
        let healthy = healthy_frontends(&frontends);
        for r in &mut self.running {
            let frontends_ok = tracked_healthy(&healthy, &r.config.track.frontends);
            let down = interfaces_down(&r.config.track.interfaces, operstate);
            let fault = !frontends_ok || !down.is_empty();
            if r.fault != Some(fault) {
                if !frontends_ok {
                    tracing::warn!(instance = %r.config.name, frontends = ?r.config.track.frontends, "a tracked frontend has no healthy backend: resigning");
                }
                if !down.is_empty() {
                    tracing::warn!(instance = %r.config.name, interfaces = ?down, "a tracked interface is down: resigning");
                }
                r.instance.set_fault(fault);
                r.fault = Some(fault);
            }
            self.metrics.set(&r.instance.status());
        }
    }

    /// A peer's BFD session failed: the instances that watch it by BFD hear of it (a backup
    /// whose master it is takes over).
    fn peer_failed(&self, peer: IpAddr) {
        for r in &self.running {
            if r.config.bfd.is_some() && r.config.unicast_peers.contains(&peer) {
                r.instance.master_unreachable(peer);
            }
        }
    }

    fn publish(&self) {
        self.board
            .set(self.running.iter().map(|r| r.instance.watch()).collect());
    }

    async fn reload(&mut self, configs: Vec<VrrpInstance>) {
        let mut old: Vec<Running> = std::mem::take(&mut self.running);
        // Removed instances go first, so an address moving to another instance is free.
        let (kept, removed): (Vec<_>, Vec<_>) = old
            .drain(..)
            .partition(|r| configs.iter().any(|c| c.name == r.config.name));
        for r in removed {
            tracing::info!(instance = %r.config.name, "VRRP instance removed");
            self.metrics.remove(&r.config.name);
            r.instance.shutdown().await;
        }
        let mut kept = kept;
        for config in configs {
            let existing = kept
                .iter()
                .position(|r| r.config.name == config.name)
                .map(|i| kept.swap_remove(i));
            match self.apply(existing, &config).await {
                Ok(r) => self.running.push(r),
                Err(error) => tracing::error!(
                    instance = %config.name,
                    error = format!("{error:#}"),
                    "cannot apply the VRRP instance"
                ),
            }
        }
        self.publish();
    }

    /// The instance for `config`: `existing` kept, changed in place or replaced, or a new one.
    async fn apply(
        &mut self,
        existing: Option<Running>,
        config: &VrrpInstance,
    ) -> anyhow::Result<Running> {
        let Some(mut r) = existing else {
            tracing::info!(instance = %config.name, "VRRP instance added");
            return start_instance(config).await;
        };
        if r.config == *config {
            return Ok(r);
        }
        let settings = instance_config(config)?;
        if r.instance.config().reconfigurable_to(&settings) {
            r.instance.reconfigure(settings)?;
            r.config = config.clone();
            // Tracking may have changed: judge it again at the next tick.
            r.fault = None;
            return Ok(r);
        }
        tracing::info!(instance = %config.name, "VRRP instance replaced");
        self.metrics.remove(&config.name);
        r.instance.shutdown().await;
        start_instance(config).await
    }

    async fn stop(&mut self) {
        for r in self.running.drain(..) {
            r.instance.shutdown().await;
        }
        self.board.set(Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(extra: &str) -> VrrpInstance {
        let yaml = format!(
            "routerId: 192.0.2.1\nasn: 64512\nvrrp: {{instances: [{{name: api, interface: eth0, vrid: 51, \
             addresses: [192.0.2.10]{extra}}}]}}\n"
        );
        RouterConfig::from_yaml_str(&yaml)
            .unwrap()
            .vrrp
            .instances
            .remove(0)
    }

    #[test]
    fn configuration_maps_onto_the_driver() {
        let c = instance_config(&instance(
            ", priority: 200, advertInterval: 20, preempt: false, preemptDelay: 5s, unicastPeers: [192.0.2.3], \
             useVirtualMac: true",
        ))
        .unwrap();
        assert_eq!(
            (c.vrid, c.priority, c.advert_interval, c.preempt),
            (51, 200, 20, false)
        );
        assert_eq!(c.preempt_delay, Duration::from_secs(5));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(c.addresses, [ip("192.0.2.10")]);
        assert_eq!(c.unicast_peers, [ip("192.0.2.3")]);
        assert!(c.virtual_mac);
        assert!(!instance_config(&instance("")).unwrap().virtual_mac);
        let mut v6 = instance("");
        v6.addresses = vec![ip("2001:db8::10")];
        assert!(instance_config(&v6).unwrap().is_ipv6());
        v6.use_virtual_mac = true;
        let e = format!("{:#}", instance_config(&v6).unwrap_err());
        assert!(e.contains("IPv4 only"), "{e}");
        // The configuration validator says so before anything starts.
        let yaml =
            "routerId: 192.0.2.1\nasn: 64512\nvrrp: {instances: [{name: api, interface: eth0, \
                    vrid: 51, addresses: ['2001:db8::10'], useVirtualMac: true}]}\n";
        let e = RouterConfig::from_yaml_str(yaml).unwrap_err().to_string();
        assert!(e.contains("useVirtualMac"), "{e}");
    }

    #[test]
    fn the_example_vip_groups_map_onto_the_driver() {
        let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        for (layout, routers) in [("homelab", 2), ("three-routers", 3)] {
            let mut priorities = BTreeSet::new();
            for n in 1..=routers {
                let path = configs.join(layout).join(format!("router-{n}.yaml"));
                let config = RouterConfig::from_file(&path).unwrap();
                let [instance] = config.vrrp.instances.as_slice() else {
                    panic!("{layout}/router-{n}: one VRRP instance expected");
                };
                let driver = instance_config(instance).unwrap();
                driver.validate().unwrap();
                let api = &config.load_balancer.frontends[0];
                assert_eq!(
                    driver.addresses,
                    vec![api.listen[0].ip()],
                    "{layout}: the VIP fronts the API server"
                );
                assert_eq!(
                    instance.track.frontends.as_slice(),
                    std::slice::from_ref(&api.name),
                    "{layout}"
                );
                priorities.insert(driver.priority);
            }
            assert_eq!(
                priorities.len(),
                routers,
                "{layout}: one order of preference"
            );
        }
    }

    #[test]
    fn tracked_interfaces_must_be_up() {
        let tracked = ["uplink".to_owned(), "lo".to_owned(), "gone".to_owned()];
        let table: [(&str, Option<&str>, bool); 6] = [
            ("up", Some("up\n"), true),
            ("unknown (loopback)", Some("unknown\n"), true),
            ("down", Some("down\n"), false),
            ("lower layer down", Some("lowerlayerdown\n"), false),
            ("dormant", Some("dormant\n"), false),
            ("missing", None, false),
        ];
        for (what, state, up) in table {
            assert_eq!(link_up(state), up, "{what}");
        }
        let state = |name: &str| match name {
            "uplink" => Some("down\n".to_owned()),
            "lo" => Some("unknown\n".to_owned()),
            _ => None,
        };
        assert_eq!(interfaces_down(&tracked, state), ["uplink", "gone"]);
        assert!(interfaces_down(&[], state).is_empty());
        assert_eq!(operstate("../../etc/passwd"), None);
    }

    #[test]
    fn tracked_frontends_need_a_healthy_backend() {
        let healthy: BTreeSet<&str> = ["api", "ingress"].into();
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases = [
            ("nothing tracked", names(&[]), true),
            ("healthy", names(&["api"]), true),
            ("all healthy", names(&["api", "ingress"]), true),
            (
                "one without a healthy backend",
                names(&["api", "db"]),
                false,
            ),
        ];
        for (name, tracked, want) in cases {
            assert_eq!(tracked_healthy(&healthy, &tracked), want, "{name}");
        }
    }
}
