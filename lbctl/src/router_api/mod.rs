//! The routers' admin API (`GET /api/v1/peers`, `/routes`, `/fib`): the
//! response shapes `ferrolb-router` serves, which routers to ask (flags or
//! `~/.config/lbctl/config.yaml`) and a small HTTP/1 client over TCP or a
//! Unix socket.

mod endpoints;
mod http;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use endpoints::{RouterArgs, RouterEndpoint};
pub use http::get;

/// `GET /api/v1/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeersResponse {
    /// Every BGP neighbour of the router.
    pub peers: Vec<PeerView>,
}

/// One BGP neighbour of a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    /// The neighbour's address.
    pub address: IpAddr,
    /// Its AS number, once known.
    pub asn: Option<u32>,
    /// Session state (`Established`, `Active`, ...).
    pub state: String,
    /// Whether the session is Established.
    pub established: bool,
    /// Seconds since the session was established.
    pub uptime_seconds: Option<u64>,
    /// Whether it connected from a dynamic-neighbour range.
    #[serde(default)]
    pub dynamic: bool,
    /// Why the session last went down.
    pub last_down: Option<String>,
    /// Prefix counters.
    pub prefixes: PrefixCounts,
}

/// Prefix counters of one neighbour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrefixCounts {
    /// Announcements received.
    pub received: u64,
    /// Prefixes held and accepted.
    pub accepted: u64,
    /// Announcements refused.
    pub rejected: u64,
    /// Installed routes forwarding to this neighbour.
    pub installed: u64,
}

/// `GET /api/v1/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutesResponse {
    /// Every learned route.
    pub routes: Vec<RouteView>,
}

/// One route learned from the speakers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    /// The prefix.
    pub prefix: ipnet::IpNet,
    /// Next hops of its ECMP set.
    pub next_hops: Vec<IpAddr>,
    /// Whether import safety accepts it.
    pub accepted: bool,
    /// Why not, if not.
    pub reject_reason: Option<String>,
    /// Whether it is in the kernel.
    pub installed: bool,
    /// Next hops it is installed with.
    #[serde(default)]
    pub installed_next_hops: Vec<IpAddr>,
    /// Next hops left out, and why.
    #[serde(default)]
    pub unusable_next_hops: Vec<UnusableNextHop>,
    /// The kernel nexthop group.
    pub nexthop_group: Option<u32>,
}

/// A next hop that cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnusableNextHop {
    /// The address.
    pub address: IpAddr,
    /// Why.
    pub reason: String,
}

/// `GET /api/v1/fib`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FibResponse {
    /// FerroLB's route protocol number.
    pub protocol: u8,
    /// `nexthop-groups` or `multipath`.
    pub mode: String,
    /// FerroLB's kernel routes.
    pub routes: Vec<FibRouteView>,
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FibRouteView {
    /// The destination.
    pub prefix: ipnet::IpNet,
    /// Its next hops.
    pub next_hops: Vec<FibPath>,
}

/// A kernel next hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FibPath {
    /// The gateway.
    pub gateway: IpAddr,
    /// The interface name, if it still exists.
    pub dev: Option<String>,
}

/// What one router reported; errors are kept so output can show them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterReport {
    /// The router's name.
    pub name: String,
    /// Its BGP neighbours.
    pub peers: Result<Vec<PeerView>, String>,
    /// Its learned routes.
    pub routes: Result<Vec<RouteView>, String>,
    /// Its kernel routes.
    pub fib: Result<Vec<FibRouteView>, String>,
}

/// Asks a router for peers, routes and FIB.
pub async fn report(router: &RouterEndpoint) -> RouterReport {
    let (peers, routes, fib) = tokio::join!(
        get::<PeersResponse>(router, "/api/v1/peers"),
        get::<RoutesResponse>(router, "/api/v1/routes"),
        get::<FibResponse>(router, "/api/v1/fib"),
    );
    RouterReport {
        name: router.name.clone(),
        peers: peers.map(|p| p.peers).map_err(|e| format!("{e:#}")),
        routes: routes.map(|r| r.routes).map_err(|e| format!("{e:#}")),
        fib: fib.map(|f| f.routes).map_err(|e| format!("{e:#}")),
    }
}
