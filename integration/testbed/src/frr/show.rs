//! Parsing `vtysh ... json` output.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::route::{parse_community, parse_large_community, Origin, RouteView, SessionState};

/// The state of `peer` in `show bgp summary json` (peers are listed per address family).
pub fn parse_summary_state(doc: &Value, peer: IpAddr) -> Result<SessionState> {
    let families = doc
        .as_object()
        .ok_or_else(|| Error::parse("bgp summary", doc.to_string()))?;
    for family in families.values() {
        let Some(peers) = family.get("peers").and_then(Value::as_object) else {
            continue;
        };
        for (addr, info) in peers {
            if addr.parse::<IpAddr>().ok() == Some(peer) {
                let state = info
                    .get("state")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::parse("bgp summary peer", info.to_string()))?;
                return SessionState::parse(state);
            }
        }
    }
    Err(Error::parse(
        "bgp summary",
        format!("no peer {peer} in {doc}"),
    ))
}

/// Parses `show bgp <afi> unicast json detail`.
pub fn parse_detail(doc: &Value) -> Result<Vec<RouteView>> {
    let Some(routes) = doc.get("routes").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (prefix, entries) in routes {
        let prefix: IpNet = prefix
            .parse()
            .map_err(|_| Error::parse("FRR route prefix", prefix.as_str()))?;
        let entries = entries
            .as_array()
            .ok_or_else(|| Error::parse("FRR route entry", entries.to_string()))?;
        // The first element of each array is a header ({prefix, version, advertisedTo}).
        for path in entries.iter().filter(|e| e.get("nexthops").is_some()) {
            out.push(parse_path(prefix, path)?);
        }
    }
    Ok(out)
}

/// Parses `show bgp <afi> unicast <prefix> json` (`{}` when there is no such route).
pub fn parse_prefix(doc: &Value) -> Result<Vec<RouteView>> {
    let Some(prefix) = doc.get("prefix").and_then(Value::as_str) else {
        return Ok(Vec::new());
    };
    let prefix: IpNet = prefix
        .parse()
        .map_err(|_| Error::parse("FRR route prefix", prefix))?;
    doc.get("paths")
        .and_then(Value::as_array)
        .map(|paths| paths.iter().map(|p| parse_path(prefix, p)).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

fn u32_field(v: &Value, names: &[&str]) -> Result<Option<u32>> {
    for name in names {
        if let Some(field) = v.get(*name) {
            let n = field
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Error::parse("FRR path attribute", format!("{name}: {field}")))?;
            return Ok(Some(n));
        }
    }
    Ok(None)
}

fn string_list<'a>(v: &'a Value, field: &str) -> impl Iterator<Item = &'a str> {
    v.get(field)
        .and_then(|c| c.get("list"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// One path object, as found in both the detail and the per-prefix output.
fn parse_path(prefix: IpNet, v: &Value) -> Result<RouteView> {
    let mut r = RouteView::empty(prefix);
    if let Some(segments) = v
        .get("aspath")
        .and_then(|a| a.get("segments"))
        .and_then(Value::as_array)
    {
        for segment in segments {
            for asn in segment
                .get("list")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let asn = asn
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| Error::parse("FRR AS path", asn.to_string()))?;
                r.as_path.push(asn);
            }
        }
    }
    if let Some(origin) = v.get("origin").and_then(Value::as_str) {
        r.origin = Some(Origin::parse(origin)?);
    }
    r.med = u32_field(v, &["metric", "med"])?;
    r.local_pref = u32_field(v, &["locPrf", "localpref"])?;
    r.communities = string_list(v, "community")
        .map(parse_community)
        .collect::<Result<_>>()?;
    r.large_communities = string_list(v, "largeCommunity")
        .map(parse_large_community)
        .collect::<Result<_>>()?;
    for nh in v
        .get("nexthops")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(ip) = nh.get("ip").and_then(Value::as_str) {
            let ip: IpAddr = ip.parse().map_err(|_| Error::parse("FRR next hop", ip))?;
            if !ip.is_unspecified() {
                r.next_hops.push(ip);
            }
        }
    }
    let local = [v.get("local"), v.get("sourced")]
        .into_iter()
        .flatten()
        .any(|f| f.as_bool() == Some(true));
    if !local {
        let peer = v
            .get("peer")
            .and_then(|p| p.get("peerId"))
            .or_else(|| v.get("peerId"))
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<IpAddr>().ok())
            .filter(|p| !p.is_unspecified());
        r.peer = peer;
    }
    r.best = match v.get("bestpath") {
        Some(Value::Bool(b)) => *b,
        Some(b) => b.get("overall").and_then(Value::as_bool).unwrap_or(false),
        None => false,
    };
    Ok(r)
}

/// Finds `peer` in `show bfd peers json`.
pub(crate) fn parse_bfd_status(doc: &Value, peer: IpAddr) -> Option<String> {
    doc.as_array()?
        .iter()
        .find(|p| {
            p.get("peer")
                .and_then(Value::as_str)
                .and_then(|a| a.parse::<IpAddr>().ok())
                == Some(peer)
        })
        .and_then(|p| p.get("status"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}
