//! Router config rules for identity, BGP, import, FIB, upstream, BFD and
//! the daemon plumbing sections.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::common::{
    check_asn, check_bfd_profile, check_bgp_timers, check_network, check_password,
    check_unique_names, check_whole_seconds, find_overlaps,
};
use super::Report;
use crate::address::AddressBlock;
use crate::router_config::{AdminConfig, AnnounceMode, ListenAddress, RouterConfig};

/// Route protocols 0-4 are the kernel's own (unspec, redirect, kernel,
/// boot, static).
const MAX_RESERVED_ROUTE_PROTOCOL: u8 = 4;
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

pub(super) fn validate(config: &RouterConfig, r: &mut Report<'_>) {
    if config.router_id.is_unspecified() {
        r.error("routerId", "router ID 0.0.0.0 is not valid");
    }
    check_asn(r, "asn", config.asn);
    check_bgp(config, r);
    check_neighbor_addresses(config, r);
    check_import(config, r);
    if config.fib.route_protocol <= MAX_RESERVED_ROUTE_PROTOCOL {
        r.error(
            "fib.routeProtocol",
            format!(
                "route protocol {} is reserved for the kernel (0-4); use 5-255, e.g. 200",
                config.fib.route_protocol
            ),
        );
    }
    check_upstream(config, r);
    check_unique_names(
        r,
        "BFD profile",
        config
            .bfd
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("bfd.profiles[{i}].name"), p.name.as_str())),
    );
    for (i, profile) in config.bfd.profiles.iter().enumerate() {
        check_bfd_profile(r, &format!("bfd.profiles[{i}]."), &profile.to_spec());
    }
    check_admin(&config.admin, r);
    if config.metrics.listen.is_some_and(|l| l.port() == 0) {
        r.error("metrics.listen", "port 0 is not valid");
    }
    check_log_level(&config.logging.level, r);
}

/// Whether `name` is a BFD profile defined in the config.
pub(super) fn bfd_profile_exists(config: &RouterConfig, name: &str) -> bool {
    config.bfd.profiles.iter().any(|p| p.name == name)
}

fn check_bgp(config: &RouterConfig, r: &mut Report<'_>) {
    let bgp = &config.bgp;
    if bgp.port == 0 {
        r.error("bgp.port", "port 0 is not valid");
    }
    let mut listen_seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for (i, addr) in bgp.listen_addresses.iter().enumerate() {
        if let Some(first) = listen_seen.insert(*addr, i) {
            r.error(
                format!("bgp.listenAddresses[{i}]"),
                format!("{addr} is listed twice (also bgp.listenAddresses[{first}])"),
            );
        }
    }
    if bgp.listen_addresses.is_empty() {
        if let Some(group) = bgp.peer_groups.iter().find(|g| !g.listen_ranges.is_empty()) {
            r.error(
                "bgp.listenAddresses",
                format!(
                    "no listen addresses, but peer group {:?} waits for dynamic neighbours",
                    group.name
                ),
            );
        }
    }
    check_unique_names(
        r,
        "peer group",
        bgp.peer_groups
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("bgp.peerGroups[{i}].name"), g.name.as_str())),
    );

    let mut ranges: Vec<(String, AddressBlock)> = Vec::new();
    for (i, group) in bgp.peer_groups.iter().enumerate() {
        let p = format!("bgp.peerGroups[{i}]");
        if group.listen_ranges.is_empty() && group.neighbors.is_empty() {
            r.error(
                &p,
                "peer group has neither listenRanges nor neighbors, so it has no peers",
            );
        }
        for (j, net) in group.listen_ranges.iter().enumerate() {
            let field = format!("{p}.listenRanges[{j}]");
            check_network(r, &field, net);
            ranges.push((field, AddressBlock::from(*net)));
        }
        if !group.listen_ranges.is_empty() && group.allowed_asns.is_empty() {
            r.error(
                format!("{p}.allowedAsns"),
                "required with listenRanges: the AS numbers dynamic neighbours may use",
            );
        }
        for (j, asn) in group.allowed_asns.iter().enumerate() {
            check_asn(r, &format!("{p}.allowedAsns[{j}]"), *asn);
        }
        for (j, n) in group.neighbors.iter().enumerate() {
            check_asn(r, &format!("{p}.neighbors[{j}].asn"), n.asn);
        }
        check_bgp_timers(r, &format!("{p}."), group.hold_time, group.keepalive_time);
        check_password(
            r,
            &format!("{p}."),
            group.password.as_ref(),
            group.password_file.as_deref(),
        );
        if let Some(hops) = group.ttl_security.filter(|h| !(1..=254).contains(h)) {
            r.error(
                format!("{p}.ttlSecurity"),
                format!("{hops} hops is outside 1..=254"),
            );
        }
        if group.max_prefixes.as_ref().is_some_and(|m| m.limit == 0) {
            r.error(format!("{p}.maxPrefixes.limit"), "limit must be at least 1");
        }
        if let Some(gr) = &group.graceful_restart {
            check_whole_seconds(
                r,
                &format!("{p}.gracefulRestart.restartTime"),
                "restart time",
                gr.restart_time,
                1,
                4095,
            );
        }
        if let Some(profile) = group
            .bfd
            .as_deref()
            .filter(|b| !bfd_profile_exists(config, b))
        {
            r.error(
                format!("{p}.bfd"),
                format!("BFD profile {profile:?} is not defined in bfd.profiles"),
            );
        }
    }
    report_overlaps(r, &ranges, "listen range");
}

