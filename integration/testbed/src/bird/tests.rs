//! Unit tests for BIRD config rendering and output parsing, on text captured from BIRD 2.0.12.

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

const SHOW_ROUTE: &str = "BIRD 2.0.12 ready.
Table master4:
203.0.113.0/24       unicast [g1 03:08:59.601] * (100) [?]
\tvia 198.18.0.2 on e5
\tType: BGP univ
\tBGP.origin: Incomplete
\tBGP.as_path: 
\tBGP.next_hop: 198.18.0.2
\tBGP.med: 5
\tBGP.local_pref: 100
                     unicast [n1 03:08:33.069] (100) [AS65002i]
\tvia 192.0.2.2 on e1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002 4200000001
\tBGP.next_hop: 192.0.2.2
\tBGP.med: 77
\tBGP.local_pref: 100
\tBGP.community: (65002,7) (65002,8)
\tBGP.large_community: (65002, 1, 1) (4200000000, 2, 3)
198.51.100.0/24      blackhole [announce_ipv4 03:07:41.460] * (200)
\tType: static univ
\tBGP.community: (65000,1)
\tBGP.med: 50
192.0.2.0/24         unicast [direct1 03:07:41.461] * (240)
\tdev e1
\tType: device univ

Table master6:
2001:db8:200::/48    unicast [n1 03:08:33.069 from 192.0.2.2] * (100) [AS65002i]
\tvia 2001:db8::2 on e1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002
\tBGP.next_hop: 2001:db8::2 fe80::a8ad:75ff:fe16:129a
\tBGP.local_pref: 100
";

fn peers() -> HashMap<String, IpAddr> {
    HashMap::from([
        ("g1".to_owned(), ip("198.18.0.2")),
        ("n1".to_owned(), ip("192.0.2.2")),
    ])
}

#[test]
fn show_route_all_is_parsed_into_paths() {
    let routes = parse_routes(SHOW_ROUTE, &peers()).unwrap();
    assert_eq!(routes.len(), 4, "{routes:#?}");

    let g1 = &routes[0];
    assert_eq!(g1.prefix, net("203.0.113.0/24"));
    assert!(g1.best);
    assert_eq!(g1.peer, Some(ip("198.18.0.2")));
    assert_eq!(g1.origin, Some(Origin::Incomplete));
    assert!(g1.as_path.is_empty());
    assert_eq!(g1.med, Some(5));

    let n1 = &routes[1];
    assert_eq!(n1.prefix, net("203.0.113.0/24"));
    assert!(!n1.best);
    assert_eq!(n1.peer, Some(ip("192.0.2.2")));
    assert_eq!(n1.as_path, vec![65002, 4_200_000_001]);
    assert_eq!(n1.next_hops, vec![ip("192.0.2.2")]);
    assert_eq!(n1.communities, vec![(65002, 7), (65002, 8)]);
    assert_eq!(
        n1.large_communities,
        vec![(65002, 1, 1), (4_200_000_000, 2, 3)]
    );
    assert_eq!(n1.local_pref, Some(100));

    let local = &routes[2];
    assert_eq!(local.prefix, net("198.51.100.0/24"));
    assert_eq!(local.peer, None);
    assert_eq!(local.communities, vec![(65000, 1)]);
    assert_eq!(local.med, Some(50));

    let v6 = &routes[3];
    assert_eq!(v6.prefix, net("2001:db8:200::/48"));
    assert_eq!(
        v6.next_hops,
        vec![ip("2001:db8::2"), ip("fe80::a8ad:75ff:fe16:129a")]
    );
}

#[test]
fn routes_from_unknown_protocols_are_an_error() {
    let err = parse_routes(SHOW_ROUTE, &HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("unknown protocol"), "{err}");
}

#[test]
fn malformed_route_output_is_an_error_not_a_panic() {
    let cases = [
        "Table master4:\nnot-a-prefix unicast [x 1] * (100)\n",
        "Table master4:\n10.0.0.0/8 unicast no brackets\n",
        "Table master4:\n10.0.0.0/8 unicast [n1 1] * (100)\n\tType: BGP univ\n\tBGP.med: x\n",
        "Table master4:\n10.0.0.0/8 unicast [n1 1] * (100)\n\tType: BGP univ\n\tBGP.community: (70000,1)\n",
        "Table master4:\n10.0.0.0/8 unicast [n1 1] * (100)\n\tType: BGP univ\n\tBGP.large_community: (1,2\n",
        "   unicast [n1 1] (100)\n",
    ];
    for text in cases {
        assert!(parse_routes(text, &peers()).is_err(), "{text:?}");
    }
}

#[test]
fn bgp_state_is_read_from_show_protocols_all() {
    let cases = [
        (
            "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\nn1         BGP        ---        up     03:07:58.526  Established   \n  BGP state:          Established\n    Neighbor address: 192.0.2.2\n",
            Some(SessionState::Established),
        ),
        (
            "n1         BGP        ---        start  03:07:41.460  Active\n  BGP state:          Active\n",
            Some(SessionState::Active),
        ),
        (
            "n1         BGP        ---        down   03:07:41.460\n",
            Some(SessionState::Idle),
        ),
        ("syntax error, unexpected CF_SYM_UNDEFINED", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_bgp_state(text).ok(), want, "{text:?}");
    }
}

