//! Loc-RIB scenarios: change stream, import policy, peer events.

use std::sync::Arc;

use super::support::*;
use crate::attribute::{Community, Origin};
use crate::message::Update;
use crate::rib::*;
use crate::types::AddressFamily;

#[test]
fn changes_only_when_forwarding_changes() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let u = announce(
        &["10.1.0.1/32", "10.1.0.2/32", "10.2.0.0/16"],
        "192.0.2.1",
        &[65001],
    );

    let steps: Vec<(&str, Update, Vec<Summary>)> = vec![
        (
            "first announcement",
            u.clone(),
            vec![
                reach("10.1.0.1/32", a, &["192.0.2.1"]),
                reach("10.1.0.2/32", a, &["192.0.2.1"]),
                reach("10.2.0.0/16", a, &["192.0.2.1"]),
            ],
        ),
        ("duplicate update", u.clone(), vec![]),
        (
            "new attributes, same next hop",
            announce_with(&["10.1.0.1/32"], "192.0.2.1", &[65001], |x| x.med = Some(5)),
            vec![reach("10.1.0.1/32", a, &["192.0.2.1"])],
        ),
        (
            "new next hop",
            announce(&["10.1.0.2/32"], "192.0.2.9", &[65001]),
            vec![reach("10.1.0.2/32", a, &["192.0.2.9"])],
        ),
        (
            "withdrawal",
            withdraw(&["10.1.0.1/32"]),
            vec![gone("10.1.0.1/32")],
        ),
        (
            "withdrawal of an unknown prefix",
            withdraw(&["10.1.0.1/32", "10.9.0.0/16"]),
            vec![],
        ),
        (
            "host bits are ignored",
            withdraw(&["10.1.0.2/32", "10.2.3.4/16"]),
            vec![gone("10.1.0.2/32"), gone("10.2.0.0/16")],
        ),
    ];
    for (name, update, want) in steps {
        assert_eq!(summary(&apply(&mut rib, a, &update)), want, "{name}");
    }
    assert!(rib.is_empty());
    assert_eq!(rib.adj_rib_in(a).unwrap().prefix_count(), 0);
}

/// The decision with the router ID as the only tie-break between external paths (BIRD's
/// default; FerroLB's and FRR's keep the current best, see `the_current_best_external_path_stays`).
fn router_id_decides() -> LocRib {
    LocRib::new(DecisionConfig {
        prefer_older_external: false,
        ..DecisionConfig::default()
    })
}

#[test]
fn multipath_set_follows_peers() {
    let mut rib = router_id_decides();
    let p1 = add_peer(&mut rib, 1, 65001);
    let p2 = add_peer(&mut rib, 2, 65001);
    let p3 = add_peer(&mut rib, 3, 65001);
    let p4 = add_peer(&mut rib, 4, 65004);
    let pfx = "10.96.0.10/32";
    let steps: Vec<(&str, PeerId, Update, Vec<Summary>)> = vec![
        (
            "first path",
            p2,
            announce(&[pfx], "192.0.2.2", &[65001]),
            vec![reach(pfx, p2, &["192.0.2.2"])],
        ),
        (
            "equal path from the same AS joins, lower router id becomes best",
            p1,
            announce(&[pfx], "192.0.2.1", &[65001]),
            vec![reach(pfx, p1, &["192.0.2.1", "192.0.2.2"])],
        ),
        (
            "equal path from another AS does not join",
            p4,
            announce(&[pfx], "192.0.2.4", &[65004]),
            vec![],
        ),
        (
            "longer path does not join",
            p3,
            announce(&[pfx], "192.0.2.3", &[65001, 65001]),
            vec![],
        ),
        (
            "third path shortens and joins",
            p3,
            announce(&[pfx], "192.0.2.3", &[65001]),
            vec![reach(pfx, p1, &["192.0.2.1", "192.0.2.2", "192.0.2.3"])],
        ),
        (
            "same next hop as another path: deduplicated",
            p3,
            announce(&[pfx], "192.0.2.2", &[65001]),
            vec![reach(pfx, p1, &["192.0.2.1", "192.0.2.2"])],
        ),
        (
            "best withdraws",
            p1,
            withdraw(&[pfx]),
            vec![reach(pfx, p2, &["192.0.2.2"])],
        ),
        (
            "non-forwarding candidate changes",
            p4,
            announce(&[pfx], "192.0.2.44", &[65004]),
            vec![],
        ),
    ];
    for (name, peer, update, want) in steps {
        assert_eq!(summary(&apply(&mut rib, peer, &update)), want, "{name}");
    }
    let fwd: Vec<PeerId> = rib
        .forwarding_paths(&net(pfx))
        .iter()
        .map(|p| p.peer)
        .collect();
    assert_eq!(fwd, [p2, p3]);
    assert_eq!(rib.paths(&net(pfx)).len(), 3);

    // Without multipath only the best path forwards; p3 shares p2's next hop, so forwarding
    // (and the change stream) is unchanged.
    let single = DecisionConfig {
        max_paths: 1,
        ..DecisionConfig::default()
    };
    assert!(rib.set_config(single).is_empty());
    assert_eq!(rib.forwarding_paths(&net(pfx)).len(), 1);
    assert!(apply(&mut rib, p3, &announce(&[pfx], "192.0.2.3", &[65001])).is_empty());
    let changes = rib.set_config(DecisionConfig::default());
    assert_eq!(
        summary(&changes),
        vec![reach(pfx, p2, &["192.0.2.2", "192.0.2.3"])]
    );
}

