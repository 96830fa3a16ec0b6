//! Export rules, duplicate suppression and grouping.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use crate::attribute::{AsPath, PathAttributes};
use crate::rib::tests::support::*;
use crate::rib::{LocRib, PrefixAction, PrefixListEntry};

const TARGET_EBGP: u32 = 65100;

fn policy() -> ExportPolicy {
    ExportPolicy {
        local_ipv4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        local_ipv6: Some("2001:db8:ff::fe".parse().unwrap()),
        ..ExportPolicy::default()
    }
}

/// What the target receives for one route: (AS_PATH, LOCAL_PREF, MED, next hop).
type Sent = Option<(Vec<u32>, Option<u32>, Option<u32>, &'static str)>;

struct Case {
    name: &'static str,
    /// Source peer: iBGP when true, else eBGP AS 65001.
    from_ibgp: bool,
    /// Target: iBGP when true, else eBGP AS 65100.
    to_ibgp: bool,
    policy: ExportPolicy,
    attrs: fn(&mut PathAttributes),
    prefix: &'static str,
    hop: &'static str,
    want: Sent,
}

fn no_change(_: &mut PathAttributes) {}

fn run(case: &Case) -> OutboundBatch {
    let mut rib = LocRib::default();
    let src = if case.from_ibgp {
        add_peer(&mut rib, 1, LOCAL_AS)
    } else {
        add_peer(&mut rib, 1, 65001)
    };
    let target_info = peer_info(3, if case.to_ibgp { LOCAL_AS } else { TARGET_EBGP });
    let target = rib.add_peer(target_info.clone(), Default::default());
    let path: &[u32] = if case.from_ibgp { &[] } else { &[65001] };
    let u = announce_with(&[case.prefix], case.hop, path, |a| {
        a.med = Some(10);
        a.local_pref = Some(200);
        (case.attrs)(a);
    });
    let changes = apply(&mut rib, src, &u);
    let mut out = AdjRibOut::new(target, target_info, case.policy.clone());
    out.process(&changes)
}

#[test]
fn export_rules() {
    use crate::attribute::Community;
    let rs = ExportPolicy {
        mode: ExportMode::RouteServer,
        ..policy()
    };
    let cases = vec![
        Case {
            name: "ebgp to ebgp: prepend, next hop self, no med, no local pref",
            from_ibgp: false,
            to_ibgp: false,
            policy: policy(),
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65000, 65001], None, None, "192.0.2.254")),
        },
        Case {
            name: "ibgp to ebgp",
            from_ibgp: true,
            to_ibgp: false,
            policy: policy(),
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65000], None, None, "192.0.2.254")),
        },
        Case {
            name: "ebgp to ibgp: unchanged path, local pref default, med kept, next hop unchanged",
            from_ibgp: false,
            to_ibgp: true,
            policy: policy(),
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65001], Some(100), Some(10), "192.0.2.1")),
        },
        Case {
            name: "ibgp to ibgp: split horizon",
            from_ibgp: true,
            to_ibgp: true,
            policy: policy(),
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: None,
        },
        Case {
            name: "ibgp to ibgp reflector client: local pref kept",
            from_ibgp: true,
            to_ibgp: true,
            policy: ExportPolicy {
                mode: ExportMode::RouteReflector,
                ..policy()
            },
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![], Some(200), Some(10), "192.0.2.1")),
        },
        Case {
            name: "transparent route server to ebgp",
            from_ibgp: false,
            to_ibgp: false,
            policy: rs.clone(),
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65001], None, Some(10), "192.0.2.1")),
        },
        Case {
            name: "next hop self towards ibgp",
            from_ibgp: false,
            to_ibgp: true,
            policy: ExportPolicy {
                next_hop: NextHopPolicy::SelfAddress,
                ..policy()
            },
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65001], Some(100), Some(10), "192.0.2.254")),
        },
        Case {
            name: "next hop unchanged towards ebgp",
            from_ibgp: false,
            to_ibgp: false,
            policy: ExportPolicy {
                next_hop: NextHopPolicy::Unchanged,
                ..policy()
            },
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65000, 65001], None, None, "192.0.2.1")),
        },
        Case {
            name: "ipv6 next hop self",
            from_ibgp: false,
            to_ibgp: false,
            policy: policy(),
            attrs: no_change,
            prefix: "2001:db8::1/128",
            hop: "2001:db8:ff::1",
            want: Some((vec![65000, 65001], None, None, "2001:db8:ff::fe")),
        },
        Case {
            name: "next hop self without a local address of the family",
            from_ibgp: false,
            to_ibgp: false,
            policy: ExportPolicy {
                local_ipv6: None,
                ..policy()
            },
            attrs: no_change,
            prefix: "2001:db8::1/128",
            hop: "2001:db8:ff::1",
            want: None,
        },
        Case {
            name: "no-advertise",
            from_ibgp: false,
            to_ibgp: true,
            policy: policy(),
            attrs: |a| a.communities.push(Community::NO_ADVERTISE),
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: None,
        },
        Case {
            name: "no-export to ebgp",
            from_ibgp: false,
            to_ibgp: false,
            policy: policy(),
            attrs: |a| a.communities.push(Community::NO_EXPORT),
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: None,
        },
        Case {
            name: "no-export to ibgp",
            from_ibgp: false,
            to_ibgp: true,
            policy: policy(),
            attrs: |a| a.communities.push(Community::NO_EXPORT),
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65001], Some(100), Some(10), "192.0.2.1")),
        },
        Case {
            name: "export prefix list",
            from_ibgp: false,
            to_ibgp: false,
            policy: ExportPolicy {
                prefix_list: Some(
                    PrefixList::new(
                        vec![PrefixListEntry::exact(
                            net("10.0.0.1/32"),
                            PrefixAction::Deny,
                        )],
                        PrefixAction::Permit,
                    )
                    .unwrap(),
                ),
                ..policy()
            },
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: None,
        },
        Case {
            name: "export actions",
            from_ibgp: false,
            to_ibgp: false,
            policy: ExportPolicy {
                actions: vec![
                    AttributeAction::PrependAs {
                        asn: 65000,
                        times: 1,
                    },
                    AttributeAction::SetMed(42),
                ],
                ..policy()
            },
            attrs: no_change,
            prefix: "10.0.0.1/32",
            hop: "192.0.2.1",
            want: Some((vec![65000, 65000, 65001], None, Some(42), "192.0.2.254")),
        },
    ];
    for case in &cases {
        let batch = run(case);
        let got: Sent = match batch.announce.as_slice() {
            [] => None,
            [a] => {
                assert_eq!(a.prefixes, [net(case.prefix)], "{}", case.name);
                let path = a.attributes.as_path.clone().unwrap_or_default();
                let want_hop = case.want.as_ref().map_or("", |w| w.3);
                assert_eq!(a.next_hop, nh(want_hop), "{}", case.name);
                assert_eq!(a.attributes.next_hop, None, "{}", case.name);
                Some((
                    path_asns(&path),
                    a.attributes.local_pref,
                    a.attributes.med,
                    want_hop,
                ))
            }
            more => panic!("{}: {more:?}", case.name),
        };
        assert_eq!(got, case.want, "{}", case.name);
        assert!(batch.withdraw.is_empty(), "{}", case.name);
    }
}

