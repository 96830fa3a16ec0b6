//! Parsing `gobgp -j` output.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::route::{split_community, Origin, RouteView, SessionState};

/// The state of `peer` in `gobgp -j neighbor`.
pub fn parse_neighbor_state(doc: &Value, peer: IpAddr) -> Result<SessionState> {
    let neighbors = match doc {
        Value::Null => &Vec::new(),
        Value::Array(list) => list,
        other => return Err(Error::parse("gobgp neighbor", other.to_string())),
    };
    let entry = neighbors
        .iter()
        .find(|n| {
            n.get("conf")
                .and_then(|c| c.get("neighbor_address"))
                .and_then(Value::as_str)
                .and_then(|a| a.parse::<IpAddr>().ok())
                == Some(peer)
        })
        .ok_or_else(|| Error::parse("gobgp neighbor", format!("no neighbour {peer}")))?;
    // Protobuf JSON omits zero values: no state means UNKNOWN, i.e. not started.
    match entry.get("state").and_then(|s| s.get("session_state")) {
        None => Ok(SessionState::Idle),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0 | 1) => Ok(SessionState::Idle),
            Some(2) => Ok(SessionState::Connect),
            Some(3) => Ok(SessionState::Active),
            Some(4) => Ok(SessionState::OpenSent),
            Some(5) => Ok(SessionState::OpenConfirm),
            Some(6) => Ok(SessionState::Established),
            _ => Err(Error::parse("gobgp session state", n.to_string())),
        },
        Some(Value::String(s)) if s.eq_ignore_ascii_case("unknown") => Ok(SessionState::Idle),
        Some(Value::String(s)) => SessionState::parse(s),
        Some(other) => Err(Error::parse("gobgp session state", other.to_string())),
    }
}

/// Parses `gobgp -j global rib [-a ipv6]`: prefix -> list of paths.
pub fn parse_rib(doc: &Value) -> Result<Vec<RouteView>> {
    let table = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Object(table) => table,
        other => return Err(Error::parse("gobgp rib", other.to_string())),
    };
    let mut routes = Vec::new();
    for (prefix, paths) in table {
        let prefix: IpNet = prefix
            .parse()
            .map_err(|_| Error::parse("gobgp prefix", prefix.as_str()))?;
        let paths = paths
            .as_array()
            .ok_or_else(|| Error::parse("gobgp paths", paths.to_string()))?;
        for path in paths {
            routes.push(parse_path(prefix, path)?);
        }
    }
    Ok(routes)
}

fn number<T: TryFrom<u64>>(v: &Value, what: &'static str) -> Result<T> {
    v.as_u64()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Error::parse(what, v.to_string()))
}

fn parse_path(prefix: IpNet, path: &Value) -> Result<RouteView> {
    let mut r = RouteView::empty(prefix);
    r.best = path.get("best").and_then(Value::as_bool).unwrap_or(false);
    r.peer = path
        .get("neighbor-ip")
        .and_then(Value::as_str)
        .map(|a| a.parse().map_err(|_| Error::parse("gobgp neighbor-ip", a)))
        .transpose()?;
    let attrs = path
        .get("attrs")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::parse("gobgp path", path.to_string()))?;
    for attr in attrs {
        let code: u8 = number(attr.get("type").unwrap_or(&Value::Null), "attribute type")?;
        let field = |name: &str| attr.get(name).unwrap_or(&Value::Null);
        match code {
            1 => {
                let origin = number::<u8>(field("value"), "ORIGIN")?;
                r.origin = Some(Origin::parse(&origin.to_string())?);
            }
            2 => {
                for segment in field("as_paths").as_array().into_iter().flatten() {
                    let asns = segment.get("asns").and_then(Value::as_array);
                    for asn in asns.into_iter().flatten() {
                        r.as_path.push(number(asn, "AS_PATH")?);
                    }
                }
            }
            3 | 14 => {
                for key in ["nexthop", "linklocal_nexthop"] {
                    if let Some(text) = attr.get(key).and_then(Value::as_str) {
                        let nh: IpAddr = text
                            .parse()
                            .map_err(|_| Error::parse("gobgp next hop", text))?;
                        if !nh.is_unspecified() {
                            r.next_hops.push(nh);
                        }
                    }
                }
            }
            4 => r.med = Some(number(field("metric"), "MED")?),
            5 => r.local_pref = Some(number(field("value"), "LOCAL_PREF")?),
            8 => {
                for c in field("communities").as_array().into_iter().flatten() {
                    r.communities
                        .push(split_community(number(c, "COMMUNITIES")?));
                }
            }
            32 => {
                for c in field("value").as_array().into_iter().flatten() {
                    let part =
                        |k: &str| number(c.get(k).unwrap_or(&Value::Null), "LARGE_COMMUNITY");
                    r.large_communities.push((
                        part("ASN")?,
                        part("LocalData1")?,
                        part("LocalData2")?,
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(r)
}
