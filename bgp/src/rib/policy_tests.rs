//! Table-driven tests of prefix lists and attribute actions.

use super::*;
use crate::attribute::AsPath;

use PrefixAction::{Deny, Permit};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn list(
    entries: &[(&str, Option<u8>, Option<u8>, PrefixAction)],
    default: PrefixAction,
) -> PrefixList {
    PrefixList::new(
        entries
            .iter()
            .map(|&(p, ge, le, a)| PrefixListEntry::range(net(p), ge, le, a))
            .collect(),
        default,
    )
    .unwrap()
}

#[test]
fn prefix_list_matching() {
    let services = list(
        &[
            ("10.96.0.0/16", None, None, Deny),
            ("10.96.0.0/12", Some(32), None, Permit),
            ("2001:db8::/32", None, Some(64), Deny),
            ("2001:db8::/32", Some(128), Some(128), Permit),
            ("192.0.2.0/24", Some(25), Some(27), Permit),
        ],
        Deny,
    );
    let cases: &[(&str, PrefixAction)] = &[
        ("10.96.0.0/16", Deny),        // exact entry, first match wins
        ("10.96.1.5/32", Permit),      // inside /12 with ge 32
        ("10.96.0.0/24", Deny),        // inside /12 but not /32: default
        ("10.112.0.1/32", Deny),       // outside 10.96.0.0/12
        ("10.111.255.255/32", Permit), // last address of the /12
        ("2001:db8:1::/48", Deny),     // le 64 entry
        ("2001:db8::1/128", Permit),   // ge=le=128
        ("2001:db9::1/128", Deny),     // other /32: default
        ("192.0.2.0/24", Deny),        // shorter than ge
        ("192.0.2.128/25", Permit),
        ("192.0.2.32/27", Permit),
        ("192.0.2.1/32", Deny), // longer than le
        ("0.0.0.0/0", Deny),
    ];
    for (p, want) in cases {
        assert_eq!(services.evaluate(&net(p)), *want, "{p}");
    }
}

#[test]
fn default_action_and_families() {
    let v6_only = list(&[("::/0", None, Some(128), Deny)], Permit);
    assert!(
        v6_only.permits(&net("10.0.0.1/32")),
        "an IPv6 entry never matches IPv4"
    );
    assert!(!v6_only.permits(&net("2001:db8::1/128")));
    let empty = list(&[], Deny);
    assert!(!empty.permits(&net("10.0.0.1/32")));
    let all_v4 = list(&[("0.0.0.0/0", None, Some(32), Permit)], Deny);
    assert!(all_v4.permits(&net("10.0.0.1/32")));
    assert!(all_v4.permits(&net("0.0.0.0/0")));
    assert!(!all_v4.permits(&net("::/0")));
}

#[test]
fn invalid_ranges_are_rejected() {
    let bad: &[(&str, Option<u8>, Option<u8>)] = &[
        ("10.0.0.0/16", Some(8), None),      // ge below the prefix length
        ("10.0.0.0/16", Some(24), Some(20)), // ge above le
        ("10.0.0.0/16", None, Some(33)),     // le beyond the address length
        ("10.0.0.0/16", None, Some(8)),      // le below the prefix length
        ("2001:db8::/32", Some(129), None),
    ];
    for &(p, ge, le) in bad {
        let e = PrefixListEntry::range(net(p), ge, le, Permit);
        assert_eq!(
            PrefixList::new(vec![e], Deny),
            Err(PolicyError::InvalidRange {
                prefix: net(p),
                ge,
                le
            }),
            "{p} ge {ge:?} le {le:?}"
        );
    }
    // Host bits in the entry's prefix are ignored.
    let l = PrefixList::new(
        vec![PrefixListEntry::exact(net("10.0.0.1/8"), Permit)],
        Deny,
    )
    .unwrap();
    assert!(l.permits(&net("10.0.0.0/8")));
}

#[test]
fn attribute_actions() {
    let c1 = Community::new(65000, 1);
    let c2 = Community::new(65000, 2);
    let lc = LargeCommunity {
        global_admin: 65000,
        local_data1: 1,
        local_data2: 2,
    };
    let base = PathAttributes {
        as_path: Some(AsPath::from_sequence([65001])),
        med: Some(5),
        communities: vec![c1],
        ..PathAttributes::default()
    };
    type Check = fn(&PathAttributes) -> bool;
    let cases: Vec<(AttributeAction, Check)> = vec![
        (AttributeAction::SetLocalPref(300), |a| {
            a.local_pref == Some(300)
        }),
        (AttributeAction::SetMed(7), |a| a.med == Some(7)),
        (AttributeAction::RemoveMed, |a| a.med.is_none()),
        (
            AttributeAction::AddCommunity(Community::new(65000, 1)),
            |a| a.communities.len() == 1,
        ),
        (
            AttributeAction::AddCommunity(Community::new(65000, 2)),
            |a| a.communities == [Community::new(65000, 1), Community::new(65000, 2)],
        ),
        (
            AttributeAction::RemoveCommunity(Community::new(65000, 1)),
            |a| a.communities.is_empty(),
        ),
        (AttributeAction::ClearCommunities, |a| {
            a.communities.is_empty()
        }),
        (
            AttributeAction::AddLargeCommunity(LargeCommunity {
                global_admin: 65000,
                local_data1: 1,
                local_data2: 2,
            }),
            |a| a.large_communities.len() == 1,
        ),
        (
            AttributeAction::PrependAs {
                asn: 65000,
                times: 2,
            },
            |a| a.as_path == Some(AsPath::from_sequence([65000, 65000, 65001])),
        ),
        (
            AttributeAction::PrependAs {
                asn: 65000,
                times: 0,
            },
            |a| a.as_path == Some(AsPath::from_sequence([65001])),
        ),
    ];
    for (action, check) in cases {
        let mut a = base.clone();
        action.apply(&mut a);
        assert!(check(&a), "{action:?} gave {a:?}");
    }
    // Prepending to an empty path creates a sequence.
    let mut a = PathAttributes::default();
    AttributeAction::apply_all(
        &[
            AttributeAction::PrependAs {
                asn: 65000,
                times: 1,
            },
            AttributeAction::AddCommunity(c2),
            AttributeAction::AddLargeCommunity(lc),
            AttributeAction::AddLargeCommunity(lc),
        ],
        &mut a,
    );
    assert_eq!(a.as_path, Some(AsPath::from_sequence([65000])));
    assert_eq!(a.communities, [c2]);
    assert_eq!(a.large_communities, [lc]);
}

#[test]
fn import_policy_without_a_list_permits_everything() {
    assert!(ImportPolicy::default().permits(&net("10.0.0.0/8")));
    let p = ImportPolicy {
        prefix_list: Some(list(&[], Deny)),
        ..ImportPolicy::default()
    };
    assert!(!p.permits(&net("10.0.0.0/8")));
}
