//! Self-tests: BIRD and FRR peer over eBGP in two namespaces and exchange routes with
//! attributes, IPv4 and IPv6 over one IPv4 session.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{assert_cleaned_up, T};
use ferrolb_testbed::prelude::*;
use ipnet::IpNet;

const BIRD_AS: u32 = 4_200_000_001;
const FRR_AS: u32 = 65002;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// BIRD in `a`, FRR in `b`, one MD5-protected eBGP session over IPv4 carrying both families.
fn start(pair: &Pair, bird_extra: &[Announcement], hold: u16, bfd: bool) -> (Bird, Frr) {
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let mut to_frr = Neighbor::new(b, FRR_AS)
        .named("frr")
        .source(a)
        .hold_time(hold)
        .password("s3cret")
        .ipv6()
        .ipv6_next_hop(pair.a.v6);
    let mut to_bird = Neighbor::new(a, BIRD_AS)
        .hold_time(hold)
        .password("s3cret")
        .ipv6();
    if bfd {
        to_frr = to_frr.bfd();
        to_bird = to_bird.bfd();
    }
    let mut bird_cfg = BgpConfig::new(BIRD_AS, pair.a.v4).neighbor(to_frr);
    bird_cfg.announcements = bird_extra.to_vec();
    let bird = Bird::start(&pair.a.ns, bird_cfg).unwrap();
    let frr = Frr::start(
        &pair.b.ns,
        BgpConfig::new(FRR_AS, pair.b.v4).neighbor(to_bird),
    )
    .unwrap();
    (bird, frr)
}

#[test]
fn bird_and_frr_exchange_routes_with_attributes_over_ebgp() {
    let pair = Topology::pair().unwrap();
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let v4 = net("198.51.100.0/24");
    let v6 = net("2001:db8:100::/48");
    let (bird, frr) = start(
        &pair,
        &[Announcement::new(v4)
            .community(65000, 1)
            .community(65000, 2)
            .large_community(BIRD_AS, 7, 8)
            .med(50)],
        3,
        false,
    );
    frr.wait_established(a, T).unwrap();
    bird.wait_established(b, T).unwrap();

    // IPv4, with every attribute BIRD attached. FRR marks a path best a moment after it
    // arrives: wait for that too.
    let routes = frr
        .wait_routes(
            |rs| paths_to(rs, v4).any(|r| r.best && r.next_hops == [a]),
            T,
        )
        .unwrap();
    let route = paths_to(&routes, v4).find(|r| r.best).cloned().unwrap();
    assert_eq!(route.as_path, vec![BIRD_AS]);
    assert_eq!(route.communities, vec![(65000, 1), (65000, 2)]);
    assert_eq!(route.large_communities, vec![(BIRD_AS, 7, 8)]);
    assert_eq!(route.med, Some(50));
    assert_eq!(route.origin, Some(Origin::Igp));
    assert_eq!(route.next_hops, vec![a]);
    assert!(route.best);
    // The per-prefix query agrees, and zebra installed the route in b's kernel.
    assert_eq!(frr.route(v4).unwrap(), vec![route]);
    let fib = pair.b.ns.ip(&["route", "show", "198.51.100.0/24"]).unwrap();
    assert!(fib.contains("via 198.18.0.1"), "{fib}");

    // IPv6 announced at run time, over the IPv4 session, with BIRD's configured next hop.
    bird.announce(&Announcement::new(v6).community(65000, 6))
        .unwrap();
    let route = frr.wait_route_from(v6, a, T).unwrap();
    assert_eq!(route.next_hops.first(), Some(&IpAddr::V6(pair.a.v6)));
    assert_eq!(route.communities, vec![(65000, 6)]);

    // FRR announces towards BIRD (IPv4 and IPv6; FRR picks its IPv6 next hop itself).
    let frr_v4 = net("203.0.113.0/24");
    let frr_v6 = net("2001:db8:200::/48");
    frr.announce(
        &Announcement::new(frr_v4)
            .large_community(FRR_AS, 1, 1)
            .community(65002, 9)
            .med(77),
    )
    .unwrap();
    frr.announce(&Announcement::new(frr_v6)).unwrap();
    let route = bird.wait_route_from(frr_v4, b, T).unwrap();
    assert_eq!(route.as_path, vec![FRR_AS]);
    assert_eq!(route.med, Some(77));
    assert_eq!(route.communities, vec![(65002, 9)]);
    assert_eq!(route.large_communities, vec![(FRR_AS, 1, 1)]);
    let route = bird.wait_route_from(frr_v6, b, T).unwrap();
    assert_eq!(route.next_hops.first(), Some(&IpAddr::V6(pair.b.v6)));
    // BIRD exported it to a's kernel.
    let fib = pair
        .a
        .ns
        .ip(&["-6", "route", "show", "2001:db8:200::/48"])
        .unwrap();
    assert!(fib.contains("via 2001:db8::2"), "{fib}");

    // Re-announcing with other attributes replaces the path.
    frr.announce(&Announcement::new(frr_v4).med(5)).unwrap();
    bird.wait_routes(
        |rs| learned(rs, frr_v4, b).is_some_and(|r| r.med == Some(5) && r.communities.is_empty()),
        T,
    )
    .unwrap();

    // Withdrawals remove the routes on the other side.
    bird.withdraw(v4).unwrap();
    frr.wait_no_route(v4, T).unwrap();
    let fib = pair.b.ns.ip(&["route", "show", "198.51.100.0/24"]).unwrap();
    assert!(fib.trim().is_empty(), "{fib}");
    frr.withdraw(frr_v6).unwrap();
    bird.wait_no_route(frr_v6, T).unwrap();
    // The rest is untouched.
    assert!(learned(&frr.routes().unwrap(), v6, a).is_some());

    let namespaces = vec![pair.a.ns.name().to_owned(), pair.b.ns.name().to_owned()];
    let pids: Vec<u32> = bird
        .processes()
        .iter()
        .chain(frr.processes())
        .map(|p| p.pid())
        .collect();
    assert_eq!(pids.len(), 3, "bird, zebra, bgpd");
    drop((bird, frr));
    drop(pair);
    assert_cleaned_up(&namespaces, &pids);
}

