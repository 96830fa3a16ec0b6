//! The router daemon's admin API responses (`GET /api/v1/peers`, `/routes`, `/fib`), as JSON
//! with camelCase fields: `ferrolb-router` serves them, `lbctl` reads them, both with these
//! types. Fields added later carry `#[serde(default)]`, so a newer `lbctl` still reads an
//! older router.

use std::net::IpAddr;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeersResponse {
    /// Every BGP neighbour, configured or dynamic, by address.
    pub peers: Vec<PeerView>,
}

/// One BGP neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    #[serde(default)]
    pub dynamic: bool,
    /// Why the session last went down.
    pub last_down: Option<String>,
    /// What the neighbour sent.
    pub prefixes: PrefixCounts,
    /// Its BFD session, when its peer group uses BFD and the session has started.
    #[serde(default)]
    pub bfd: Option<BfdView>,
}

/// Prefix counters of one neighbour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// A neighbour's BFD session (RFC 5880).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// Whether the session is Up.
    pub fn is_up(&self) -> bool {
        self.state == "Up"
    }
}

/// `GET /api/v1/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutesResponse {
    /// Every route learned from the speakers, accepted or not, by prefix.
    pub routes: Vec<RouteView>,
}

/// One learned route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    #[serde(default)]
    pub installed_next_hops: Vec<IpAddr>,
    /// Next hops left out because they are not directly connected, and why.
    #[serde(default)]
    pub unusable_next_hops: Vec<UnusableNextHop>,
    /// The kernel nexthop group it points at.
    pub nexthop_group: Option<u32>,
}

/// A next hop that cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnusableNextHop {
    /// The address.
    pub address: IpAddr,
    /// Why: `not-resolved-yet`, `via-gateway`, `local-address`, `own-route`, `unreachable`,
    /// `refused-by-kernel` or `speaker-gone` (its session ended; its routes are going).
    pub reason: String,
}

/// `GET /api/v1/fib`: what the kernel has, read back over netlink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibResponse {
    /// The route protocol number of FerroLB's routes and nexthop objects.
    pub protocol: u8,
    /// `nexthop-groups` or `multipath`.
    pub mode: String,
    /// FerroLB's routes in the main table.
    pub routes: Vec<FibRouteView>,
    /// FerroLB's nexthop objects and groups.
    #[serde(default)]
    pub nexthops: Vec<FibNextHopView>,
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibRouteView {
    /// The destination.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// Its metric.
    #[serde(default)]
    pub metric: u32,
    /// The nexthop group or object it points at.
    #[serde(default)]
    pub nhid: Option<u32>,
    /// Its next hops as the kernel reports them.
    pub next_hops: Vec<FibPath>,
}

/// A next hop as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibPath {
    /// The gateway.
    pub gateway: IpAddr,
    /// The outgoing interface index.
    #[serde(default)]
    pub ifindex: u32,
    /// Its name, if it still exists.
    pub dev: Option<String>,
}

/// One kernel nexthop object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibNextHopView {
    /// Its id.
    pub id: u32,
    /// A gateway object's gateway.
    pub gateway: Option<FibPath>,
    /// A group's members.
    pub group: Option<Vec<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_router_without_later_fields_still_parses() {
        // What a router of the previous release answered.
        let peers: PeersResponse = serde_json::from_str(
            r#"{"peers":[{"address":"10.0.0.11","asn":64513,"state":"Established",
                "established":true,"uptimeSeconds":5,"lastDown":null,
                "prefixes":{"received":1,"accepted":1,"rejected":0,"installed":1}}]}"#,
        )
        .unwrap();
        assert_eq!(peers.peers[0].bfd, None);
        assert!(!peers.peers[0].dynamic);
        let fib: FibResponse = serde_json::from_str(
            r#"{"protocol":200,"mode":"multipath","routes":[{"prefix":"10.96.0.10/32",
                "nextHops":[{"gateway":"10.0.0.11","dev":"eth0"}]}]}"#,
        )
        .unwrap();
        assert_eq!(fib.routes[0].next_hops[0].ifindex, 0);
        assert!(fib.nexthops.is_empty());
    }

    #[test]
    fn round_trip_in_camel_case() {
        let peer = PeerView {
            address: "10.0.0.11".parse().unwrap(),
            asn: Some(64513),
            state: "Established".into(),
            established: true,
            uptime_seconds: Some(5),
            dynamic: true,
            last_down: None,
            prefixes: PrefixCounts::default(),
            bfd: Some(BfdView {
                state: "Up".into(),
                remote_state: "Up".into(),
                diag: "none".into(),
                mode: "single-hop".into(),
                local: "10.0.0.1".parse().unwrap(),
                interface: Some("eth0".into()),
                detection_time_ms: 900,
                failures: 0,
            }),
        };
        let text = serde_json::to_string(&peer).unwrap();
        for field in [
            "uptimeSeconds",
            "detectionTimeMs",
            "remoteState",
            "lastDown",
        ] {
            assert!(text.contains(field), "{field} in {text}");
        }
        assert_eq!(serde_json::from_str::<PeerView>(&text).unwrap(), peer);
        assert!(peer.bfd.unwrap().is_up());
    }
}
