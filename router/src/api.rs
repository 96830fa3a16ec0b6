//! The admin API's responses (`/api/v1/...`), as JSON with camelCase fields. Their JSON
//! schemas are served on `/api/v1/schema`.

use std::net::IpAddr;

use ferrolb_bfd::{Diag, SessionKey, SessionStatus, State};
use ferrolb_bgp::instance::NeighborStatus;
use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Serialize;

use crate::forwarder::NextHopUse;

/// `GET /api/v1/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeersResponse {
    /// Every BGP neighbour, configured or dynamic, by address.
    pub peers: Vec<PeerView>,
}

/// One BGP neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    /// The neighbour's address.
    pub address: IpAddr,
    /// Its AS number, once known.
    pub asn: Option<u32>,
    /// Session state as RFC 4271 names it (`Established`, `Active`, ...).
    pub state: String,
    /// Whether the session is Established.
    pub established: bool,
    /// Seconds since the session was established.
    pub uptime_seconds: Option<u64>,
    /// Whether it connected from a dynamic-neighbour range.
    pub dynamic: bool,
    /// Why the session last went down.
    pub last_down: Option<String>,
    /// What the neighbour sent.
    pub prefixes: PrefixCounts,
    /// Its BFD session, when its peer group uses BFD and the session has started.
    pub bfd: Option<BfdView>,
}

impl PeerView {
    /// A neighbour's view from the BGP instance's status and the router's route counts per
    /// next hop. Routes refused by import safety and installed routes are attributed to the
    /// neighbour whose address is their next hop (speakers announce their own address).
    pub fn new(n: &NeighborStatus, uses: &NextHopUse, bfd: Option<BfdView>) -> PeerView {
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
}

/// A neighbour's BFD session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BfdView {
    /// Local state as RFC 5880 names it: `AdminDown`, `Down`, `Init` or `Up`.
    pub state: String,
    /// The peer's state as last heard.
    pub remote_state: String,
    /// Why the session last went down (RFC 5880 diagnostic), e.g.
    /// `control-detection-time-expired`; `none` if it has not.
    pub diag: String,
    /// `single-hop` (RFC 5881) or `multihop` (RFC 5883).
    pub mode: String,
    /// The router's address of the session.
    pub local: IpAddr,
    /// The interface of a single-hop session.
    pub interface: Option<String>,
    /// The detection time in effect, in milliseconds (0 while the peer is not heard).
    pub detection_time_ms: u64,
    /// Failures (Up to Down) since the session started; each one closed the BGP session.
    pub failures: u64,
}

impl BfdView {
    /// The view of a session.
    pub fn new(key: &SessionKey, status: &SessionStatus) -> BfdView {
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

    /// Whether the session is Up.
    pub fn is_up(&self) -> bool {
        self.state == State::Up.to_string()
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

/// Prefix counters of one neighbour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrefixCounts {
    /// Announcements received (cumulative).
    pub received: u64,
    /// Prefixes currently held from it and passing import safety.
    pub accepted: u64,
    /// Announcements refused: by BGP checks or its prefix limit (cumulative), plus prefixes
    /// it currently announces that import safety refuses.
    pub rejected: u64,
    /// Installed routes that forward to this neighbour's address.
    pub installed: u64,
}

/// `GET /api/v1/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutesResponse {
    /// Every route learned from the speakers, accepted or not, by prefix.
    pub routes: Vec<RouteView>,
}

/// One learned route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    /// The prefix.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// Next hops of its ECMP set, one per announcing node.
    pub next_hops: Vec<IpAddr>,
    /// Whether import safety accepts it.
    pub accepted: bool,
    /// Why not, if not.
    pub reject_reason: Option<String>,
    /// Whether it is in the kernel.
    pub installed: bool,
    /// The next hops it is installed with (the reachable ones).
    pub installed_next_hops: Vec<IpAddr>,
    /// Next hops left out because they are not directly connected, and why.
    pub unusable_next_hops: Vec<UnusableNextHop>,
    /// The kernel nexthop group it points at.
    pub nexthop_group: Option<u32>,
}

/// A next hop that cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnusableNextHop {
    /// The address.
    pub address: IpAddr,
    /// Why: `not-resolved-yet`, `via-gateway`, `local-address`, `own-route`, `unreachable`
    /// or `refused-by-kernel`.
    pub reason: String,
}

/// `GET /api/v1/fib`: what the kernel has, read back over netlink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibResponse {
    /// The route protocol number of FerroLB's routes and nexthop objects.
    pub protocol: u8,
    /// `nexthop-groups` or `multipath`.
    pub mode: String,
    /// FerroLB's routes in the main table.
    pub routes: Vec<FibRouteView>,
    /// FerroLB's nexthop objects and groups.
    pub nexthops: Vec<FibNextHopView>,
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibRouteView {
    /// The destination.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// Its metric.
    pub metric: u32,
    /// The nexthop group or object it points at.
    pub nhid: Option<u32>,
    /// Its next hops as the kernel reports them.
    pub next_hops: Vec<FibPath>,
}

/// A next hop as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibPath {
    /// The gateway.
    pub gateway: IpAddr,
    /// The outgoing interface index.
    pub ifindex: u32,
    /// Its name, if it still exists.
    pub dev: Option<String>,
}

/// One kernel nexthop object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibNextHopView {
    /// Its id.
    pub id: u32,
    /// A gateway object's gateway.
    pub gateway: Option<FibPath>,
    /// A group's members.
    pub group: Option<Vec<u32>>,
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
}

impl SchemaResponse {
    /// The schemas.
    pub fn new() -> SchemaResponse {
        SchemaResponse {
            peers: schemars::schema_for!(PeersResponse),
            routes: schemars::schema_for!(RoutesResponse),
            fib: schemars::schema_for!(FibResponse),
            loadbalancer: schemars::schema_for!(LoadBalancerResponse),
        }
    }
}
