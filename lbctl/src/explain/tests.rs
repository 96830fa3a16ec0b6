//! Table tests: one healthy Service, then the same Service broken in each
//! way `explain` knows, with the verdict expected of each check.

use super::checks::run;
use super::facts::{EndpointFacts, ExplainFacts, NeighborFacts, NeighborOutcome, SessionFacts};
use super::verdict::Verdict;
use crate::facts::{AnnouncementFacts, EventFacts, NodeFacts, ServiceFacts};
use crate::router_api::{FibPath, FibRouteView, PeerView, PrefixCounts, RouteView, RouterReport};
use ferrolb_api::ClusterObjects;

fn objects(yaml: &str) -> ClusterObjects {
    ClusterObjects::from_yaml_str(yaml).unwrap()
}

const CONFIG: &str = r#"
apiVersion: ferrolb.io/v1alpha1
kind: IPAddressPool
metadata: {name: public}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: ferrolb.io/v1alpha1
kind: IPAddressPool
metadata: {name: reserved}
spec: {addresses: [198.51.100.0/28], autoAssign: false}
---
apiVersion: ferrolb.io/v1alpha1
kind: BGPAdvertisement
metadata: {name: all}
"#;

fn route(installed: bool) -> RouteView {
    RouteView {
        prefix: "192.0.2.1/32".parse().unwrap(),
        next_hops: vec!["10.0.0.11".parse().unwrap()],
        accepted: true,
        reject_reason: None,
        installed,
        installed_next_hops: if installed {
            vec!["10.0.0.11".parse().unwrap()]
        } else {
            vec![]
        },
        unusable_next_hops: vec![],
        nexthop_group: Some(1),
    }
}

fn router(established: bool, routes: Vec<RouteView>) -> RouterReport {
    RouterReport {
        name: "r1".into(),
        peers: Ok(vec![PeerView {
            address: "10.0.0.11".parse().unwrap(),
            asn: Some(64512),
            state: if established { "Established" } else { "Active" }.into(),
            established,
            uptime_seconds: established.then_some(60),
            dynamic: true,
            last_down: None,
            prefixes: PrefixCounts::default(),
            bfd: None,
        }]),
        fib: Ok(routes
            .iter()
            .filter(|r| r.installed)
            .map(|r| FibRouteView {
                prefix: r.prefix,
                metric: 0,
                nhid: r.nexthop_group,
                next_hops: vec![FibPath {
                    gateway: "10.0.0.11".parse().unwrap(),
                    ifindex: 2,
                    dev: Some("eth0".into()),
                }],
            })
            .collect()),
        routes: Ok(routes),
    }
}

/// A Service that works end to end over BGP.
fn healthy() -> ExplainFacts {
    ExplainFacts {
        service: ServiceFacts {
            namespace: "web".into(),
            name: "front".into(),
            type_: "LoadBalancer".into(),
            ingress: vec!["192.0.2.1".parse().unwrap()],
            annotations: [(
                "ferrolb.io/ip-allocated-from-pool".to_owned(),
                "public".to_owned(),
            )]
            .into(),
            external_traffic_policy: "Cluster".into(),
            ..ServiceFacts::default()
        },
        objects: objects(CONFIG),
        events: vec![EventFacts {
            kind: "Service".into(),
            reason: "IPAllocated".into(),
            ..EventFacts::default()
        }],
        endpoints: vec![EndpointFacts {
            address: "10.244.0.5".into(),
            node: Some("node-a".into()),
            ready: true,
        }],
        nodes: [("node-a".to_owned(), node("10.0.0.11"))].into(),
        announcements: vec![AnnouncementFacts {
            node: "node-a".into(),
            service: "web/front".into(),
            protocol: "bgp".into(),
            ips: vec!["192.0.2.1".into()],
            peers: vec!["r1".into()],
            interfaces: vec![],
        }],
        sessions: vec![SessionFacts {
            node: "node-a".into(),
            peer: "r1".into(),
            address: "10.0.0.1".into(),
            state: "Established".into(),
            last_error: None,
        }],
        routers: vec![router(true, vec![route(true)])],
        ferrolb_namespace: "ferrolb-system".into(),
        ..ExplainFacts::default()
    }
}

fn node(address: &str) -> NodeFacts {
    NodeFacts {
        addresses: vec![address.parse().unwrap()],
        ..NodeFacts::default()
    }
}

fn unallocated(f: &mut ExplainFacts) {
    f.service.ingress.clear();
    f.service.annotations.clear();
}

type Breakage = fn(&mut ExplainFacts);

