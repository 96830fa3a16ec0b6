//! Parsing tests: defaults, unknown fields and error locations.

use super::*;
use crate::duration::Duration;

const MINIMAL: &str = "routerId: 10.0.0.1\nasn: 64512\n";

fn parse_error(yaml: &str) -> String {
    match RouterConfig::from_yaml_str(yaml) {
        Err(ConfigError::Parse { message, .. }) => message,
        other => panic!("expected a parse error for {yaml:?}, got {other:?}"),
    }
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = RouterConfig::from_yaml_str(MINIMAL).unwrap();
    assert_eq!(c.router_id.to_string(), "10.0.0.1");
    assert_eq!(c.asn, 64512);
    assert_eq!(c.bgp.port, 179);
    assert_eq!(
        c.bgp.listen_addresses,
        vec![
            "0.0.0.0".parse::<std::net::IpAddr>().unwrap(),
            "::".parse().unwrap()
        ]
    );
    assert_eq!(c.fib.route_protocol, 200);
    assert_eq!(c.fib.nexthop_groups, NexthopGroups::Auto);
    assert!(c.fib.set_forwarding_sysctls);
    assert!(!c.fib.keep_routes_on_shutdown);
    assert_eq!(c.fib.multipath_hash_policy, None);
    assert_eq!(
        c.admin.listen,
        ListenAddress::Tcp("127.0.0.1:9180".parse().unwrap())
    );
    assert_eq!(c.admin.token_file, None);
    assert_eq!(c.metrics.listen, None);
    assert_eq!(c.logging.format, LogFormat::Human);
    assert_eq!(c.logging.level, "info");
    assert!(c.upstream.is_empty() && c.load_balancer.frontends.is_empty());
}

#[test]
fn nested_defaults() {
    let yaml = format!(
        "{MINIMAL}loadBalancer:\n  frontends:\n    - name: api\n      listen: [\"192.0.2.10:6443\"]\n      \
         backends: [{{address: \"192.0.2.11:6443\"}}]\nvrrp:\n  instances:\n    - name: vip\n      \
         interface: eth0\n      vrid: 51\n      addresses: [192.0.2.10]\n\
         bgp:\n  peerGroups:\n    - name: nodes\n      listenRanges: [10.0.1.0/24]\n      \
         allowedAsns: [64513]\n      gracefulRestart: {{}}\n      maxPrefixes: {{limit: 10}}\n\
         import:\n  kubernetes: {{}}\n"
    );
    let c = RouterConfig::from_yaml_str(&yaml).unwrap();
    let f = &c.load_balancer.frontends[0];
    assert_eq!(f.algorithm, Algorithm::RoundRobin);
    assert_eq!(f.backends[0].weight, 1);
    assert_eq!(f.timeouts.connect, Duration::from_secs(5));
    assert_eq!(f.timeouts.idle, Duration::from_secs(4 * 3600));
    assert_eq!(f.timeouts.client, Duration::from_secs(4 * 3600));
    assert_eq!(f.health_check.kind, HealthCheckKind::Tcp);
    assert_eq!((f.health_check.rise, f.health_check.fall), (2, 3));
    assert_eq!(f.health_check.interval, Duration::from_secs(2));
    assert_eq!(f.health_check.timeout, Duration::from_secs(1));
    assert!(!f.proxy_protocol);
    let v = &c.vrrp.instances[0];
    assert_eq!((v.priority, v.advert_interval), (100, 100));
    assert!(v.preempt && !v.use_virtual_mac && !v.address_owner);
    assert_eq!(v.preempt_delay, Duration::ZERO);
    let g = &c.bgp.peer_groups[0];
    let gr = g.graceful_restart.as_ref().unwrap();
    assert!(gr.helper);
    assert_eq!(gr.restart_time, Duration::from_secs(120));
    assert_eq!(
        g.max_prefixes.as_ref().unwrap().action,
        MaxPrefixAction::Teardown
    );
    let k = c.import.kubernetes.as_ref().unwrap();
    assert!(k.enabled && k.kubeconfig.is_none());
}

#[test]
fn unknown_fields_are_errors_naming_the_field() {
    let table: &[(&str, &str)] = &[
        ("asn: 1\nrouterID: 10.0.0.1\n", "unknown field `routerID`, expected one of"),
        (
            "routerId: 10.0.0.1\nasn: 1\nbgp:\n  peerGroups:\n    - name: n\n      holdtime: 9s\n",
            "bgp.peerGroups[0]: unknown field `holdtime`, expected one of",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nloadBalancer:\n  frontends:\n    - name: a\n      listen: []\n      backends: []\n      timeouts: {idel: 1h}\n",
            "loadBalancer.frontends[0].timeouts: unknown field `idel`, expected one of",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nadmin: {listen: 127.0.0.1:1, token: x}\n",
            "admin: unknown field `token`, expected",
        ),
    ];
    for (yaml, want) in table {
        let message = parse_error(yaml);
        assert!(
            message.starts_with(want),
            "{message:?} should start with {want:?}"
        );
        assert!(
            message.contains(" at line "),
            "{message:?} should give the line"
        );
    }
}