fn path_asns(p: &AsPath) -> Vec<u32> {
    p.segments
        .iter()
        .flat_map(|s| match s {
            crate::attribute::AsSegment::Sequence(v) | crate::attribute::AsSegment::Set(v) => {
                v.clone()
            }
        })
        .collect()
}

#[test]
fn duplicates_are_suppressed_and_only_sent_routes_withdrawn() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65002);
    let t_info = peer_info(3, TARGET_EBGP);
    let t = rib.add_peer(t_info.clone(), Default::default());
    let mut out = AdjRibOut::new(t, t_info, policy());

    let c = apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32", "10.0.0.2/32"], "192.0.2.1", &[65001]),
    );
    let batch = out.process(&c);
    assert_eq!(batch.announced_count(), 2);
    assert_eq!(out.advertised_count(), 2);
    // The same changes again: nothing new to send.
    assert!(out.process(&c).is_empty());
    // A MED change is invisible to an eBGP peer (MED is stripped): suppressed.
    let c = apply(
        &mut rib,
        a,
        &announce_with(&["10.0.0.1/32"], "192.0.2.1", &[65001], |x| x.med = Some(3)),
    );
    assert_eq!(c.len(), 1);
    assert!(out.process(&c).is_empty());
    // B's equal route loses on router id: no change. A's route turning EGP makes B best.
    assert!(apply(
        &mut rib,
        b,
        &announce(&["10.0.0.1/32"], "192.0.2.2", &[65002])
    )
    .is_empty());
    let c = apply(
        &mut rib,
        a,
        &announce_with(&["10.0.0.1/32"], "192.0.2.1", &[65001], |x| {
            x.origin = Some(crate::attribute::Origin::Egp)
        }),
    );
    let batch = out.process(&c);
    assert_eq!(batch.announce.len(), 1);
    assert_eq!(
        path_asns(batch.announce[0].attributes.as_path.as_ref().unwrap()),
        [65000, 65002]
    );
    // The target's own route is never echoed back.
    let p3 = "10.0.0.3/32";
    let c = apply(&mut rib, t, &announce(&[p3], "192.0.2.3", &[65100, 65100]));
    assert_eq!(c.len(), 1);
    assert!(out.process(&c).is_empty());
    // A's better (shorter) route for it is sent...
    let c = apply(&mut rib, a, &announce(&[p3], "192.0.2.1", &[65001]));
    assert_eq!(out.process(&c).announced_count(), 1);
    // ...and when it goes, the best is the target's own again: withdrawn, not echoed.
    let c = apply(&mut rib, a, &withdraw(&[p3]));
    let batch = out.process(&c);
    assert_eq!(batch.withdraw, [net(p3)]);
    assert!(batch.announce.is_empty());
    // Withdrawing what was never sent sends nothing.
    let c = apply(&mut rib, t, &withdraw(&[p3]));
    assert_eq!(c.len(), 1);
    assert!(out.process(&c).is_empty());
    assert_eq!(out.advertised_count(), 2);
}

