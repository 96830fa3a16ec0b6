//! Everything `explain` looks at, gathered up front as plain data.

use std::collections::BTreeMap;

use ferrolb_api::ClusterObjects;
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
    /// FerroLB's namespace (for hints).
    pub ferrolb_namespace: String,
}
