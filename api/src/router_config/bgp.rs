//! `bgp:` — the router's BGP listener and its peer groups (the cluster
//! nodes' speakers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::Secret;
use crate::crd::peer::BGP_PORT;
use crate::duration::Duration;

/// Default graceful-restart time advertised to peers.
pub const DEFAULT_RESTART_TIME: Duration = Duration::from_secs(120);

/// BGP listener and peer groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct BgpConfig {
    /// Addresses to accept BGP connections on.
    /// Default: `["0.0.0.0", "::"]` (the IPv6 socket is IPv6-only).
    pub listen_addresses: Vec<IpAddr>,
    /// TCP port to listen on. Default: 179.
    pub port: u16,
    /// Groups of neighbours sharing policy; typically one group for the
    /// cluster's nodes.
    pub peer_groups: Vec<PeerGroup>,
}

impl Default for BgpConfig {
    fn default() -> Self {
        BgpConfig {
            listen_addresses: vec![
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ],
            port: BGP_PORT,
            peer_groups: Vec::new(),
        }
    }
}

/// A set of BGP neighbours with common settings: dynamic neighbours
/// accepted from `listenRanges`, plus explicitly listed static neighbours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerGroup {
    /// Unique name of the group.
    pub name: String,
    /// Sources (CIDRs) from which incoming sessions are accepted as dynamic
    /// neighbours, e.g. the nodes' subnet.
    #[serde(default)]
    pub listen_ranges: Vec<IpNet>,
    /// AS numbers dynamic neighbours may use. Required with `listenRanges`.
    #[serde(default)]
    pub allowed_asns: Vec<u32>,
    /// Neighbours the router connects to itself.
    #[serde(default)]
    pub neighbors: Vec<StaticNeighbor>,
    /// Hold time proposed in OPEN; whole seconds, 0 or at least 3s.
    /// Default: 90s.
    #[serde(default)]
    pub hold_time: Option<Duration>,
    /// KEEPALIVE interval; below the hold time. Default: a third of it.
    #[serde(default)]
    pub keepalive_time: Option<Duration>,
    /// TCP MD5 (RFC 2385) password, at most 80 bytes. Exclusive with
    /// `passwordFile`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File whose contents (trailing newline removed) are the TCP MD5
    /// password. Exclusive with `password`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// GTSM (RFC 5082): accept only packets from at most this many hops
    /// away, 1 to 254. Default: off.
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// Limit on prefixes accepted from each neighbour. Default: no limit.
    #[serde(default)]
    pub max_prefixes: Option<MaxPrefixes>,
    /// Graceful restart (RFC 4724). Default: off.
    #[serde(default)]
    pub graceful_restart: Option<GracefulRestart>,
    /// Name of a BFD profile from `bfd.profiles`; enables BFD. Default: off.
    #[serde(default)]
    pub bfd: Option<String>,
}

/// A neighbour the router connects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StaticNeighbor {
    /// The neighbour's address.
    pub address: IpAddr,
    /// The neighbour's AS number.
    pub asn: u32,
}

/// A cap on accepted prefixes per neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaxPrefixes {
    /// Largest number of prefixes accepted; at least 1.
    pub limit: u32,
    /// What to do when the limit is exceeded. Default: `teardown`.
    #[serde(default)]
    pub action: MaxPrefixAction,
}

/// Reaction to a neighbour exceeding `maxPrefixes.limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MaxPrefixAction {
    /// Log and count, keep the session and ignore the excess prefixes.
    Warn,
    /// Close the session with a Cease NOTIFICATION (RFC 4486).
    #[default]
    Teardown,
}

/// Graceful-restart settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GracefulRestart {
    /// Keep a restarting neighbour's routes while it comes back.
    /// Default: true.
    #[serde(default = "default_true")]
    pub helper: bool,
    /// Restart time advertised to neighbours; whole seconds, 1s to 4095s.
    /// Default: 120s.
    #[serde(default = "default_restart_time")]
    pub restart_time: Duration,
}

fn default_true() -> bool {
    true
}

fn default_restart_time() -> Duration {
    DEFAULT_RESTART_TIME
}