/// Reports each entry overlapping an earlier one, naming both fields.
fn report_overlaps(r: &mut Report<'_>, entries: &[(String, AddressBlock)], what: &str) {
    let blocks: Vec<AddressBlock> = entries.iter().map(|(_, b)| *b).collect();
    for (later, earlier) in find_overlaps(&blocks) {
        if let (Some((field, block)), Some((other_field, other))) =
            (entries.get(later), entries.get(earlier))
        {
            r.error(
                field,
                format!("{what} {block} overlaps {other} ({other_field})"),
            );
        }
    }
}

/// A neighbour address may appear once across peer groups and upstream.
fn check_neighbor_addresses(config: &RouterConfig, r: &mut Report<'_>) {
    let statics = config
        .bgp
        .peer_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            g.neighbors.iter().enumerate().map(move |(j, n)| {
                (
                    format!("bgp.peerGroups[{i}].neighbors[{j}].address"),
                    n.address,
                )
            })
        });
    let upstream = config
        .upstream
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("upstream[{i}].address"), u.address));
    let mut seen: BTreeMap<IpAddr, String> = BTreeMap::new();
    for (field, addr) in statics.chain(upstream) {
        if let Some(first) = seen.get(&addr) {
            r.error(
                &field,
                format!("neighbour {addr} is already configured at {first}"),
            );
        } else {
            seen.insert(addr, field);
        }
    }
}

