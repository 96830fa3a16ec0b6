//! Table tests for the router config rules: for every rule at least one
//! passing and one failing case, asserting field and reason.

use super::{validate_router_config, ObjectKind, ValidationError};
use crate::router_config::RouterConfig;

const BASE: &str = "routerId: 10.0.0.1\nasn: 64512\n";

/// The base config plus top-level sections.
fn cfg(sections: &str) -> String {
    format!("{BASE}{sections}")
}

/// A config with one dynamic peer group (with `extra` fields) and an import
/// section, so only the peer-group rules under test can fire.
fn group(extra: &str) -> String {
    cfg(&format!(
        "bgp: {{peerGroups: [{{name: nodes, listenRanges: [10.0.1.0/24], allowedAsns: [64513]{extra}}}]}}\n\
         import: {{servicePools: [203.0.113.32/27]}}\n"
    ))
}

/// A config with one frontend (with `extra` fields).
fn frontend(extra: &str) -> String {
    cfg(&format!(
        "loadBalancer: {{frontends: [{{name: api, listen: [\"192.0.2.10:6443\"], backends: [{{address: \"192.0.2.11:6443\"}}]{extra}}}]}}\n"
    ))
}

/// A config with one VRRP instance (with `extra` fields).
fn vrrp(extra: &str) -> String {
    cfg(&format!(
        "vrrp: {{instances: [{{name: vip, interface: eth0, vrid: 51, addresses: [192.0.2.10]{extra}}}]}}\n"
    ))
}

struct Case {
    name: &'static str,
    yaml: String,
    want: Vec<(&'static str, &'static str)>,
}

