//! Unit tests for FRR config rendering and JSON parsing, on output captured from FRR 8.4.4.

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

const SUMMARY: &str = r#"{
"ipv4Unicast":{"routerId":"192.0.2.2","as":65002,"peers":{
  "192.0.2.1":{"remoteAs":4200000001,"localAs":65002,"state":"Established","peerState":"OK"},
  "192.0.2.9":{"remoteAs":65009,"state":"Idle (Admin)"}}},
"ipv6Unicast":{"routerId":"192.0.2.2","as":65002,"peers":{
  "2001:db8::1":{"remoteAs":65001,"state":"Active"}}}
}"#;

#[test]
fn summary_states_are_found_in_any_family() {
    let doc = json(SUMMARY);
    let cases = [
        ("192.0.2.1", Some(SessionState::Established)),
        ("192.0.2.9", Some(SessionState::Idle)),
        ("2001:db8::1", Some(SessionState::Active)),
        ("192.0.2.77", None),
    ];
    for (peer, want) in cases {
        assert_eq!(parse_summary_state(&doc, ip(peer)).ok(), want, "{peer}");
    }
}

const DETAIL: &str = r#"{
 "vrfId": 0, "routerId": "192.0.2.2", "defaultLocPrf": 100, "localAS": 65002,
 "routes": { "198.51.100.0/24": [{"prefix":"198.51.100.0/24","version":1,"advertisedTo":{"192.0.2.1":{}}},{"aspath":{"string":"4200000001","segments":[{"type":"as-sequence","list":[4200000001]}],"length":1},"origin":"IGP","metric":50,"valid":true,"version":1,"bestpath":{"overall":true,"selectionReason":"First path received"},"community":{"string":"65000:1 no-export","list":["65000:1","no-export"]},"largeCommunity":{"string":"4200000000:1:2","list":["4200000000:1:2"]},"nexthops":[{"ip":"192.0.2.1","afi":"ipv4","metric":0,"accessible":true,"used":true}],"peer":{"peerId":"192.0.2.1","routerId":"192.0.2.1","type":"external"}}]
,"203.0.113.0/24": [{"prefix":"203.0.113.0/24","version":5,"advertisedTo":{"192.0.2.1":{}}},{"aspath":{"string":"Local","segments":[],"length":0},"origin":"IGP","metric":77,"locPrf":300,"weight":32768,"valid":true,"version":5,"sourced":true,"local":true,"bestpath":{"overall":true},"nexthops":[{"ip":"0.0.0.0","hostname":"frr1","afi":"ipv4","metric":0,"accessible":true,"used":true}],"peer":{"peerId":"0.0.0.0","routerId":"192.0.2.2"}}]
 }  }"#;

#[test]
fn detail_output_skips_headers_and_reads_attributes() {
    let routes = parse_detail(&json(DETAIL)).unwrap();
    assert_eq!(routes.len(), 2, "{routes:#?}");
    let received = &routes[0];
    assert_eq!(received.prefix, net("198.51.100.0/24"));
    assert_eq!(received.as_path, vec![4_200_000_001]);
    assert_eq!(received.origin, Some(Origin::Igp));
    assert_eq!(received.med, Some(50));
    assert_eq!(received.communities, vec![(65000, 1), (65535, 65281)]);
    assert_eq!(received.large_communities, vec![(4_200_000_000, 1, 2)]);
    assert_eq!(received.next_hops, vec![ip("192.0.2.1")]);
    assert_eq!(received.peer, Some(ip("192.0.2.1")));
    assert!(received.best);

    let local = &routes[1];
    assert_eq!(local.peer, None);
    assert_eq!(local.local_pref, Some(300));
    assert!(local.next_hops.is_empty());
}

#[test]
fn per_prefix_output_is_parsed_and_absence_is_empty() {
    let doc = json(
        r#"{"prefix":"2001:db8:100::/48","paths":[{"aspath":{"segments":[{"type":"as-sequence","list":[65001,65003]}]},"origin":"incomplete","localpref":150,"valid":true,"bestpath":{"overall":true},"nexthops":[{"ip":"2001:db8::1","afi":"ipv6","scope":"global"},{"ip":"fe80::1","afi":"ipv6","scope":"link-local","used":true}],"peer":{"peerId":"192.0.2.1"}}]}"#,
    );
    let routes = parse_prefix(&doc).unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].as_path, vec![65001, 65003]);
    assert_eq!(routes[0].origin, Some(Origin::Incomplete));
    assert_eq!(routes[0].local_pref, Some(150));
    assert_eq!(routes[0].next_hops, vec![ip("2001:db8::1"), ip("fe80::1")]);
    assert!(parse_prefix(&json("{}")).unwrap().is_empty());
}

#[test]
fn malformed_paths_are_errors_not_panics() {
    let cases = [
        r#"{"routes":{"nonsense":[]}}"#,
        r#"{"routes":{"10.0.0.0/8":{}}}"#,
        r#"{"routes":{"10.0.0.0/8":[{"nexthops":[{"ip":"x"}]}]}}"#,
        r#"{"routes":{"10.0.0.0/8":[{"nexthops":[],"metric":-1}]}}"#,
        r#"{"routes":{"10.0.0.0/8":[{"nexthops":[],"community":{"list":["bogus"]}}]}}"#,
        r#"{"routes":{"10.0.0.0/8":[{"nexthops":[],"aspath":{"segments":[{"list":["x"]}]}}]}}"#,
    ];
    for text in cases {
        assert!(parse_detail(&json(text)).is_err(), "{text}");
    }
}

