//! The routes in a namespace's kernel FIB, read back with `ip -j route` the way an operator
//! would: what a router under test really installed, not what it says it installed.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::netns::Netns;

/// An address family of the kernel's routing tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`ip -4`).
    V4,
    /// IPv6 (`ip -6`).
    V6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// The `ip` option selecting the family.
    fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination as `ip` prints it (no length for host routes).
    pub dst: String,
    /// The nexthop group it points at, if any.
    pub nhid: Option<u64>,
    /// Gateways of its next hops (a nexthop group's members, or the single gateway).
    pub gateways: BTreeSet<String>,
}

/// Parses `ip -j route show` output. Empty output (some `ip` versions print nothing for an
/// empty table) is no routes.
pub fn parse_kernel_routes(json: &str) -> Result<Vec<KernelRoute>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: Value =
        serde_json::from_str(json).map_err(|e| Error::parse("ip -j route", e.to_string()))?;
    let routes = list
        .as_array()
        .ok_or_else(|| Error::parse("ip -j route", "not a list"))?;
    Ok(routes.iter().map(kernel_route).collect())
}

fn kernel_route(r: &Value) -> KernelRoute {
    let mut gateways: BTreeSet<String> = r["nexthops"]
        .as_array()
        .map(|hops| {
            hops.iter()
                .filter_map(|h| h["gateway"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(g) = r["gateway"].as_str() {
        gateways.insert(g.to_owned());
    }
    KernelRoute {
        dst: r["dst"].as_str().unwrap_or_default().to_owned(),
        nhid: r["nhid"].as_u64(),
        gateways,
    }
}

/// The `family` routes of route protocol `protocol` (a number or a name from
/// `/etc/iproute2/rt_protos`) in `ns`'s main table.
pub fn kernel_routes(ns: &Netns, family: Family, protocol: &str) -> Result<Vec<KernelRoute>> {
    let out = ns.ip(&[family.flag(), "-j", "route", "show", "proto", protocol])?;
    parse_kernel_routes(&out)
}

/// The same routes as `ip route` prints them, for humans.
pub fn kernel_routes_text(ns: &Netns, family: Family, protocol: &str) -> Result<String> {
    ns.ip(&[family.flag(), "route", "show", "proto", protocol])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_and_single_next_hop_routes() {
        let json = r#"[
          {"dst":"198.51.100.0","nhid":12,"protocol":"200","scope":"global","flags":[],
           "nexthops":[{"gateway":"198.18.0.2","dev":"eth0"},{"gateway":"198.18.0.3","dev":"eth0"}]},
          {"dst":"198.51.100.1","gateway":"198.18.0.4","dev":"eth0","protocol":"200","flags":[]},
          {"dst":"2001:db8:96::10","nhid":13,"protocol":"200","flags":[],
           "nexthops":[{"gateway":"2001:db8::2","dev":"eth0"}]}
        ]"#;
        let routes = parse_kernel_routes(json).unwrap();
        let set = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            routes,
            [
                KernelRoute {
                    dst: "198.51.100.0".into(),
                    nhid: Some(12),
                    gateways: set(&["198.18.0.2", "198.18.0.3"]),
                },
                KernelRoute {
                    dst: "198.51.100.1".into(),
                    nhid: None,
                    gateways: set(&["198.18.0.4"]),
                },
                KernelRoute {
                    dst: "2001:db8:96::10".into(),
                    nhid: Some(13),
                    gateways: set(&["2001:db8::2"]),
                },
            ]
        );
    }

    #[test]
    fn empty_tables_parse_and_garbage_does_not() {
        // output; number of routes, or None for an error.
        let cases: [(&str, Option<usize>); 6] = [
            ("", Some(0)),
            ("  \n", Some(0)),
            ("[]", Some(0)),
            ("{}", None),
            ("[{", None),
            ("[{\"dst\": 7}]", Some(1)),
        ];
        for (json, want) in cases {
            assert_eq!(
                parse_kernel_routes(json).ok().map(|r| r.len()),
                want,
                "{json:?}"
            );
        }
    }
}
