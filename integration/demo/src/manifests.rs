//! The demo's cluster objects and router configurations, from
//! `configs/demo/` (built into the binary, so it runs from anywhere), and
//! the objects tests add to them.

use crate::cluster::SERVICE_NAMESPACE;
use crate::topology::{node_addr, node_name};

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

/// A LoadBalancer Service `name` in the demo's Service namespace, with
/// `externalTrafficPolicy: policy` and port 80; asking for address `ip`
/// (annotation `ferrolb.io/loadBalancerIPs`) if given. JSON, which is YAML.
pub fn service(name: &str, policy: &str, ip: Option<&str>) -> String {
    let mut service = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": SERVICE_NAMESPACE},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": policy,
            "selector": {"app": name},
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    });
    if let Some(ip) = ip {
        service["metadata"]["annotations"] =
            serde_json::json!({ ferrolb_api::annotations::LOAD_BALANCER_IPS: ip });
    }
    service.to_string()
}

/// Service `service`'s EndpointSlice `<service>-1`, as Kubernetes writes it
/// for one ready pod on each of `nodes` (0-based), at the node's address.
pub fn endpoint_slice(service: &str, nodes: &[usize]) -> String {
    let endpoints: Vec<serde_json::Value> = nodes
        .iter()
        .map(|i| {
            serde_json::json!({
                "addresses": [node_addr(*i).to_string()],
                "nodeName": node_name(*i),
                "conditions": {"ready": true},
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{service}-1"),
            "namespace": SERVICE_NAMESPACE,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "ports": [{"port": 80, "protocol": "TCP"}],
        "endpoints": endpoints,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn generated_objects_match_the_demo_s_own() {
        let from_file = |name: &str, kind: &str| -> serde_json::Value {
            serde_yaml::Deserializer::from_str(SERVICES)
                .map(|de| serde_json::Value::deserialize(de).unwrap())
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
                .unwrap()
        };
        let parse = |json: String| -> serde_json::Value { serde_json::from_str(&json).unwrap() };
        assert_eq!(
            parse(service("shop", "Local", None)),
            from_file("shop", "Service")
        );
        assert_eq!(
            parse(endpoint_slice("shop", &[0, 1])),
            from_file("shop-1", "EndpointSlice")
        );
        let asking = parse(service("again", "Cluster", Some("198.51.100.3")));
        assert_eq!(
            asking["metadata"]["annotations"]["ferrolb.io/loadBalancerIPs"],
            "198.51.100.3"
        );
        assert_eq!(
            parse(endpoint_slice("x", &[])),
            serde_json::json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "x-1", "namespace": "default",
                             "labels": {"kubernetes.io/service-name": "x"}},
                "addressType": "IPv4", "ports": [{"port": 80, "protocol": "TCP"}],
                "endpoints": [],
            })
        );
    }
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