#[test]
fn import_rejections_are_counted_and_withdraw() {
    let mut rib = LocRib::default();
    let list = PrefixList::new(
        vec![PrefixListEntry::range(
            net("10.96.0.0/12"),
            Some(32),
            None,
            PrefixAction::Permit,
        )],
        PrefixAction::Deny,
    )
    .unwrap();
    let p = rib.add_peer(
        peer_info(1, 65001),
        ImportPolicy {
            prefix_list: Some(list),
            ..ImportPolicy::default()
        },
    );
    let svc = "10.96.0.1/32";
    assert_eq!(
        apply(&mut rib, p, &announce(&[svc], "192.0.2.1", &[65001])).len(),
        1
    );

    let cases: Vec<(&str, Update, RejectReason)> = vec![
        (
            "outside the prefix list",
            announce(&["10.0.0.0/8"], "192.0.2.1", &[65001]),
            RejectReason::PrefixList,
        ),
        (
            "our AS in the path",
            announce(&[svc], "192.0.2.1", &[65001, 65000]),
            RejectReason::AsPathLoop,
        ),
        (
            "no ORIGIN",
            announce_with(&[svc], "192.0.2.1", &[65001], |a| a.origin = None),
            RejectReason::MissingAttributes,
        ),
        (
            "no NEXT_HOP",
            announce_with(&[svc], "192.0.2.1", &[65001], |a| a.next_hop = None),
            RejectReason::MissingAttributes,
        ),
        (
            "unspecified next hop",
            announce(&[svc], "0.0.0.0", &[65001]),
            RejectReason::InvalidNextHop,
        ),
        (
            "multicast next hop",
            announce(&[svc], "224.0.0.5", &[65001]),
            RejectReason::InvalidNextHop,
        ),
    ];
    for (name, update, reason) in cases {
        let before = rib.adj_rib_in(p).unwrap().counters().rejected(reason);
        let changes = apply(&mut rib, p, &update);
        let counters = rib.adj_rib_in(p).unwrap().counters();
        assert_eq!(counters.rejected(reason), before + 1, "{name}");
        if update.nlri.iter().any(|n| n.to_string() == svc) {
            // A rejected re-announcement withdraws the path accepted before.
            assert_eq!(summary(&changes), vec![gone(svc)], "{name}");
            assert!(rib.best(&net(svc)).is_none(), "{name}");
            apply(&mut rib, p, &announce(&[svc], "192.0.2.1", &[65001]));
        } else {
            assert!(changes.is_empty(), "{name}");
        }
    }
    let c = rib.adj_rib_in(p).unwrap().counters();
    assert_eq!(c.rejected_total(), 6);
    assert_eq!(c.received, 1 + 6 + 5);
    assert_eq!(c.accepted, 1 + 5);
}