fn sample_config() -> BgpConfig {
    BgpConfig::new(4_200_000_001, Ipv4Addr::new(192, 0, 2, 1))
        .neighbor(
            Neighbor::new(ip("192.0.2.2"), 65002)
                .named("tor")
                .source(ip("192.0.2.1"))
                .hold_time(6)
                .password("s3cret")
                .ipv6()
                .ipv6_next_hop("2001:db8::1".parse().unwrap())
                .graceful_restart(30)
                .bfd(),
        )
        .neighbor(
            Neighbor::new(ip("198.18.0.2"), 4_200_000_001)
                .passive()
                .local_as(4_200_000_001),
        )
        .neighbor(Neighbor::new(ip("10.9.9.9"), 65003).multihop(3))
        .announce(
            Announcement::new(net("198.51.100.0/24"))
                .community(65000, 1)
                .large_community(4_200_000_000, 1, 2)
                .local_pref(300)
                .med(50),
        )
        .announce(Announcement::new(net("2001:db8:100::/48")))
}

#[test]
fn config_renders_every_knob() {
    let text = render_config(&sample_config()).unwrap();
    let expected = [
        "router id 192.0.2.1;",
        "merge paths on;",
        "export where source = RTS_BGP;",
        "protocol bfd {",
        "protocol static announce_ipv4 {\n  ipv4 { preference 250; };\n  route 198.51.100.0/24 blackhole;",
        "filter export_ipv4 {\n  if source != RTS_STATIC then reject;\n  if net = 198.51.100.0/24 then { bgp_community.add((65000,1)); bgp_large_community.add((4200000000,1,2)); bgp_local_pref = 300; bgp_med = 50; }\n  accept;\n}",
        "route 2001:db8:100::/48 blackhole;",
        "filter export_ipv6 {\n  if source != RTS_STATIC then reject;\n  accept;\n}",
        "protocol bgp tor {",
        "local 192.0.2.1 as 4200000001;",
        "neighbor 192.0.2.2 as 65002;",
        "hold time 6;",
        "keepalive time 2;",
        "connect retry time 1;",
        "error wait time 1, 10;",
        "password \"s3cret\";",
        "graceful restart on;",
        "graceful restart time 30;",
        "bfd on;",
        "ipv4 { import all; export filter export_ipv4; };",
        "ipv6 { import all; export filter export_ipv6; next hop address 2001:db8::1; };",
        "protocol bgp peer_198_18_0_2 {",
        "passive on;",
        "direct;",
        "multihop 3;",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // The eBGP single-hop session needs no `direct` (it is BIRD's default there).
    let tor = text.split("protocol bgp tor {").nth(1).unwrap();
    let tor = tor.split('}').next().unwrap();
    assert!(!tor.contains("direct;"));
}

#[test]
fn config_switches_fib_and_multipath_off() {
    let text = render_config(&sample_config().fib_install(false).multipath(false)).unwrap();
    assert!(text.contains("export none;"));
    assert!(text.contains("merge paths off;"));
    assert!(!text.contains("RTS_BGP"));
}

#[test]
fn ipv6_routes_over_ipv4_need_a_next_hop() {
    let mut config = sample_config();
    config.neighbors[0].ipv6_next_hop = None;
    assert!(matches!(render_config(&config), Err(Error::Config(_))));
    config.announcements.retain(|a| a.prefix.addr().is_ipv4());
    assert!(render_config(&config).is_ok());
}

#[test]
fn advertise_choices_pick_the_export_clause() {
    let config = BgpConfig::new(65000, Ipv4Addr::new(198, 18, 0, 1))
        .neighbor(Neighbor::new(ip("198.18.0.2"), 65002).advertise(Advertise::Everything))
        .neighbor(Neighbor::new(ip("198.18.0.3"), 65003).advertise(Advertise::Nothing))
        .neighbor(Neighbor::new(ip("198.18.0.4"), 65004));
    let text = render_config(&config).unwrap();
    let protocol = |name: &str| {
        let body = text
            .split(&format!("protocol bgp {name} {{"))
            .nth(1)
            .unwrap();
        body.split("\n}").next().unwrap().to_owned()
    };
    let cases = [
        (
            "peer_198_18_0_2",
            "ipv4 { import all; export filter export_all_ipv4; };",
        ),
        ("peer_198_18_0_3", "ipv4 { import all; export none; };"),
        (
            "peer_198_18_0_4",
            "ipv4 { import all; export filter export_ipv4; };",
        ),
    ];
    for (name, line) in cases {
        assert!(
            protocol(name).contains(line),
            "{name}: missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains(
        "filter export_all_ipv4 {\n  if source = RTS_BGP then accept;\n  if source != RTS_STATIC then reject;\n  accept;\n}"
    ));
    // Without a neighbour that needs it, the learned-routes filter is left out.
    let usual = render_config(&sample_config()).unwrap();
    assert!(!usual.contains("export_all_"));
}
