//! Graceful restart helper scenarios.

use crate::message::Update;
use crate::rib::tests::support::*;
use crate::rib::{LocRib, PeerId};
use crate::types::AddressFamily::{Ipv4Unicast, Ipv6Unicast};

/// A RIB where peer A (best) and peer B both have 10.0.0.1, A alone has 10.0.0.2 and
/// 2001:db8::1, and A's paths are stale after a graceful restart of IPv4 only.
fn restarted() -> (LocRib, PeerId, PeerId) {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65002);
    apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32", "10.0.0.2/32"], "192.0.2.1", &[65001]),
    );
    apply(
        &mut rib,
        a,
        &announce(&["2001:db8::1/128"], "2001:db8:ff::1", &[65001]),
    );
    apply(
        &mut rib,
        b,
        &announce(&["10.0.0.1/32"], "192.0.2.2", &[65002, 65009]),
    );
    let changes = rib.peer_down_graceful(a, &[Ipv4Unicast]).unwrap();
    // IPv6 forwarding was not preserved: withdrawn now. IPv4 stays, stale, still forwarding.
    assert_eq!(summary(&changes), vec![gone("2001:db8::1/128")]);
    assert_eq!(rib.adj_rib_in(a).unwrap().stale_count(), 2);
    assert!(rib.paths(&net("10.0.0.2/32"))[0].stale);
    assert_eq!(rib.best(&net("10.0.0.1/32")).unwrap().peer, a);
    (rib, a, b)
}

#[test]
fn end_of_rib_purges_what_was_not_refreshed() {
    let (mut rib, a, b) = restarted();
    // The peer is back and re-announces 10.0.0.1 unchanged: no forwarding change, not stale.
    assert!(apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32"], "192.0.2.1", &[65001])
    )
    .is_empty());
    assert!(!rib.paths(&net("10.0.0.1/32"))[0].stale);
    assert_eq!(rib.adj_rib_in(a).unwrap().stale_count(), 1);
    // End-of-RIB for IPv6 has nothing to purge; for IPv4 it drops 10.0.0.2.
    assert!(apply(&mut rib, a, &Update::end_of_rib(Ipv6Unicast)).is_empty());
    let changes = apply(&mut rib, a, &Update::end_of_rib(Ipv4Unicast));
    assert_eq!(summary(&changes), vec![gone("10.0.0.2/32")]);
    assert_eq!(rib.adj_rib_in(a).unwrap().stale_count(), 0);
    assert_eq!(rib.best(&net("10.0.0.1/32")).unwrap().peer, a);
    assert_eq!(rib.paths(&net("10.0.0.1/32")).len(), 2);
    assert_eq!(rib.best(&net("10.0.0.1/32")).unwrap().next_hops.len(), 1);
    let _ = b;
}

#[test]
fn restart_timer_purges_every_stale_path() {
    let (mut rib, a, b) = restarted();
    let mut changes = summary(&rib.restart_timer_expired(a).unwrap());
    changes.sort();
    assert_eq!(
        changes,
        vec![reach("10.0.0.1/32", b, &["192.0.2.2"]), gone("10.0.0.2/32")]
    );
    assert_eq!(rib.adj_rib_in(a).unwrap().prefix_count(), 0);
    assert!(rib.restart_timer_expired(a).unwrap().is_empty());
}

#[test]
fn a_changed_reannouncement_replaces_the_stale_path() {
    let (mut rib, a, _) = restarted();
    let changes = apply(
        &mut rib,
        a,
        &announce(&["10.0.0.2/32"], "192.0.2.11", &[65001]),
    );
    assert_eq!(
        summary(&changes),
        vec![reach("10.0.0.2/32", a, &["192.0.2.11"])]
    );
    let changes = apply(&mut rib, a, &withdraw(&["10.0.0.1/32"]));
    assert_eq!(changes.len(), 1);
    assert_eq!(rib.adj_rib_in(a).unwrap().stale_count(), 0);
    assert!(rib.end_of_rib(a, Ipv4Unicast).unwrap().is_empty());
    assert_eq!(rib.len(), 2);
}

#[test]
fn a_plain_peer_down_after_a_restart_drops_stale_paths_too() {
    let (mut rib, a, _) = restarted();
    assert_eq!(rib.peer_down(a).unwrap().len(), 2);
    assert_eq!(rib.adj_rib_in(a).unwrap().stale_count(), 0);
    assert_eq!(rib.len(), 1);
}
