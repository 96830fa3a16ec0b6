//! Table tests of the decision.
// Table rows are tuples; naming each row type would not make them clearer.
#![allow(clippy::type_complexity)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::{
    AddressBlock, BGPAdvertisementSpec, BGPPeerSpec, Community, L2AdvertisementSpec,
    LargeCommunity, ServiceReference,
};
use ipnet::IpNet;

use super::*;

const NODES: [&str; 3] = ["n1", "n2", "n3"];

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn node(name: &str) -> NodeInfo {
    NodeInfo {
        labels: labels(&[("kubernetes.io/hostname", name)]),
        ready: true,
        network_unavailable: false,
    }
}

fn named<T>(name: &str, spec: T) -> Named<T> {
    Named {
        name: name.into(),
        labels: labels(&[("tier", name)]),
        spec,
    }
}

fn peer(address: &str, my_asn: u32) -> BGPPeerSpec {
    serde_yaml::from_str(&format!(
        "{{myASN: {my_asn}, peerASN: 64512, peerAddress: \"{address}\"}}"
    ))
    .unwrap()
}

fn endpoint(node: &str, ready: bool, serving: bool) -> Endpoint {
    Endpoint {
        node: Some(node.into()),
        ready,
        serving,
    }
}

fn service(
    name: &str,
    ips: &[&str],
    policy: TrafficPolicy,
    endpoints: Vec<Endpoint>,
) -> ServiceInfo {
    ServiceInfo {
        id: ServiceReference {
            namespace: "default".into(),
            name: name.into(),
        },
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        traffic_policy: policy,
        labels: labels(&[("app", name)]),
        pool: None,
        endpoints,
    }
}

fn pool(name: &str, blocks: &[&str]) -> Pool {
    Pool {
        name: name.into(),
        labels: labels(&[("pool", name)]),
        blocks: blocks
            .iter()
            .map(|b| b.parse::<AddressBlock>().unwrap())
            .collect(),
    }
}

