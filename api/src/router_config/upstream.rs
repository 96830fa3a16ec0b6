//! `upstream:` — eBGP neighbours the router announces Service prefixes to.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::Secret;
use crate::duration::Duration;

/// An eBGP neighbour upstream of the router (ISP, core or top-of-rack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamNeighbor {
    /// The neighbour's address.
    pub address: IpAddr,
    /// The neighbour's AS number; must differ from the router's.
    pub asn: u32,
    /// TCP MD5 password, at most 80 bytes. Exclusive with `passwordFile`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File holding the TCP MD5 password. Exclusive with `password`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Hold time; whole seconds, 0 or at least 3s. Default: 90s.
    #[serde(default)]
    pub hold_time: Option<Duration>,
    /// KEEPALIVE interval; below the hold time. Default: a third of it.
    #[serde(default)]
    pub keepalive_time: Option<Duration>,
    /// What to announce. Default: `learned`.
    #[serde(default)]
    pub announce: AnnounceMode,
    /// Prefixes announced with `announce: aggregates`, each while at least
    /// one accepted Service route lies inside it.
    #[serde(default)]
    pub aggregates: Vec<IpNet>,
}

/// What the router announces upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnnounceMode {
    /// Every accepted Service route as learned from the speakers.
    #[default]
    Learned,
    /// Only the configured `aggregates`.
    Aggregates,
}
