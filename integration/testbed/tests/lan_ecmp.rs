//! Self-test of the load-balancer shape: two speakers on one L2 segment announce the same
//! service address to a router, which installs an ECMP route in its kernel.

mod common;

use std::net::IpAddr;

use common::T;
use ferrolb_testbed::prelude::*;

#[test]
fn router_installs_an_ecmp_route_for_a_prefix_announced_by_two_speakers() {
    let lan = Topology::lan(3).unwrap();
    let router = &lan.nodes[0];
    router.ns.enable_forwarding().unwrap();
    router.ns.set_multipath_hash_policy(1).unwrap();
    let service: ipnet::IpNet = "203.0.113.10/32".parse().unwrap();

    let speakers: Vec<Bird> = lan.nodes[1..]
        .iter()
        .map(|node| {
            node.ns.add_loopback_addr(service).unwrap();
            let config = BgpConfig::new(65001, node.v4)
                .neighbor(Neighbor::new(IpAddr::V4(router.v4), 65000).hold_time(3))
                .announce(Announcement::new(service));
            Bird::start(&node.ns, config).unwrap()
        })
        .collect();
    let mut router_config = BgpConfig::new(65000, router.v4);
    for node in &lan.nodes[1..] {
        router_config =
            router_config.neighbor(Neighbor::new(IpAddr::V4(node.v4), 65001).hold_time(3));
    }
    let frr = Frr::start(&router.ns, router_config).unwrap();

    let peers: Vec<IpAddr> = lan.nodes[1..].iter().map(|n| IpAddr::V4(n.v4)).collect();
    let routes = frr
        .wait_routes(
            |rs| peers.iter().all(|p| learned(rs, service, *p).is_some()),
            T,
        )
        .unwrap();
    assert_eq!(paths_to(&routes, service).count(), 2);

    // Both paths are in the kernel as one multipath route.
    ferrolb_testbed::poll_until("ECMP route in the router's FIB", T, || {
        let fib = router.ns.ip(&["route", "show", "203.0.113.10"])?;
        let ready = lan.nodes[1..]
            .iter()
            .all(|n| fib.contains(&format!("nexthop via {}", n.v4)));
        Ok(if ready {
            ferrolb_testbed::Poll::Ready(())
        } else {
            ferrolb_testbed::Poll::Pending(fib)
        })
    })
    .unwrap();

    // The service answers through the router from either speaker.
    router.ns.ping(service.addr()).unwrap();

    // One speaker stops announcing: a single path remains.
    speakers[0].withdraw(service).unwrap();
    frr.wait_routes(|rs| paths_to(rs, service).count() == 1, T)
        .unwrap();
    drop(speakers);
    frr.wait_no_route(service, T).unwrap();
}
