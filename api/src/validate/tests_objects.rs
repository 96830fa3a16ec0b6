//! Table tests for the cluster-object rules: for every rule at least one
//! passing and one failing case, asserting object, field and reason.

use super::{validate_objects, ClusterObjects, ObjectKind, ValidationError};
use ObjectKind::{
    BFDProfile as Bfd, BGPAdvertisement as BgpAdv, BGPPeer as Peer, IPAddressPool as Pool,
    L2Advertisement as L2,
};

/// One manifest document with an inline (flow-style) spec.
fn doc(kind: &str, name: &str, spec: &str) -> String {
    format!("---\napiVersion: ferrolb.io/v1alpha1\nkind: {kind}\nmetadata: {{name: \"{name}\"}}\nspec: {spec}\n")
}

fn pool(name: &str, addresses: &str) -> String {
    doc(
        "IPAddressPool",
        name,
        &format!("{{addresses: {addresses}}}"),
    )
}

fn peer(name: &str, spec: &str) -> String {
    doc("BGPPeer", name, spec)
}

fn ebgp_peer(name: &str, extra: &str) -> String {
    peer(
        name,
        &format!("{{myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1{extra}}}"),
    )
}

type Want = (ObjectKind, &'static str, &'static str, &'static str);

struct Case {
    name: &'static str,
    yaml: String,
    want: Vec<Want>,
}

fn case(name: &'static str, docs: &[String], want: &[Want]) -> Case {
    Case {
        name,
        yaml: docs.concat(),
        want: want.to_vec(),
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let objects = ClusterObjects::from_yaml_str(&c.yaml)
            .unwrap_or_else(|e| panic!("case {:?}: manifest does not parse: {e}", c.name));
        let got = validate_objects(&objects);
        let want: Vec<ValidationError> = c
            .want
            .iter()
            .map(|(kind, name, field, reason)| ValidationError {
                kind: *kind,
                name: name.to_string(),
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
fn display_names_object_field_and_reason() {
    let e = ValidationError {
        kind: Pool,
        name: "public".into(),
        field: "spec.addresses[1]".into(),
        reason: "range start 10.0.0.9 is after end 10.0.0.1".into(),
    };
    assert_eq!(
        e.to_string(),
        "IPAddressPool \"public\": spec.addresses[1]: range start 10.0.0.9 is after end 10.0.0.1"
    );
}

#[test]
fn pool_addresses() {
    run(vec![
        case(
            "CIDRs and ranges of both families",
            &[pool("public", "[192.0.2.0/24, 198.51.100.10-198.51.100.20, 2001:db8::/120, 2001:db8:1::1-2001:db8:1::9]")],
            &[],
        ),
        case(
            "range start after end",
            &[pool("public", "[192.0.2.0/24, 10.0.0.9-10.0.0.1]")],
            &[(Pool, "public", "spec.addresses[1]", "range start 10.0.0.9 is after end 10.0.0.1")],
        ),
        case(
            "range across families",
            &[pool("public", "[10.0.0.1-2001:db8::1]")],
            &[(Pool, "public", "spec.addresses[0]", "range start 10.0.0.1 and end 2001:db8::1 are of different address families")],
        ),
        case(
            "invalid CIDR",
            &[pool("public", "[10.0.0.0/40]")],
            &[(Pool, "public", "spec.addresses[0]", "invalid CIDR \"10.0.0.0/40\"")],
        ),
        case(
            "host bits",
            &[pool("public", "[192.0.2.7/24]")],
            &[(Pool, "public", "spec.addresses[0]", "192.0.2.7/24 has host bits set (the network is 192.0.2.0/24)")],
        ),
        case(
            "bare address",
            &[pool("public", "[192.0.2.7]")],
            &[(Pool, "public", "spec.addresses[0]", "192.0.2.7 is a single address; write it as 192.0.2.7/32")],
        ),
        case(
            "no addresses",
            &[pool("public", "[]")],
            &[(Pool, "public", "spec.addresses", "at least one address block is required")],
        ),
    ]);
}

#[test]
fn pool_overlaps() {
    run(vec![
        case(
            "adjacent blocks and pools",
            &[
                pool("a", "[192.0.2.0/25, 192.0.2.128-192.0.2.200]"),
                pool("b", "[192.0.2.201-192.0.2.255, 0.0.0.0/1]"),
                pool("c", "[\"::/1\"]"),
            ],
            &[],
        ),
        case(
            "overlap within a pool",
            &[pool("a", "[192.0.2.0/24, 192.0.2.10-192.0.2.20]")],
            &[(Pool, "a", "spec.addresses[1]", "192.0.2.10-192.0.2.20 overlaps 192.0.2.0/24 (spec.addresses[0])")],
        ),
        case(
            "overlap across pools names both",
            &[pool("a", "[192.0.2.0/24]"), pool("b", "[198.51.100.0/24, 192.0.2.128/25]")],
            &[(Pool, "b", "spec.addresses[1]", "192.0.2.128/25 overlaps 192.0.2.0/24 (spec.addresses[0] of IPAddressPool \"a\")")],
        ),
        case(
            "IPv6 overlap",
            &[pool("a", "[2001:db8::/64]"), pool("b", "[2001:db8::ff-2001:db8::1:0]")],
            &[(Pool, "b", "spec.addresses[0]", "2001:db8::ff-2001:db8::1:0 overlaps 2001:db8::/64 (spec.addresses[0] of IPAddressPool \"a\")")],
        ),
    ]);
}

#[test]
fn pool_service_allocation() {
    run(vec![
        case(
            "valid namespaces and selectors",
            &[doc("IPAddressPool", "a", "{addresses: [192.0.2.0/24], serviceAllocation: {priority: 1, namespaces: [web, kube-system], serviceSelectors: [{matchLabels: {tier: frontend}}]}}")],
            &[],
        ),
        case(
            "invalid namespace name",
            &[doc("IPAddressPool", "a", "{addresses: [192.0.2.0/24], serviceAllocation: {namespaces: [Web]}}")],
            &[(Pool, "a", "spec.serviceAllocation.namespaces[0]", "\"Web\" is not a valid namespace name")],
        ),
        case(
            "invalid selector operator",
            &[doc("IPAddressPool", "a", "{addresses: [192.0.2.0/24], serviceAllocation: {namespaceSelectors: [{matchExpressions: [{key: team, operator: Equals, values: [x]}]}]}}")],
            &[(Pool, "a", "spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].operator", "unknown operator \"Equals\" (expected In, NotIn, Exists or DoesNotExist)")],
        ),
    ]);
}

#[test]
fn object_names() {
    let in_ns = |ns: &str, name: &str| {
        format!("---\napiVersion: ferrolb.io/v1alpha1\nkind: IPAddressPool\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{addresses: [{}]}}\n",
            if ns == "one" { "192.0.2.0/25" } else { "192.0.2.128/25" })
    };
    run(vec![
        case(
            "same name in different namespaces",
            &[in_ns("one", "p"), in_ns("two", "p")],
            &[],
        ),
        case(
            "duplicate pool name",
            &[pool("p", "[192.0.2.0/25]"), pool("p", "[192.0.2.128/25]")],
            &[(
                Pool,
                "p",
                "metadata.name",
                "another IPAddressPool in the same namespace is also named \"p\"",
            )],
        ),
        case(
            "duplicate BFD profile name",
            &[
                doc("BFDProfile", "fast", "{}"),
                doc("BFDProfile", "fast", "{}"),
            ],
            &[(
                Bfd,
                "fast",
                "metadata.name",
                "another BFDProfile in the same namespace is also named \"fast\"",
            )],
        ),
        case(
            "missing name",
            &[doc("L2Advertisement", "", "{}")],
            &[(L2, "", "metadata.name", "name is required")],
        ),
    ]);
}

#[test]
fn peer_identity() {
    run(vec![
        case(
            "valid eBGP peer",
            &[ebgp_peer(
                "r1",
                ", sourceAddress: 192.0.2.100, routerID: 10.0.0.1, peerPort: 1179",
            )],
            &[],
        ),
        case(
            "myASN 0",
            &[peer(
                "r1",
                "{myASN: 0, peerASN: 64512, peerAddress: 192.0.2.1}",
            )],
            &[(
                Peer,
                "r1",
                "spec.myASN",
                "AS number 0 is reserved (RFC 7607)",
            )],
        ),
        case(
            "peerASN 0",
            &[peer(
                "r1",
                "{myASN: 64512, peerASN: 0, peerAddress: 192.0.2.1}",
            )],
            &[(
                Peer,
                "r1",
                "spec.peerASN",
                "AS number 0 is reserved (RFC 7607)",
            )],
        ),
        case(
            "AS_TRANS",
            &[peer(
                "r1",
                "{myASN: 23456, peerASN: 64512, peerAddress: 192.0.2.1}",
            )],
            &[(
                Peer,
                "r1",
                "spec.myASN",
                "AS number 23456 is AS_TRANS (RFC 6793), a placeholder rather than a real AS",
            )],
        ),
        case(
            "peer address not an IP",
            &[peer(
                "r1",
                "{myASN: 64513, peerASN: 64512, peerAddress: router1.example}",
            )],
            &[(
                Peer,
                "r1",
                "spec.peerAddress",
                "\"router1.example\" is not an IP address",
            )],
        ),
        case(
            "port 0",
            &[ebgp_peer("r1", ", peerPort: 0")],
            &[(Peer, "r1", "spec.peerPort", "port 0 is not valid")],
        ),
        case(
            "source address of the other family",
            &[ebgp_peer("r1", ", sourceAddress: \"2001:db8::1\"")],
            &[(
                Peer,
                "r1",
                "spec.sourceAddress",
                "source address 2001:db8::1 is IPv6 but peer address 192.0.2.1 is IPv4",
            )],
        ),
        case(
            "source address not an IP",
            &[ebgp_peer("r1", ", sourceAddress: eth0")],
            &[(
                Peer,
                "r1",
                "spec.sourceAddress",
                "\"eth0\" is not an IP address",
            )],
        ),
        case(
            "router ID not IPv4",
            &[ebgp_peer("r1", ", routerID: \"2001:db8::1\"")],
            &[(
                Peer,
                "r1",
                "spec.routerID",
                "\"2001:db8::1\" is not an IPv4 address (a BGP identifier is written as one)",
            )],
        ),
        case(
            "router ID zero",
            &[ebgp_peer("r1", ", routerID: 0.0.0.0")],
            &[(
                Peer,
                "r1",
                "spec.routerID",
                "router ID 0.0.0.0 is not valid",
            )],
        ),
        case(
            "missing password secret name",
            &[ebgp_peer(
                "r1",
                ", passwordSecret: {namespace: ferrolb-system}",
            )],
            &[(
                Peer,
                "r1",
                "spec.passwordSecret.name",
                "the Secret's name is required",
            )],
        ),
        case(
            "password secret with name",
            &[ebgp_peer("r1", ", passwordSecret: {name: bgp-auth}")],
            &[],
        ),
        case(
            "invalid node selector",
            &[ebgp_peer(
                "r1",
                ", nodeSelectors: [{matchExpressions: [{key: rack, operator: In}]}]",
            )],
            &[(
                Peer,
                "r1",
                "spec.nodeSelectors[0].matchExpressions[0].values",
                "operator In needs at least one value",
            )],
        ),
    ]);
}

#[test]
fn peer_multihop() {
    run(vec![
        case(
            "multi-hop eBGP",
            &[ebgp_peer("r1", ", ebgpMultiHop: true")],
            &[],
        ),
        case(
            "multi-hop on iBGP",
            &[peer(
                "r1",
                "{myASN: 64512, peerASN: 64512, peerAddress: 192.0.2.1, ebgpMultiHop: true}",
            )],
            &[(
                Peer,
                "r1",
                "spec.ebgpMultiHop",
                "ebgpMultiHop applies only to eBGP, but myASN and peerASN are both 64512",
            )],
        ),
    ]);
}

#[test]
fn peer_timers() {
    run(vec![
        case("hold 0 disables keepalives", &[ebgp_peer("r1", ", holdTime: 0s")], &[]),
        case("hold 3s, keepalive 1s", &[ebgp_peer("r1", ", holdTime: 3s, keepaliveTime: 1s")], &[]),
        case("hold 1m30s, keepalive 30s", &[ebgp_peer("r1", ", holdTime: 1m30s, keepaliveTime: 30s, connectTime: 5s")], &[]),
        case(
            "hold below 3s",
            &[ebgp_peer("r1", ", holdTime: 2s")],
            &[(Peer, "r1", "spec.holdTime", "hold time 2s must be 0 or at least 3s (RFC 4271)")],
        ),
        case(
            "hold not whole seconds",
            &[ebgp_peer("r1", ", holdTime: 3500ms")],
            &[(Peer, "r1", "spec.holdTime", "hold time 3.5s is not a whole number of seconds")],
        ),
        case(
            "hold above 65535s",
            &[ebgp_peer("r1", ", holdTime: 20h")],
            &[(Peer, "r1", "spec.holdTime", "hold time 20h exceeds 65535s")],
        ),
        case(
            "keepalive equal to hold",
            &[ebgp_peer("r1", ", holdTime: 30s, keepaliveTime: 30s")],
            &[(Peer, "r1", "spec.keepaliveTime", "keepalive time 30s must be less than the hold time 30s")],
        ),
        case(
            "keepalive above the default hold",
            &[ebgp_peer("r1", ", keepaliveTime: 100s")],
            &[(Peer, "r1", "spec.keepaliveTime", "keepalive time 1m40s must be less than the hold time 1m30s")],
        ),
        case(
            "keepalive with hold 0",
            &[ebgp_peer("r1", ", holdTime: \"0\", keepaliveTime: 10s")],
            &[(Peer, "r1", "spec.keepaliveTime", "keepalive time 10s has no effect with a hold time of 0; remove it")],
        ),
        case(
            "keepalive 0 with a hold time",
            &[ebgp_peer("r1", ", holdTime: 90s, keepaliveTime: 0s")],
            &[(Peer, "r1", "spec.keepaliveTime", "keepalive time 0 sends no keepalives, so the peer's hold timer (1m30s) would expire")],
        ),
        case(
            "connect time 0",
            &[ebgp_peer("r1", ", connectTime: 0s")],
            &[(Peer, "r1", "spec.connectTime", "connect time 0s must be between 1s and 65535s")],
        ),
    ]);
}

#[test]
fn peer_bfd_profile() {
    run(vec![
        case("existing profile", &[doc("BFDProfile", "fast", "{}"), ebgp_peer("r1", ", bfdProfile: fast")], &[]),
        case(
            "missing profile",
            &[ebgp_peer("r1", ", bfdProfile: fast")],
            &[(Peer, "r1", "spec.bfdProfile", "BFDProfile \"fast\" does not exist")],
        ),
        case(
            "echo mode on a multi-hop session",
            &[doc("BFDProfile", "echo", "{echoMode: true}"), ebgp_peer("r1", ", bfdProfile: echo, ebgpMultiHop: true")],
            &[(Peer, "r1", "spec.bfdProfile", "BFDProfile \"echo\" enables echo mode, which multi-hop (ebgpMultiHop) sessions cannot use")],
        ),
    ]);
}

#[test]
fn duplicate_peers() {
    run(vec![
        case(
            "same address for different nodes",
            &[
                ebgp_peer("r1", ", nodeSelectors: [{matchLabels: {rack: a}}]"),
                ebgp_peer("r2", ", nodeSelectors: [{matchLabels: {rack: b}}]"),
            ],
            &[],
        ),
        case(
            "same address for the same nodes",
            &[ebgp_peer("r1", ""), ebgp_peer("r2", "")],
            &[(
                Peer,
                "r2",
                "spec.peerAddress",
                "BGPPeer \"r1\" already peers with 192.0.2.1 port 179 from the same nodes",
            )],
        ),
    ]);
}

#[test]
fn bgp_advertisement_aggregation() {
    let range_pool = || pool("r", "[198.51.100.1-198.51.100.10]");
    run(vec![
        case(
            "aggregation equal to the pool prefix",
            &[pool("p", "[192.0.2.0/24]"), doc("BGPAdvertisement", "a", "{ipAddressPools: [p], aggregationLength: 24}")],
            &[],
        ),
        case(
            "aggregation wider than the pool",
            &[pool("p", "[192.0.2.0/24]"), doc("BGPAdvertisement", "a", "{ipAddressPools: [p], aggregationLength: 16}")],
            &[(BgpAdv, "a", "spec.aggregationLength", "aggregation length 16 is shorter than /24, the widest CIDR in 192.0.2.0/24 (spec.addresses[0] of IPAddressPool \"p\"), so it would announce addresses outside the pool")],
        ),
        case(
            "range pool: widest CIDR /30",
            &[range_pool(), doc("BGPAdvertisement", "a", "{ipAddressPools: [r], aggregationLength: 30}")],
            &[],
        ),
        case(
            "range pool: aggregation /28",
            &[range_pool(), doc("BGPAdvertisement", "a", "{ipAddressPools: [r], aggregationLength: 28}")],
            &[(BgpAdv, "a", "spec.aggregationLength", "aggregation length 28 is shorter than /30, the widest CIDR in 198.51.100.1-198.51.100.10 (spec.addresses[0] of IPAddressPool \"r\"), so it would announce addresses outside the pool")],
        ),
        case(
            "only referenced pools are checked",
            &[pool("p", "[192.0.2.0/24]"), pool("q", "[198.51.100.0/26]"), doc("BGPAdvertisement", "a", "{ipAddressPools: [p], aggregationLength: 24}")],
            &[],
        ),
        case(
            "no pools named means all pools",
            &[pool("p", "[192.0.2.0/24]"), pool("q", "[198.51.100.0/26]"), doc("BGPAdvertisement", "a", "{aggregationLength: 24}")],
            &[(BgpAdv, "a", "spec.aggregationLength", "aggregation length 24 is shorter than /26, the widest CIDR in 198.51.100.0/26 (spec.addresses[0] of IPAddressPool \"q\"), so it would announce addresses outside the pool")],
        ),
        case(
            "pools selected by label are checked",
            &[
                "---\napiVersion: ferrolb.io/v1alpha1\nkind: IPAddressPool\nmetadata: {name: q, labels: {exposure: public}}\nspec: {addresses: [198.51.100.0/26]}\n".to_string(),
                doc("BGPAdvertisement", "a", "{ipAddressPoolSelectors: [{matchLabels: {exposure: public}}], aggregationLength: 25}"),
            ],
            &[(BgpAdv, "a", "spec.aggregationLength", "aggregation length 25 is shorter than /26, the widest CIDR in 198.51.100.0/26 (spec.addresses[0] of IPAddressPool \"q\"), so it would announce addresses outside the pool")],
        ),
        case(
            "IPv4 length beyond 32",
            &[doc("BGPAdvertisement", "a", "{aggregationLength: 33}")],
            &[(BgpAdv, "a", "spec.aggregationLength", "aggregation length 33 is out of range for IPv4 (0-32)")],
        ),
        case(
            "IPv6 length beyond 128",
            &[doc("BGPAdvertisement", "a", "{aggregationLengthV6: 129}")],
            &[(BgpAdv, "a", "spec.aggregationLengthV6", "aggregation length 129 is out of range for IPv6 (0-128)")],
        ),
        case(
            "IPv6 aggregation against an IPv6 pool",
            &[pool("p", "[192.0.2.0/24, 2001:db8::/120]"), doc("BGPAdvertisement", "a", "{aggregationLength: 32, aggregationLengthV6: 112}")],
            &[(BgpAdv, "a", "spec.aggregationLengthV6", "aggregation length 112 is shorter than /120, the widest CIDR in 2001:db8::/120 (spec.addresses[1] of IPAddressPool \"p\"), so it would announce addresses outside the pool")],
        ),
    ]);
}

#[test]
fn bgp_advertisement_communities() {
    run(vec![
        case(
            "standard, well-known and large",
            &[doc("BGPAdvertisement", "a", "{communities: [\"65000:100\", no-export, \"large:4200000000:1:2\"]}")],
            &[],
        ),
        case(
            "standard half beyond 16 bits",
            &[doc("BGPAdvertisement", "a", "{communities: [\"65000:100\", \"65536:1\"]}")],
            &[(BgpAdv, "a", "spec.communities[1]", "invalid community \"65536:1\": 65536 does not fit in 16 bits")],
        ),
        case(
            "large community with two parts",
            &[doc("BGPAdvertisement", "a", "{communities: [\"large:1:2\"]}")],
            &[(BgpAdv, "a", "spec.communities[0]", "invalid community \"large:1:2\": expected large:global:local1:local2 (three 32-bit numbers)")],
        ),
        case(
            "unknown well-known name",
            &[doc("BGPAdvertisement", "a", "{communities: [no-exprot]}")],
            &[(BgpAdv, "a", "spec.communities[0]", "invalid community \"no-exprot\": expected asn:value (two 16-bit numbers) or a well-known name such as no-export")],
        ),
    ]);
}

#[test]
fn bgp_advertisement_references() {
    run(vec![
        case(
            "pool and peer exist",
            &[pool("p", "[192.0.2.0/24]"), ebgp_peer("r1", ""), doc("BGPAdvertisement", "a", "{ipAddressPools: [p], peers: [r1], localPref: 100}")],
            &[],
        ),
        case(
            "pool does not exist",
            &[pool("p", "[192.0.2.0/24]"), doc("BGPAdvertisement", "a", "{ipAddressPools: [p, q]}")],
            &[(BgpAdv, "a", "spec.ipAddressPools[1]", "IPAddressPool \"q\" does not exist")],
        ),
        case(
            "peer does not exist",
            &[doc("BGPAdvertisement", "a", "{peers: [r9]}")],
            &[(BgpAdv, "a", "spec.peers[0]", "BGPPeer \"r9\" does not exist")],
        ),
        case(
            "invalid node selector",
            &[doc("BGPAdvertisement", "a", "{nodeSelectors: [{matchExpressions: [{key: rack, operator: Exists, values: [a]}]}]}")],
            &[(BgpAdv, "a", "spec.nodeSelectors[0].matchExpressions[0].values", "operator Exists takes no values")],
        ),
    ]);
}

#[test]
fn l2_advertisement() {
    run(vec![
        case("no spec at all", &["---\napiVersion: ferrolb.io/v1alpha1\nkind: L2Advertisement\nmetadata: {name: l2}\n".to_string()], &[]),
        case(
            "pool and interfaces",
            &[pool("p", "[192.0.2.0/24]"), doc("L2Advertisement", "l2", "{ipAddressPools: [p], interfaces: [eth0, enp3s0.100]}")],
            &[],
        ),
        case(
            "pool does not exist",
            &[doc("L2Advertisement", "l2", "{ipAddressPools: [lan]}")],
            &[(L2, "l2", "spec.ipAddressPools[0]", "IPAddressPool \"lan\" does not exist")],
        ),
        case(
            "invalid interface name",
            &[doc("L2Advertisement", "l2", "{interfaces: [eth0, \"bond0:1 x\"]}")],
            &[(L2, "l2", "spec.interfaces[1]", "\"bond0:1 x\" is not a valid interface name")],
        ),
        case(
            "invalid service selector",
            &[doc("L2Advertisement", "l2", "{serviceSelectors: [{matchLabels: {\"-x\": y}}]}")],
            &[(L2, "l2", "spec.serviceSelectors[0].matchLabels[\"-x\"]", "label key \"-x\" is invalid (at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)")],
        ),
    ]);
}

#[test]
fn bfd_profiles() {
    run(vec![
        case(
            "limits inclusive",
            &[
                doc("BFDProfile", "lo", "{receiveInterval: 10, transmitInterval: 10, echoInterval: 10, detectMultiplier: 2, minimumTtl: 1}"),
                doc("BFDProfile", "hi", "{receiveInterval: 60000, transmitInterval: 60000, echoInterval: 60000, detectMultiplier: 255, minimumTtl: 254}"),
            ],
            &[],
        ),
        case(
            "intervals out of range",
            &[doc("BFDProfile", "b", "{receiveInterval: 9, transmitInterval: 60001, echoInterval: 5}")],
            &[
                (Bfd, "b", "spec.receiveInterval", "9ms is outside 10..=60000 milliseconds"),
                (Bfd, "b", "spec.transmitInterval", "60001ms is outside 10..=60000 milliseconds"),
                (Bfd, "b", "spec.echoInterval", "5ms is outside 10..=60000 milliseconds"),
            ],
        ),
        case(
            "multiplier too small",
            &[doc("BFDProfile", "b", "{detectMultiplier: 1}")],
            &[(Bfd, "b", "spec.detectMultiplier", "detect multiplier 1 is outside 2..=255")],
        ),
        case(
            "multiplier too large",
            &[doc("BFDProfile", "b", "{detectMultiplier: 256}")],
            &[(Bfd, "b", "spec.detectMultiplier", "detect multiplier 256 is outside 2..=255")],
        ),
        case(
            "minimum TTL 255",
            &[doc("BFDProfile", "b", "{minimumTtl: 255}")],
            &[(Bfd, "b", "spec.minimumTtl", "minimum TTL 255 is outside 1..=254")],
        ),
    ]);
}
