//! The router's virtual addresses (`vrrp:`): one `ferrolb-vrrp` instance per configured
//! instance (IPv4), resigning while a tracked load balancer frontend has no healthy backend,
//! with its state in `/metrics` (`ferrolb_router_vrrp_*`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use ferrolb_api::router_config::VrrpInstance;
use ferrolb_api::RouterConfig;
use ferrolb_daemon::MetricsRegistry;
use ferrolb_tcplb::{FrontendStatus, LoadBalancer};
use ferrolb_vrrp::{Instance, InstanceConfig, State, Status};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// How often tracked frontends are checked and the metrics refreshed.
const TRACK_INTERVAL: Duration = Duration::from_millis(500);
/// Every state, for the one-hot state gauge.
const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

/// The running VRRP instances.
pub struct Vrrp {
    instances: Arc<Vec<(VrrpInstance, Instance)>>,
    tracker: tokio::task::JoinHandle<()>,
}

/// The VRRP settings of one configured instance, or why this router cannot run it.
fn instance_config(i: &VrrpInstance) -> anyhow::Result<InstanceConfig> {
    let v4 = |a: &IpAddr| match a {
        IpAddr::V4(a) => Ok(*a),
        IpAddr::V6(a) => bail!(
            "vrrp.instances {:?}: IPv6 ({a}) is not supported yet",
            i.name
        ),
    };
    let addresses = i
        .addresses
        .iter()
        .map(v4)
        .collect::<anyhow::Result<Vec<Ipv4Addr>>>()?;
    let unicast_peers = i
        .unicast_peers
        .iter()
        .map(v4)
        .collect::<anyhow::Result<_>>()?;
    if i.use_virtual_mac {
        tracing::warn!(instance = %i.name, "useVirtualMac is not supported; using the interface's MAC");
    }
    if i.bfd.is_some() {
        tracing::warn!(instance = %i.name, "bfd tracking of the master is not supported; ignored");
    }
    if !i.track.interfaces.is_empty() {
        tracing::warn!(
            instance = %i.name,
            "track.interfaces is not supported; only the instance's own interface is tracked"
        );
    }
    let mut c = InstanceConfig::new(&i.name, &i.interface, i.vrid, addresses);
    c.priority = i.priority;
    c.advert_interval = i.advert_interval;
    c.preempt = i.preempt;
    c.preempt_delay = i.preempt_delay.as_std();
    c.unicast_peers = unicast_peers;
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

/// Whether every tracked frontend is healthy (none tracked: healthy).
fn tracked_healthy(healthy: &BTreeSet<&str>, tracked: &[String]) -> bool {
    tracked.iter().all(|name| healthy.contains(name.as_str()))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    instance: String,
    state: String,
}

/// `ferrolb_router_vrrp_*`.
#[derive(Clone, Default)]
struct Metrics {
    state: Family<StateLabels, Gauge>,
    transitions: Family<InstanceLabels, Counter>,
    adverts_sent: Family<InstanceLabels, Counter>,
    adverts_received: Family<InstanceLabels, Counter>,
    invalid_received: Family<InstanceLabels, Counter>,
}

impl Metrics {
    fn register(registry: &MetricsRegistry) -> Metrics {
        let m = Metrics::default();
        registry.with_sub_registry("router", |r| {
            let r = r.sub_registry_with_prefix("vrrp");
            r.register(
                "state",
                "1 for the VRRP state each instance is in",
                m.state.clone(),
            );
            r.register("transitions", "VRRP state changes", m.transitions.clone());
            r.register(
                "adverts_sent",
                "VRRP advertisements sent",
                m.adverts_sent.clone(),
            );
            r.register(
                "adverts_received",
                "Valid VRRP advertisements received",
                m.adverts_received.clone(),
            );
            r.register(
                "invalid_received",
                "VRRP packets discarded by the receive checks",
                m.invalid_received.clone(),
            );
        });
        m
    }

    fn set(&self, s: &Status) {
        for state in STATES {
            let labels = StateLabels {
                instance: s.name.clone(),
                state: state.as_str().to_owned(),
            };
            self.state
                .get_or_create(&labels)
                .set(i64::from(s.state == state));
        }
        let labels = InstanceLabels {
            instance: s.name.clone(),
        };
        let catch_up = |family: &Family<InstanceLabels, Counter>, total: u64| {
            let c = family.get_or_create(&labels);
            c.inc_by(total.saturating_sub(c.get()));
        };
        catch_up(&self.transitions, s.transitions);
        catch_up(&self.adverts_sent, s.adverts_sent);
        catch_up(&self.adverts_received, s.adverts_received);
        catch_up(&self.invalid_received, s.invalid_received);
    }
}

impl Vrrp {
    /// Starts every configured instance (none configured: `None`).
    pub async fn start(
        config: &RouterConfig,
        load_balancer: Arc<LoadBalancer>,
        registry: &MetricsRegistry,
    ) -> anyhow::Result<Option<Vrrp>> {
        if config.vrrp.instances.is_empty() {
            return Ok(None);
        }
        let mut instances = Vec::new();
        for i in &config.vrrp.instances {
            let settings = instance_config(i)?;
            let instance = Instance::start(settings)
                .await
                .with_context(|| format!("vrrp.instances {:?}", i.name))?;
            instances.push((i.clone(), instance));
        }
        let instances = Arc::new(instances);
        let tracker = tokio::spawn(track(
            instances.clone(),
            load_balancer,
            Metrics::register(registry),
        ));
        Ok(Some(Vrrp { instances, tracker }))
    }

    /// Resigns mastership (priority 0) and removes the virtual addresses.
    pub async fn stop(self) {
        self.tracker.abort();
        let _ = self.tracker.await;
        let Ok(instances) = Arc::try_unwrap(self.instances) else {
            tracing::warn!("VRRP instances still shared at shutdown; not resigning");
            return;
        };
        for (_, instance) in instances {
            instance.shutdown().await;
        }
    }
}

/// Follows the tracked frontends' health and refreshes the metrics.
async fn track(
    instances: Arc<Vec<(VrrpInstance, Instance)>>,
    load_balancer: Arc<LoadBalancer>,
    metrics: Metrics,
) {
    let mut faults: Vec<Option<bool>> = vec![None; instances.len()];
    let mut tick = tokio::time::interval(TRACK_INTERVAL);
    loop {
        tick.tick().await;
        let frontends = load_balancer.status();
        let healthy = healthy_frontends(&frontends);
        for ((config, instance), last) in instances.iter().zip(faults.iter_mut()) {
            let fault = !tracked_healthy(&healthy, &config.track.frontends);
            if *last != Some(fault) {
                if fault {
                    tracing::warn!(instance = %config.name, frontends = ?config.track.frontends, "a tracked frontend has no healthy backend: resigning");
                }
                instance.set_fault(fault);
                *last = Some(fault);
            }
            metrics.set(&instance.status());
        }
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
            ", priority: 200, advertInterval: 20, preempt: false, preemptDelay: 5s, unicastPeers: [192.0.2.3]",
        ))
        .unwrap();
        assert_eq!(
            (c.vrid, c.priority, c.advert_interval, c.preempt),
            (51, 200, 20, false)
        );
        assert_eq!(c.preempt_delay, Duration::from_secs(5));
        assert_eq!(c.addresses, [Ipv4Addr::new(192, 0, 2, 10)]);
        assert_eq!(c.unicast_peers, [Ipv4Addr::new(192, 0, 2, 3)]);
        let mut v6 = instance("");
        v6.addresses = vec!["2001:db8::10".parse().unwrap()];
        let e = instance_config(&v6).unwrap_err().to_string();
        assert!(e.contains("IPv6"), "{e}");
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
