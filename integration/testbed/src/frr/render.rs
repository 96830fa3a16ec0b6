//! Rendering FRR configuration: bgpd's file and the commands (re)announcing routes, which are
//! valid both in a config file and in `vtysh -c "configure terminal" -c ...`.

use std::fmt::Write as _;

use ipnet::IpNet;

use crate::config::{identifier, Advertise, Announcement, BgpConfig, Neighbor};
use crate::route::family_name as afi;

/// The outbound route-map of neighbours that are sent nothing ([`Advertise::Nothing`]).
const ADVERTISE_NOTHING: &str = "FLB-ADVERTISE-NOTHING";

/// The route-map carrying an announcement's attributes.
fn route_map_name(prefix: IpNet) -> String {
    format!("FLB-ANN-{}", identifier(&prefix.to_string()))
}

/// Configuration for zebra and bfdd: name and logging only.
pub(crate) fn render_basic(name: &str) -> String {
    format!("hostname {name}\nlog stdout informational\n")
}

/// Configuration-mode commands originating `a` (valid in a config file and in vtysh).
pub fn announcement_commands(local_as: u32, a: &Announcement) -> Vec<String> {
    let map = route_map_name(a.prefix);
    let mut c = vec![format!("route-map {map} permit 10")];
    if !a.communities.is_empty() {
        let list: Vec<String> = a
            .communities
            .iter()
            .map(|(x, y)| format!("{x}:{y}"))
            .collect();
        c.push(format!(" set community {}", list.join(" ")));
    }
    if !a.large_communities.is_empty() {
        let list: Vec<String> = a
            .large_communities
            .iter()
            .map(|(x, y, z)| format!("{x}:{y}:{z}"))
            .collect();
        c.push(format!(" set large-community {}", list.join(" ")));
    }
    if let Some(lp) = a.local_pref {
        c.push(format!(" set local-preference {lp}"));
    }
    if let Some(med) = a.med {
        c.push(format!(" set metric {med}"));
    }
    c.push("exit".into());
    c.push(format!("router bgp {local_as}"));
    c.push(format!(" address-family {} unicast", afi(a.prefix)));
    c.push(format!("  network {} route-map {map}", a.prefix));
    c.push(" exit-address-family".into());
    c.push("exit".into());
    c
}

/// Configuration-mode commands undoing [`announcement_commands`].
pub fn withdrawal_commands(local_as: u32, prefix: IpNet) -> Vec<String> {
    vec![
        format!("router bgp {local_as}"),
        format!(" address-family {} unicast", afi(prefix)),
        format!("  no network {prefix}"),
        " exit-address-family".into(),
        "exit".into(),
        format!("no route-map {}", route_map_name(prefix)),
    ]
}

/// Renders bgpd's configuration file.
pub fn render_bgpd(name: &str, config: &BgpConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "frr defaults traditional");
    let _ = writeln!(out, "hostname {name}");
    let _ = writeln!(out, "log stdout informational");
    for n in &config.neighbors {
        if let (Some(nh), true) = (n.ipv6_next_hop, n.ipv6) {
            let _ = writeln!(out, "route-map FLB-NH6-{} permit 10", n.name());
            let _ = writeln!(out, " set ipv6 next-hop global {nh}");
            let _ = writeln!(out, "exit");
        }
    }
    if config
        .neighbors
        .iter()
        .any(|n| n.advertise == Advertise::Nothing)
    {
        let _ = writeln!(out, "route-map {ADVERTISE_NOTHING} deny 10");
        let _ = writeln!(out, "exit");
    }
    let _ = writeln!(out, "router bgp {}", config.local_as);
    let _ = writeln!(out, " bgp router-id {}", config.router_id);
    let _ = writeln!(out, " no bgp ebgp-requires-policy");
    let _ = writeln!(out, " no bgp default ipv4-unicast");
    let _ = writeln!(out, " no bgp network import-check");
    if let Some(time) = config
        .neighbors
        .iter()
        .filter_map(|n| n.graceful_restart)
        .max()
    {
        let _ = writeln!(out, " bgp graceful-restart");
        let _ = writeln!(out, " bgp graceful-restart restart-time {time}");
    }
    if config.multipath {
        let _ = writeln!(out, " bgp bestpath as-path multipath-relax");
    }
    for n in &config.neighbors {
        render_neighbor(&mut out, config.local_as, n);
    }
    for (family, v4) in [("ipv4", true), ("ipv6", false)] {
        let _ = writeln!(out, " address-family {family} unicast");
        if config.multipath {
            let _ = writeln!(out, "  maximum-paths 16");
            let _ = writeln!(out, "  maximum-paths ibgp 16");
        }
        for n in &config.neighbors {
            let enabled = if v4 { n.ipv4 } else { n.ipv6 };
            if !enabled {
                continue;
            }
            let _ = writeln!(out, "  neighbor {} activate", n.address);
            if n.advertise == Advertise::Nothing {
                let _ = writeln!(
                    out,
                    "  neighbor {} route-map {ADVERTISE_NOTHING} out",
                    n.address
                );
            }
            if !v4 && n.ipv6_next_hop.is_some() {
                let _ = writeln!(
                    out,
                    "  neighbor {} route-map FLB-NH6-{} out",
                    n.address,
                    n.name()
                );
            }
        }
        let _ = writeln!(out, " exit-address-family");
    }
    let _ = writeln!(out, "exit");
    for a in &config.announcements {
        for line in announcement_commands(config.local_as, a) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

fn render_neighbor(out: &mut String, local_as: u32, n: &Neighbor) {
    let addr = n.address;
    let _ = writeln!(out, " neighbor {addr} remote-as {}", n.peer_as);
    let _ = writeln!(out, " neighbor {addr} description {}", n.name());
    if let Some(asn) = n.local_as {
        let _ = writeln!(out, " neighbor {addr} local-as {asn} no-prepend replace-as");
    }
    if let Some(src) = n.source {
        let _ = writeln!(out, " neighbor {addr} update-source {src}");
    }
    if let Some(pw) = &n.password {
        let _ = writeln!(out, " neighbor {addr} password {pw}");
    }
    let _ = writeln!(
        out,
        " neighbor {addr} timers {} {}",
        if n.hold_time == 0 {
            0
        } else {
            n.keepalive_time()
        },
        n.hold_time
    );
    let _ = writeln!(out, " neighbor {addr} timers connect {}", n.connect_retry);
    if let Some(ttl) = n.multihop {
        if !n.is_ibgp(local_as) {
            let _ = writeln!(out, " neighbor {addr} ebgp-multihop {ttl}");
        }
    }
    if n.passive {
        let _ = writeln!(out, " neighbor {addr} passive");
    }
    if n.bfd {
        let _ = writeln!(out, " neighbor {addr} bfd");
    }
}
