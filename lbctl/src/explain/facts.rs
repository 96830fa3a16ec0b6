//! Everything `explain` looks at, gathered up front as plain data.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::ClusterObjects;
use ferrolb_l2::MacAddr;
use serde::Serialize;

use crate::facts::{AnnouncementFacts, EventFacts, NodeFacts, ServiceFacts};
use crate::router_api::RouterReport;

/// One endpoint of the Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointFacts {
    /// Its address.
    pub address: String,
    /// The node it runs on.
    pub node: Option<String>,
    /// Whether it is ready.
    pub ready: bool,
}

/// One speaker's BGP session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionFacts {
    /// The speaker's node.
    pub node: String,
    /// The BGPPeer name.
    pub peer: String,
    /// The peer's address.
    pub address: String,
    /// FSM state.
    pub state: String,
    /// Last error.
    pub last_error: Option<String>,
}

/// What asking the segment (ARP / Neighbor Solicitation) found for one of
/// the Service's addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborFacts {
    /// The Service address asked for.
    pub address: IpAddr,
    /// What came of it.
    pub outcome: NeighborOutcome,
}

/// The outcome of asking for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborOutcome {
    /// Not asked, for this reason (lbctl is not on the segment).
    NotAsked(String),
    /// Asking failed on `interface`.
    Failed {
        /// The interface.
        interface: String,
        /// Why.
        error: String,
    },
    /// Asked on `interface` for `waited`.
    Asked {
        /// The interface.
        interface: String,
        /// How long answers were collected.
        waited: std::time::Duration,
        /// The MACs that answered for the Service address.
        macs: BTreeSet<MacAddr>,
        /// The MACs that answered for each node's address on the same
        /// segment, by node name (nodes without such an address are absent).
        node_macs: BTreeMap<String, BTreeSet<MacAddr>>,
    },
}

/// The inputs of every check.
#[derive(Debug, Clone, Default)]
pub struct ExplainFacts {
    /// The Service.
    pub service: ServiceFacts,
    /// The class FerroLB's controller handles.
    pub expected_class: Option<String>,
    /// Labels of the Service's namespace.
    pub namespace_labels: BTreeMap<String, String>,
    /// FerroLB's configuration objects.
    pub objects: ClusterObjects,
    /// Events about the Service, oldest first.
    pub events: Vec<EventFacts>,
    /// Its endpoints.
    pub endpoints: Vec<EndpointFacts>,
    /// Nodes, by name.
    pub nodes: BTreeMap<String, NodeFacts>,
    /// Speakers' announcements of this Service.
    pub announcements: Vec<AnnouncementFacts>,
    /// Every speaker BGP session.
    pub sessions: Vec<SessionFacts>,
    /// What each router reported.
    pub routers: Vec<RouterReport>,
    /// What asking the segment for each Service address found (L2 only).
    pub neighbors: Vec<NeighborFacts>,
    /// FerroLB's namespace (for hints).
    pub ferrolb_namespace: String,
}
