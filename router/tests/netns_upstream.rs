//! Upstream re-announcement against a real BIRD: the client namespace doubles as the upstream
//! router (AS 65000, BIRD, eBGP to the router over the client link). A worker announces a
//! Service address and a prefix outside every pool; the upstream learns the Service address
//! (or its aggregate) with the router as next hop, never the refused prefix, and loses it when
//! the worker withdraws.

mod support;

use std::net::IpAddr;

use ferrolb_testbed::prelude::*;
use support::*;

const UPSTREAM_ASN: u32 = 65000;

/// BIRD in the client namespace peering with the router.
fn start_upstream(lab: &Lab) -> Bird {
    let config = BgpConfig::new(UPSTREAM_ASN, CLIENT_V4)
        .fib_install(false)
        .neighbor(
            Neighbor::new(IpAddr::V4(ROUTER_CLIENT_V4), ROUTER_ASN)
                .hold_time(3)
                .connect_retry(1),
        );
    Bird::start(&lab.client, config).unwrap()
}

fn yaml(upstream: &str) -> String {
    yaml_with_pools("10.96.0.0/24", upstream)
}

fn yaml_with_pools(pools: &str, upstream: &str) -> String {
    router_yaml(
        "",
        &format!(
            "import:\n  servicePools: [{pools}]\n\
             upstream:\n  - {{address: {CLIENT_V4}, asn: {UPSTREAM_ASN}, holdTime: 3s, keepaliveTime: 1s{upstream}}}\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_upstream_learns_accepted_service_routes_with_the_router_as_next_hop() {
    let mut lab = Lab::new(1);
    lab.start_router(&yaml("")).await;
    let upstream = start_upstream(&lab);
    let (service, refused) = (net("10.96.0.10/32"), net("8.8.8.0/24"));
    lab.start_bird(0, &[service, refused]);
    let router = IpAddr::V4(ROUTER_CLIENT_V4);

    let route = upstream
        .wait_route_from(service, router, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
    assert_eq!(route.next_hops, vec![router], "{route:?}");
    assert_eq!(route.as_path, vec![ROUTER_ASN, WORKER_ASN], "{route:?}");
    // Import safety refused 8.8.8.0/24, so it is not passed on either.
    let routes = upstream.routes().unwrap();
    assert!(
        paths_to(&routes, refused).next().is_none(),
        "refused prefix leaked upstream: {routes:#?}"
    );
    // The upstream is listed among the router's peers; nothing it could send is accepted.
    let peer = lab
        .router
        .as_ref()
        .unwrap()
        .peer(IpAddr::V4(CLIENT_V4))
        .await
        .unwrap();
    assert_eq!(peer["state"], "Established", "{peer}");
    assert_eq!(peer["asn"], UPSTREAM_ASN, "{peer}");

    lab.bird(0).withdraw(service).unwrap();
    upstream
        .wait_no_route(service, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
}

/// A pool added by a reload widens what the upstream is sent, on the running session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_upstream_export_follows_a_reloaded_import_section_without_a_reset() {
    let mut lab = Lab::new(1);
    lab.start_router(&yaml("")).await;
    let upstream = start_upstream(&lab);
    let (service, later) = (net("10.96.0.10/32"), net("10.97.0.10/32"));
    lab.start_bird(0, &[service, later]);
    let router_addr = IpAddr::V4(ROUTER_CLIENT_V4);
    upstream
        .wait_route_from(service, router_addr, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
    let routes = upstream.routes().unwrap();
    assert!(paths_to(&routes, later).next().is_none(), "{routes:#?}");

    let router = lab.router.as_mut().unwrap();
    std::fs::write(
        &router.config,
        yaml_with_pools("10.96.0.0/24, 10.97.0.0/24", ""),
    )
    .unwrap();
    router.child.signal(libc::SIGHUP);
    upstream
        .wait_route_from(later, router_addr, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
    let peer = router.peer(IpAddr::V4(CLIENT_V4)).await.unwrap();
    assert_eq!(peer["state"], "Established", "{peer}");
    assert_eq!(
        peer["lastDown"],
        serde_json::Value::Null,
        "session reset: {peer}"
    );
    // The first route stayed all along with the router as next hop.
    let route = upstream
        .wait_route_from(service, router_addr, WAIT)
        .unwrap();
    assert_eq!(route.next_hops, vec![router_addr], "{route:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_upstream_aggregate_follows_the_routes_inside_it() {
    let mut lab = Lab::new(1);
    lab.start_router(&yaml(", announce: aggregates, aggregates: [10.96.0.0/24]"))
        .await;
    let upstream = start_upstream(&lab);
    let (service, aggregate) = (net("10.96.0.10/32"), net("10.96.0.0/24"));
    lab.start_bird(0, &[service]);
    let router = IpAddr::V4(ROUTER_CLIENT_V4);

    let route = upstream
        .wait_route_from(aggregate, router, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
    assert_eq!(route.next_hops, vec![router], "{route:?}");
    assert_eq!(route.as_path, vec![ROUTER_ASN], "{route:?}");
    assert_eq!(route.origin, Some(Origin::Igp), "{route:?}");
    let routes = upstream.routes().unwrap();
    assert!(
        paths_to(&routes, service).next().is_none(),
        "the more specific route leaked: {routes:#?}"
    );

    // The last route inside goes: so does the aggregate.
    lab.bird(0).withdraw(service).unwrap();
    upstream
        .wait_no_route(aggregate, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", upstream.log()));
}