#[test]
fn each_breakage_fails_at_its_check() {
    let table: &[(&str, Breakage, &str, &str)] = &[
        (
            "not a LoadBalancer",
            |f| f.service.type_ = "ClusterIP".into(),
            "type",
            "not LoadBalancer",
        ),
        (
            "another class",
            |f| f.service.class = Some("other.io/lb".into()),
            "class",
            "\"other.io/lb\"",
        ),
        (
            "class expected",
            |f| f.expected_class = Some("ferrolb.io/lb".into()),
            "class",
            "handles class \"ferrolb.io/lb\"",
        ),
        (
            "unknown pool",
            |f| {
                unallocated(f);
                f.service
                    .annotations
                    .insert("ferrolb.io/address-pool".into(), "gold".into());
            },
            "annotations",
            "pool \"gold\", which does not exist",
        ),
        (
            "bad annotation",
            |f| {
                f.service.annotations.insert(
                    "metallb.universe.tf/loadBalancerIPs".into(),
                    "banana".into(),
                );
            },
            "annotations",
            "\"banana\" is not an IP address",
        ),
        (
            "no pool matches",
            |f| {
                unallocated(f);
                f.objects = objects(&CONFIG.replace(
                    "spec: {addresses: [192.0.2.0/28]}",
                    "spec: {addresses: [192.0.2.0/28], serviceAllocation: {namespaces: [db]}}",
                ));
            },
            "pool",
            "public serves other namespaces; reserved is not auto-assign",
        ),
        (
            "allocation failed",
            |f| {
                unallocated(f);
                f.events.push(EventFacts {
                    kind: "Service".into(),
                    reason: "AllocationFailed".into(),
                    note: "pool public has no free IPv4 address".into(),
                    ..EventFacts::default()
                });
            },
            "allocation",
            "AllocationFailed: pool public has no free IPv4 address",
        ),
        (
            "controller silent",
            |f| {
                unallocated(f);
                f.events.clear();
            },
            "allocation",
            "no Event",
        ),
        (
            "no endpoints",
            |f| f.endpoints.clear(),
            "endpoints",
            "no ready endpoints",
        ),
        (
            "no advertisement",
            |f| f.objects.bgp_advertisements.clear(),
            "advertisement",
            "no BGPAdvertisement or L2Advertisement announces pool public",
        ),
        (
            "no speaker",
            |f| {
                f.announcements.clear();
                f.events.push(EventFacts {
                    kind: "Service".into(),
                    reason: "AnnouncingFromNode".into(),
                    note: "announcing 192.0.2.1 from node node-a over BGP".into(),
                    ..EventFacts::default()
                });
            },
            "speakers",
            "no speaker announces it over BGP (expected: node-a); the last AnnouncingFromNode \
             Event said \"announcing 192.0.2.1 from node node-a over BGP\"",
        ),
        (
            "speaker session down",
            |f| {
                f.sessions[0].state = "Active".into();
                f.sessions[0].last_error = Some("connection refused".into());
            },
            "bgp sessions",
            "node-a to r1 (10.0.0.1) is Active: connection refused",
        ),
        (
            "router session down",
            |f| f.routers = vec![router(false, vec![])],
            "router r1 sessions",
            "no session with an announcing node: node-a (10.0.0.11) is Active",
        ),
        (
            "route missing",
            |f| f.routers = vec![router(true, vec![])],
            "router r1 route",
            "no route to 192.0.2.1",
        ),
        (
            "route not installed",
            |f| f.routers = vec![router(true, vec![route(false)])],
            "router r1 route",
            "not installed",
        ),
        (
            "route not in the FIB",
            |f| {
                if let Ok(fib) = &mut f.routers[0].fib {
                    fib.clear();
                }
            },
            "router r1 fib",
            "the kernel has no FerroLB route",
        ),
    ];
    let ok = run(&healthy());
    assert!(ok.iter().all(|c| c.verdict == Verdict::Ok), "{ok:#?}");
    assert_eq!(
        ok.last().unwrap().reason,
        "kernel: 192.0.2.1/32 via 10.0.0.11 dev eth0"
    );
    for (case, breakage, check, reason) in table {
        let mut f = healthy();
        breakage(&mut f);
        let checks = run(&f);
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .collect();
        let first = failed
            .first()
            .unwrap_or_else(|| panic!("{case}: nothing failed: {checks:#?}"));
        assert_eq!(first.check, *check, "{case}: {checks:#?}");
        assert!(
            first.reason.contains(reason),
            "{case}: {:?} lacks {reason:?}",
            first.reason
        );
        assert!(first.hint.is_some(), "{case}: no hint");
    }
}

