//! Self-tests: GoBGP and BIRD peer over iBGP; LOCAL_PREF travels both ways, IPv6 rides the
//! IPv4 session, and GoBGP's pause/restart behave as a test expects.

mod common;

use std::net::IpAddr;

use common::{assert_cleaned_up, T};
use ferrolb_testbed::prelude::*;
use ipnet::IpNet;

const AS: u32 = 64512;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// GoBGP in `a`, BIRD in `b`, one iBGP session over IPv4 carrying both families.
fn start(pair: &Pair) -> (Gobgp, Bird) {
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let gobgp = Gobgp::start(
        &pair.a.ns,
        BgpConfig::new(AS, pair.a.v4).neighbor(
            Neighbor::new(b, AS)
                .hold_time(3)
                .password("ibgp-pw")
                .ipv6()
                .ipv6_next_hop(pair.a.v6)
                .graceful_restart(30),
        ),
    )
    .unwrap();
    let bird = Bird::start(
        &pair.b.ns,
        BgpConfig::new(AS, pair.b.v4).neighbor(
            Neighbor::new(a, AS)
                .named("gobgp")
                .hold_time(3)
                .password("ibgp-pw")
                .ipv6()
                .ipv6_next_hop(pair.b.v6)
                .graceful_restart(30),
        ),
    )
    .unwrap();
    (gobgp, bird)
}

#[test]
fn gobgp_and_bird_carry_local_pref_over_ibgp() {
    let pair = Topology::pair().unwrap();
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let (gobgp, bird) = start(&pair);
    gobgp.wait_established(b, T).unwrap();
    bird.wait_established(a, T).unwrap();

    // GoBGP -> BIRD, IPv4 with LOCAL_PREF and communities.
    let from_gobgp = net("198.51.100.0/24");
    gobgp
        .announce(
            &Announcement::new(from_gobgp)
                .local_pref(250)
                .med(12)
                .community(64512, 100)
                .large_community(AS, 0, 1),
        )
        .unwrap();
    let route = bird.wait_route_from(from_gobgp, a, T).unwrap();
    assert_eq!(route.local_pref, Some(250));
    assert_eq!(route.med, Some(12));
    assert_eq!(route.communities, vec![(64512, 100)]);
    assert_eq!(route.large_communities, vec![(AS, 0, 1)]);
    assert!(route.as_path.is_empty(), "iBGP adds no AS");
    assert_eq!(route.next_hops, vec![a]);

    // GoBGP's own view shows the path as locally originated.
    let own = gobgp.routes().unwrap();
    let local = paths_to(&own, from_gobgp).next().unwrap();
    assert_eq!(local.peer, None);
    assert_eq!(local.local_pref, Some(250));

    // BIRD -> GoBGP, IPv4 with LOCAL_PREF.
    let from_bird = net("203.0.113.0/24");
    bird.announce(&Announcement::new(from_bird).local_pref(300))
        .unwrap();
    let route = gobgp.wait_route_from(from_bird, b, T).unwrap();
    assert_eq!(route.local_pref, Some(300));
    assert_eq!(route.next_hops, vec![b]);

    // IPv6 over the IPv4 session, both ways, with the configured IPv6 next hops.
    let v6_from_gobgp = net("2001:db8:300::/48");
    gobgp
        .announce(&Announcement::new(v6_from_gobgp).local_pref(260))
        .unwrap();
    let route = bird.wait_route_from(v6_from_gobgp, a, T).unwrap();
    assert_eq!(route.next_hops, vec![IpAddr::V6(pair.a.v6)]);
    assert_eq!(route.local_pref, Some(260));
    let v6_from_bird = net("2001:db8:400::/48");
    bird.announce(&Announcement::new(v6_from_bird)).unwrap();
    let route = gobgp.wait_route_from(v6_from_bird, b, T).unwrap();
    assert_eq!(route.next_hops.first(), Some(&IpAddr::V6(pair.b.v6)));

    // Withdrawal.
    gobgp.withdraw(from_gobgp).unwrap();
    bird.wait_no_route(from_gobgp, T).unwrap();
    assert!(learned(&bird.routes().unwrap(), v6_from_gobgp, a).is_some());

    let namespaces = vec![pair.a.ns.name().to_owned(), pair.b.ns.name().to_owned()];
    let pids: Vec<u32> = gobgp
        .processes()
        .iter()
        .chain(bird.processes())
        .map(|p| p.pid())
        .collect();
    drop((gobgp, bird, pair));
    assert_cleaned_up(&namespaces, &pids);
}

#[test]
fn paused_gobgp_loses_the_session_and_a_restart_restores_its_routes() {
    let pair = Topology::pair().unwrap();
    let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let (mut gobgp, bird) = start(&pair);
    let prefix = net("198.51.100.0/24");
    gobgp
        .announce(&Announcement::new(prefix).local_pref(150))
        .unwrap();
    bird.wait_route_from(prefix, a, T).unwrap();

    // Frozen, GoBGP stops sending keepalives; BIRD's 3 s hold timer expires. With graceful
    // restart negotiated BIRD keeps the routes as stale meanwhile.
    gobgp.pause().unwrap();
    bird.wait_down(a, T).unwrap();
    gobgp.resume().unwrap();
    bird.wait_established(a, T).unwrap();

    // A crash and restart: the announcement made at run time comes back.
    gobgp.restart().unwrap();
    gobgp.wait_established(b, T).unwrap();
    let route = bird.wait_route_from(prefix, a, T).unwrap();
    assert_eq!(route.local_pref, Some(150));
}
