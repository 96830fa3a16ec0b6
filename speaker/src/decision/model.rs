//! The decision's inputs: plain descriptions of the cluster state that
//! matters to one speaker, free of Kubernetes client types.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::{
    AddressBlock, BGPAdvertisementSpec, BGPPeerSpec, L2AdvertisementSpec, ServiceReference,
};

/// Labels of an object.
pub type Labels = BTreeMap<String, String>;

/// `spec.externalTrafficPolicy` of a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrafficPolicy {
    /// Traffic may arrive at any node and is forwarded inside the cluster.
    #[default]
    Cluster,
    /// Traffic must arrive at a node that runs an endpoint.
    Local,
}

/// One endpoint of a Service, from its EndpointSlices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Node the endpoint runs on, if known.
    pub node: Option<String>,
    /// `conditions.ready` (an unset condition counts as ready, as the API says).
    pub ready: bool,
    /// `conditions.serving`: able to take traffic, possibly while terminating.
    pub serving: bool,
}

/// A `LoadBalancer` Service with its endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceInfo {
    /// Namespace and name.
    pub id: ServiceReference,
    /// Addresses from `status.loadBalancer.ingress`.
    pub ips: Vec<IpAddr>,
    /// `spec.externalTrafficPolicy`.
    pub traffic_policy: TrafficPolicy,
    /// The Service's labels (for advertisements' service selectors).
    pub labels: Labels,
    /// The pool recorded by the controller (`ferrolb.io/ip-allocated-from-pool`).
    pub pool: Option<String>,
    /// Endpoints from every EndpointSlice of the Service.
    pub endpoints: Vec<Endpoint>,
}

/// A Node as far as announcing goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// The node's labels.
    pub labels: Labels,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// The `NetworkUnavailable` condition is `True`.
    pub network_unavailable: bool,
}

/// Label that takes a node out of every load balancer's rotation.
pub const EXCLUDE_FROM_LB_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

impl NodeInfo {
    /// Whether the node may announce Service addresses at all.
    pub fn is_eligible(&self) -> bool {
        self.ready && !self.network_unavailable && !self.labels.contains_key(EXCLUDE_FROM_LB_LABEL)
    }
}

/// A named FerroLB object: name, labels and its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Named<T> {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// The spec.
    pub spec: T,
}

/// An IPAddressPool with its parsed address blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// The blocks of `spec.addresses` that parse.
    pub blocks: Vec<AddressBlock>,
}

impl Pool {
    /// Whether the pool holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }
}

/// Everything the decision looks at, for one speaker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterState {
    /// Name of the node this speaker runs on.
    pub node_name: String,
    /// Every Node, by name.
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Every `LoadBalancer` Service with addresses.
    pub services: Vec<ServiceInfo>,
    /// IPAddressPools.
    pub pools: Vec<Pool>,
    /// BGPPeers.
    pub peers: Vec<Named<BGPPeerSpec>>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Vec<Named<BGPAdvertisementSpec>>,
    /// L2Advertisements.
    pub l2_advertisements: Vec<Named<L2AdvertisementSpec>>,
    /// Speakers known to be alive (from the membership group); `None` when
    /// no membership runs, in which case Node state alone decides.
    pub alive_speakers: Option<BTreeSet<String>>,
}
