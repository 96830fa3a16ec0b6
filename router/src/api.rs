//! The admin API's responses (`/api/v1/...`), as JSON with camelCase fields. The peers, routes
//! and FIB responses are shared with `lbctl` (`ferrolb_api::admin`); the load balancer's and
//! the schema response are the router's own. Their JSON schemas are served on
//! `/api/v1/schema`.

use ferrolb_bfd::{Diag, SessionKey, SessionStatus};
use ferrolb_bgp::instance::NeighborStatus;
use schemars::JsonSchema;
use serde::Serialize;

pub use ferrolb_api::admin::{
    BfdView, FibNextHopView, FibPath, FibResponse, FibRouteView, PeerView, PeersResponse,
    PrefixCounts, RouteView, RoutesResponse, UnusableNextHop,
};

use crate::forwarder::NextHopUse;

/// A neighbour's view from the BGP instance's status, the router's route counts per next hop
/// and its BFD session. Routes refused by import safety and installed routes are attributed
/// to the neighbour whose address is their next hop (speakers announce their own address).
pub fn peer_view(n: &NeighborStatus, uses: &NextHopUse, bfd: Option<BfdView>) -> PeerView {
    let (installed, refused) = uses.get(&n.address).copied().unwrap_or_default();
    PeerView {
        address: n.address,
        asn: n.asn,
        state: n.state.clone(),
        established: n.is_established(),
        uptime_seconds: n.uptime.map(|u| u.as_secs()),
        dynamic: n.dynamic,
        last_down: n.last_down.clone(),
        prefixes: PrefixCounts {
            received: n.prefixes.received,
            accepted: n.prefixes.accepted.saturating_sub(refused),
            rejected: n.prefixes.rejected.saturating_add(refused),
            installed,
        },
        bfd,
    }
}

/// The view of a BFD session.
pub fn bfd_view(key: &SessionKey, status: &SessionStatus) -> BfdView {
    BfdView {
        state: status.state.to_string(),
        remote_state: status.remote_state.to_string(),
        diag: diag_name(status.diag).to_owned(),
        mode: key.mode.to_string(),
        local: key.local,
        interface: key.interface.clone(),
        detection_time_ms: u64::try_from(status.detection_time.as_millis()).unwrap_or(u64::MAX),
        failures: status.failures,
    }
}

/// The name of a BFD diagnostic (RFC 5880 section 4.1).
pub fn diag_name(diag: Diag) -> &'static str {
    match diag {
        Diag::None => "none",
        Diag::ControlDetectionTimeExpired => "control-detection-time-expired",
        Diag::EchoFunctionFailed => "echo-function-failed",
        Diag::NeighborSignaledSessionDown => "neighbor-signaled-session-down",
        Diag::ForwardingPlaneReset => "forwarding-plane-reset",
        Diag::PathDown => "path-down",
        Diag::ConcatenatedPathDown => "concatenated-path-down",
        Diag::AdministrativelyDown => "administratively-down",
        Diag::ReverseConcatenatedPathDown => "reverse-concatenated-path-down",
        Diag::Reserved(_) => "reserved",
    }
}

/// `GET /api/v1/loadbalancer`: the load balancer's frontends and backends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerResponse {
    /// Every frontend, by name.
    pub frontends: Vec<ferrolb_tcplb::FrontendStatus>,
}

/// `GET /api/v1/schema`: the JSON schemas of the responses above.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaResponse {
    /// Schema of `/api/v1/peers`.
    pub peers: schemars::Schema,
    /// Schema of `/api/v1/routes`.
    pub routes: schemars::Schema,
    /// Schema of `/api/v1/fib`.
    pub fib: schemars::Schema,
    /// Schema of `/api/v1/loadbalancer`.
    pub loadbalancer: schemars::Schema,
    /// Schema of `/api/v1/vrrp`.
    pub vrrp: schemars::Schema,
}

impl SchemaResponse {
    /// The schemas.
    pub fn new() -> SchemaResponse {
        SchemaResponse {
            peers: schemars::schema_for!(PeersResponse),
            routes: schemars::schema_for!(RoutesResponse),
            fib: schemars::schema_for!(FibResponse),
            loadbalancer: schemars::schema_for!(LoadBalancerResponse),
            vrrp: schemars::schema_for!(crate::vrrp::view::VrrpResponse),
        }
    }
}
