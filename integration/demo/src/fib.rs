//! The routes FerroLB's router put into a namespace's kernel FIB, read back
//! with `ip -j route` the way an operator would.

use std::collections::BTreeSet;

use ferrolb_testbed::Netns;
use serde_json::Value;

use crate::error::{Error, Result};

/// The route protocol number the router installs its routes with.
pub const PROTOCOL: &str = "200";

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination as `ip` prints it (no length for host routes).
    pub dst: String,
    /// The nexthop group it points at, if any.
    pub nhid: Option<u64>,
    /// Gateways of its next hops.
    pub gateways: BTreeSet<String>,
}

/// Parses `ip -j route show` output.
pub fn parse_routes(json: &str) -> Result<Vec<KernelRoute>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: Value = serde_json::from_str(json).map_err(|e| format!("ip -j route: {e}"))?;
    let routes = list
        .as_array()
        .ok_or_else(|| "ip -j route: not a list".to_owned())?;
    Ok(routes
        .iter()
        .map(|r| {
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
        })
        .collect())
}

/// FerroLB's IPv4 routes in `ns`.
pub fn routes(ns: &Netns) -> Result<Vec<KernelRoute>> {
    let out = ns.ip(&["-4", "-j", "route", "show", "proto", PROTOCOL])?;
    parse_routes(&out).map_err(Error::Format)
}

/// FerroLB's IPv4 routes in `ns` as `ip route` prints them.
pub fn routes_text(ns: &Netns) -> Result<String> {
    Ok(ns.ip(&["-4", "route", "show", "proto", PROTOCOL])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_and_single_next_hop_routes() {
        let json = r#"[
          {"dst":"198.51.100.0","nhid":12,"protocol":"200","scope":"global","flags":[],
           "nexthops":[{"gateway":"198.18.0.2","dev":"eth0"},{"gateway":"198.18.0.3","dev":"eth0"}]},
          {"dst":"198.51.100.1","gateway":"198.18.0.4","dev":"eth0","protocol":"200","flags":[]}
        ]"#;
        let routes = parse_routes(json).unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].dst, "198.51.100.0");
        assert_eq!(routes[0].nhid, Some(12));
        assert_eq!(
            routes[0].gateways,
            ["198.18.0.2", "198.18.0.3"].map(String::from).into()
        );
        assert_eq!(routes[1].nhid, None);
        assert_eq!(routes[1].gateways, ["198.18.0.4"].map(String::from).into());
        assert_eq!(parse_routes("").unwrap(), vec![]);
        assert_eq!(parse_routes("[]").unwrap(), vec![]);
        assert!(parse_routes("{}").is_err());
        assert!(parse_routes("[{").is_err());
    }
}