fn case(name: &'static str, yaml: String, want: &[(&'static str, &'static str)]) -> Case {
    Case {
        name,
        yaml,
        want: want.to_vec(),
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let config: RouterConfig = serde_yaml::from_str(&c.yaml)
            .unwrap_or_else(|e| panic!("case {:?}: does not parse: {e}\n{}", c.name, c.yaml));
        let got = validate_router_config(&config);
        let want: Vec<ValidationError> = c
            .want
            .iter()
            .map(|(field, reason)| ValidationError {
                kind: ObjectKind::RouterConfig,
                name: String::new(),
                field: field.to_string(),
                reason: reason.to_string(),
            })
            .collect();
        if got != want {
            failures.push(format!(
                "case {:?}:\n  got:  {:#?}\n  want: {:#?}",
                c.name,
                got.iter().map(ToString::to_string).collect::<Vec<_>>(),
                want.iter().map(ToString::to_string).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn identity() {
    run(vec![
        case("minimal", cfg(""), &[]),
        case(
            "router ID zero",
            "routerId: 0.0.0.0\nasn: 64512\n".into(),
            &[("routerId", "router ID 0.0.0.0 is not valid")],
        ),
        case(
            "AS 0",
            "routerId: 10.0.0.1\nasn: 0\n".into(),
            &[("asn", "AS number 0 is reserved (RFC 7607)")],
        ),
    ]);
}

#[test]
fn bgp_listener() {
    run(vec![
        case(
            "custom port and addresses",
            group("").replace("bgp: {", "bgp: {port: 1179, listenAddresses: [10.0.0.1], "),
            &[],
        ),
        case(
            "port 0",
            group("").replace("bgp: {", "bgp: {port: 0, "),
            &[("bgp.port", "port 0 is not valid")],
        ),
        case(
            "duplicate listen address",
            group("").replace("bgp: {", "bgp: {listenAddresses: [10.0.0.1, 10.0.0.1], "),
            &[(
                "bgp.listenAddresses[1]",
                "10.0.0.1 is listed twice (also bgp.listenAddresses[0])",
            )],
        ),
        case(
            "dynamic neighbours without listener",
            group("").replace("bgp: {", "bgp: {listenAddresses: [], "),
            &[(
                "bgp.listenAddresses",
                "no listen addresses, but peer group \"nodes\" waits for dynamic neighbours",
            )],
        ),
    ]);
}

#[test]
fn peer_groups() {
    run(vec![
        case("dynamic group", group(""), &[]),
        case(
            "static-only group",
            cfg("bgp: {peerGroups: [{name: tor, neighbors: [{address: 10.0.0.254, asn: 65001}]}]}\nimport: {servicePools: [203.0.113.32/27]}\n"),
            &[],
        ),
        case(
            "group without peers",
            cfg("bgp: {peerGroups: [{name: empty}]}\nimport: {servicePools: [203.0.113.32/27]}\n"),
            &[("bgp.peerGroups[0]", "peer group has neither listenRanges nor neighbors, so it has no peers")],
        ),
        case(
            "listen range host bits",
            group("").replace("10.0.1.0/24", "10.0.1.1/24"),
            &[("bgp.peerGroups[0].listenRanges[0]", "10.0.1.1/24 has host bits set (the network is 10.0.1.0/24)")],
        ),
        case(
            "overlapping listen ranges across groups",
            cfg("bgp: {peerGroups: [{name: a, listenRanges: [10.0.0.0/16], allowedAsns: [64513]}, {name: b, listenRanges: [10.0.5.0/24], allowedAsns: [64514]}]}\nimport: {servicePools: [203.0.113.32/27]}\n"),
            &[("bgp.peerGroups[1].listenRanges[0]", "listen range 10.0.5.0/24 overlaps 10.0.0.0/16 (bgp.peerGroups[0].listenRanges[0])")],
        ),
        case(
            "dynamic group without allowed ASNs",
            group("").replace(", allowedAsns: [64513]", ""),
            &[("bgp.peerGroups[0].allowedAsns", "required with listenRanges: the AS numbers dynamic neighbours may use")],
        ),
        case(
            "allowed ASN 0",
            group("").replace("allowedAsns: [64513]", "allowedAsns: [64513, 0]"),
            &[("bgp.peerGroups[0].allowedAsns[1]", "AS number 0 is reserved (RFC 7607)")],
        ),
        case(
            "static neighbour ASN 0",
            group(", neighbors: [{address: 10.0.0.254, asn: 0}]"),
            &[("bgp.peerGroups[0].neighbors[0].asn", "AS number 0 is reserved (RFC 7607)")],
        ),
        case(
            "duplicate group names",
            cfg("bgp: {peerGroups: [{name: a, neighbors: [{address: 10.0.0.1, asn: 1}]}, {name: a, neighbors: [{address: 10.0.0.2, asn: 1}]}]}\nimport: {servicePools: [203.0.113.32/27]}\n"),
            &[("bgp.peerGroups[1].name", "duplicate peer group name \"a\" (also at bgp.peerGroups[0].name)")],
        ),
        case(
            "empty group name",
            group("").replace("name: nodes", "name: \"\""),
            &[("bgp.peerGroups[0].name", "peer group name is required")],
        ),
    ]);
}

#[test]
fn peer_group_session_settings() {
    run(vec![
        case(
            "everything set",
            cfg(&format!(
                "{}bfd: {{profiles: [{{name: fast}}]}}\n",
                group(", holdTime: 9s, keepaliveTime: 3s, passwordFile: /etc/ferrolb/md5, ttlSecurity: 1, maxPrefixes: {limit: 100, action: warn}, gracefulRestart: {restartTime: 4095s}, bfd: fast")
                    .trim_start_matches(BASE)
            )),
            &[],
        ),
        case(
            "hold time below 3s",
            group(", holdTime: 1s"),
            &[("bgp.peerGroups[0].holdTime", "hold time 1s must be 0 or at least 3s (RFC 4271)")],
        ),
        case(
            "keepalive not below hold",
            group(", holdTime: 9s, keepaliveTime: 10s"),
            &[("bgp.peerGroups[0].keepaliveTime", "keepalive time 10s must be less than the hold time 9s")],
        ),
        case(
            "password and passwordFile",
            group(", password: secret, passwordFile: /etc/ferrolb/md5"),
            &[("bgp.peerGroups[0].password", "set either password or passwordFile, not both")],
        ),
        case(
            "password too long",
            group(&format!(", password: {}", "x".repeat(81))),
            &[("bgp.peerGroups[0].password", "password is longer than 80 bytes (the TCP MD5 key limit)")],
        ),
        case(
            "empty password",
            group(", password: \"\""),
            &[("bgp.peerGroups[0].password", "password is empty")],
        ),
        case(
            "ttl security 0",
            group(", ttlSecurity: 0"),
            &[("bgp.peerGroups[0].ttlSecurity", "0 hops is outside 1..=254")],
        ),
        case(
            "ttl security 255",
            group(", ttlSecurity: 255"),
            &[("bgp.peerGroups[0].ttlSecurity", "255 hops is outside 1..=254")],
        ),
        case(
            "max prefixes 0",
            group(", maxPrefixes: {limit: 0}"),
            &[("bgp.peerGroups[0].maxPrefixes.limit", "limit must be at least 1")],
        ),
        case(
            "restart time too long",
            group(", gracefulRestart: {restartTime: 4096s}"),
            &[("bgp.peerGroups[0].gracefulRestart.restartTime", "restart time 1h8m16s must be between 1s and 4095s")],
        ),
        case(
            "restart time fractional",
            group(", gracefulRestart: {restartTime: 1.5s}"),
            &[("bgp.peerGroups[0].gracefulRestart.restartTime", "restart time 1.5s is not a whole number of seconds")],
        ),
        case(
            "undefined BFD profile",
            group(", bfd: fast"),
            &[("bgp.peerGroups[0].bfd", "BFD profile \"fast\" is not defined in bfd.profiles")],
        ),
    ]);
}

#[test]
fn import() {
    run(vec![
        case(
            "pools, prefix lists and kubernetes",
            group("").replace(
                "import: {servicePools: [203.0.113.32/27]}",
                "import: {servicePools: [203.0.113.32/27, \"2001:db8:5::/64\"], allowedPrefixes: [{prefix: 198.51.100.0/24, ge: 28, le: 32}, {prefix: 192.0.2.0/24}, {prefix: 192.0.2.0/24, le: 24}], kubernetes: {kubeconfig: /etc/ferrolb/kubeconfig}}",
            ),
            &[],
        ),
        case("kubernetes only", group("").replace("{servicePools: [203.0.113.32/27]}", "{kubernetes: {}}"), &[]),
        case(
            "nothing accepted",
            group("").replace("import: {servicePools: [203.0.113.32/27]}\n", ""),
            &[("import", "accepts no prefixes from the peer groups: set servicePools, allowedPrefixes or kubernetes")],
        ),
        case(
            "kubernetes disabled accepts nothing",
            group("").replace("{servicePools: [203.0.113.32/27]}", "{kubernetes: {enabled: false}}"),
            &[("import", "accepts no prefixes from the peer groups: set servicePools, allowedPrefixes or kubernetes")],
        ),
        case(
            "overlapping service pools",
            cfg("import: {servicePools: [203.0.113.0/24, 203.0.113.32/27]}\n"),
            &[("import.servicePools[1]", "service pool 203.0.113.32/27 overlaps 203.0.113.0/24 (import.servicePools[0])")],
        ),
        case(
            "service pool host bits",
            cfg("import: {servicePools: [203.0.113.33/27]}\n"),
            &[("import.servicePools[0]", "203.0.113.33/27 has host bits set (the network is 203.0.113.32/27)")],
        ),
        case(
            "ge shorter than the prefix",
            cfg("import: {allowedPrefixes: [{prefix: 198.51.100.0/24, ge: 16}]}\n"),
            &[("import.allowedPrefixes[0].ge", "ge 16 must be between the prefix length 24 and 32")],
        ),
        case(
            "le beyond the family",
            cfg("import: {allowedPrefixes: [{prefix: 198.51.100.0/24, le: 33}]}\n"),
            &[("import.allowedPrefixes[0].le", "le 33 must be between the prefix length 24 and 32")],
        ),
        case(
            "ge above le",
            cfg("import: {allowedPrefixes: [{prefix: \"2001:db8::/48\", ge: 64, le: 56}]}\n"),
            &[("import.allowedPrefixes[0].ge", "ge 64 is greater than le 56")],
        ),
        case(
            "prefix host bits",
            cfg("import: {allowedPrefixes: [{prefix: 198.51.100.1/24}]}\n"),
            &[("import.allowedPrefixes[0].prefix", "198.51.100.1/24 has host bits set (the network is 198.51.100.0/24)")],
        ),
        case(
            "empty kubeconfig path",
            cfg("import: {kubernetes: {kubeconfig: \"\"}}\n"),
            &[("import.kubernetes.kubeconfig", "path is empty")],
        ),
    ]);
}

#[test]
fn fib() {
    run(vec![
        case(
            "lowest free protocol",
            cfg("fib: {routeProtocol: 5, nexthopGroups: off, multipathHashPolicy: l4}\n"),
            &[],
        ),
        case(
            "kernel's protocol",
            cfg("fib: {routeProtocol: 4}\n"),
            &[(
                "fib.routeProtocol",
                "route protocol 4 is reserved for the kernel (0-4); use 5-255, e.g. 200",
            )],
        ),
    ]);
}

#[test]
fn upstream() {
    run(vec![
        case(
            "learned and aggregates",
            cfg("upstream: [{address: 192.0.2.1, asn: 65000, password: s3cret}, {address: 192.0.2.2, asn: 65000, announce: aggregates, aggregates: [203.0.113.0/24]}]\n"),
            &[],
        ),
        case(
            "own AS",
            cfg("upstream: [{address: 192.0.2.1, asn: 64512}]\n"),
            &[("upstream[0].asn", "upstream neighbours are eBGP, but AS 64512 is this router's own AS")],
        ),
        case(
            "AS 0",
            cfg("upstream: [{address: 192.0.2.1, asn: 0}]\n"),
            &[("upstream[0].asn", "AS number 0 is reserved (RFC 7607)")],
        ),
        case(
            "aggregates without aggregate mode",
            cfg("upstream: [{address: 192.0.2.1, asn: 65000, aggregates: [203.0.113.0/24]}]\n"),
            &[("upstream[0].aggregates", "aggregates are only used with announce: aggregates")],
        ),
        case(
            "aggregate mode without aggregates",
            cfg("upstream: [{address: 192.0.2.1, asn: 65000, announce: aggregates}]\n"),
            &[("upstream[0].aggregates", "announce: aggregates needs at least one aggregate")],
        ),
        case(
            "aggregate host bits",
            cfg("upstream: [{address: 192.0.2.1, asn: 65000, announce: aggregates, aggregates: [203.0.113.1/24]}]\n"),
            &[("upstream[0].aggregates[0]", "203.0.113.1/24 has host bits set (the network is 203.0.113.0/24)")],
        ),
        case(
            "timers",
            cfg("upstream: [{address: 192.0.2.1, asn: 65000, holdTime: 30s, keepaliveTime: 30s}]\n"),
            &[("upstream[0].keepaliveTime", "keepalive time 30s must be less than the hold time 30s")],
        ),
        case(
            "same neighbour twice",
            format!(
                "{}upstream: [{{address: 10.0.0.254, asn: 65000}}]\n",
                group(", neighbors: [{address: 10.0.0.254, asn: 65000}]")
            ),
            &[("upstream[0].address", "neighbour 10.0.0.254 is already configured at bgp.peerGroups[0].neighbors[0].address")],
        ),
    ]);
}

#[test]
fn bfd_profiles() {
    run(vec![
        case("valid profile", cfg("bfd: {profiles: [{name: fast, receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}]}\n"), &[]),
        case(
            "interval too short",
            cfg("bfd: {profiles: [{name: fast, receiveInterval: 5}]}\n"),
            &[("bfd.profiles[0].receiveInterval", "5ms is outside 10..=60000 milliseconds")],
        ),
        case(
            "multiplier 1",
            cfg("bfd: {profiles: [{name: fast, detectMultiplier: 1}]}\n"),
            &[("bfd.profiles[0].detectMultiplier", "detect multiplier 1 is outside 2..=255")],
        ),
        case(
            "duplicate names",
            cfg("bfd: {profiles: [{name: fast}, {name: fast}]}\n"),
            &[("bfd.profiles[1].name", "duplicate BFD profile name \"fast\" (also at bfd.profiles[0].name)")],
        ),
    ]);
}

#[test]
fn admin_metrics_logging() {
    run(vec![
        case("loopback without token", cfg("admin: {listen: \"[::1]:9180\"}\n"), &[]),
        case("public with token", cfg("admin: {listen: \"0.0.0.0:9180\", tokenFile: /etc/ferrolb/admin-token}\n"), &[]),
        case("unix socket", cfg("admin: {listen: /run/ferrolb/admin.sock}\n"), &[]),
        case(
            "public without token",
            cfg("admin: {listen: \"0.0.0.0:9180\"}\n"),
            &[("admin.listen", "the admin API on non-loopback address 0.0.0.0:9180 needs tokenFile, otherwise anyone who can reach it can control the router")],
        ),
        case(
            "relative unix socket",
            cfg("admin: {listen: \"unix:admin.sock\"}\n"),
            &[("admin.listen", "Unix socket path admin.sock must be absolute")],
        ),
        case(
            "admin port 0",
            cfg("admin: {listen: \"127.0.0.1:0\"}\n"),
            &[("admin.listen", "port 0 is not valid")],
        ),
        case(
            "metrics port 0",
            cfg("metrics: {listen: \"0.0.0.0:0\"}\n"),
            &[("metrics.listen", "port 0 is not valid")],
        ),
        case("log directives", cfg("logging: {format: json, level: \"ferrolb_bgp=debug,info\"}\n"), &[]),
        case(
            "unknown level",
            cfg("logging: {level: loud}\n"),
            &[("logging.level", "invalid directive \"loud\" (expected a level such as info, or target=level; levels: trace, debug, info, warn, error, off)")],
        ),
        case(
            "unknown level in a directive",
            cfg("logging: {level: \"info,ferrolb_bgp=chatty\"}\n"),
            &[("logging.level", "invalid directive \"ferrolb_bgp=chatty\" (expected a level such as info, or target=level; levels: trace, debug, info, warn, error, off)")],
        ),
    ]);
}

#[test]
fn load_balancer_frontends() {
    run(vec![
        case(
            "fully specified https frontend",
            frontend(", algorithm: leastConnections, maxConnections: 1000, backendMaxConnections: 500, slowStart: 30s, proxyProtocol: true, timeouts: {connect: 3s, idle: 1h, client: 2h}, healthCheck: {kind: https, path: /readyz, caFile: /etc/kubernetes/pki/ca.crt, interval: 5s, timeout: 5s, rise: 1, fall: 1}"),
            &[],
        ),
        case(
            "no backends",
            cfg("loadBalancer: {frontends: [{name: api, listen: [\"192.0.2.10:6443\"], backends: []}]}\n"),
            &[("loadBalancer.frontends[0].backends", "at least one backend is required")],
        ),
        case(
            "no listen addresses",
            frontend("").replace("listen: [\"192.0.2.10:6443\"]", "listen: []"),
            &[("loadBalancer.frontends[0].listen", "at least one listen address is required")],
        ),
        case(
            "listen port 0",
            frontend("").replace("192.0.2.10:6443", "192.0.2.10:0"),
            &[("loadBalancer.frontends[0].listen[0]", "port 0 is not valid")],
        ),
        case(
            "weight 0",
            frontend("").replace("{address: \"192.0.2.11:6443\"}", "{address: \"192.0.2.11:6443\", weight: 0}"),
            &[("loadBalancer.frontends[0].backends[0].weight", "weight must be at least 1")],
        ),
        case(
            "duplicate backend",
            frontend("").replace("{address: \"192.0.2.11:6443\"}", "{address: \"192.0.2.11:6443\"}, {address: \"192.0.2.11:6443\"}"),
            &[("loadBalancer.frontends[0].backends[1].address", "backend 192.0.2.11:6443 is listed twice (also backends[0])")],
        ),
        case(
            "max connections 0",
            frontend(", maxConnections: 0"),
            &[("loadBalancer.frontends[0].maxConnections", "must be at least 1 when set")],
        ),
        case(
            "zero timeouts",
            frontend(", timeouts: {connect: 0s, idle: \"0\"}"),
            &[
                ("loadBalancer.frontends[0].timeouts.connect", "timeout must be greater than 0"),
                ("loadBalancer.frontends[0].timeouts.idle", "timeout must be greater than 0"),
            ],
        ),
        case(
            "rise and fall 0",
            frontend(", healthCheck: {rise: 0, fall: 0}"),
            &[
                ("loadBalancer.frontends[0].healthCheck.rise", "rise must be at least 1"),
                ("loadBalancer.frontends[0].healthCheck.fall", "fall must be at least 1"),
            ],
        ),
        case(
            "check interval 0",
            frontend(", healthCheck: {interval: 0s}"),
            &[("loadBalancer.frontends[0].healthCheck.interval", "interval must be greater than 0")],
        ),
        case(
            "check timeout longer than interval",
            frontend(", healthCheck: {interval: 2s, timeout: 3s}"),
            &[("loadBalancer.frontends[0].healthCheck.timeout", "timeout 3s is longer than the interval 2s")],
        ),
        case(
            "path on a tcp check",
            frontend(", healthCheck: {path: /readyz}"),
            &[("loadBalancer.frontends[0].healthCheck.path", "only used by kind: https checks")],
        ),
        case(
            "relative https path",
            frontend(", healthCheck: {kind: https, path: readyz}"),
            &[("loadBalancer.frontends[0].healthCheck.path", "path \"readyz\" must start with /")],
        ),
        case(
            "https path with a line break",
            frontend(", healthCheck: {kind: https, path: \"/readyz\\r\\nX: y\"}"),
            &[("loadBalancer.frontends[0].healthCheck.path", "path \"/readyz\\r\\nX: y\" must not contain spaces or control characters")],
        ),
        case(
            "accept workers and access log",
            frontend(", accessLog: true").replace("loadBalancer: {", "loadBalancer: {acceptWorkers: 4, "),
            &[],
        ),
        case(
            "zero accept workers",
            frontend("").replace("loadBalancer: {", "loadBalancer: {acceptWorkers: 0, "),
            &[("loadBalancer.acceptWorkers", "must be between 1 and 64")],
        ),
        case(
            "CA and skip verify",
            frontend(", healthCheck: {kind: https, caFile: /ca.crt, insecureSkipVerify: true}"),
            &[("loadBalancer.frontends[0].healthCheck.insecureSkipVerify", "conflicts with caFile: either verify against caFile or skip verification")],
        ),
    ]);
}

#[test]
fn load_balancer_across_frontends() {
    let two = |a: &str, b: &str, name_b: &str| {
        cfg(&format!(
            "loadBalancer: {{frontends: [{{name: a, listen: [\"{a}\"], backends: [{{address: \"192.0.2.11:80\"}}]}}, {{name: {name_b}, listen: [\"{b}\"], backends: [{{address: \"192.0.2.12:80\"}}]}}]}}\n"
        ))
    };
    run(vec![
        case("different ports", two("0.0.0.0:80", "0.0.0.0:443", "b"), &[]),
        case("different addresses", two("192.0.2.10:80", "192.0.2.20:80", "b"), &[]),
        case(
            "same address",
            two("192.0.2.10:80", "192.0.2.10:80", "b"),
            &[("loadBalancer.frontends[1].listen[0]", "192.0.2.10:80 conflicts with 192.0.2.10:80 of frontend \"a\" (loadBalancer.frontends[0].listen[0])")],
        ),
        case(
            "wildcard and specific",
            two("0.0.0.0:80", "192.0.2.10:80", "b"),
            &[("loadBalancer.frontends[1].listen[0]", "192.0.2.10:80 conflicts with 0.0.0.0:80 of frontend \"a\" (loadBalancer.frontends[0].listen[0])")],
        ),
        case(
            "duplicate names",
            two("192.0.2.10:80", "192.0.2.10:81", "a"),
            &[("loadBalancer.frontends[1].name", "duplicate frontend name \"a\" (also at loadBalancer.frontends[0].name)")],
        ),
    ]);
}

#[test]
fn vrrp_instances() {
    run(vec![
        case("defaults", vrrp(""), &[]),
        case(
            "fully specified",
            format!(
                "{}bfd: {{profiles: [{{name: fast}}]}}\nloadBalancer: {{frontends: [{{name: api, listen: [\"192.0.2.10:6443\"], backends: [{{address: \"192.0.2.11:6443\"}}]}}]}}\n",
                vrrp(", priority: 254, preempt: false, preemptDelay: 30s, advertInterval: 4095, unicastPeers: [192.0.2.3], useVirtualMac: true, track: {frontends: [api], interfaces: [eth1]}, bfd: fast")
            ),
            &[],
        ),
        case("address owner", vrrp(", priority: 255, addressOwner: true"), &[]),
        case("vrid 0", vrrp("").replace("vrid: 51", "vrid: 0"), &[("vrrp.instances[0].vrid", "vrid must be 1 to 255")]),
        case(
            "priority 0",
            vrrp(", priority: 0"),
            &[("vrrp.instances[0].priority", "priority 0 is reserved for a master giving up; use 1 to 254")],
        ),
        case(
            "priority 255 without ownership",
            vrrp(", priority: 255"),
            &[("vrrp.instances[0].priority", "priority 255 is reserved for the address owner; set addressOwner: true or use 1 to 254")],
        ),
        case(
            "owner below 255",
            vrrp(", addressOwner: true"),
            &[("vrrp.instances[0].addressOwner", "the address owner must have priority 255, not 100")],
        ),
        case(
            "advert interval 0",
            vrrp(", advertInterval: 0"),
            &[("vrrp.instances[0].advertInterval", "0 centiseconds is outside 1..=4095")],
        ),
        case(
            "advert interval beyond 12 bits",
            vrrp(", advertInterval: 4096"),
            &[("vrrp.instances[0].advertInterval", "4096 centiseconds is outside 1..=4095")],
        ),
        case(
            "no addresses",
            vrrp("").replace("addresses: [192.0.2.10]", "addresses: []"),
            &[("vrrp.instances[0].addresses", "at least one virtual address is required")],
        ),
        case(
            "mixed families",
            vrrp("").replace("[192.0.2.10]", "[192.0.2.10, \"2001:db8::10\"]"),
            &[("vrrp.instances[0].addresses[1]", "2001:db8::10 is IPv6 but the virtual addresses are IPv4; use one instance per family")],
        ),
        case(
            "unicast peer of the other family",
            vrrp(", unicastPeers: [\"2001:db8::3\"]"),
            &[("vrrp.instances[0].unicastPeers[0]", "2001:db8::3 is IPv6 but the virtual addresses are IPv4; peers must match the virtual addresses")],
        ),
        case(
            "invalid interface",
            vrrp("").replace("interface: eth0", "interface: \"eth0 \""),
            &[("vrrp.instances[0].interface", "\"eth0 \" is not a valid interface name")],
        ),
        case(
            "tracked frontend missing",
            vrrp(", track: {frontends: [api]}"),
            &[("vrrp.instances[0].track.frontends[0]", "frontend \"api\" is not defined in loadBalancer.frontends")],
        ),
        case(
            "tracked interface invalid",
            vrrp(", track: {interfaces: [\"\"]}"),
            &[("vrrp.instances[0].track.interfaces[0]", "interface name is empty")],
        ),
        case(
            "undefined BFD profile",
            vrrp(", unicastPeers: [192.0.2.3], bfd: fast"),
            &[("vrrp.instances[0].bfd", "BFD profile \"fast\" is not defined in bfd.profiles")],
        ),
        case(
            "BFD without unicast peers",
            format!("{}bfd: {{profiles: [{{name: fast}}]}}\n", vrrp(", bfd: fast")),
            &[("vrrp.instances[0].bfd", "BFD needs unicastPeers to know which routers to monitor")],
        ),
    ]);
}

#[test]
fn vrrp_across_instances() {
    let two = |b: &str| {
        cfg(&format!(
            "vrrp: {{instances: [{{name: a, interface: eth0, vrid: 51, addresses: [192.0.2.10]}}, {b}]}}\n"
        ))
    };
    run(vec![
        case(
            "same vrid, other interface",
            two("{name: b, interface: eth1, vrid: 51, addresses: [192.0.2.20]}"),
            &[],
        ),
        case(
            "same vrid, other family",
            two("{name: b, interface: eth0, vrid: 51, addresses: [\"2001:db8::10\"]}"),
            &[],
        ),
        case(
            "same vrid on one interface",
            two("{name: b, interface: eth0, vrid: 51, addresses: [192.0.2.20]}"),
            &[(
                "vrrp.instances[1].vrid",
                "vrid 51 is already used on eth0 by instance \"a\"",
            )],
        ),
        case(
            "address in two instances",
            two("{name: b, interface: eth0, vrid: 52, addresses: [192.0.2.10]}"),
            &[(
                "vrrp.instances[1].addresses[0]",
                "192.0.2.10 is already a virtual address of instance \"a\"",
            )],
        ),
        case(
            "duplicate names",
            two("{name: a, interface: eth0, vrid: 52, addresses: [192.0.2.20]}"),
            &[(
                "vrrp.instances[1].name",
                "duplicate VRRP instance name \"a\" (also at vrrp.instances[0].name)",
            )],
        ),
    ]);
}
