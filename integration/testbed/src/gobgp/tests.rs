//! Unit tests for GoBGP config rendering and JSON parsing, on output captured from GoBGP 3.10.

use super::*;
use crate::config::{Advertise, Neighbor};
use crate::route::Origin;
use std::net::Ipv4Addr;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn neighbour_states_come_from_numbers_or_names() {
    let doc = |state: &str| {
        json(&format!(
            r#"[{{"conf":{{"neighbor_address":"198.18.0.1","peer_asn":1}},"state":{{"neighbor_address":"198.18.0.1"{state}}}}}]"#
        ))
    };
    let cases = [
        (r#","session_state":6"#, Some(SessionState::Established)),
        (r#","session_state":3"#, Some(SessionState::Active)),
        (
            r#","session_state":"ESTABLISHED""#,
            Some(SessionState::Established),
        ),
        (r#","session_state":"UNKNOWN""#, Some(SessionState::Idle)),
        ("", Some(SessionState::Idle)),
        (r#","session_state":9"#, None),
    ];
    for (state, want) in cases {
        assert_eq!(
            parse_neighbor_state(&doc(state), ip("198.18.0.1")).ok(),
            want,
            "{state}"
        );
    }
    assert!(parse_neighbor_state(&doc(""), ip("198.18.0.9")).is_err());
    assert!(parse_neighbor_state(&Value::Null, ip("198.18.0.9")).is_err());
}

const RIB: &str = r#"{"192.0.2.128/25":[{"nlri":{"prefix":"192.0.2.128/25"},"age":1795316930,"best":true,"attrs":[{"type":1,"value":2},{"type":4,"metric":12},{"type":5,"value":250},{"type":8,"communities":[4259840005,4294967041]},{"type":32,"value":[{"ASN":1,"LocalData1":2,"LocalData2":3}]},{"type":3,"nexthop":"0.0.0.0"}],"stale":false}],
"198.51.100.0/24":[{"nlri":{"prefix":"198.51.100.0/24"},"age":1795316924,"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[65002,4200000001]}]},{"type":3,"nexthop":"198.18.0.1"},{"type":4,"metric":50},{"type":5,"value":100}],"stale":false,"source-id":"192.0.2.1","neighbor-ip":"198.18.0.1"}]}"#;

#[test]
fn rib_paths_are_parsed() {
    let mut routes = parse_rib(&json(RIB)).unwrap();
    routes.sort_by_key(|r| r.prefix);
    assert_eq!(routes.len(), 2);
    let local = &routes[0];
    assert_eq!(local.prefix, net("192.0.2.128/25"));
    assert_eq!(local.peer, None);
    assert_eq!(local.origin, Some(Origin::Incomplete));
    assert_eq!(local.med, Some(12));
    assert_eq!(local.local_pref, Some(250));
    assert_eq!(local.communities, vec![(65000, 5), (65535, 65281)]);
    assert_eq!(local.large_communities, vec![(1, 2, 3)]);
    assert!(local.next_hops.is_empty());

    let received = &routes[1];
    assert_eq!(received.peer, Some(ip("198.18.0.1")));
    assert_eq!(received.as_path, vec![65002, 4_200_000_001]);
    assert_eq!(received.next_hops, vec![ip("198.18.0.1")]);
    assert!(received.best);
}

#[test]
fn ipv6_next_hops_come_from_mp_reach() {
    let doc = json(
        r#"{"2001:db8:300::/48":[{"best":true,"attrs":[{"type":14,"nexthop":"2001:db8:1::2","linklocal_nexthop":"fe80::1","afi":2,"safi":1,"value":[{"prefix":"2001:db8:300::/48"}]}],"neighbor-ip":"198.18.0.2"}]}"#,
    );
    let routes = parse_rib(&doc).unwrap();
    assert_eq!(
        routes[0].next_hops,
        vec![ip("2001:db8:1::2"), ip("fe80::1")]
    );
}

#[test]
fn malformed_rib_output_is_an_error_not_a_panic() {
    let cases = [
        r#"[]"#,
        r#"{"x":[]}"#,
        r#"{"10.0.0.0/8":{}}"#,
        r#"{"10.0.0.0/8":[{"best":true}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":1,"value":7}]}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":4,"metric":-1}]}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":8,"communities":[4294967296]}]}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":32,"value":[{"ASN":1}]}]}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":3,"nexthop":"nope"}]}]}"#,
        r#"{"10.0.0.0/8":[{"attrs":[{"type":"x"}]}]}"#,
    ];
    for text in cases {
        assert!(parse_rib(&json(text)).is_err(), "{text}");
    }
    assert!(parse_rib(&Value::Null).unwrap().is_empty());
}

#[test]
fn rib_add_arguments_carry_every_attribute() {
    let cases = [
        (
            Announcement::new(net("198.51.100.0/24"))
                .community(65000, 1)
                .community(65000, 2)
                .large_community(1, 2, 3)
                .local_pref(200)
                .med(9),
            None,
            "global rib -a ipv4 add 198.51.100.0/24 community 65000:1,65000:2 large-community 1:2:3 local-pref 200 med 9",
        ),
        (
            Announcement::new(net("2001:db8:1::/48")),
            Some(ip("2001:db8::1")),
            "global rib -a ipv6 add 2001:db8:1::/48 nexthop 2001:db8::1",
        ),
        (
            Announcement::new(net("2001:db8:1::/48")).next_hop(ip("2001:db8::7")),
            Some(ip("2001:db8::1")),
            "global rib -a ipv6 add 2001:db8:1::/48 nexthop 2001:db8::7",
        ),
        (
            Announcement::new(net("10.0.0.0/8")),
            Some(ip("2001:db8::1")),
            "global rib -a ipv4 add 10.0.0.0/8",
        ),
    ];
    for (a, default, want) in cases {
        assert_eq!(rib_add_args(&a, default).join(" "), want);
    }
}

#[test]
fn config_renders_every_knob() {
    let config = BgpConfig::new(4_200_000_001, Ipv4Addr::new(198, 18, 0, 2)).neighbor(
        Neighbor::new(ip("198.18.0.1"), 4_200_000_001)
            .password("p\"w")
            .hold_time(6)
            .source(ip("198.18.0.2"))
            .passive()
            .graceful_restart(10)
            .ipv6()
            .multihop(4)
            .local_as(65005),
    );
    let text = render_config(&config).unwrap();
    let expected = [
        "[global.config]\n  as = 4200000001\n  router-id = \"198.18.0.2\"",
        "[global.use-multiple-paths.config]\n  enabled = true",
        "neighbor-address = \"198.18.0.1\"",
        "peer-as = 4200000001",
        "local-as = 65005",
        "auth-password = \"p\\\"w\"",
        "hold-time = 6\n    keepalive-interval = 2\n    connect-retry = 1\n    idle-hold-time-after-reset = 1",
        "local-address = \"198.18.0.2\"",
        "passive-mode = true",
        "[neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = 4",
        "[neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 10",
        "afi-safi-name = \"ipv4-unicast\"\n    [neighbors.afi-safis.mp-graceful-restart.config]",
        "afi-safi-name = \"ipv6-unicast\"",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn bfd_is_refused() {
    let config =
        BgpConfig::new(1, Ipv4Addr::LOCALHOST).neighbor(Neighbor::new(ip("192.0.2.1"), 2).bfd());
    assert!(matches!(
        render_config(&config),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn toml_strings_are_escaped() {
    let cases = [
        ("plain", "\"plain\""),
        ("a\"b\\c", "\"a\\\"b\\\\c\""),
        ("\n", "\"\\u000a\""),
    ];
    for (input, want) in cases {
        assert_eq!(toml_str(input), want);
    }
}

#[test]
fn advertise_nothing_becomes_a_global_export_policy() {
    let config = BgpConfig::new(65000, Ipv4Addr::new(198, 18, 0, 1))
        .neighbor(Neighbor::new(ip("198.18.0.3"), 65003).advertise(Advertise::Nothing))
        .neighbor(Neighbor::new(ip("198.18.0.4"), 65004).advertise(Advertise::Nothing))
        .neighbor(Neighbor::new(ip("198.18.0.2"), 65002).advertise(Advertise::Everything));
    let text = render_config(&config).unwrap();
    let expected = [
        "[global.apply-policy.config]\n  export-policy-list = [\"flb-advertise-nothing\"]\n  default-export-policy = \"accept-route\"",
        "[[defined-sets.neighbor-sets]]\n  neighbor-set-name = \"flb-advertise-nothing\"\n  neighbor-info-list = [\"198.18.0.3\", \"198.18.0.4\"]",
        "[policy-definitions.statements.conditions.match-neighbor-set]\n      neighbor-set = \"flb-advertise-nothing\"\n      match-set-options = \"any\"",
        "route-disposition = \"reject-route\"",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let usual = render_config(&BgpConfig::new(65000, Ipv4Addr::LOCALHOST)).unwrap();
    assert!(!usual.contains("apply-policy"));
}
