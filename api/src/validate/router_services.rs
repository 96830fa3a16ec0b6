//! Router config rules for the services the router offers itself: the TCP
//! load balancer and VRRP virtual addresses.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::common::{check_unique_names, interface_name_problem};
use super::router::bfd_profile_exists;
use super::Report;
use crate::address::AddressFamily;
use crate::router_config::load_balancer::MAX_ACCEPT_WORKERS;
use crate::router_config::{Frontend, HealthCheck, HealthCheckKind, RouterConfig, VrrpInstance};

/// RFC 5798: the advertisement interval is a 12-bit field.
const MAX_ADVERT_INTERVAL_CS: u16 = 4095;

pub(super) fn validate(config: &RouterConfig, r: &mut Report<'_>) {
    let frontends = &config.load_balancer.frontends;
    check_unique_names(
        r,
        "frontend",
        frontends
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("loadBalancer.frontends[{i}].name"), f.name.as_str())),
    );
    for (i, frontend) in frontends.iter().enumerate() {
        check_frontend(&format!("loadBalancer.frontends[{i}]"), frontend, r);
    }
    check_listen_conflicts(frontends, r);
    if let Some(n) = config.load_balancer.accept_workers {
        if n == 0 || n > MAX_ACCEPT_WORKERS {
            r.error(
                "loadBalancer.acceptWorkers",
                format!("must be between 1 and {MAX_ACCEPT_WORKERS}"),
            );
        }
    }

    let instances = &config.vrrp.instances;
    check_unique_names(
        r,
        "VRRP instance",
        instances
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("vrrp.instances[{i}].name"), v.name.as_str())),
    );
    for (i, instance) in instances.iter().enumerate() {
        check_vrrp_instance(config, &format!("vrrp.instances[{i}]"), instance, r);
    }
    check_vrrp_conflicts(instances, r);
}

fn check_frontend(p: &str, f: &Frontend, r: &mut Report<'_>) {
    if f.listen.is_empty() {
        r.error(
            format!("{p}.listen"),
            "at least one listen address is required",
        );
    }
    for (j, addr) in f.listen.iter().enumerate() {
        if addr.port() == 0 {
            r.error(format!("{p}.listen[{j}]"), "port 0 is not valid");
        }
    }
    if f.backends.is_empty() {
        r.error(format!("{p}.backends"), "at least one backend is required");
    }
    let mut seen: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    for (j, backend) in f.backends.iter().enumerate() {
        let bp = format!("{p}.backends[{j}]");
        if backend.address.port() == 0 {
            r.error(format!("{bp}.address"), "port 0 is not valid");
        }
        if let Some(first) = seen.insert(backend.address, j) {
            r.error(
                format!("{bp}.address"),
                format!(
                    "backend {} is listed twice (also backends[{first}])",
                    backend.address
                ),
            );
        }
        if backend.weight == 0 {
            r.error(format!("{bp}.weight"), "weight must be at least 1");
        }
    }
    for (leaf, value) in [
        ("maxConnections", f.max_connections),
        ("backendMaxConnections", f.backend_max_connections),
    ] {
        if value == Some(0) {
            r.error(format!("{p}.{leaf}"), "must be at least 1 when set");
        }
    }
    let t = &f.timeouts;
    for (leaf, value) in [
        ("connect", t.connect),
        ("idle", t.idle),
        ("client", t.client),
    ] {
        if value.is_zero() {
            r.error(
                format!("{p}.timeouts.{leaf}"),
                "timeout must be greater than 0",
            );
        }
    }
    check_health_check(&format!("{p}.healthCheck"), &f.health_check, r);
}

fn check_health_check(p: &str, hc: &HealthCheck, r: &mut Report<'_>) {
    for (leaf, value) in [("rise", hc.rise), ("fall", hc.fall)] {
        if value == 0 {
            r.error(format!("{p}.{leaf}"), format!("{leaf} must be at least 1"));
        }
    }
    if hc.interval.is_zero() {
        r.error(format!("{p}.interval"), "interval must be greater than 0");
    }
    if hc.timeout.is_zero() {
        r.error(format!("{p}.timeout"), "timeout must be greater than 0");
    } else if hc.timeout > hc.interval && !hc.interval.is_zero() {
        r.error(
            format!("{p}.timeout"),
            format!(
                "timeout {} is longer than the interval {}",
                hc.timeout, hc.interval
            ),
        );
    }
    match hc.kind {
        HealthCheckKind::Tcp => {
            let https_only = [
                ("path", hc.path.is_some()),
                ("caFile", hc.ca_file.is_some()),
                ("insecureSkipVerify", hc.insecure_skip_verify),
            ];
            for (leaf, set) in https_only {
                if set {
                    r.error(format!("{p}.{leaf}"), "only used by kind: https checks");
                }
            }
        }
        HealthCheckKind::Https => {
            if let Some(path) = hc.path.as_deref().filter(|p| !p.starts_with('/')) {
                r.error(
                    format!("{p}.path"),
                    format!("path {path:?} must start with /"),
                );
            } else if let Some(path) = hc
                .path
                .as_deref()
                .filter(|p| p.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                // It goes into the request line as it is.
                r.error(
                    format!("{p}.path"),
                    format!("path {path:?} must not contain spaces or control characters"),
                );
            }
            if hc.ca_file.is_some() && hc.insecure_skip_verify {
                r.error(
                    format!("{p}.insecureSkipVerify"),
                    "conflicts with caFile: either verify against caFile or skip verification",
                );
            }
        }
    }
}