#[test]
fn prefix_limit_verdicts() {
    let routes = |n: u32| -> Vec<String> {
        (0..n)
            .map(|i| format!("10.0.{}.{}/32", i / 256, i % 256))
            .collect()
    };
    let update = |from: u32, to: u32| {
        let r = routes(to);
        let refs: Vec<&str> = r[from as usize..].iter().map(String::as_str).collect();
        announce(&refs, "192.0.2.1", &[65001])
    };
    let cases = [
        (
            MaxPrefixAction::Warn,
            12,
            ImportVerdict::Warn {
                limit: 10,
                accepted: 12,
            },
            12,
        ),
        (
            MaxPrefixAction::Teardown,
            12,
            ImportVerdict::Teardown {
                limit: 10,
                accepted: 10,
            },
            10,
        ),
        (MaxPrefixAction::Teardown, 10, ImportVerdict::Continue, 10),
    ];
    for (action, sent, want, kept) in cases {
        let mut rib = LocRib::default();
        let p = rib.add_peer(
            peer_info(1, 65001),
            ImportPolicy {
                max_prefixes: Some(MaxPrefixes { limit: 10, action }),
                ..ImportPolicy::default()
            },
        );
        let out = rib.apply_update(p, &update(0, sent)).unwrap();
        assert_eq!(out.verdict, want, "{action:?} {sent}");
        assert_eq!(out.changes.len(), kept, "{action:?} {sent}");
        assert_eq!(rib.adj_rib_in(p).unwrap().prefix_count(), kept);
        // Re-announcing accepted prefixes is always allowed.
        let again = rib.apply_update(p, &update(0, 5)).unwrap();
        assert!(again.changes.is_empty());
        if action == MaxPrefixAction::Warn {
            // Reported once per crossing, not on every UPDATE.
            assert_eq!(again.verdict, ImportVerdict::Continue);
            let w: Vec<String> = routes(12)[..3].to_vec();
            let refs: Vec<&str> = w.iter().map(String::as_str).collect();
            rib.apply_update(p, &withdraw(&refs)).unwrap();
            let back = rib.apply_update(p, &update(0, 12)).unwrap();
            assert_eq!(
                back.verdict,
                ImportVerdict::Warn {
                    limit: 10,
                    accepted: 12
                }
            );
        } else if sent > 10 {
            assert_eq!(again.verdict, ImportVerdict::Continue);
            assert_eq!(
                rib.adj_rib_in(p)
                    .unwrap()
                    .counters()
                    .rejected(RejectReason::MaxPrefixes),
                2
            );
        }
    }
}

#[test]
fn ebgp_local_pref_is_ignored_and_import_actions_apply() {
    let mut rib = LocRib::default();
    let e = add_peer(&mut rib, 1, 65001);
    let i = rib.add_peer(
        peer_info(2, LOCAL_AS),
        ImportPolicy {
            actions: vec![AttributeAction::AddCommunity(Community::new(65000, 7))],
            ..ImportPolicy::default()
        },
    );
    let pfx = "10.0.0.1/32";
    apply(
        &mut rib,
        e,
        &announce_with(&[pfx], "192.0.2.1", &[65001], |a| a.local_pref = Some(500)),
    );
    let ibgp = announce_with(&[pfx], "192.0.2.2", &[65001], |a| a.local_pref = Some(150));
    let changes = apply(&mut rib, i, &ibgp);
    // LOCAL_PREF 500 from the external peer was dropped, so iBGP's 150 beats the default 100.
    assert_eq!(summary(&changes), vec![reach(pfx, i, &["192.0.2.2"])]);
    let best = rib.best(&net(pfx)).unwrap();
    assert_eq!(best.attributes().local_pref, Some(150));
    assert_eq!(best.attributes().communities, [Community::new(65000, 7)]);
    assert_eq!(
        best.attributes().next_hop,
        None,
        "the next hop lives beside the attributes"
    );
    assert_eq!(rib.paths(&net(pfx))[1].attributes().local_pref, None);
}