#[test]
fn announcements_are_grouped_by_attributes_and_next_hop() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let b = add_peer(&mut rib, 2, 65002);
    let t_info = peer_info(3, LOCAL_AS);
    let t = rib.add_peer(t_info.clone(), Default::default());
    let mut changes = apply(
        &mut rib,
        a,
        &announce(
            &["10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"],
            "192.0.2.1",
            &[65001],
        ),
    );
    changes.extend(apply(
        &mut rib,
        b,
        &announce(&["10.0.1.1/32", "10.0.1.2/32"], "192.0.2.2", &[65002]),
    ));
    changes.extend(apply(
        &mut rib,
        b,
        &announce(&["2001:db8::1/128"], "2001:db8:ff::2", &[65002]),
    ));
    let mut out = AdjRibOut::new(t, t_info.clone(), policy());
    let batch = out.process(&changes);
    let mut groups: Vec<(String, Vec<String>)> = batch
        .announce
        .iter()
        .map(|a| {
            let mut p: Vec<String> = a.prefixes.iter().map(|p| p.to_string()).collect();
            p.sort();
            (format!("{:?}", a.next_hop), p)
        })
        .collect();
    groups.sort();
    let v6_hop = format!(
        "{:?}",
        NextHop::V6 {
            global: "2001:db8:ff::2".parse::<Ipv6Addr>().unwrap(),
            link_local: None
        }
    );
    assert_eq!(
        groups,
        vec![
            (
                format!("{:?}", nh("192.0.2.1")),
                vec![
                    "10.0.0.1/32".into(),
                    "10.0.0.2/32".into(),
                    "10.0.0.3/32".into()
                ]
            ),
            (
                format!("{:?}", nh("192.0.2.2")),
                vec!["10.0.1.1/32".into(), "10.0.1.2/32".into()]
            ),
            (v6_hop, vec!["2001:db8::1/128".into()]),
        ]
    );

    // A new session gets the whole table; a refresh resends it; a diff sends nothing.
    let mut fresh = AdjRibOut::new(t, t_info, policy());
    assert_eq!(fresh.advertise_all(&rib.snapshot()).announced_count(), 6);
    assert!(fresh.advertise_all(&rib.snapshot()).is_empty());
    assert_eq!(fresh.refresh(&rib.snapshot()).announced_count(), 6);
    // After the session resets, everything is new again.
    fresh.reset();
    assert_eq!(fresh.advertised_count(), 0);
    assert_eq!(fresh.advertise_all(&rib.snapshot()).announced_count(), 6);
    // A policy change only sends what it changes.
    let only_v4 = ExportPolicy {
        prefix_list: Some(
            PrefixList::new(
                vec![PrefixListEntry::range(
                    net("0.0.0.0/0"),
                    None,
                    Some(32),
                    PrefixAction::Permit,
                )],
                PrefixAction::Deny,
            )
            .unwrap(),
        ),
        ..policy()
    };
    let batch = fresh.set_policy(only_v4, &rib.snapshot());
    assert_eq!(batch.withdraw, [net("2001:db8::1/128")]);
    assert!(batch.announce.is_empty());
    // Peer A going down withdraws its three prefixes.
    let c = rib.peer_down(a).unwrap();
    let mut w = fresh.process(&c).withdraw;
    w.sort();
    assert_eq!(
        w,
        [net("10.0.0.1/32"), net("10.0.0.2/32"), net("10.0.0.3/32")]
    );
    // Prefixes that disappeared while not tracked are withdrawn by a full sync.
    let mut other = AdjRibOut::new(t, peer_info(3, LOCAL_AS), policy());
    other.advertise_all(&rib.snapshot());
    rib.peer_down(b).unwrap();
    let batch = other.advertise_all(&rib.snapshot());
    assert_eq!(batch.withdraw.len(), 3);
}

#[test]
fn a_new_policy_re_exports_prefixes_whose_source_path_was_just_exported() {
    use crate::attribute::Community;

    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let t_info = peer_info(2, 65100);
    let t = rib.add_peer(t_info.clone(), crate::rib::ImportPolicy::default());
    let changes = apply(
        &mut rib,
        a,
        &announce(&["10.0.0.1/32", "10.0.0.2/32"], "192.0.2.1", &[65001]),
    );
    let mut out = AdjRibOut::new(t, t_info, policy());
    assert_eq!(out.process(&changes).announced_count(), 2);
    // Same source path as the last export: the new policy's community must still be applied.
    let tagged = ExportPolicy {
        actions: vec![AttributeAction::AddCommunity(Community::NO_EXPORT)],
        ..policy()
    };
    let batch = out.set_policy(tagged, &rib.snapshot());
    assert_eq!(batch.announced_count(), 2);
    assert!(batch
        .announce
        .iter()
        .all(|a| a.attributes.communities.contains(&Community::NO_EXPORT)));
    // And back: the community goes again.
    let batch = out.set_policy(policy(), &rib.snapshot());
    assert_eq!(batch.announced_count(), 2);
    assert!(batch
        .announce
        .iter()
        .all(|a| a.attributes.communities.is_empty()));
}