#[test]
fn bfd_status_is_looked_up_by_peer() {
    let doc = json(r#"[{"multihop":false,"peer":"192.0.2.1","local":"192.0.2.2","status":"up"}]"#);
    assert_eq!(
        parse_bfd_status(&doc, ip("192.0.2.1")).as_deref(),
        Some("up")
    );
    assert_eq!(parse_bfd_status(&doc, ip("192.0.2.9")), None);
}

#[test]
fn announcements_become_route_maps_and_network_statements() {
    let a = Announcement::new(net("198.51.100.0/24"))
        .community(65000, 1)
        .community(65000, 2)
        .large_community(1, 2, 3)
        .local_pref(200)
        .med(7);
    let commands = announcement_commands(65001, &a);
    let expected = [
        "route-map FLB-ANN-198_51_100_0_24 permit 10",
        " set community 65000:1 65000:2",
        " set large-community 1:2:3",
        " set local-preference 200",
        " set metric 7",
        "exit",
        "router bgp 65001",
        " address-family ipv4 unicast",
        "  network 198.51.100.0/24 route-map FLB-ANN-198_51_100_0_24",
        " exit-address-family",
        "exit",
    ];
    assert_eq!(commands, expected);
    let withdraw = withdrawal_commands(65001, net("2001:db8::/48"));
    assert!(withdraw.contains(&" address-family ipv6 unicast".to_owned()));
    assert!(withdraw.contains(&"  no network 2001:db8::/48".to_owned()));
    assert!(withdraw.contains(&"no route-map FLB-ANN-2001_db8___48".to_owned()));
}

#[test]
fn bgpd_config_renders_every_knob() {
    let config = BgpConfig::new(65002, Ipv4Addr::new(192, 0, 2, 2))
        .neighbor(
            Neighbor::new(ip("192.0.2.1"), 4_200_000_001)
                .named("bird")
                .password("s3cret")
                .hold_time(6)
                .source(ip("192.0.2.2"))
                .multihop(2)
                .passive()
                .graceful_restart(20)
                .bfd()
                .ipv6()
                .ipv6_next_hop("2001:db8::2".parse().unwrap())
                .local_as(65010),
        )
        .neighbor(Neighbor::new(ip("2001:db8::9"), 65002).hold_time(0))
        .announce(Announcement::new(net("203.0.113.0/24")));
    let text = render_bgpd("x", &config);
    let expected = [
        "route-map FLB-NH6-bird permit 10\n set ipv6 next-hop global 2001:db8::2\nexit",
        "router bgp 65002\n bgp router-id 192.0.2.2",
        "no bgp ebgp-requires-policy",
        "no bgp default ipv4-unicast",
        "no bgp network import-check",
        "bgp graceful-restart\n bgp graceful-restart restart-time 20",
        "bgp bestpath as-path multipath-relax",
        "neighbor 192.0.2.1 remote-as 4200000001",
        "neighbor 192.0.2.1 local-as 65010 no-prepend replace-as",
        "neighbor 192.0.2.1 update-source 192.0.2.2",
        "neighbor 192.0.2.1 password s3cret",
        "neighbor 192.0.2.1 timers 2 6",
        "neighbor 192.0.2.1 timers connect 1",
        "neighbor 192.0.2.1 ebgp-multihop 2",
        "neighbor 192.0.2.1 passive",
        "neighbor 192.0.2.1 bfd",
        "neighbor 2001:db8::9 timers 0 0",
        " address-family ipv4 unicast\n  maximum-paths 16\n  maximum-paths ibgp 16\n  neighbor 192.0.2.1 activate\n exit-address-family",
        " address-family ipv6 unicast\n  maximum-paths 16\n  maximum-paths ibgp 16\n  neighbor 192.0.2.1 activate\n  neighbor 192.0.2.1 route-map FLB-NH6-bird out\n  neighbor 2001:db8::9 activate\n exit-address-family",
        "  network 203.0.113.0/24 route-map FLB-ANN-203_0_113_0_24",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn advertise_nothing_gets_a_deny_all_route_map_per_family() {
    let config = BgpConfig::new(65000, Ipv4Addr::new(198, 18, 0, 1))
        .neighbor(
            Neighbor::new(ip("198.18.0.3"), 65003)
                .ipv6()
                .advertise(Advertise::Nothing),
        )
        .neighbor(Neighbor::new(ip("198.18.0.2"), 65002).advertise(Advertise::Everything));
    let text = render_bgpd("x", &config);
    let expected = [
        "route-map FLB-ADVERTISE-NOTHING deny 10\nexit",
        " address-family ipv4 unicast\n  maximum-paths 16\n  maximum-paths ibgp 16\n  neighbor 198.18.0.3 activate\n  neighbor 198.18.0.3 route-map FLB-ADVERTISE-NOTHING out\n  neighbor 198.18.0.2 activate\n exit-address-family",
        " address-family ipv6 unicast\n  maximum-paths 16\n  maximum-paths ibgp 16\n  neighbor 198.18.0.3 activate\n  neighbor 198.18.0.3 route-map FLB-ADVERTISE-NOTHING out\n exit-address-family",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let usual = render_bgpd("x", &BgpConfig::new(65000, Ipv4Addr::LOCALHOST));
    assert!(!usual.contains("FLB-ADVERTISE-NOTHING"));
}
