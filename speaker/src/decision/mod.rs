//! What this node announces, as a pure function of the cluster state.
//!
//! [`decide`] takes a [`ClusterState`] (Services with their endpoints,
//! Nodes, pools, advertisements, peers, this node's name and the alive
//! speakers) and returns a [`Decision`]: the BGP sessions to keep, the
//! prefixes to send each peer with their attributes, and the L2 addresses
//! this node owns. No I/O happens here; the Kubernetes edge builds the
//! state and the BGP and L2 tasks carry the decision out.

mod bgp;
mod l2;
mod model;
pub mod owner;
mod select;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::{BGPPeerSpec, Community, LargeCommunity, ServiceReference};
use ipnet::IpNet;

pub use model::{
    ClusterState, Endpoint, Labels, Named, NodeInfo, Pool, ServiceInfo, TrafficPolicy,
    EXCLUDE_FROM_LB_LABEL,
};

/// Attributes of one announced prefix towards one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteAttributes {
    /// LOCAL_PREF (iBGP peers only).
    pub local_pref: Option<u32>,
    /// Standard communities (RFC 1997).
    pub communities: BTreeSet<Community>,
    /// Large communities (RFC 8092).
    pub large_communities: BTreeSet<LargeCommunity>,
}

impl RouteAttributes {
    /// Folds in the attributes of another advertisement of the same prefix:
    /// communities add up and the highest LOCAL_PREF wins.
    fn merge(&mut self, other: RouteAttributes) {
        self.local_pref = self.local_pref.max(other.local_pref);
        self.communities.extend(other.communities);
        self.large_communities.extend(other.large_communities);
    }
}

/// On which interfaces an L2 address is answered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceSelection {
    /// Every eligible interface of the node.
    All,
    /// Only these interfaces.
    Named(BTreeSet<String>),
}

impl InterfaceSelection {
    /// Widens the selection with another advertisement's.
    fn merge(&mut self, other: InterfaceSelection) {
        match (&mut *self, other) {
            (InterfaceSelection::All, _) => {}
            (_, InterfaceSelection::All) => *self = InterfaceSelection::All,
            (InterfaceSelection::Named(a), InterfaceSelection::Named(b)) => a.extend(b),
        }
    }
}

/// What one Service is announced with from this node, per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// Service addresses announced.
    pub ips: BTreeSet<IpAddr>,
    /// BGPPeers they go to (BGP).
    pub peers: BTreeSet<String>,
    /// Interfaces that answer for them (L2; empty means all).
    pub interfaces: BTreeSet<String>,
}

/// A Service's announcements from this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAnnouncements {
    /// Over BGP, if any address is announced that way.
    pub bgp: Option<Announced>,
    /// By ARP/NDP, if this node owns any of its addresses.
    pub l2: Option<Announced>,
}

/// What this node announces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// BGPPeers (by name) this node keeps a session with.
    pub peers: BTreeMap<String, BGPPeerSpec>,
    /// Prefixes to originate towards each peer (by name), with attributes.
    pub routes: BTreeMap<String, BTreeMap<IpNet, RouteAttributes>>,
    /// L2 addresses this node answers for, with the interfaces to use.
    pub l2: BTreeMap<IpAddr, InterfaceSelection>,
    /// Per-Service summary, for status objects, events and metrics.
    pub services: BTreeMap<ServiceReference, ServiceAnnouncements>,
    /// Configuration defects met on the way (invalid selectors, communities
    /// or aggregation lengths); the objects concerned are skipped.
    pub problems: BTreeSet<String>,
}

/// Decides what the node `state.node_name` announces.
pub fn decide(state: &ClusterState) -> Decision {
    let mut decision = Decision::default();
    let Some(node) = state.nodes.get(&state.node_name) else {
        // A speaker whose Node is unknown announces nothing.
        return decision;
    };
    decision.peers = bgp::session_peers(state, node, &mut decision.problems);
    for service in &state.services {
        let serving = select::Serving::of(service);
        if serving.is_empty() {
            continue;
        }
        for &ip in &service.ips {
            let Some(pool) = select::pool_of(state, service, ip) else {
                continue;
            };
            let target = select::Target {
                state,
                service,
                pool,
                serving: &serving,
            };
            if target.may_announce_from(&state.node_name, node) {
                bgp::announce_ip(&target, node, ip, &mut decision);
            }
            l2::own_ip(&target, ip, &mut decision);
        }
    }
    decision
}
