//! `lbctl explain` on a working Service and on Services broken in each way
//! it diagnoses, against the fake API server and a router admin API.

mod common;

use common::{fib_route, router_peer, router_route, start_router, Cluster, RouterState};
use serde_json::json;

/// A cluster where web/front works over BGP end to end; `break_it` then
/// damages one part.
async fn cluster() -> Cluster {
    let c = Cluster::start().await;
    c.pool("public", json!({"addresses": ["192.0.2.0/28"]}));
    c.ferrolb(
        "bgpadvertisements",
        "BGPAdvertisement",
        "all",
        json!({"spec": {}}),
    );
    c.ferrolb(
        "bgppeers",
        "BGPPeer",
        "r1",
        json!({"spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1"}}),
    );
    c.node("node-a");
    c.node("node-b");
    c.lb_service("web/front", Some("public"), &["192.0.2.1"], json!({}));
    c.service_event(
        "web/front",
        "Normal",
        "IPAllocated",
        "Assigned IP [\"192.0.2.1\"] from pool public",
        "2026-11-22T06:00:00Z",
    );
    c.endpoints(
        "web/front",
        &[
            ("10.244.0.5", "node-a", true),
            ("10.244.1.5", "node-b", true),
        ],
    );
    c.announcement("node-a", "web/front", "bgp", &["192.0.2.1"]);
    c.announcement("node-b", "web/front", "bgp", &["192.0.2.1"]);
    c.session("node-a", "r1", "10.0.0.1", "Established");
    c.session("node-b", "r1", "10.0.0.1", "Established");
    c
}

fn healthy_router() -> RouterState {
    RouterState::new(
        vec![
            router_peer("10.0.0.11", true),
            router_peer("10.0.0.12", true),
        ],
        vec![router_route(
            "192.0.2.1/32",
            &["10.0.0.11", "10.0.0.12"],
            true,
        )],
        vec![fib_route("192.0.2.1/32", &["10.0.0.11", "10.0.0.12"])],
    )
}

/// The verdict and reason of `check` in explain's output.
fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&format!(" {check} "))
        })
        .unwrap_or_else(|| panic!("no {check:?} line in\n{stdout}"))
}

async fn explain(c: &Cluster, router: &RouterState) -> common::Run {
    let url = start_router(router.clone()).await;
    let flag = format!("r1={url}");
    c.lbctl(&["explain", "web/front", "--router", &flag]).await
}

#[tokio::test]
async fn healthy_service_passes_every_check() {
    let c = cluster().await;
    let out = explain(&c, &healthy_router()).await.expect_code(0);
    let verdicts: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  ok") || l.starts_with("  warn") || l.starts_with("  fail"))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap(), words.next().unwrap())
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("ok", "type"),
            ("ok", "class"),
            ("ok", "annotations"),
            ("ok", "pool"),
            ("ok", "allocation"),
            ("ok", "endpoints"),
            ("ok", "advertisement"),
            ("ok", "speakers"),
            ("ok", "bgp"),
            ("ok", "router"),
            ("ok", "router"),
            ("ok", "router"),
        ],
        "{}",
        out.stdout
    );
    assert!(out.stdout.starts_with("Service web/front\n"));
    assert!(line(&out.stdout, "router r1 route")
        .ends_with("192.0.2.1/32 installed via 10.0.0.11, 10.0.0.12"));
    assert!(line(&out.stdout, "router r1 fib")
        .ends_with("kernel: 192.0.2.1/32 via 10.0.0.11 dev veth-r1, 10.0.0.12 dev veth-r1"));
    assert!(out.stdout.ends_with("Result: every check passed.\n"));

    let json = c
        .lbctl(&["explain", "web/front", "-o", "json"])
        .await
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["service"], "web/front");
    assert_eq!(
        v["checks"][0],
        json!({"check": "type", "verdict": "ok", "reason": "LoadBalancer"})
    );
    assert_eq!(
        v["checks"].as_array().unwrap().last().unwrap()["verdict"],
        "skip"
    );
}