#[test]
fn one_attribute_set_is_shared_by_all_prefixes() {
    let mut rib = LocRib::default();
    let p = add_peer(&mut rib, 1, 65001);
    let prefixes: Vec<String> = (0..1000)
        .map(|i| format!("10.1.{}.{}/32", i / 256, i % 256))
        .collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let changes = apply(&mut rib, p, &announce(&refs, "192.0.2.1", &[65001]));
    assert_eq!(changes.len(), 1000);
    let first = changes[0].best.as_ref().unwrap().path.clone();
    assert!(changes
        .iter()
        .all(|c| Arc::ptr_eq(&c.best.as_ref().unwrap().path, &first)));
    // A second UPDATE with equal attributes reuses the same set.
    apply(
        &mut rib,
        p,
        &announce(&["10.2.0.0/16"], "192.0.2.1", &[65001]),
    );
    assert_eq!(rib.attribute_sets(), 1);
    assert!(Arc::ptr_eq(
        &rib.best(&net("10.2.0.0/16")).unwrap().path,
        &first
    ));
}

#[test]
fn peer_down_withdraws_only_that_peer() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65002);
    apply(
        &mut rib,
        a,
        &announce(
            &["10.0.0.1/32", "10.0.0.2/32", "2001:db8::1/128"],
            "192.0.2.1",
            &[65001],
        ),
    );
    apply(
        &mut rib,
        a,
        &announce(&["2001:db8::1/128"], "2001:db8:ff::1", &[65001]),
    );
    apply(
        &mut rib,
        b,
        &announce(
            &["10.0.0.2/32", "10.0.0.3/32"],
            "192.0.2.2",
            &[65002, 65009],
        ),
    );
    let mut changes = summary(&rib.peer_down(a).unwrap());
    changes.sort();
    assert_eq!(
        changes,
        vec![
            gone("10.0.0.1/32"),
            reach("10.0.0.2/32", b, &["192.0.2.2"]),
            gone("2001:db8::1/128"),
        ]
    );
    assert_eq!(rib.len(), 2);
    assert_eq!(rib.adj_rib_in(a).unwrap().prefix_count(), 0);
    assert_eq!(rib.routes_from(b).count(), 2);
    // The peer may come back.
    assert_eq!(
        apply(
            &mut rib,
            a,
            &announce(&["10.0.0.1/32"], "192.0.2.1", &[65001])
        )
        .len(),
        1
    );
    assert!(rib.peer_down(a).is_ok());
    assert!(rib.peer_down(a).unwrap().is_empty());
}

#[test]
fn removed_peers_are_unknown_and_ids_are_reused() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32"], "192.0.2.1", &[65001]),
    );
    assert_eq!(
        summary(&rib.remove_peer(a).unwrap()),
        vec![gone("10.0.0.1/32")]
    );
    let err = RibError::UnknownPeer(a);
    assert_eq!(rib.apply_update(a, &withdraw(&[])), Err(err.clone()));
    assert_eq!(rib.peer_down(a), Err(err.clone()));
    assert_eq!(rib.peer_down_graceful(a, &[]), Err(err.clone()));
    assert_eq!(
        rib.end_of_rib(a, AddressFamily::Ipv4Unicast),
        Err(err.clone())
    );
    assert_eq!(rib.remove_peer(a), Err(err));
    let b = add_peer(&mut rib, 2, 65002);
    assert_eq!(b, a);
    assert_eq!(rib.peer(b).unwrap().asn, 65002);
    assert_eq!(rib.adj_rib_in(b).unwrap().counters().received, 0);
}

#[test]
fn withdraw_and_announce_in_one_update_reports_once() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32"], "192.0.2.1", &[65001]),
    );
    let mut u = announce(&["10.0.0.1/32"], "192.0.2.7", &[65001]);
    u.withdrawn.push("10.0.0.1/32".parse().unwrap());
    assert_eq!(
        summary(&apply(&mut rib, a, &u)),
        vec![reach("10.0.0.1/32", a, &["192.0.2.7"])]
    );
}