/// Three nodes, one pool each for IPv4 and IPv6, one peer, one
/// advertisement for everything; `svc` is the only Service.
fn state(node_name: &str, svc: ServiceInfo) -> ClusterState {
    ClusterState {
        node_name: node_name.into(),
        nodes: NODES.iter().map(|n| (n.to_string(), node(n))).collect(),
        services: vec![svc],
        pools: vec![
            pool("v4", &["192.0.2.0/24"]),
            pool("v6", &["2001:db8:1::/64"]),
        ],
        peers: vec![named("router", peer("198.18.0.254", 64512))],
        bgp_advertisements: vec![named("all", BGPAdvertisementSpec::default())],
        l2_advertisements: Vec::new(),
        alive_speakers: None,
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The prefixes the node sends to `peer`.
fn prefixes(d: &Decision, peer: &str) -> Vec<IpNet> {
    d.routes
        .get(peer)
        .map(|r| r.keys().copied().collect())
        .unwrap_or_default()
}

#[test]
fn traffic_policy_and_endpoints_decide_which_nodes_announce() {
    use TrafficPolicy::{Cluster, Local};
    let ip = ["192.0.2.10"];
    // (case, service, nodes expected to announce)
    let table: Vec<(&str, ServiceInfo, &[&str])> = vec![
        (
            "cluster, one endpoint",
            service("s", &ip, Cluster, vec![endpoint("n1", true, true)]),
            &NODES,
        ),
        (
            "cluster, no endpoints",
            service("s", &ip, Cluster, vec![]),
            &[],
        ),
        (
            "cluster, only unready endpoints",
            service("s", &ip, Cluster, vec![endpoint("n1", false, false)]),
            &[],
        ),
        (
            "local, endpoints on n1 and n3",
            service(
                "s",
                &ip,
                Local,
                vec![
                    endpoint("n1", true, true),
                    endpoint("n3", true, true),
                    endpoint("n2", false, false),
                ],
            ),
            &["n1", "n3"],
        ),
        ("local, no endpoints", service("s", &ip, Local, vec![]), &[]),
        (
            "local, terminating but serving, none ready",
            service("s", &ip, Local, vec![endpoint("n2", false, true)]),
            &["n2"],
        ),
        (
            "local, ready on n1 beats terminating on n2",
            service(
                "s",
                &ip,
                Local,
                vec![endpoint("n1", true, true), endpoint("n2", false, true)],
            ),
            &["n1"],
        ),
        (
            "no addresses",
            service("s", &[], Cluster, vec![endpoint("n1", true, true)]),
            &[],
        ),
        (
            "address outside every pool",
            service(
                "s",
                &["203.0.113.1"],
                Cluster,
                vec![endpoint("n1", true, true)],
            ),
            &[],
        ),
    ];
    for (case, svc, want) in table {
        let got: Vec<&str> = NODES
            .iter()
            .copied()
            .filter(|n| !prefixes(&decide(&state(n, svc.clone())), "router").is_empty())
            .collect();
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn unusable_nodes_do_not_announce() {
    let svc = service(
        "s",
        &["192.0.2.10"],
        TrafficPolicy::Cluster,
        vec![endpoint("n1", true, true)],
    );
    let table: Vec<(&str, fn(&mut NodeInfo), bool)> = vec![
        ("healthy", |_| {}, true),
        ("not ready", |n| n.ready = false, false),
        (
            "network unavailable",
            |n| n.network_unavailable = true,
            false,
        ),
        (
            "excluded by label",
            |n| {
                n.labels.insert(EXCLUDE_FROM_LB_LABEL.into(), String::new());
            },
            false,
        ),
    ];
    for (case, spoil, announces) in table {
        let mut st = state("n1", svc.clone());
        spoil(st.nodes.get_mut("n1").unwrap());
        let d = decide(&st);
        assert_eq!(!prefixes(&d, "router").is_empty(), announces, "{case}");
        assert_eq!(d.services.contains_key(&svc.id), announces, "{case}");
    }
    // A node the API server does not know announces nothing.
    assert_eq!(decide(&state("n9", svc)), Decision::default());
}

#[test]
fn advertisement_attributes_aggregation_and_families() {
    let ibgp = 64512;
    let ebgp = 64513;
    let svc = service(
        "web",
        &["192.0.2.77", "2001:db8:1::77"],
        TrafficPolicy::Cluster,
        vec![endpoint("n2", true, true)],
    );
    // (case, advertisement yaml, my ASN, dual stack, want routes to "router")
    let table: &[(
        &str,
        &str,
        u32,
        bool,
        &[(&str, Option<u32>, &[u32], &[(u32, u32, u32)])],
    )] = &[
        (
            "defaults: host routes, own family only",
            "{}",
            ibgp,
            false,
            &[("192.0.2.77/32", None, &[], &[])],
        ),
        (
            "dual stack carries IPv6 too",
            "{}",
            ibgp,
            true,
            &[
                ("192.0.2.77/32", None, &[], &[]),
                ("2001:db8:1::77/128", None, &[], &[]),
            ],
        ),
        (
            "aggregation",
            "{aggregationLength: 24, aggregationLengthV6: 64}",
            ibgp,
            true,
            &[
                ("192.0.2.0/24", None, &[], &[]),
                ("2001:db8:1::/64", None, &[], &[]),
            ],
        ),
        (
            "local pref and communities on iBGP",
            "{localPref: 250, communities: [\"65000:100\", no-export, \"large:64512:1:2\"]}",
            ibgp,
            false,
            &[(
                "192.0.2.77/32",
                Some(250),
                &[0xFDE8_0064, 0xFFFF_FF01],
                &[(64512, 1, 2)],
            )],
        ),
        (
            "no local pref towards eBGP",
            "{localPref: 250, communities: [\"65000:100\"]}",
            ebgp,
            false,
            &[("192.0.2.77/32", None, &[0xFDE8_0064], &[])],
        ),
        ("other peer only", "{peers: [elsewhere]}", ibgp, false, &[]),
        (
            "this peer by name",
            "{peers: [router]}",
            ibgp,
            false,
            &[("192.0.2.77/32", None, &[], &[])],
        ),
        (
            "pool by name",
            "{ipAddressPools: [v4]}",
            ibgp,
            true,
            &[("192.0.2.77/32", None, &[], &[])],
        ),
        (
            "pool by label",
            "{ipAddressPoolSelectors: [{matchLabels: {pool: v6}}]}",
            ibgp,
            true,
            &[("2001:db8:1::77/128", None, &[], &[])],
        ),
        ("other pool", "{ipAddressPools: [nope]}", ibgp, true, &[]),
        (
            "service selector matches",
            "{serviceSelectors: [{matchLabels: {app: web}}]}",
            ibgp,
            false,
            &[("192.0.2.77/32", None, &[], &[])],
        ),
        (
            "service selector misses",
            "{serviceSelectors: [{matchLabels: {app: db}}]}",
            ibgp,
            false,
            &[],
        ),
        (
            "node selector matches",
            "{nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n1}}]}",
            ibgp,
            false,
            &[("192.0.2.77/32", None, &[], &[])],
        ),
        (
            "node selector misses",
            "{nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n3}}]}",
            ibgp,
            false,
            &[],
        ),
        (
            "invalid community skips the advertisement",
            "{communities: [\"x:y\"]}",
            ibgp,
            false,
            &[],
        ),
        (
            "aggregation too long",
            "{aggregationLength: 40}",
            ibgp,
            false,
            &[],
        ),
    ];
    for (case, adv, my_asn, dual, want) in table {
        let mut st = state("n1", svc.clone());
        st.bgp_advertisements = vec![named("adv", serde_yaml::from_str(adv).unwrap())];
        st.peers[0].spec = BGPPeerSpec {
            dual_stack_address_family: *dual,
            ..peer("198.18.0.254", *my_asn)
        };
        let d = decide(&st);
        let want: BTreeMap<IpNet, RouteAttributes> = want
            .iter()
            .map(|(prefix, lp, comms, large)| {
                let attrs = RouteAttributes {
                    local_pref: *lp,
                    communities: comms.iter().map(|c| Community(*c)).collect(),
                    large_communities: large
                        .iter()
                        .map(|(g, a, b)| LargeCommunity {
                            global_admin: *g,
                            local_data1: *a,
                            local_data2: *b,
                        })
                        .collect(),
                };
                (net(prefix), attrs)
            })
            .collect();
        assert_eq!(
            d.routes.get("router").cloned().unwrap_or_default(),
            want,
            "{case}"
        );
        let problems = case.contains("invalid") || case.contains("too long");
        assert_eq!(!d.problems.is_empty(), problems, "{case}: {:?}", d.problems);
    }
}

#[test]
fn sessions_follow_peer_node_selectors() {
    let mut st = state("n2", service("s", &[], TrafficPolicy::Cluster, vec![]));
    st.peers = vec![
        named("everyone", peer("198.18.0.254", 64512)),
        named(
            "n2-only",
            BGPPeerSpec {
                node_selectors: serde_yaml::from_str(
                    "[{matchLabels: {kubernetes.io/hostname: n2}}]",
                )
                .unwrap(),
                ..peer("198.18.0.253", 64512)
            },
        ),
        named(
            "n3-only",
            BGPPeerSpec {
                node_selectors: serde_yaml::from_str(
                    "[{matchLabels: {kubernetes.io/hostname: n3}}]",
                )
                .unwrap(),
                ..peer("198.18.0.252", 64512)
            },
        ),
        named("broken", peer("not-an-ip", 64512)),
    ];
    let d = decide(&st);
    assert_eq!(d.peers.keys().collect::<Vec<_>>(), ["everyone", "n2-only"]);
    assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
}

#[test]
fn merged_advertisements_and_service_summary() {
    let svc = service(
        "web",
        &["192.0.2.77"],
        TrafficPolicy::Cluster,
        vec![endpoint("n1", true, true)],
    );
    let mut st = state("n1", svc.clone());
    st.bgp_advertisements = vec![
        named(
            "a",
            serde_yaml::from_str("{localPref: 100, communities: [\"65000:1\"]}").unwrap(),
        ),
        named(
            "b",
            serde_yaml::from_str("{localPref: 200, communities: [\"65000:2\"]}").unwrap(),
        ),
    ];
    let d = decide(&st);
    let attrs = &d.routes["router"][&net("192.0.2.77/32")];
    assert_eq!(attrs.local_pref, Some(200));
    assert_eq!(attrs.communities.len(), 2);
    let summary = &d.services[&svc.id];
    assert_eq!(summary.l2, None);
    let bgp = summary.bgp.as_ref().unwrap();
    assert_eq!(
        bgp.ips,
        BTreeSet::from(["192.0.2.77".parse::<IpAddr>().unwrap()])
    );
    assert_eq!(bgp.peers, BTreeSet::from(["router".to_string()]));
}

fn l2_state(node_name: &str, services: Vec<ServiceInfo>, adv: &str) -> ClusterState {
    let mut st = state(
        node_name,
        service("unused", &[], TrafficPolicy::Cluster, vec![]),
    );
    st.services = services;
    st.bgp_advertisements.clear();
    st.l2_advertisements = vec![named(
        "l2",
        serde_yaml::from_str::<L2AdvertisementSpec>(adv).unwrap(),
    )];
    st
}

/// Which node owns each address of `services`, from each node's own decision.
fn owners(
    services: &[ServiceInfo],
    adv: &str,
    alive: Option<&[&str]>,
) -> BTreeMap<IpAddr, Vec<String>> {
    let mut owners: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
    for n in NODES {
        let mut st = l2_state(n, services.to_vec(), adv);
        st.alive_speakers = alive.map(|a| a.iter().map(|s| s.to_string()).collect());
        for ip in decide(&st).l2.keys() {
            owners.entry(*ip).or_default().push(n.to_string());
        }
    }
    owners
}

#[test]
fn l2_exactly_one_owner_per_address_spread_evenly() {
    let ips: Vec<String> = (1..=20).map(|i| format!("192.0.2.{i}")).collect();
    let services: Vec<ServiceInfo> = ips
        .iter()
        .map(|ip| {
            service(
                ip,
                &[ip.as_str()],
                TrafficPolicy::Cluster,
                vec![endpoint("n1", true, true)],
            )
        })
        .collect();
    let owners = owners(&services, "{}", None);
    assert_eq!(owners.len(), 20);
    assert!(owners.values().all(|o| o.len() == 1), "{owners:?}");
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for o in owners.values() {
        *per_node.entry(o[0].as_str()).or_default() += 1;
    }
    assert_eq!(per_node.len(), 3, "{per_node:?}");
    assert!(per_node.values().all(|&n| n <= 9), "{per_node:?}");
}

#[test]
fn l2_owner_candidates() {
    use TrafficPolicy::{Cluster, Local};
    let ip: IpAddr = "192.0.2.5".parse().unwrap();
    // (case, service, advertisement, alive speakers, allowed owners; empty: none)
    let table: Vec<(&str, ServiceInfo, &str, Option<&[&str]>, &[&str])> = vec![
        (
            "cluster: any node",
            service(
                "s",
                &["192.0.2.5"],
                Cluster,
                vec![endpoint("n1", true, true)],
            ),
            "{}",
            None,
            &NODES,
        ),
        (
            "local: only the endpoint's node",
            service("s", &["192.0.2.5"], Local, vec![endpoint("n3", true, true)]),
            "{}",
            None,
            &["n3"],
        ),
        (
            "no endpoints: nobody",
            service("s", &["192.0.2.5"], Cluster, vec![]),
            "{}",
            None,
            &[],
        ),
        (
            "only alive speakers",
            service(
                "s",
                &["192.0.2.5"],
                Cluster,
                vec![endpoint("n1", true, true)],
            ),
            "{}",
            Some(&["n2"]),
            &["n2"],
        ),
        (
            "local endpoint node is dead: nobody",
            service("s", &["192.0.2.5"], Local, vec![endpoint("n3", true, true)]),
            "{}",
            Some(&["n1", "n2"]),
            &[],
        ),
        (
            "node selector",
            service(
                "s",
                &["192.0.2.5"],
                Cluster,
                vec![endpoint("n1", true, true)],
            ),
            "{nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n1}}]}",
            None,
            &["n1"],
        ),
        (
            "other pool",
            service(
                "s",
                &["192.0.2.5"],
                Cluster,
                vec![endpoint("n1", true, true)],
            ),
            "{ipAddressPools: [v6]}",
            None,
            &[],
        ),
    ];
    for (case, svc, adv, alive, allowed) in table {
        let owners = owners(&[svc], adv, alive);
        match owners.get(&ip) {
            None => assert!(allowed.is_empty(), "{case}: no owner"),
            Some(o) => {
                assert_eq!(o.len(), 1, "{case}: {o:?}");
                assert!(allowed.contains(&o[0].as_str()), "{case}: {o:?}");
            }
        }
    }
}

#[test]
fn l2_interfaces_from_advertisements() {
    let svc = service(
        "s",
        &["192.0.2.5"],
        TrafficPolicy::Local,
        vec![endpoint("n1", true, true)],
    );
    let ip: IpAddr = "192.0.2.5".parse().unwrap();
    let mut st = l2_state("n1", vec![svc.clone()], "{interfaces: [eth0]}");
    let names = |v: &[&str]| InterfaceSelection::Named(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(decide(&st).l2.get(&ip), Some(&names(&["eth0"])));
    st.l2_advertisements.push(named(
        "l2b",
        serde_yaml::from_str("{interfaces: [eth1]}").unwrap(),
    ));
    assert_eq!(decide(&st).l2.get(&ip), Some(&names(&["eth0", "eth1"])));
    st.l2_advertisements
        .push(named("l2c", L2AdvertisementSpec::default()));
    let d = decide(&st);
    assert_eq!(d.l2.get(&ip), Some(&InterfaceSelection::All));
    assert_eq!(
        d.services[&svc.id].l2.as_ref().unwrap().ips,
        BTreeSet::from([ip])
    );
}