#[test]
fn bad_values_name_the_field_and_why() {
    let table: &[(&str, &str)] = &[
        (
            "routerId: 10.0.0.1\nasn: 1\nbgp: {peerGroups: [{name: n, holdTime: 90}]}\n",
            "bgp.peerGroups[0].holdTime: invalid duration \"90\": missing unit (expected one of ns, us, ms, s, m, h)",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nbgp: {peerGroups: [{name: n, holdTime: 90x}]}\n",
            "bgp.peerGroups[0].holdTime: invalid duration \"90x\": unknown unit (expected one of ns, us, ms, s, m, h)",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nloadBalancer: {frontends: [{name: a, listen: [], backends: [], algorithm: random}]}\n",
            "loadBalancer.frontends[0].algorithm: unknown variant `random`, expected one of `roundRobin`, `leastConnections`, `sourceHash`",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nimport: {servicePools: [10.0.0.0/33]}\n",
            "import.servicePools[0]: invalid IP address syntax",
        ),
        (
            "routerId: 10.0.0.1\nasn: 1\nadmin: {listen: localhost}\n",
            "admin.listen: invalid listen address \"localhost\": expected host:port",
        ),
        ("routerId: fe80::1\nasn: 1\n", "routerId: invalid IPv4 address syntax"),
        ("routerId: 10.0.0.1\n", "missing field `asn`"),
        (
            "routerId: 10.0.0.1\nasn: 1\nbgp: {peerGroups: [{name: n, holdTime: [90]}]}\n",
            "bgp.peerGroups[0].holdTime: invalid type: sequence, expected a duration string such as \"90s\" or \"1m30s\"",
        ),
        ("routerId: 10.0.0.1\nasn: 4294967296\n", "asn: invalid value: integer `4294967296`, expected u32"),
    ];
    for (yaml, want) in table {
        let message = parse_error(yaml);
        assert!(
            message.starts_with(want),
            "{message:?} should start with {want:?}"
        );
    }
}

#[test]
fn validation_errors_are_returned_all_at_once() {
    let yaml = "routerId: 0.0.0.0\nasn: 0\n";
    let Err(ConfigError::Invalid(errors)) = RouterConfig::from_yaml_str(yaml) else {
        panic!("expected validation errors");
    };
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "RouterConfig: routerId: router ID 0.0.0.0 is not valid",
            "RouterConfig: asn: AS number 0 is reserved (RFC 7607)",
        ]
    );
}

#[test]
fn from_file_names_the_file() {
    let dir = std::env::temp_dir().join(format!("ferrolb-api-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("router.yaml");
    std::fs::write(&path, "routerId: 10.0.0.1\nasn: 0\n").unwrap();
    let err = RouterConfig::from_file(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "RouterConfig {:?}: asn: AS number 0 is reserved (RFC 7607)",
            path.display().to_string()
        )
    );
    std::fs::write(&path, "routerId: 10.0.0.1\nasn: [1]\n").unwrap();
    let err = RouterConfig::from_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: asn: invalid type: sequence", path.display())),
        "{err}"
    );
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(RouterConfig::from_file(&path).unwrap().asn, 64512);
    std::fs::remove_dir_all(&dir).unwrap();

    let err = RouterConfig::from_file(dir.join("missing.yaml")).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with("reading "), "{err}");
}

#[test]
fn listen_address_forms() {
    let table: &[(&str, ListenAddress)] = &[
        (
            "127.0.0.1:9180",
            ListenAddress::Tcp("127.0.0.1:9180".parse().unwrap()),
        ),
        (
            "[::1]:9180",
            ListenAddress::Tcp("[::1]:9180".parse().unwrap()),
        ),
        (
            "/run/ferrolb/admin.sock",
            ListenAddress::Unix("/run/ferrolb/admin.sock".into()),
        ),
        (
            "unix:/run/ferrolb/admin.sock",
            ListenAddress::Unix("/run/ferrolb/admin.sock".into()),
        ),
        ("unix:admin.sock", ListenAddress::Unix("admin.sock".into())),
    ];
    for (input, want) in table {
        assert_eq!(&input.parse::<ListenAddress>().unwrap(), want, "{input}");
    }
    for bad in ["", "unix:", "localhost:80", "127.0.0.1"] {
        assert!(bad.parse::<ListenAddress>().is_err(), "{bad}");
    }
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let yaml =
        format!("{MINIMAL}upstream: [{{address: 192.0.2.1, asn: 65000, password: hunter2}}]\n");
    let c = RouterConfig::from_yaml_str(&yaml).unwrap();
    assert_eq!(c.upstream[0].password.as_ref().unwrap().expose(), "hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn prefix_filter_matching() {
    let filter = |yaml: &str| serde_yaml::from_str::<PrefixFilter>(yaml).unwrap();
    let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
    let exact = filter("{prefix: 192.0.2.0/24}");
    assert!(exact.matches(&net("192.0.2.0/24")));
    assert!(!exact.matches(&net("192.0.2.0/25")));
    let hosts = filter("{prefix: 192.0.2.0/24, ge: 32}");
    assert_eq!(hosts.length_range(), (32, 32));
    assert!(hosts.matches(&net("192.0.2.7/32")));
    assert!(!hosts.matches(&net("192.0.2.0/28")));
    assert!(!hosts.matches(&net("198.51.100.7/32")));
    let upto = filter("{prefix: 192.0.2.0/24, le: 28}");
    assert_eq!(upto.length_range(), (24, 28));
    assert!(upto.matches(&net("192.0.2.16/28")) && !upto.matches(&net("192.0.2.16/29")));
}
