//! Each router: its BGP sessions, its route to every Service address and
//! the kernel FIB.

use std::net::IpAddr;

use super::announce::announcing;
use crate::explain::facts::ExplainFacts;
use crate::explain::verdict::{Check, Verdict};
use crate::router_api::{PeerView, RouteView};
use crate::services::route_installed;

pub(super) fn routers(f: &ExplainFacts) -> Vec<Check> {
    if f.routers.is_empty() {
        return vec![Check::new(
            "routers",
            Verdict::Skip,
            "no routers given, so routes and FIBs were not checked",
            Some(
                "pass --router http://ROUTER:PORT or list routers in ~/.config/lbctl/config.yaml"
                    .to_owned(),
            ),
        )];
    }
    let mut checks = Vec::new();
    for r in &f.routers {
        let label = |what: &str| format!("router {} {what}", r.name);
        match &r.peers {
            Err(e) => checks.push(Check::warn(
                label("sessions"),
                e.clone(),
                "check the URL, the router's admin.listen and its token",
            )),
            Ok(peers) => checks.push(sessions_check(f, peers, label("sessions"))),
        }
        for ip in &f.service.ingress {
            checks.push(route_check(f, r, *ip, label("route")));
            checks.push(fib_check(r, *ip, label("fib")));
        }
    }
    checks
}

/// The announcing nodes with the addresses they peer from: `(node, addresses)`.
fn announcing_nodes(f: &ExplainFacts) -> Vec<(String, Vec<IpAddr>)> {
    announcing(f, "bgp")
        .into_iter()
        .map(|n| {
            let addresses = f
                .nodes
                .get(&n)
                .map(|node| node.addresses.clone())
                .unwrap_or_default();
            (n, addresses)
        })
        .collect()
}

/// The router's sessions with the announcing nodes, matched by the nodes'
/// addresses; without known addresses, any Established neighbour counts.
fn sessions_check(f: &ExplainFacts, peers: &[PeerView], label: String) -> Check {
    let hint = "check the router's peer groups (listenRanges, allowedAsns) and the BGPPeer objects; lbctl peers shows both sides";
    let nodes: Vec<(String, Vec<IpAddr>)> = announcing_nodes(f)
        .into_iter()
        .filter(|(_, a)| !a.is_empty())
        .collect();
    if nodes.is_empty() {
        let up = peers.iter().filter(|p| p.established).count();
        return if up == 0 {
            Check::fail(
                label,
                format!("none of its {} BGP neighbours is Established", peers.len()),
                hint,
            )
        } else {
            Check::ok(
                label,
                format!("{up} of {} neighbours Established", peers.len()),
            )
        };
    }
    let mut up = Vec::new();
    let mut down = Vec::new();
    for (node, addresses) in &nodes {
        match peers.iter().find(|p| addresses.contains(&p.address)) {
            Some(p) if p.established => up.push(format!("{node} ({})", p.address)),
            Some(p) => down.push(format!("{node} ({}) is {}", p.address, p.state)),
            None => down.push(format!(
                "{node} ({}) has no session",
                addresses
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    match (up.is_empty(), down.is_empty()) {
        (_, true) => Check::ok(label, format!("Established with {}", up.join(", "))),
        (true, false) => Check::fail(
            label,
            format!("no session with an announcing node: {}", down.join("; ")),
            hint,
        ),
        (false, false) => Check::warn(
            label,
            format!("Established with {}; {}", up.join(", "), down.join("; ")),
            hint,
        ),
    }
}

/// Announcing nodes none of whose addresses is among the route's next hops.
fn missing_next_hops(f: &ExplainFacts, route: &RouteView) -> Vec<String> {
    announcing_nodes(f)
        .into_iter()
        .filter(|(_, a)| !a.is_empty() && !a.iter().any(|ip| route.next_hops.contains(ip)))
        .map(|(n, _)| n)
        .collect()
}

fn route_check(
    f: &ExplainFacts,
    r: &crate::router_api::RouterReport,
    ip: IpAddr,
    label: String,
) -> Check {
    let routes = match &r.routes {
        Ok(routes) => routes,
        Err(e) => return Check::warn(label, e.clone(), "check the router's admin API"),
    };
    let Some(route) = routes
        .iter()
        .filter(|rt| rt.prefix.contains(&ip))
        .max_by_key(|rt| rt.prefix.prefix_len())
    else {
        return Check::fail(
            label,
            format!("no route to {ip}: the router did not learn it"),
            "check the sessions above and the BGPAdvertisement's peers and node selectors",
        );
    };
    let hops = |h: &[IpAddr]| {
        h.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !route.accepted {
        return Check::fail(
            label,
            format!(
                "{} learned via {} but refused: {}",
                route.prefix,
                hops(&route.next_hops),
                route.reject_reason.as_deref().unwrap_or("no reason given")
            ),
            "allow the prefix in the router's service prefixes / import policy",
        );
    }
    if !route_installed(std::slice::from_ref(route), ip) {
        let unusable: Vec<String> = route
            .unusable_next_hops
            .iter()
            .map(|u| format!("{} ({})", u.address, u.reason))
            .collect();
        return Check::fail(
            label,
            format!(
                "{} learned via {} but not installed; unusable next hops: {}",
                route.prefix,
                hops(&route.next_hops),
                if unusable.is_empty() {
                    "none".to_owned()
                } else {
                    unusable.join(", ")
                }
            ),
            "next hops must be directly connected to the router",
        );
    }
    let missing: Vec<IpAddr> = route
        .next_hops
        .iter()
        .filter(|h| !route.installed_next_hops.contains(h))
        .copied()
        .collect();
    let absent = missing_next_hops(f, route);
    if !absent.is_empty() {
        return Check::warn(
            label,
            format!(
                "{} installed via {}, but not via announcing node(s) {}",
                route.prefix,
                hops(&route.installed_next_hops),
                absent.join(", ")
            ),
            "those nodes' announcements do not reach this router: check their sessions",
        );
    }
    if missing.is_empty() {
        Check::ok(
            label,
            format!(
                "{} installed via {}",
                route.prefix,
                hops(&route.installed_next_hops)
            ),
        )
    } else {
        Check::warn(
            label,
            format!(
                "{} installed via {}; not via {}",
                route.prefix,
                hops(&route.installed_next_hops),
                hops(&missing)
            ),
            "those next hops are not directly connected or not resolved yet",
        )
    }
}

fn fib_check(r: &crate::router_api::RouterReport, ip: IpAddr, label: String) -> Check {
    match &r.fib {
        Err(e) => Check::warn(label, e.clone(), "check the router's admin API"),
        Ok(fib) => match fib
            .iter()
            .filter(|rt| rt.prefix.contains(&ip))
            .max_by_key(|rt| rt.prefix.prefix_len())
        {
            None => Check::fail(
                label,
                format!("the kernel has no FerroLB route to {ip}"),
                "check the router's logs for netlink errors",
            ),
            Some(rt) => {
                let paths: Vec<String> = rt
                    .next_hops
                    .iter()
                    .map(|p| match &p.dev {
                        Some(dev) => format!("{} dev {dev}", p.gateway),
                        None => p.gateway.to_string(),
                    })
                    .collect();
                Check::ok(
                    label,
                    format!("kernel: {} via {}", rt.prefix, paths.join(", ")),
                )
            }
        },
    }
}
