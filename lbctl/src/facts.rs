//! Plain data extracted from Kubernetes objects, so that the logic deciding
//! what to print works without an API server and is table-tested.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrolb_api::annotations::IP_ALLOCATED_FROM_POOL;
use ferrolb_api::{AddressBlock, ServiceAnnotations};
use k8s_openapi::api::core::v1::Service;
use serde::Serialize;

/// What lbctl needs to know about one Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFacts {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.type` (`ClusterIP` when unset).
    #[serde(rename = "type")]
    pub type_: String,
    /// `spec.loadBalancerClass`.
    pub class: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `status.loadBalancer.ingress[].ip`.
    pub ingress: Vec<IpAddr>,
    /// `spec.externalTrafficPolicy` (`Cluster` when unset).
    pub external_traffic_policy: String,
    /// `port/protocol` of each port.
    pub ports: Vec<String>,
    /// When the Service was created (RFC 3339).
    pub created: Option<String>,
}

impl ServiceFacts {
    /// Extracts the facts from a Service.
    pub fn from_service(svc: &Service) -> ServiceFacts {
        let spec = svc.spec.clone().unwrap_or_default();
        let ingress = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.as_deref()?.parse().ok())
            .collect();
        ServiceFacts {
            namespace: svc.metadata.namespace.clone().unwrap_or_default(),
            name: svc.metadata.name.clone().unwrap_or_default(),
            type_: spec.type_.unwrap_or_else(|| "ClusterIP".to_owned()),
            class: spec.load_balancer_class,
            labels: svc.metadata.labels.clone().unwrap_or_default(),
            annotations: svc.metadata.annotations.clone().unwrap_or_default(),
            ingress,
            external_traffic_policy: spec
                .external_traffic_policy
                .unwrap_or_else(|| "Cluster".to_owned()),
            ports: spec
                .ports
                .unwrap_or_default()
                .iter()
                .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
                .collect(),
            created: svc
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string()),
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether it is a LoadBalancer Service.
    pub fn is_load_balancer(&self) -> bool {
        self.type_ == "LoadBalancer"
    }

    /// The pool the controller recorded (under any accepted prefix).
    pub fn allocated_pool(&self) -> Option<String> {
        ServiceAnnotations::parse(&self.annotations)
            .ok()
            .and_then(|a| a.ip_allocated_from_pool)
            .or_else(|| self.annotations.get(IP_ALLOCATED_FROM_POOL).cloned())
    }

    /// Its addresses that fall in any of `blocks`.
    pub fn ips_in(&self, blocks: &[AddressBlock]) -> Vec<IpAddr> {
        self.ingress
            .iter()
            .copied()
            .filter(|ip| blocks.iter().any(|b| b.contains(*ip)))
            .collect()
    }
}

/// One Event about an object, reduced to what is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFacts {
    /// Kind of the object it is about.
    pub kind: String,
    /// Namespace of the object it is about.
    pub namespace: String,
    /// Name of the object it is about.
    pub name: String,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The reason (`IPAllocated`, `AllocationFailed`, ...).
    pub reason: String,
    /// The message.
    pub note: String,
    /// When it last happened (RFC 3339), for ordering.
    pub time: String,
    /// The component or node that reported it.
    pub reporter: String,
}

/// One speaker's announcement of one Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementFacts {
    /// The announcing node.
    pub node: String,
    /// `namespace/name` of the Service.
    pub service: String,
    /// `bgp` or `l2`.
    pub protocol: String,
    /// Addresses announced.
    pub ips: Vec<String>,
    /// BGPPeers announced to (BGP).
    pub peers: Vec<String>,
    /// Interfaces answering ARP/NDP (L2).
    pub interfaces: Vec<String>,
}

impl AnnouncementFacts {
    /// Extracts the facts from a ServiceAnnouncement.
    pub fn from_object(a: &ferrolb_api::ServiceAnnouncement) -> AnnouncementFacts {
        let status = a.status.clone().unwrap_or_default();
        AnnouncementFacts {
            node: a.spec.node.clone(),
            service: format!("{}/{}", a.spec.service.namespace, a.spec.service.name),
            protocol: match a.spec.protocol {
                ferrolb_api::AnnouncementProtocol::Bgp => "bgp",
                ferrolb_api::AnnouncementProtocol::L2 => "l2",
            }
            .to_owned(),
            ips: status.ips,
            peers: status.peers,
            interfaces: status.interfaces,
        }
    }
}

/// A node: its labels (for node selectors) and addresses (the speakers'
/// BGP session source and next hop).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeFacts {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `status.addresses` of type InternalIP or ExternalIP.
    pub addresses: Vec<IpAddr>,
}

impl NodeFacts {
    /// Extracts the facts from a Node.
    pub fn from_node(node: &k8s_openapi::api::core::v1::Node) -> NodeFacts {
        NodeFacts {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            addresses: node
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .into_iter()
                .flatten()
                .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                .filter_map(|a| a.address.parse().ok())
                .collect(),
        }
    }
}