fn check_import(config: &RouterConfig, r: &mut Report<'_>) {
    let import = &config.import;
    let mut pools = Vec::new();
    for (i, net) in import.service_pools.iter().enumerate() {
        let field = format!("import.servicePools[{i}]");
        check_network(r, &field, net);
        pools.push((field, AddressBlock::from(*net)));
    }
    report_overlaps(r, &pools, "service pool");

    for (i, filter) in import.allowed_prefixes.iter().enumerate() {
        let p = format!("import.allowedPrefixes[{i}]");
        check_network(r, &format!("{p}.prefix"), &filter.prefix);
        let (own, max) = (filter.prefix.prefix_len(), filter.prefix.max_prefix_len());
        for (leaf, value) in [("ge", filter.ge), ("le", filter.le)] {
            if let Some(v) = value.filter(|v| !(own..=max).contains(v)) {
                r.error(
                    format!("{p}.{leaf}"),
                    format!("{leaf} {v} must be between the prefix length {own} and {max}"),
                );
            }
        }
        if let (Some(ge), Some(le)) = (filter.ge, filter.le) {
            if ge > le {
                r.error(
                    format!("{p}.ge"),
                    format!("ge {ge} is greater than le {le}"),
                );
            }
        }
    }

    let kubernetes_enabled = import.kubernetes.as_ref().is_some_and(|k| k.enabled);
    if let Some(k) = &import.kubernetes {
        if k.kubeconfig
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            r.error("import.kubernetes.kubeconfig", "path is empty");
        }
        if k.namespace.as_deref() == Some("") {
            r.error("import.kubernetes.namespace", "namespace is empty");
        }
    }
    if import.service_pools.is_empty()
        && import.allowed_prefixes.is_empty()
        && !kubernetes_enabled
        && !config.bgp.peer_groups.is_empty()
    {
        r.error(
            "import",
            "accepts no prefixes from the peer groups: set servicePools, allowedPrefixes or \
             kubernetes",
        );
    }
}

fn check_upstream(config: &RouterConfig, r: &mut Report<'_>) {
    for (i, up) in config.upstream.iter().enumerate() {
        let p = format!("upstream[{i}]");
        check_asn(r, &format!("{p}.asn"), up.asn);
        if up.asn == config.asn {
            r.error(
                format!("{p}.asn"),
                format!(
                    "upstream neighbours are eBGP, but AS {} is this router's own AS",
                    up.asn
                ),
            );
        }
        check_bgp_timers(r, &format!("{p}."), up.hold_time, up.keepalive_time);
        check_password(
            r,
            &format!("{p}."),
            up.password.as_ref(),
            up.password_file.as_deref(),
        );
        match up.announce {
            AnnounceMode::Aggregates if up.aggregates.is_empty() => r.error(
                format!("{p}.aggregates"),
                "announce: aggregates needs at least one aggregate",
            ),
            AnnounceMode::Learned if !up.aggregates.is_empty() => r.error(
                format!("{p}.aggregates"),
                "aggregates are only used with announce: aggregates",
            ),
            _ => {}
        }
        for (j, net) in up.aggregates.iter().enumerate() {
            check_network(r, &format!("{p}.aggregates[{j}]"), net);
        }
    }
}

fn check_admin(admin: &AdminConfig, r: &mut Report<'_>) {
    match &admin.listen {
        ListenAddress::Tcp(addr) if addr.port() == 0 => {
            r.error("admin.listen", "port 0 is not valid")
        }
        ListenAddress::Tcp(addr) if !addr.ip().is_loopback() && admin.token_file.is_none() => r
            .error(
                "admin.listen",
                format!(
                    "the admin API on non-loopback address {addr} needs tokenFile, otherwise \
                     anyone who can reach it can control the router"
                ),
            ),
        ListenAddress::Unix(path) if !path.is_absolute() => r.error(
            "admin.listen",
            format!("Unix socket path {} must be absolute", path.display()),
        ),
        _ => {}
    }
    if admin
        .token_file
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        r.error("admin.tokenFile", "path is empty");
    }
}

/// Accepts a level or `target=level` directives separated by commas. A
/// bare word must be a level: as a target it would be a likely typo
/// (`inof`) that silently logs nothing.
fn check_log_level(level: &str, r: &mut Report<'_>) {
    let valid = |l: &str| LOG_LEVELS.contains(&l.to_ascii_lowercase().as_str());
    for directive in level.split(',').map(str::trim) {
        let ok = match directive.rsplit_once('=') {
            Some((target, l)) => !target.is_empty() && valid(l),
            None => valid(directive),
        };
        if !ok {
            r.error(
                "logging.level",
                format!(
                    "invalid directive {directive:?} (expected a level such as info, or \
                     target=level; levels: {})",
                    LOG_LEVELS.join(", ")
                ),
            );
        }
    }
}