/// How to break the healthy setup, the check that must fail, and words
/// its reason must contain.
#[tokio::test]
async fn each_broken_service_fails_at_the_right_check() {
    type Break = fn(&Cluster, &mut RouterState);
    let cases: &[(&str, Break, &str, &str)] = &[
        (
            "not a LoadBalancer",
            |c, _| {
                c.seed(
                    ferrolb_fake_apiserver::ResourceRef::core("services"),
                    json!({
                    "metadata": {"name": "front", "namespace": "web"},
                    "spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
                );
            },
            "type",
            "of type NodePort, not LoadBalancer",
        ),
        (
            "wrong class",
            |c, _| {
                c.lb_service(
                    "web/front",
                    Some("public"),
                    &[],
                    json!({"loadBalancerClass": "example.com/other"}),
                )
            },
            "class",
            "loadBalancerClass is \"example.com/other\"",
        ),
        (
            "unknown pool annotation",
            |c, _| {
                c.seed(ferrolb_fake_apiserver::ResourceRef::core("services"), json!({
                    "metadata": {"name": "front", "namespace": "web", "annotations": {"metallb.universe.tf/address-pool": "gold"}},
                    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}));
            },
            "annotations",
            "address-pool asks for pool \"gold\", which does not exist (pools: public)",
        ),
        (
            "no pool matches",
            |c, _| {
                c.pool("public", json!({"addresses": ["192.0.2.0/28"], "serviceAllocation": {"namespaces": ["db"]}}));
                c.lb_service("web/front", None, &[], json!({}));
            },
            "pool",
            "no pool may serve this Service: public serves other namespaces",
        ),
        (
            "allocation failed",
            |c, _| {
                c.lb_service("web/front", None, &[], json!({}));
                c.service_event(
                    "web/front",
                    "Warning",
                    "AllocationFailed",
                    "pool public has no free IPv4 address",
                    "2026-11-22T06:10:00Z",
                );
            },
            "allocation",
            "AllocationFailed: pool public has no free IPv4 address",
        ),
        (
            "no endpoints",
            |c, _| c.endpoints("web/front", &[("10.244.0.5", "node-a", false)]),
            "endpoints",
            "no ready endpoints (1 not ready)",
        ),
        (
            "no speaker announcing",
            |c, _| {
                for node in ["node-a", "node-b"] {
                    c.server.store().remove(
                        &ferrolb_fake_apiserver::ResourceRef::new(
                            "ferrolb.io",
                            "v1alpha1",
                            "serviceannouncements",
                        ),
                        Some(common::NAMESPACE),
                        &format!("{node}-web-front-bgp"),
                    );
                }
            },
            "speakers",
            "no speaker announces it over BGP (expected: node-a, node-b)",
        ),
        (
            "speaker sessions down",
            |c, _| {
                c.session("node-a", "r1", "10.0.0.1", "Active");
                c.session("node-b", "r1", "10.0.0.1", "Connect");
            },
            "bgp sessions",
            "no session is Established: node-a to r1 (10.0.0.1) is Active",
        ),
        (
            "router session down",
            |_, r| *r = RouterState::new(vec![router_peer("10.0.0.11", false)], vec![], vec![]),
            "router r1 sessions",
            "none of its 1 BGP neighbours is Established",
        ),
        (
            "route missing",
            |_, r| r.routes = json!({"routes": []}),
            "router r1 route",
            "no route to 192.0.2.1: the router did not learn it",
        ),
        (
            "route not installed",
            |_, r| {
                r.routes = json!({"routes": [router_route("192.0.2.1/32", &["10.9.0.1"], false)]})
            },
            "router r1 route",
            "not installed; unusable next hops: 10.9.0.1 (via-gateway)",
        ),
        (
            "route missing from the kernel",
            |_, r| {
                r.fib =
                    json!({"protocol": 196, "mode": "nexthop-groups", "routes": [], "nexthops": []})
            },
            "router r1 fib",
            "the kernel has no FerroLB route to 192.0.2.1",
        ),
    ];
    for (case, break_it, check, reason) in cases {
        let c = cluster().await;
        let mut router = healthy_router();
        break_it(&c, &mut router);
        let out = explain(&c, &router).await;
        assert_eq!(
            out.code, 1,
            "{case}: exit code\n{}{}",
            out.stdout, out.stderr
        );
        let first_fail = out
            .stdout
            .lines()
            .find(|l| l.starts_with("  fail"))
            .unwrap_or_else(|| panic!("{case}: nothing failed\n{}", out.stdout));
        assert!(
            first_fail.starts_with(&format!("  fail {check} ")),
            "{case}: first failure is {first_fail:?}\n{}",
            out.stdout
        );
        assert!(
            first_fail.contains(reason),
            "{case}: {first_fail:?} lacks {reason:?}"
        );
        assert!(
            out.stdout
                .contains(&format!("Result: broken at \"{check}\"")),
            "{case}\n{}",
            out.stdout
        );
        let after = out.stdout.split(first_fail).nth(1).unwrap();
        assert!(
            after.trim_start().starts_with("hint: "),
            "{case}: no hint\n{}",
            out.stdout
        );
    }
}

#[tokio::test]
async fn l2_service_names_its_owner() {
    let c = cluster().await;
    // BGP for pool public only; L2 for pool lan.
    c.ferrolb(
        "bgpadvertisements",
        "BGPAdvertisement",
        "all",
        json!({"spec": {"ipAddressPools": ["public"]}}),
    );
    c.ferrolb(
        "l2advertisements",
        "L2Advertisement",
        "lan",
        json!({"spec": {"ipAddressPools": ["lan"]}}),
    );
    c.pool("lan", json!({"addresses": ["192.168.1.240-192.168.1.250"]}));
    c.lb_service("web/printer", Some("lan"), &["192.168.1.240"], json!({}));
    c.endpoints("web/printer", &[("10.244.0.9", "node-b", true)]);
    c.announcement("node-b", "web/printer", "l2", &["192.168.1.240"]);
    // --no-arp: this host's own segment is no test bed (netns_l2.rs asks
    // on one).
    let out = c
        .lbctl(&["explain", "web/printer", "--no-arp"])
        .await
        .expect_code(0);
    assert!(
        line(&out.stdout, "l2 owner").contains("node node-b owns it and answers ARP/NDP on eth0"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(" arp "), "{}", out.stdout);
    // Nothing is routed for an L2 Service.
    assert!(!out.stdout.contains("router"), "{}", out.stdout);

    let out = c.lbctl(&["explain", "web/missing"]).await.expect_code(1);
    out.stderr_has("Service web/missing not found");
}
