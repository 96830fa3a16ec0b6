//! The routers' admin API (`GET /api/v1/peers`, `/routes`, `/fib`): the
//! response shapes `ferrolb-router` serves (shared with it through
//! `ferrolb_api::admin`), which routers to ask (flags or
//! `~/.config/lbctl/config.yaml`) and a small HTTP/1 client over TCP or a
//! Unix socket.

mod endpoints;
mod http;

use serde::Serialize;

pub use endpoints::{RouterArgs, RouterEndpoint};
pub use ferrolb_api::admin::{
    FibResponse, FibRouteView, PeerView, PeersResponse, RouteView, RoutesResponse,
};
// Needed only to build responses in tests.
#[cfg(test)]
pub use ferrolb_api::admin::{FibPath, PrefixCounts, UnusableNextHop};
pub use http::get;

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
