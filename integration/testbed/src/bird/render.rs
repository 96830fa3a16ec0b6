//! Rendering a [`BgpConfig`] as a BIRD 2 configuration file.

use std::fmt::Write as _;

use ipnet::IpNet;

use crate::config::{Advertise, Announcement, BgpConfig, Neighbor};
use crate::error::{Error, Result};

/// Renders a BIRD 2 configuration.
pub fn render_config(config: &BgpConfig) -> Result<String> {
    let mut out = String::new();
    let fib_export = if config.fib_install {
        "where source = RTS_BGP"
    } else {
        "none"
    };
    let merge = if config.multipath { "on" } else { "off" };
    // Writing to a String cannot fail; the results are ignored below.
    let _ = writeln!(out, "# FerroLB testbed: generated BIRD configuration");
    let _ = writeln!(out, "log stderr all;");
    let _ = writeln!(out, "router id {};", config.router_id);
    let _ = writeln!(out, "protocol device {{ scan time 2; }}");
    let _ = writeln!(out, "protocol direct {{ ipv4; ipv6; }}");
    for family in ["ipv4", "ipv6"] {
        let _ = writeln!(
            out,
            "protocol kernel kernel_{family} {{ {family} {{ import none; export {fib_export}; }}; merge paths {merge}; }}"
        );
    }
    if config.neighbors.iter().any(|n| n.bfd) {
        let _ = writeln!(
            out,
            "protocol bfd {{ interface \"*\" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; multihop {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}"
        );
    }
    for (family, v4) in [("ipv4", true), ("ipv6", false)] {
        let announcements: Vec<&Announcement> = config
            .announcements
            .iter()
            .filter(|a| matches!(a.prefix, IpNet::V4(_)) == v4)
            .collect();
        // Preference 250 beats `direct` (240): a service address that is also on `lo` must
        // still be exported as the static (announced) route.
        let _ = writeln!(out, "protocol static announce_{family} {{");
        let _ = writeln!(out, "  {family} {{ preference 250; }};");
        for a in &announcements {
            let _ = writeln!(out, "  route {} blackhole;", a.prefix);
        }
        let _ = writeln!(out, "}}");
        render_export_filter(&mut out, family, &announcements, false);
        if config
            .neighbors
            .iter()
            .any(|n| n.advertise == Advertise::Everything)
        {
            render_export_filter(&mut out, family, &announcements, true);
        }
    }
    let has_v6_routes = config
        .announcements
        .iter()
        .any(|a| matches!(a.prefix, IpNet::V6(_)));
    for n in &config.neighbors {
        if n.ipv6_over_ipv4() && n.ipv6_next_hop.is_none() && has_v6_routes {
            return Err(Error::Config(format!(
                "BIRD cannot announce IPv6 routes on IPv4 session {} without Neighbor::ipv6_next_hop",
                n.address
            )));
        }
        render_neighbor(&mut out, config, n);
    }
    Ok(out)
}

/// The export filter of one family: `export_<family>` passes only the announcements,
/// `export_all_<family>` (with `learned`) BGP routes learned from other neighbours too.
fn render_export_filter(
    out: &mut String,
    family: &str,
    announcements: &[&Announcement],
    learned: bool,
) {
    let name = if learned { "export_all" } else { "export" };
    let _ = writeln!(out, "filter {name}_{family} {{");
    if learned {
        let _ = writeln!(out, "  if source = RTS_BGP then accept;");
    }
    // Attributes are set on export: BIRD does not pass on a MED that was already on the
    // route (e.g. set in the static protocol) to eBGP peers.
    let _ = writeln!(out, "  if source != RTS_STATIC then reject;");
    for a in announcements {
        let attrs = export_attrs(a);
        if !attrs.is_empty() {
            let _ = writeln!(out, "  if net = {} then {{{attrs} }}", a.prefix);
        }
    }
    let _ = writeln!(out, "  accept;");
    let _ = writeln!(out, "}}");
}

/// The channel's `export` clause for a neighbour.
fn export_clause(n: &Neighbor, family: &str) -> String {
    match n.advertise {
        Advertise::Usual => format!("export filter export_{family};"),
        Advertise::Everything => format!("export filter export_all_{family};"),
        Advertise::Nothing => "export none;".to_owned(),
    }
}

/// Filter statements setting an announcement's attributes.
fn export_attrs(a: &Announcement) -> String {
    let mut body = String::new();
    for (asn, value) in &a.communities {
        let _ = write!(body, " bgp_community.add(({asn},{value}));");
    }
    for (g, d1, d2) in &a.large_communities {
        let _ = write!(body, " bgp_large_community.add(({g},{d1},{d2}));");
    }
    if let Some(lp) = a.local_pref {
        let _ = write!(body, " bgp_local_pref = {lp};");
    }
    if let Some(med) = a.med {
        let _ = write!(body, " bgp_med = {med};");
    }
    body
}

fn render_neighbor(out: &mut String, config: &BgpConfig, n: &Neighbor) {
    let local_as = n.local_as.unwrap_or(config.local_as);
    let _ = writeln!(out, "protocol bgp {} {{", n.name());
    match n.source {
        Some(src) => {
            let _ = writeln!(out, "  local {src} as {local_as};");
        }
        None => {
            let _ = writeln!(out, "  local as {local_as};");
        }
    }
    let _ = writeln!(out, "  neighbor {} as {};", n.address, n.peer_as);
    let _ = writeln!(out, "  hold time {};", n.hold_time);
    if n.hold_time != 0 {
        let _ = writeln!(out, "  keepalive time {};", n.keepalive_time());
    }
    let _ = writeln!(out, "  connect retry time {};", n.connect_retry);
    let _ = writeln!(out, "  connect delay time 1;");
    let _ = writeln!(out, "  error wait time 1, 10;");
    if let Some(pw) = &n.password {
        let _ = writeln!(out, "  password \"{pw}\";");
    }
    match n.multihop {
        Some(ttl) => {
            let _ = writeln!(out, "  multihop {ttl};");
        }
        None if n.is_ibgp(config.local_as) => {
            let _ = writeln!(out, "  direct;");
        }
        None => {}
    }
    if n.passive {
        let _ = writeln!(out, "  passive on;");
    }
    if let Some(time) = n.graceful_restart {
        let _ = writeln!(out, "  graceful restart on;");
        let _ = writeln!(out, "  graceful restart time {time};");
    }
    if n.bfd {
        let _ = writeln!(out, "  bfd on;");
    }
    if n.ipv4 {
        let export = export_clause(n, "ipv4");
        let _ = writeln!(out, "  ipv4 {{ import all; {export} }};");
    }
    if n.ipv6 {
        let next_hop = n
            .ipv6_next_hop
            .map(|nh| format!(" next hop address {nh};"))
            .unwrap_or_default();
        let export = export_clause(n, "ipv6");
        let _ = writeln!(out, "  ipv6 {{ import all; {export}{next_hop} }};");
    }
    let _ = writeln!(out, "}}");
}
