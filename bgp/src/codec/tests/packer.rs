//! The UPDATE packer: full messages, never over the maximum, nothing lost.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use ipnet::Ipv6Net;

use super::*;
use crate::attribute::{Community, NextHop};
use crate::codec::{frame_length, EncodeError, UpdatePacker};
use crate::types::AddressFamily;

fn v4_prefixes(n: u32, len: u8) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let addr = if len == 32 {
                0x0a00_0000 + i
            } else {
                0x0a00_0000 + (i << 8)
            };
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap())
        })
        .collect()
}

fn v6_prefixes(n: u32, len: u8) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let base = u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap());
            let addr = if len == 128 {
                base + u128::from(i)
            } else {
                base + (u128::from(i) << 80)
            };
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap())
        })
        .collect()
}

fn path() -> PathAttributes {
    PathAttributes {
        communities: vec![Community::new(65001, 1)],
        local_pref: Some(100),
        ..base_path()
    }
}

fn v6_next_hop() -> NextHop {
    NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    }
}

/// Checks size bounds and returns everything the messages announce and withdraw. Every message
/// but the last must be too full for one more prefix of `largest_prefix` octets.
fn unpack(
    messages: &[Bytes],
    opts: CodecOptions,
    largest_prefix: usize,
) -> (Vec<(IpNet, NextHop)>, Vec<IpNet>, Vec<PathAttributes>) {
    let max = opts.max_message_len();
    let (mut announced, mut withdrawn, mut paths) = (Vec::new(), Vec::new(), Vec::new());
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(frame_length(m, opts), Ok(Some(m.len())));
        assert!(
            m.len() <= max,
            "message {i} has {} octets, max {max}",
            m.len()
        );
        if i + 1 < messages.len() {
            assert!(
                m.len() > max - largest_prefix,
                "message {i} has only {} of {max} octets",
                m.len()
            );
        }
        let u = decode_update(m, opts).unwrap();
        assert!(u.errors.is_empty(), "{:?}", u.errors);
        announced.extend(u.announced());
        withdrawn.extend(u.withdrawn_prefixes());
        paths.push(PathAttributes {
            mp_reach: None,
            mp_unreach: None,
            ..u.attributes
        });
    }
    (announced, withdrawn, paths)
}

#[test]
fn announcements_fill_messages_and_never_exceed_the_maximum() {
    let cases: Vec<(&str, Vec<IpNet>, NextHop, usize, PathAttributes)> = vec![
        (
            "ipv4 /32",
            v4_prefixes(40_000, 32),
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            5,
            PathAttributes {
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..path()
            },
        ),
        (
            "ipv4 /24",
            v4_prefixes(40_000, 24),
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            4,
            PathAttributes {
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..path()
            },
        ),
        (
            "ipv6 /128",
            v6_prefixes(10_000, 128),
            v6_next_hop(),
            17,
            PathAttributes {
                next_hop: None,
                ..path()
            },
        ),
        (
            "ipv6 /48",
            v6_prefixes(20_000, 48),
            v6_next_hop(),
            7,
            PathAttributes {
                next_hop: None,
                ..path()
            },
        ),
    ];
    for opts in [NEW, NEW_EXT] {
        for (name, prefixes, nh, largest, want_path) in &cases {
            let messages = UpdatePacker::new(opts)
                .announce(&path(), *nh, prefixes)
                .unwrap();
            let (announced, withdrawn, paths) = unpack(&messages, opts, *largest);
            assert!(messages.len() >= 2, "{name}: a real test spans messages");
            assert_eq!(
                announced,
                prefixes.iter().map(|p| (*p, *nh)).collect::<Vec<_>>(),
                "{name} {opts:?}"
            );
            assert!(withdrawn.is_empty());
            assert!(
                paths.iter().all(|p| p == want_path),
                "{name}: {:?}",
                paths.first()
            );
        }
    }
}

#[test]
fn withdrawals_fill_messages_and_never_exceed_the_maximum() {
    for opts in [NEW, NEW_EXT] {
        for (prefixes, largest) in [(v4_prefixes(40_000, 32), 5), (v6_prefixes(10_000, 128), 17)] {
            let messages = UpdatePacker::new(opts).withdraw(&prefixes).unwrap();
            let (announced, withdrawn, _) = unpack(&messages, opts, largest);
            assert!(announced.is_empty());
            assert_eq!(withdrawn, prefixes);
        }
    }
}

#[test]
fn mixed_families_and_ipv4_via_mp_reach() {
    let mut prefixes = v4_prefixes(3, 32);
    prefixes.extend(v6_prefixes(2, 128));
    let nh = v6_next_hop();
    let messages = UpdatePacker::new(NEW)
        .announce(&path(), nh, &prefixes)
        .unwrap();
    assert_eq!(messages.len(), 2, "one message per family");
    // Each family's last message is partly empty: no fill check.
    let (announced, _, _) = unpack(&messages, NEW, NEW.max_message_len());
    assert_eq!(
        announced,
        prefixes.iter().map(|p| (*p, nh)).collect::<Vec<_>>()
    );

    let nh4 = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let v4 = v4_prefixes(3, 32);
    let messages = UpdatePacker::new(NEW)
        .ipv4_via_mp_reach(true)
        .announce(&path(), nh4, &v4)
        .unwrap();
    let u = decode_update(&messages[0], NEW).unwrap();
    assert!(u.nlri.is_empty());
    assert_eq!(
        u.attributes.next_hop, None,
        "no NEXT_HOP attribute next to MP_REACH_NLRI"
    );
    assert_eq!(
        u.attributes.mp_reach.unwrap().family,
        AddressFamily::Ipv4Unicast
    );

    let w = UpdatePacker::new(NEW)
        .ipv4_via_mp_reach(true)
        .withdraw(&v4)
        .unwrap();
    let u = decode_update(&w[0], NEW).unwrap();
    assert!(u.withdrawn.is_empty());
    assert_eq!(u.attributes.mp_unreach.unwrap().withdrawn, v4);
}

#[test]
fn packer_errors() {
    let nh4 = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert!(matches!(
        UpdatePacker::new(NEW).announce(&path(), nh4, &v6_prefixes(1, 128)),
        Err(EncodeError::NextHopFamilyMismatch { .. })
    ));
    let huge = PathAttributes {
        communities: (0..1100).map(Community).collect(),
        ..path()
    };
    assert!(matches!(
        UpdatePacker::new(NEW).announce(&huge, nh4, &v4_prefixes(1, 32)),
        Err(EncodeError::AttributesTooLarge { max: 4096, .. })
    ));
    // The same attributes fit in an extended message.
    assert_eq!(
        UpdatePacker::new(NEW_EXT)
            .announce(&huge, nh4, &v4_prefixes(1, 32))
            .unwrap()
            .len(),
        1
    );
    assert!(UpdatePacker::new(NEW)
        .announce(&path(), nh4, &[])
        .unwrap()
        .is_empty());
}

#[test]
fn end_of_rib_markers() {
    for family in AddressFamily::ALL {
        let eor = UpdatePacker::new(NEW).end_of_rib(family).unwrap();
        assert_eq!(
            decode_update(&eor, NEW).unwrap().end_of_rib_family(),
            Some(family)
        );
    }
    assert_eq!(
        UpdatePacker::new(NEW)
            .end_of_rib(AddressFamily::Ipv4Unicast)
            .unwrap()
            .len(),
        23
    );
}