/// Two listeners on one port conflict if their addresses are equal or one
/// is a wildcard.
fn check_listen_conflicts(frontends: &[Frontend], r: &mut Report<'_>) {
    let all: Vec<(String, &str, SocketAddr)> = frontends
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.listen.iter().enumerate().map(move |(j, a)| {
                (
                    format!("loadBalancer.frontends[{i}].listen[{j}]"),
                    f.name.as_str(),
                    *a,
                )
            })
        })
        .collect();
    for (k, (field, _, addr)) in all.iter().enumerate() {
        let clash = all.iter().take(k).find(|(_, _, other)| {
            other.port() == addr.port()
                && (other.ip() == addr.ip()
                    || other.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        if let Some((other_field, other_name, other)) = clash {
            r.error(
                field,
                format!("{addr} conflicts with {other} of frontend {other_name:?} ({other_field})"),
            );
        }
    }
}

fn check_vrrp_instance(config: &RouterConfig, p: &str, v: &VrrpInstance, r: &mut Report<'_>) {
    if let Some(problem) = interface_name_problem(&v.interface) {
        r.error(format!("{p}.interface"), problem);
    }
    if v.vrid == 0 {
        r.error(format!("{p}.vrid"), "vrid must be 1 to 255");
    }
    match (v.priority, v.address_owner) {
        (0, _) => r.error(
            format!("{p}.priority"),
            "priority 0 is reserved for a master giving up; use 1 to 254",
        ),
        (255, false) => r.error(
            format!("{p}.priority"),
            "priority 255 is reserved for the address owner; set addressOwner: true or use 1 to 254",
        ),
        (prio, true) if prio != 255 => r.error(
            format!("{p}.addressOwner"),
            format!("the address owner must have priority 255, not {prio}"),
        ),
        _ => {}
    }
    if !(1..=MAX_ADVERT_INTERVAL_CS).contains(&v.advert_interval) {
        r.error(
            format!("{p}.advertInterval"),
            format!(
                "{} centiseconds is outside 1..={MAX_ADVERT_INTERVAL_CS}",
                v.advert_interval
            ),
        );
    }
    let family = v.addresses.first().map(|a| AddressFamily::of(*a));
    if v.addresses.is_empty() {
        r.error(
            format!("{p}.addresses"),
            "at least one virtual address is required",
        );
    }
    check_same_family(
        r,
        &format!("{p}.addresses"),
        &v.addresses,
        family,
        "use one instance per family",
    );
    if v.use_virtual_mac && family == Some(AddressFamily::V6) {
        r.error(
            format!("{p}.useVirtualMac"),
            "a virtual MAC is supported for IPv4 instances only",
        );
    }
    check_same_family(
        r,
        &format!("{p}.unicastPeers"),
        &v.unicast_peers,
        family,
        "peers must match the virtual addresses",
    );
    for (j, frontend) in v.track.frontends.iter().enumerate() {
        if !config
            .load_balancer
            .frontends
            .iter()
            .any(|f| &f.name == frontend)
        {
            r.error(
                format!("{p}.track.frontends[{j}]"),
                format!("frontend {frontend:?} is not defined in loadBalancer.frontends"),
            );
        }
    }
    for (j, interface) in v.track.interfaces.iter().enumerate() {
        if let Some(problem) = interface_name_problem(interface) {
            r.error(format!("{p}.track.interfaces[{j}]"), problem);
        }
    }
    if let Some(profile) = &v.bfd {
        if !bfd_profile_exists(config, profile) {
            r.error(
                format!("{p}.bfd"),
                format!("BFD profile {profile:?} is not defined in bfd.profiles"),
            );
        } else if v.unicast_peers.is_empty() {
            r.error(
                format!("{p}.bfd"),
                "BFD needs unicastPeers to know which routers to monitor",
            );
        }
    }
}

/// Every address in `list` must be of `family` (the first virtual address's)
/// and appear once.
fn check_same_family(
    r: &mut Report<'_>,
    field: &str,
    list: &[IpAddr],
    family: Option<AddressFamily>,
    hint: &str,
) {
    let mut seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for (j, addr) in list.iter().enumerate() {
        if let Some(want) = family.filter(|f| *f != AddressFamily::of(*addr)) {
            r.error(
                format!("{field}[{j}]"),
                format!(
                    "{addr} is {} but the virtual addresses are {want}; {hint}",
                    AddressFamily::of(*addr)
                ),
            );
        }
        if let Some(first) = seen.insert(*addr, j) {
            r.error(
                format!("{field}[{j}]"),
                format!("{addr} is listed twice (also [{first}])"),
            );
        }
    }
}

/// A VRID is unique per interface and family, and a virtual address
/// belongs to one instance.
fn check_vrrp_conflicts(instances: &[VrrpInstance], r: &mut Report<'_>) {
    let mut vrids: BTreeMap<(&str, u8, Option<AddressFamily>), &str> = BTreeMap::new();
    let mut addresses: BTreeMap<IpAddr, &str> = BTreeMap::new();
    for (i, v) in instances.iter().enumerate() {
        let family = v.addresses.first().map(|a| AddressFamily::of(*a));
        if let Some(first) = vrids.insert((v.interface.as_str(), v.vrid, family), &v.name) {
            r.error(
                format!("vrrp.instances[{i}].vrid"),
                format!(
                    "vrid {} is already used on {} by instance {first:?}",
                    v.vrid, v.interface
                ),
            );
        }
        for (j, addr) in v.addresses.iter().enumerate() {
            match addresses.get(addr) {
                Some(first) if *first != v.name => r.error(
                    format!("vrrp.instances[{i}].addresses[{j}]"),
                    format!("{addr} is already a virtual address of instance {first:?}"),
                ),
                _ => {
                    addresses.insert(*addr, &v.name);
                }
            }
        }
    }
}
