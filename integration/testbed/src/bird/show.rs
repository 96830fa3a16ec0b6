//! Parsing `birdc` output.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::route::{Origin, RouteView, SessionState};

/// Reads the `BGP state:` line of `show protocols all <name>`.
pub fn parse_bgp_state(text: &str) -> Result<SessionState> {
    if let Some(state) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("BGP state:"))
    {
        return SessionState::parse(state.trim());
    }
    // A protocol that is down (e.g. just reconfigured) has no BGP state line.
    if text.lines().any(|l| l.contains(" BGP ")) {
        return Ok(SessionState::Idle);
    }
    Err(Error::parse("birdc show protocols", text.trim()))
}

/// A route being assembled while parsing `show route all`.
struct Pending {
    route: RouteView,
    kind: String,
    protocol: String,
}

/// Parses `show route all`, keeping BGP routes (with their peer looked up in `peers`, BGP
/// protocol name to neighbour address) and static ones (the announcements, without peer).
pub fn parse_routes(text: &str, peers: &HashMap<String, IpAddr>) -> Result<Vec<RouteView>> {
    let mut routes = Vec::new();
    let mut prefix: Option<IpNet> = None;
    let mut pending: Option<Pending> = None;
    for line in text.lines() {
        if let Some(attr) = line.strip_prefix('\t') {
            if let Some(p) = pending.as_mut() {
                parse_attribute(p, attr)?;
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("BIRD ") || trimmed.starts_with("Table ") {
            finish(pending.take(), peers, &mut routes)?;
            if trimmed.starts_with("Table ") {
                prefix = None;
            }
            continue;
        }
        finish(pending.take(), peers, &mut routes)?;
        let rest = if line.starts_with(' ') {
            trimmed
        } else {
            let (net, rest) = trimmed
                .split_once(char::is_whitespace)
                .ok_or_else(|| Error::parse("BIRD route line", line))?;
            prefix = Some(
                net.parse()
                    .map_err(|_| Error::parse("BIRD route prefix", line))?,
            );
            rest
        };
        let net = prefix.ok_or_else(|| Error::parse("BIRD route without prefix", line))?;
        pending = Some(parse_route_header(net, rest)?);
    }
    finish(pending, peers, &mut routes)?;
    Ok(routes)
}

/// Parses `unicast [proto 12:00:00.000 from 192.0.2.2] * (100) [AS65002i]`.
fn parse_route_header(prefix: IpNet, text: &str) -> Result<Pending> {
    let (_, bracket) = text
        .split_once('[')
        .ok_or_else(|| Error::parse("BIRD route header", text))?;
    let (inside, after) = bracket
        .split_once(']')
        .ok_or_else(|| Error::parse("BIRD route header", text))?;
    let protocol = inside.split_whitespace().next().unwrap_or_default();
    let mut route = RouteView::empty(prefix);
    route.best = after.trim_start().starts_with('*');
    Ok(Pending {
        route,
        kind: String::new(),
        protocol: protocol.to_owned(),
    })
}

fn parse_attribute(p: &mut Pending, attr: &str) -> Result<()> {
    let Some((key, value)) = attr.split_once(':') else {
        return Ok(()); // "via ... on eth0", "dev eth0", ...
    };
    let value = value.trim();
    let number = |what: &'static str| -> Result<u32> {
        value.parse().map_err(|_| Error::parse(what, value))
    };
    match key.trim() {
        "Type" => {
            p.kind = value
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        }
        "BGP.origin" => p.route.origin = Some(Origin::parse(value)?),
        "BGP.as_path" => {
            p.route.as_path = value
                .split(|c: char| c.is_whitespace() || "{}()".contains(c))
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().map_err(|_| Error::parse("BGP.as_path", value)))
                .collect::<Result<_>>()?;
        }
        "BGP.next_hop" => {
            p.route.next_hops = value
                .split_whitespace()
                .map(|t| t.parse().map_err(|_| Error::parse("BGP.next_hop", value)))
                .collect::<Result<_>>()?;
        }
        "BGP.med" => p.route.med = Some(number("BGP.med")?),
        "BGP.local_pref" => p.route.local_pref = Some(number("BGP.local_pref")?),
        "BGP.community" => {
            p.route.communities = tuples(value, "BGP.community")?
                .into_iter()
                .map(|t| match t.as_slice() {
                    [a, b] => Ok((
                        u16::try_from(*a).map_err(|_| Error::parse("BGP.community", value))?,
                        u16::try_from(*b).map_err(|_| Error::parse("BGP.community", value))?,
                    )),
                    _ => Err(Error::parse("BGP.community", value)),
                })
                .collect::<Result<_>>()?;
        }
        "BGP.large_community" => {
            p.route.large_communities = tuples(value, "BGP.large_community")?
                .into_iter()
                .map(|t| match t.as_slice() {
                    [a, b, c] => Ok((*a, *b, *c)),
                    _ => Err(Error::parse("BGP.large_community", value)),
                })
                .collect::<Result<_>>()?;
        }
        _ => {}
    }
    Ok(())
}

/// `(1,2) (3, 4)` -> `[[1, 2], [3, 4]]`.
fn tuples(text: &str, what: &'static str) -> Result<Vec<Vec<u32>>> {
    text.split('(')
        .skip(1)
        .map(|chunk| {
            let inner = chunk
                .split_once(')')
                .map(|(inner, _)| inner)
                .ok_or_else(|| Error::parse(what, text))?;
            inner
                .split(',')
                .map(|n| n.trim().parse().map_err(|_| Error::parse(what, text)))
                .collect()
        })
        .collect()
}

fn finish(
    pending: Option<Pending>,
    peers: &HashMap<String, IpAddr>,
    routes: &mut Vec<RouteView>,
) -> Result<()> {
    let Some(mut p) = pending else {
        return Ok(());
    };
    match p.kind.as_str() {
        "BGP" => {
            let peer = peers.get(&p.protocol).ok_or_else(|| {
                Error::parse("BIRD route", format!("unknown protocol {}", p.protocol))
            })?;
            p.route.peer = Some(*peer);
            routes.push(p.route);
        }
        "static" => routes.push(p.route),
        _ => {}
    }
    Ok(())
}
