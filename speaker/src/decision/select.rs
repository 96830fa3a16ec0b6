//! Selection rules shared by both protocols: which nodes serve a Service,
//! which pool an address belongs to, and which advertisements apply.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::{any_selector_matches, LabelSelector};

use super::model::{ClusterState, NodeInfo, Pool, ServiceInfo, TrafficPolicy};

/// Nodes with endpoints able to take a Service's traffic.
#[derive(Debug, Clone, Default)]
pub struct Serving {
    /// Some endpoint serves (on any node, or with no node recorded).
    any: bool,
    /// Nodes running such an endpoint.
    nodes: BTreeSet<String>,
}

impl Serving {
    /// Ready endpoints count; only when none is ready do serving but
    /// terminating ones count, as kube-proxy does, so a rolling update with
    /// a single replica keeps its traffic until the new one is ready.
    pub fn of(service: &ServiceInfo) -> Serving {
        let ready: Vec<_> = service.endpoints.iter().filter(|e| e.ready).collect();
        let usable = if ready.is_empty() {
            service.endpoints.iter().filter(|e| e.serving).collect()
        } else {
            ready
        };
        Serving {
            any: !usable.is_empty(),
            nodes: usable.iter().filter_map(|e| e.node.clone()).collect(),
        }
    }

    /// No endpoint serves: nothing is announced.
    pub fn is_empty(&self) -> bool {
        !self.any
    }
}

/// The pool an address was allocated from: the one the controller recorded,
/// else the one whose blocks hold the address.
pub fn pool_of<'a>(state: &'a ClusterState, service: &ServiceInfo, ip: IpAddr) -> Option<&'a Pool> {
    if let Some(name) = &service.pool {
        if let Some(pool) = state.pools.iter().find(|p| &p.name == name) {
            return Some(pool);
        }
    }
    state.pools.iter().find(|p| p.contains(ip))
}

/// Whether an advertisement with these pool and Service selections applies
/// to `pool` and `service`. Invalid selectors select nothing and are
/// reported in `problems`.
pub fn advertisement_applies(
    kind_and_name: &str,
    pools: &[String],
    pool_selectors: &[LabelSelector],
    service_selectors: &[LabelSelector],
    pool: &Pool,
    service: &ServiceInfo,
    problems: &mut BTreeSet<String>,
) -> bool {
    let pool_selected = if pools.is_empty() && pool_selectors.is_empty() {
        true
    } else {
        pools.contains(&pool.name)
            || (!pool_selectors.is_empty()
                && matches(
                    kind_and_name,
                    "ipAddressPoolSelectors",
                    pool_selectors,
                    &pool.labels,
                    problems,
                ))
    };
    pool_selected
        && matches(
            kind_and_name,
            "serviceSelectors",
            service_selectors,
            &service.labels,
            problems,
        )
}

/// `any_selector_matches`, recording a defect instead of failing.
pub fn matches(
    kind_and_name: &str,
    field: &str,
    selectors: &[LabelSelector],
    labels: &BTreeMap<String, String>,
    problems: &mut BTreeSet<String>,
) -> bool {
    any_selector_matches(selectors, labels).unwrap_or_else(|problem| {
        problems.insert(format!("{kind_and_name}: {field}: {problem}"));
        false
    })
}

/// One Service address being considered, with what it depends on.
pub struct Target<'a> {
    /// The whole state.
    pub state: &'a ClusterState,
    /// The Service.
    pub service: &'a ServiceInfo,
    /// The pool of the address.
    pub pool: &'a Pool,
    /// Where its endpoints serve.
    pub serving: &'a Serving,
}

impl Target<'_> {
    /// Whether `node` may announce the Service at all, whatever the
    /// advertisements say: it is eligible and, for `Local`, runs a serving
    /// endpoint.
    pub fn may_announce_from(&self, name: &str, node: &NodeInfo) -> bool {
        node.is_eligible()
            && match self.service.traffic_policy {
                TrafficPolicy::Cluster => true,
                TrafficPolicy::Local => self.serving.nodes.contains(name),
            }
    }
}