#[test]
fn bfd_detects_a_frozen_bird_and_the_session_recovers() {
    let pair = Topology::pair().unwrap();
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let prefix = net("198.51.100.0/24");
    let (bird, frr) = start(&pair, &[Announcement::new(prefix)], 9, true);
    frr.wait_established(a, T).unwrap();
    frr.wait_route_from(prefix, a, T).unwrap();
    assert_eq!(frr.processes().len(), 3, "zebra, bfdd, bgpd");
    ferrolb_testbed::poll_until("BFD up", T, || {
        Ok(match frr.bfd_status(a)? {
            Some(s) if s == "up" => ferrolb_testbed::Poll::Ready(()),
            other => ferrolb_testbed::Poll::Pending(format!("{other:?}")),
        })
    })
    .unwrap();

    // Frozen BIRD stops sending BFD packets: FRR drops the session in about a second, long
    // before the 9 s hold timer would.
    bird.pause().unwrap();
    let frozen = std::time::Instant::now();
    frr.wait_down(a, T).unwrap();
    assert!(
        frozen.elapsed() < Duration::from_secs(5),
        "BFD took {:?}",
        frozen.elapsed()
    );
    frr.wait_no_route(prefix, T).unwrap();

    bird.resume().unwrap();
    frr.wait_established(a, T).unwrap();
    bird.wait_established(b, T).unwrap();
    frr.wait_route_from(prefix, a, T).unwrap();
}

#[test]
fn killed_daemons_restart_with_their_routes() {
    let pair = Topology::pair().unwrap();
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let (mut bird, mut frr) = start(&pair, &[], 3, false);
    let prefix = net("198.51.100.0/24");
    bird.announce(&Announcement::new(prefix).med(3)).unwrap();
    frr.wait_route_from(prefix, a, T).unwrap();
    let old_pid = bird.processes()[0].pid();

    bird.kill().unwrap();
    assert!(bird.check_running().is_err());
    frr.wait_down(a, T).unwrap();

    bird.restart().unwrap();
    assert_ne!(bird.processes()[0].pid(), old_pid);
    bird.wait_established(b, T).unwrap();
    let route = frr.wait_route_from(prefix, a, T).unwrap();
    assert_eq!(route.med, Some(3));

    // The same for FRR, with a route it announced at run time.
    let frr_prefix = net("203.0.113.0/24");
    frr.announce(&Announcement::new(frr_prefix).community(65002, 1))
        .unwrap();
    bird.wait_route_from(frr_prefix, b, T).unwrap();
    frr.kill().unwrap();
    bird.wait_down(b, T).unwrap();
    frr.restart().unwrap();
    frr.wait_established(a, T).unwrap();
    let route = bird.wait_route_from(frr_prefix, b, T).unwrap();
    assert_eq!(route.communities, vec![(65002, 1)]);
    frr.wait_route_from(prefix, a, T).unwrap();
}
