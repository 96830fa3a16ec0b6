//! Rendering gobgpd's TOML configuration and `gobgp global rib add` arguments.

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::{Advertise, Announcement, BgpConfig, Neighbor};
use crate::error::{Error, Result};
use crate::route::family_name as family;

/// Arguments of `gobgp global rib add` for `a`; IPv6 routes without an explicit next hop use
/// `default_v6_next_hop`.
pub fn rib_add_args(a: &Announcement, default_v6_next_hop: Option<IpAddr>) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "global".into(),
        "rib".into(),
        "-a".into(),
        family(a.prefix).into(),
        "add".into(),
        a.prefix.to_string(),
    ];
    let next_hop = match a.prefix {
        IpNet::V4(_) => a.next_hop,
        IpNet::V6(_) => a.next_hop.or(default_v6_next_hop),
    };
    if let Some(nh) = next_hop {
        args.extend(["nexthop".into(), nh.to_string()]);
    }
    if !a.communities.is_empty() {
        let list: Vec<String> = a
            .communities
            .iter()
            .map(|(x, y)| format!("{x}:{y}"))
            .collect();
        args.extend(["community".into(), list.join(",")]);
    }
    if !a.large_communities.is_empty() {
        let list: Vec<String> = a
            .large_communities
            .iter()
            .map(|(x, y, z)| format!("{x}:{y}:{z}"))
            .collect();
        args.extend(["large-community".into(), list.join(",")]);
    }
    if let Some(lp) = a.local_pref {
        args.extend(["local-pref".into(), lp.to_string()]);
    }
    if let Some(med) = a.med {
        args.extend(["med".into(), med.to_string()]);
    }
    args
}

/// The neighbour set and export policy of neighbours that are sent nothing
/// ([`Advertise::Nothing`]).
const ADVERTISE_NOTHING: &str = "flb-advertise-nothing";

/// A TOML basic string.
pub(crate) fn toml_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders gobgpd's TOML configuration.
pub fn render_config(config: &BgpConfig) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "[global.config]");
    let _ = writeln!(out, "  as = {}", config.local_as);
    let _ = writeln!(
        out,
        "  router-id = {}",
        toml_str(&config.router_id.to_string())
    );
    let _ = writeln!(out, "  port = 179");
    let _ = writeln!(out, "  local-address-list = [\"0.0.0.0\", \"::\"]");
    if config.multipath {
        let _ = writeln!(out, "[global.use-multiple-paths.config]");
        let _ = writeln!(out, "  enabled = true");
    }
    let silent: Vec<String> = config
        .neighbors
        .iter()
        .filter(|n| n.advertise == Advertise::Nothing)
        .map(|n| toml_str(&n.address.to_string()))
        .collect();
    if !silent.is_empty() {
        let _ = writeln!(out, "[global.apply-policy.config]");
        let _ = writeln!(out, "  export-policy-list = [\"{ADVERTISE_NOTHING}\"]");
        let _ = writeln!(out, "  default-export-policy = \"accept-route\"");
    }
    for n in &config.neighbors {
        if n.bfd {
            return Err(Error::Unsupported {
                daemon: "gobgp",
                feature: "BFD".into(),
            });
        }
        render_neighbor(&mut out, config.local_as, n);
    }
    if !silent.is_empty() {
        render_advertise_nothing(&mut out, &silent);
    }
    Ok(out)
}

/// The neighbour set and export policy rejecting every route towards the neighbours whose
/// (quoted) addresses are `silent`. In an export policy GoBGP matches a neighbour set against
/// the neighbour the route is sent to.
fn render_advertise_nothing(out: &mut String, silent: &[String]) {
    let _ = writeln!(out, "\n[[defined-sets.neighbor-sets]]");
    let _ = writeln!(out, "  neighbor-set-name = \"{ADVERTISE_NOTHING}\"");
    let _ = writeln!(out, "  neighbor-info-list = [{}]", silent.join(", "));
    let _ = writeln!(out, "\n[[policy-definitions]]");
    let _ = writeln!(out, "  name = \"{ADVERTISE_NOTHING}\"");
    let _ = writeln!(out, "  [[policy-definitions.statements]]");
    let _ = writeln!(out, "    name = \"{ADVERTISE_NOTHING}\"");
    let _ = writeln!(
        out,
        "    [policy-definitions.statements.conditions.match-neighbor-set]"
    );
    let _ = writeln!(out, "      neighbor-set = \"{ADVERTISE_NOTHING}\"");
    let _ = writeln!(out, "      match-set-options = \"any\"");
    let _ = writeln!(out, "    [policy-definitions.statements.actions]");
    let _ = writeln!(out, "      route-disposition = \"reject-route\"");
}

fn render_neighbor(out: &mut String, local_as: u32, n: &Neighbor) {
    let _ = writeln!(out, "\n[[neighbors]]");
    let _ = writeln!(out, "  [neighbors.config]");
    let _ = writeln!(
        out,
        "    neighbor-address = {}",
        toml_str(&n.address.to_string())
    );
    let _ = writeln!(out, "    peer-as = {}", n.peer_as);
    if let Some(asn) = n.local_as {
        let _ = writeln!(out, "    local-as = {asn}");
    }
    if let Some(pw) = &n.password {
        let _ = writeln!(out, "    auth-password = {}", toml_str(pw));
    }
    let _ = writeln!(out, "    description = {}", toml_str(&n.name()));
    let _ = writeln!(out, "  [neighbors.timers.config]");
    let _ = writeln!(out, "    hold-time = {}", n.hold_time);
    let _ = writeln!(out, "    keepalive-interval = {}", n.keepalive_time());
    let _ = writeln!(out, "    connect-retry = {}", n.connect_retry);
    let _ = writeln!(out, "    idle-hold-time-after-reset = 1");
    if n.source.is_some() || n.passive {
        let _ = writeln!(out, "  [neighbors.transport.config]");
        if let Some(src) = n.source {
            let _ = writeln!(out, "    local-address = {}", toml_str(&src.to_string()));
        }
        if n.passive {
            let _ = writeln!(out, "    passive-mode = true");
        }
    }
    // iBGP sessions are never limited to one hop, so only eBGP needs this.
    if let (Some(ttl), false) = (n.multihop, n.is_ibgp(local_as)) {
        let _ = writeln!(out, "  [neighbors.ebgp-multihop.config]");
        let _ = writeln!(out, "    enabled = true");
        let _ = writeln!(out, "    multihop-ttl = {ttl}");
    }
    if let Some(time) = n.graceful_restart {
        let _ = writeln!(out, "  [neighbors.graceful-restart.config]");
        let _ = writeln!(out, "    enabled = true");
        let _ = writeln!(out, "    restart-time = {time}");
    }
    for (family, enabled) in [("ipv4-unicast", n.ipv4), ("ipv6-unicast", n.ipv6)] {
        if !enabled {
            continue;
        }
        let _ = writeln!(out, "  [[neighbors.afi-safis]]");
        let _ = writeln!(out, "    [neighbors.afi-safis.config]");
        let _ = writeln!(out, "      afi-safi-name = \"{family}\"");
        if n.graceful_restart.is_some() {
            let _ = writeln!(out, "    [neighbors.afi-safis.mp-graceful-restart.config]");
            let _ = writeln!(out, "      enabled = true");
        }
    }
}