/// A second node, node-b (10.0.0.12), that announces the Service too.
fn second_announcer(f: &mut ExplainFacts) {
    f.nodes.insert("node-b".into(), node("10.0.0.12"));
    let mut a = f.announcements[0].clone();
    a.node = "node-b".into();
    f.announcements.push(a);
}

#[test]
fn partial_problems_warn() {
    /// (case, breakage, the checks that warn: (check, words of its reason))
    type Case<'a> = (&'a str, Breakage, &'a [(&'a str, &'a str)]);
    let table: &[Case] = &[
        (
            "one node of two announces",
            |f| {
                f.nodes.insert("node-b".into(), Default::default());
            },
            &[("speakers", "announced by node-a; not by node-b")],
        ),
        (
            "some endpoints not ready",
            |f| {
                f.endpoints.push(EndpointFacts {
                    address: "10.244.1.5".into(),
                    node: Some("node-b".into()),
                    ready: false,
                })
            },
            &[("endpoints", "1 ready on node-a; 1 not ready")],
        ),
        (
            "a second announcer the router does not hear",
            second_announcer,
            &[
                (
                    "router r1 sessions",
                    "Established with node-a (10.0.0.11); node-b (10.0.0.12) has no session",
                ),
                ("router r1 route", "but not via announcing node(s) node-b"),
            ],
        ),
    ];
    for (case, breakage, want) in table {
        let mut f = healthy();
        breakage(&mut f);
        let checks = run(&f);
        let warned: Vec<_> = checks.iter().filter(|c| c.verdict != Verdict::Ok).collect();
        assert_eq!(warned.len(), want.len(), "{case}: {checks:#?}");
        for (got, (check, reason)) in warned.iter().zip(want.iter()) {
            assert_eq!(
                (got.check.as_str(), got.verdict),
                (*check, Verdict::Warn),
                "{case}"
            );
            assert!(
                got.reason.contains(reason),
                "{case}: {:?} lacks {reason:?}",
                got.reason
            );
        }
    }
}

#[test]
fn routers_match_sessions_and_next_hops_to_announcing_nodes() {
    let mut f = healthy();
    second_announcer(&mut f);
    let mut both = route(true);
    both.next_hops.push("10.0.0.12".parse().unwrap());
    both.installed_next_hops.push("10.0.0.12".parse().unwrap());
    let mut r = router(true, vec![both]);
    if let Ok(peers) = &mut r.peers {
        let mut b = peers[0].clone();
        b.address = "10.0.0.12".parse().unwrap();
        peers.push(b);
    }
    f.routers = vec![r];
    let checks = run(&f);
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Ok),
        "{checks:#?}"
    );
    let sessions = checks
        .iter()
        .find(|c| c.check == "router r1 sessions")
        .unwrap();
    assert_eq!(
        sessions.reason,
        "Established with node-a (10.0.0.11), node-b (10.0.0.12)"
    );
}

#[test]
fn local_traffic_policy_expects_only_nodes_with_endpoints() {
    let mut f = healthy();
    f.nodes.insert("node-b".into(), Default::default());
    f.service.external_traffic_policy = "Local".into();
    assert!(run(&f).iter().all(|c| c.verdict == Verdict::Ok));
}

#[test]
fn l2_reports_the_owner() {
    let mut f = healthy();
    f.objects = objects(&CONFIG.replace("kind: BGPAdvertisement", "kind: L2Advertisement"));
    f.announcements[0].protocol = "l2".into();
    f.announcements[0].interfaces = vec!["eth0".into()];
    let checks = run(&f);
    let owner = checks.iter().find(|c| c.check == "l2 owner").unwrap();
    assert_eq!(owner.verdict, Verdict::Ok);
    assert!(
        owner
            .reason
            .starts_with("node node-a owns it and answers ARP/NDP on eth0"),
        "{}",
        owner.reason
    );
    assert!(!checks.iter().any(|c| c.check.starts_with("router")));
    // Local traffic policy: the owner must run an endpoint.
    f.service.external_traffic_policy = "Local".into();
    let owner = |f: &ExplainFacts| run(f).into_iter().find(|c| c.check == "l2 owner").unwrap();
    assert_eq!(owner(&f).verdict, Verdict::Ok);
    f.endpoints[0].node = Some("node-b".into());
    let check = owner(&f);
    assert_eq!(check.verdict, Verdict::Fail);
    assert!(check.reason.contains("runs no ready endpoint"), "{check:?}");
    f.announcements.clear();
    assert_eq!(owner(&f).verdict, Verdict::Fail);
}