#[test]
fn router_id_change_reruns_the_tie_break() {
    let mut rib = router_id_decides();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65002);
    apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32"], "192.0.2.1", &[65001]),
    );
    apply(
        &mut rib,
        b,
        &announce(&["10.0.0.1/32"], "192.0.2.2", &[65002]),
    );
    assert_eq!(rib.best(&net("10.0.0.1/32")).unwrap().peer, a);
    assert!(rib
        .set_router_id(a, "1.1.1.1".parse().unwrap())
        .unwrap()
        .is_empty());
    let changes = rib.set_router_id(a, "9.9.9.9".parse().unwrap()).unwrap();
    assert_eq!(
        summary(&changes),
        vec![reach("10.0.0.1/32", b, &["192.0.2.2"])]
    );
}

#[test]
fn ipv6_and_routes_queries() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65001);
    let u = announce_with(&["2001:db8::10/128"], "2001:db8:ff::1", &[65001], |x| {
        x.origin = Some(Origin::Egp)
    });
    apply(&mut rib, a, &u);
    let changes = apply(
        &mut rib,
        b,
        &announce_with(&["2001:db8::10/128"], "2001:db8:ff::2", &[65001], |x| {
            x.origin = Some(Origin::Egp)
        }),
    );
    assert_eq!(
        summary(&changes),
        vec![reach(
            "2001:db8::10/128",
            a,
            &["2001:db8:ff::1", "2001:db8:ff::2"]
        )]
    );
    let all: Vec<(String, PeerId)> = rib.routes().map(|(p, r)| (p.to_string(), r.peer)).collect();
    assert_eq!(all, vec![("2001:db8::10/128".to_string(), a)]);
    let from_b: Vec<String> = rib.routes_from(b).map(|(p, _)| p.to_string()).collect();
    assert_eq!(from_b, ["2001:db8::10/128"]);
    assert_eq!(
        summary(&apply(&mut rib, a, &withdraw(&["2001:db8::10/128"]))),
        vec![reach("2001:db8::10/128", b, &["2001:db8:ff::2"])]
    );
}

#[test]
fn the_current_best_external_path_stays() {
    // RFC 5004: external paths that differ only in router ID do not replace the best one, so a
    // table learned from one peer is not re-advertised when a second peer sends the same.
    for max_paths in [1, 64] {
        let mut rib = LocRib::new(DecisionConfig {
            max_paths,
            ..DecisionConfig::default()
        });
        let a = add_peer(&mut rib, 1, 65001);
        let b = add_peer(&mut rib, 2, 65001);
        let c = add_peer(&mut rib, 3, 65001);
        let pfx = "10.0.0.1/32";
        apply(&mut rib, b, &announce(&[pfx], "192.0.2.2", &[65001, 65001]));
        let changes = apply(&mut rib, a, &announce(&[pfx], "192.0.2.1", &[65001, 65001]));
        assert_eq!(
            rib.best(&net(pfx)).unwrap().peer,
            b,
            "max_paths {max_paths}"
        );
        if max_paths == 1 {
            assert!(changes.is_empty(), "nothing to re-advertise: {changes:?}");
        }
        // A better path still wins, and when the best goes, the router ID decides again.
        apply(&mut rib, c, &announce(&[pfx], "192.0.2.3", &[65001]));
        assert_eq!(
            rib.best(&net(pfx)).unwrap().peer,
            c,
            "max_paths {max_paths}"
        );
        apply(&mut rib, c, &withdraw(&[pfx]));
        assert_eq!(
            rib.best(&net(pfx)).unwrap().peer,
            a,
            "max_paths {max_paths}"
        );
        // Internal paths are not kept: the router ID decides between them.
        let mut rib = LocRib::new(DecisionConfig {
            max_paths,
            ..DecisionConfig::default()
        });
        let i1 = add_peer(&mut rib, 1, LOCAL_AS);
        let i2 = add_peer(&mut rib, 2, LOCAL_AS);
        apply(&mut rib, i2, &announce(&[pfx], "192.0.2.2", &[65009]));
        apply(&mut rib, i1, &announce(&[pfx], "192.0.2.1", &[65009]));
        assert_eq!(
            rib.best(&net(pfx)).unwrap().peer,
            i1,
            "max_paths {max_paths}"
        );
    }
}
