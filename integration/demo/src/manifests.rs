//! The demo's cluster objects and router configurations, from
//! `configs/demo/` (built into the binary, so it runs from anywhere).

/// Pools, BGP peers and advertisements.
pub const CLUSTER: &str = include_str!("../../../configs/demo/cluster.yaml");
/// The three Nodes, with their status.
pub const NODES: &str = include_str!("../../../configs/demo/nodes.yaml");
/// The Services and their EndpointSlices.
pub const SERVICES: &str = include_str!("../../../configs/demo/services.yaml");
/// `ferrolb-router` configurations, one per router.
pub const ROUTERS: [&str; 2] = [
    include_str!("../../../configs/demo/router-1.yaml"),
    include_str!("../../../configs/demo/router-2.yaml"),
];

/// The Services the demo creates: name, the pool's protocol, and the
/// nodes expected to serve it before any node fails.
pub const SERVICE_PLAN: [(&str, &str, &[&str]); 3] = [
    (
        "web",
        "BGP, externalTrafficPolicy Cluster",
        &["node-1", "node-2", "node-3"],
    ),
    (
        "shop",
        "BGP, externalTrafficPolicy Local",
        &["node-1", "node-2"],
    ),
    ("printer", "L2", &[]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{node_addr, router_addr, router_name};

    #[test]
    fn configs_agree_with_the_topology() {
        for (i, yaml) in ROUTERS.iter().enumerate() {
            let config = ferrolb_api::RouterConfig::from_yaml_str(yaml)
                .unwrap_or_else(|e| panic!("{}: {e}", router_name(i)));
            assert_eq!(config.router_id, router_addr(i));
            let backends: Vec<String> = config.load_balancer.frontends[0]
                .backends
                .iter()
                .map(|b| b.address.ip().to_string())
                .collect();
            assert_eq!(
                backends,
                (0..3).map(|n| node_addr(n).to_string()).collect::<Vec<_>>()
            );
        }
        let objects = ferrolb_api::ClusterObjects::from_yaml_str(CLUSTER).unwrap();
        let peers: Vec<String> = objects
            .peers
            .iter()
            .map(|p| p.spec.peer_address.clone())
            .collect();
        assert_eq!(peers, ["198.18.0.5", "198.18.0.6"]);
        for (i, node) in ["198.18.0.2", "198.18.0.3", "198.18.0.4"]
            .iter()
            .enumerate()
        {
            assert_eq!(node_addr(i).to_string(), *node);
            assert!(NODES.contains(&format!("address: {node}")));
        }
    }
}