#[test]
fn without_routers_route_checks_are_skipped() {
    let mut f = healthy();
    f.routers.clear();
    let last = run(&f).pop().unwrap();
    assert_eq!(
        (last.check.as_str(), last.verdict),
        ("routers", Verdict::Skip)
    );
}

/// The healthy Service announced over L2 by node-a, and what asking the
/// segment found: MACs answering for the Service address, and for node-a
/// (`0a`) and node-b (`0b`)'s own addresses.
fn l2_asked(outcome: NeighborOutcome) -> ExplainFacts {
    let mut f = healthy();
    f.objects = objects(&CONFIG.replace("kind: BGPAdvertisement", "kind: L2Advertisement"));
    f.announcements[0].protocol = "l2".into();
    f.nodes.insert("node-b".into(), node("10.0.0.12"));
    f.neighbors = vec![NeighborFacts {
        address: "192.0.2.1".parse().unwrap(),
        outcome,
    }];
    f
}

fn mac(last: u8) -> ferrolb_l2::MacAddr {
    ferrolb_l2::MacAddr([2, 0, 0, 0, 0, last])
}

fn asked(answering: &[u8], node_a: &[u8], node_b: &[u8]) -> NeighborOutcome {
    let set = |m: &[u8]| m.iter().map(|&l| mac(l)).collect();
    let mut node_macs = std::collections::BTreeMap::new();
    for (node, macs) in [("node-a", node_a), ("node-b", node_b)] {
        if !macs.is_empty() {
            node_macs.insert(node.to_owned(), set(macs));
        }
    }
    NeighborOutcome::Asked {
        interface: "eth1".into(),
        waited: std::time::Duration::from_secs(1),
        macs: set(answering),
        node_macs,
    }
}

#[test]
fn l2_answers_name_who_answers() {
    let table: Vec<(&str, NeighborOutcome, Verdict, &str)> = vec![
        (
            "the owner answers",
            asked(&[0x0a], &[0x0a], &[0x0b]),
            Verdict::Ok,
            "02:00:00:00:00:0a (node node-a) answered on eth1: the owner's MAC",
        ),
        (
            "owner's MAC unknown",
            asked(&[0x0a], &[], &[0x0b]),
            Verdict::Ok,
            "02:00:00:00:00:0a answered on eth1 (node node-a's own MAC is not known here",
        ),
        (
            "another node answers",
            asked(&[0x0b], &[0x0a], &[0x0b]),
            Verdict::Fail,
            "02:00:00:00:00:0b (node node-b) answered on eth1, but node node-a owns the address",
        ),
        (
            "a stranger answers",
            asked(&[0x0c], &[0x0a], &[0x0b]),
            Verdict::Warn,
            "02:00:00:00:00:0c answered on eth1, not node node-a's MAC (02:00:00:00:00:0a)",
        ),
        (
            "nobody answers",
            asked(&[], &[0x0a], &[0x0b]),
            Verdict::Fail,
            "nobody answered an ARP request for 192.0.2.1 on eth1 within 1s",
        ),
        (
            "two answer",
            asked(&[0x0a, 0x0c], &[0x0a], &[]),
            Verdict::Fail,
            "2 hosts answer for 192.0.2.1 on eth1: 02:00:00:00:00:0a (node node-a), 02:00:00:00:00:0c",
        ),
        (
            "cannot ask",
            NeighborOutcome::Failed {
                interface: "eth1".into(),
                error: "Operation not permitted".into(),
            },
            Verdict::Warn,
            "cannot send an ARP request on eth1: Operation not permitted",
        ),
        (
            "not on the segment",
            NeighborOutcome::NotAsked("no interface of this host is on it".into()),
            Verdict::Skip,
            "not asked: no interface of this host is on it",
        ),
    ];
    for (name, outcome, verdict, reason) in table {
        let checks = run(&l2_asked(outcome));
        let check = checks
            .iter()
            .find(|c| c.check == "arp 192.0.2.1")
            .unwrap_or_else(|| panic!("{name}: no arp check in {checks:?}"));
        assert_eq!(check.verdict, verdict, "{name}: {check:?}");
        assert!(check.reason.starts_with(reason), "{name}: {}", check.reason);
    }
    // Two speakers claiming the address: whoever answers, that is a warning.
    let mut f = l2_asked(asked(&[0x0a], &[0x0a], &[0x0b]));
    let mut second = f.announcements[0].clone();
    second.node = "node-b".into();
    f.announcements.push(second);
    let check = run(&f)
        .into_iter()
        .find(|c| c.check == "arp 192.0.2.1")
        .unwrap();
    assert_eq!(check.verdict, Verdict::Warn, "{check:?}");
}
