//! UPDATE structure, round trips, End-of-RIB and the borrowed view (RFC 4271 section 4.3 / 6.3,
//! RFC 4760, RFC 4724, RFC 7606 section 5).

use std::net::Ipv6Addr;

use super::*;
use crate::attribute::{
    Aggregator, AsSegment, Community, LargeCommunity, MpReachNlri, MpUnreachNlri, NextHop,
    UnknownAttribute,
};
use crate::codec::{EncodeError, UpdateView};
use crate::message::{subcode, ErrorCode};
use crate::types::AddressFamily;

fn full_path() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Incomplete),
        as_path: Some(AsPath {
            segments: vec![
                AsSegment::Sequence(vec![65001, 65002]),
                AsSegment::Set(vec![65010, 65011]),
            ],
        }),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(50),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some(Aggregator {
            asn: 65002,
            address: Ipv4Addr::new(192, 0, 2, 2),
        }),
        communities: vec![Community::new(65001, 100), Community::NO_EXPORT],
        large_communities: vec![LargeCommunity {
            global_admin: 4_200_000_000,
            local_data1: 1,
            local_data2: 2,
        }],
        unknown: vec![UnknownAttribute {
            flags: OPT_TRANS | flags::PARTIAL,
            type_code: 16,
            value: vec![0, 2, 0xfd, 0xe9, 0, 0, 0, 1],
        }],
        ..PathAttributes::default()
    }
}

fn v6_next_hop(link_local: bool) -> NextHop {
    NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: link_local.then(|| "fe80::1".parse::<Ipv6Addr>().unwrap()),
    }
}

fn round_trip_cases() -> Vec<(&'static str, Update)> {
    vec![
        (
            "ipv4 announce and withdraw with every attribute",
            Update {
                withdrawn: vec![v4("10.9.0.0/16"), v4("0.0.0.0/0")],
                attributes: full_path(),
                nlri: vec![v4("10.0.0.0/24"), v4("10.0.1.1/32"), v4("10.128.0.0/9")],
                errors: vec![],
            },
        ),
        (
            "ipv6 announce with link-local next hop",
            Update {
                attributes: PathAttributes {
                    mp_reach: Some(MpReachNlri {
                        family: AddressFamily::Ipv6Unicast,
                        next_hop: v6_next_hop(true),
                        nlri: vec![net("2001:db8:1::/48"), net("2001:db8::5/128"), net("::/0")],
                    }),
                    next_hop: None,
                    ..full_path()
                },
                ..Update::default()
            },
        ),
        (
            "ipv6 withdraw",
            Update {
                attributes: PathAttributes {
                    mp_unreach: Some(MpUnreachNlri {
                        family: AddressFamily::Ipv6Unicast,
                        withdrawn: vec![net("2001:db8:2::/64")],
                    }),
                    ..PathAttributes::default()
                },
                ..Update::default()
            },
        ),
        (
            "ipv4 in MP_REACH_NLRI",
            Update {
                attributes: PathAttributes {
                    mp_reach: Some(MpReachNlri {
                        family: AddressFamily::Ipv4Unicast,
                        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 9)),
                        nlri: vec![net("198.51.100.0/24")],
                    }),
                    ..base_path()
                },
                ..Update::default()
            },
        ),
        (
            "ipv4 with an ipv6 next hop (RFC 8950)",
            Update {
                attributes: PathAttributes {
                    mp_reach: Some(MpReachNlri {
                        family: AddressFamily::Ipv4Unicast,
                        next_hop: v6_next_hop(false),
                        nlri: vec![net("198.51.100.7/32")],
                    }),
                    next_hop: None,
                    ..base_path()
                },
                ..Update::default()
            },
        ),
        (
            "ipv4 end-of-rib",
            Update::end_of_rib(AddressFamily::Ipv4Unicast),
        ),
        (
            "ipv6 end-of-rib",
            Update::end_of_rib(AddressFamily::Ipv6Unicast),
        ),
    ]
}

#[test]
fn round_trip_table() {
    for opts in [OLD, NEW, NEW_EXT] {
        for (name, u) in round_trip_cases() {
            let got = round_trip(&Message::Update(u.clone()), opts);
            assert_eq!(got, Message::Update(u), "{name} with {opts:?}");
        }
    }
}

#[test]
fn exact_bytes_of_a_simple_update() {
    let u = Update {
        withdrawn: vec![v4("10.1.0.0/16")],
        attributes: base_path(),
        nlri: vec![v4("10.0.0.0/24")],
        errors: vec![],
    };
    let expected = update_frame(&[16, 10, 1], &base_attrs(NEW), &[24, 10, 0, 0]);
    assert_eq!(encode(&Message::Update(u.clone()), NEW), expected);
    assert_eq!(decode_update(&expected, NEW), Ok(u));
}

#[test]
fn structural_errors_reset_the_session() {
    let attrs = base_attrs(NEW);
    let malformed_list = Notification::new(
        ErrorCode::UpdateMessage,
        subcode::update::MALFORMED_ATTRIBUTE_LIST,
        vec![],
    );
    let invalid_network = Notification::new(
        ErrorCode::UpdateMessage,
        subcode::update::INVALID_NETWORK_FIELD,
        vec![],
    );
    let mut withdrawn_overrun = update_body(&[], &attrs, &[24, 10, 0, 0]);
    withdrawn_overrun[1] = 200;
    let mut attrs_overrun = update_body(&[], &attrs, &[]);
    attrs_overrun[3] = 200;
    let mp_bad_prefix = {
        let mut v = vec![0, 2, 1, 16];
        v.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        v.extend_from_slice(&[0, 129, 0x20, 0x01]);
        attr(OPT, type_code::MP_REACH_NLRI, &v)
    };
    let cases: Vec<(&str, Vec<u8>, Notification)> = vec![
        (
            "withdrawn length overruns",
            withdrawn_overrun,
            malformed_list.clone(),
        ),
        ("attribute length overruns", attrs_overrun, malformed_list),
        (
            "nlri prefix length 33",
            update_body(&[], &attrs, &[33, 10, 0, 0, 0, 0]),
            invalid_network.clone(),
        ),
        (
            "nlri prefix truncated",
            update_body(&[], &attrs, &[24, 10, 0]),
            invalid_network.clone(),
        ),
        (
            "withdrawn prefix length 40",
            update_body(&[40, 1, 2, 3, 4, 5], &[], &[]),
            invalid_network.clone(),
        ),
        (
            "withdrawn prefix truncated",
            update_body(&[32, 1, 2], &[], &[]),
            invalid_network,
        ),
        (
            "MP_REACH_NLRI prefix length 129",
            update_body(
                &[],
                &[
                    mp_bad_prefix.clone(),
                    origin_attr(),
                    as_path_attr(&[1], NEW),
                ]
                .concat(),
                &[],
            ),
            Notification::new(
                ErrorCode::UpdateMessage,
                subcode::update::OPTIONAL_ATTRIBUTE_ERROR,
                mp_bad_prefix,
            ),
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(
            decode_update(&frame(2, &body), NEW),
            Err(expected),
            "{name}"
        );
    }
}

#[test]
fn host_bits_are_masked() {
    let f = update_frame(&[23, 10, 0, 1], &base_attrs(NEW), &[30, 192, 0, 2, 7]);
    let u = decode_update(&f, NEW).unwrap();
    assert_eq!(u.withdrawn, vec![v4("10.0.0.0/23")]);
    assert_eq!(u.nlri, vec![v4("192.0.2.4/30")]);
}

#[test]
fn end_of_rib_detection() {
    let eor6 = attr(OPT, type_code::MP_UNREACH_NLRI, &[0, 2, 1]);
    let vpn_eor = attr(OPT, type_code::MP_UNREACH_NLRI, &[0, 1, 128]);
    let cases: Vec<(&str, Vec<u8>, Option<AddressFamily>)> = vec![
        (
            "empty update",
            update_frame(&[], &[], &[]),
            Some(AddressFamily::Ipv4Unicast),
        ),
        (
            "empty MP_UNREACH ipv6",
            update_frame(&[], &eor6, &[]),
            Some(AddressFamily::Ipv6Unicast),
        ),
        ("withdrawal", update_frame(&[8, 10], &[], &[]), None),
        (
            "announcement",
            update_frame(&[], &base_attrs(NEW), &[8, 10]),
            None,
        ),
        (
            "unsupported family marker",
            update_frame(&[], &vpn_eor, &[]),
            None,
        ),
        (
            "attributes only",
            update_frame(&[], &origin_attr(), &[]),
            None,
        ),
    ];
    for (name, f, expected) in cases {
        let u = decode_update(&f, NEW).unwrap();
        assert_eq!(u.end_of_rib_family(), expected, "{name}");
        assert_eq!(
            UpdateView::from_frame(&f, NEW).unwrap().end_of_rib(),
            expected,
            "{name} (view)"
        );
    }
}

#[test]
fn view_matches_the_owned_update() {
    let mut frames: Vec<Vec<u8>> = round_trip_cases()
        .into_iter()
        .map(|(_, u)| encode(&Message::Update(u), NEW))
        .collect();
    // Treat-as-withdraw: a malformed ORIGIN next to classic and MP NLRI.
    let mut mp = vec![0, 2, 1, 16];
    mp.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    mp.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 7]);
    let taw = [
        attr(OPT, type_code::MP_REACH_NLRI, &mp),
        attr(WK, type_code::ORIGIN, &[9]),
        as_path_attr(&[1], NEW),
        next_hop_attr(),
    ]
    .concat();
    frames.push(update_frame(&[16, 10, 1], &taw, &[24, 10, 0, 0]));
    for f in frames {
        let view = UpdateView::from_frame(&f, NEW).unwrap();
        let u = decode_update(&f, NEW).unwrap();
        let announced: Vec<_> = view.announced().collect();
        let withdrawn: Vec<_> = view.withdrawn().collect();
        assert_eq!(announced, u.announced().collect::<Vec<_>>());
        assert_eq!(withdrawn, u.withdrawn_prefixes().collect::<Vec<_>>());
        assert_eq!(view.errors(), &u.errors[..]);
        assert_eq!(view.to_update(), u);
    }
}

#[test]
fn treat_as_withdraw_moves_every_announced_prefix() {
    let mut mp = vec![0, 2, 1, 16];
    mp.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    mp.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 7]);
    let unreach4 = attr(OPT, type_code::MP_UNREACH_NLRI, &[0, 1, 1, 8, 11]);
    let block = [
        attr(OPT, type_code::MP_REACH_NLRI, &mp),
        unreach4,
        attr(WK, type_code::ORIGIN, &[9]),
        as_path_attr(&[1], NEW),
        next_hop_attr(),
    ]
    .concat();
    let u = decode_update(&update_frame(&[16, 10, 1], &block, &[24, 10, 0, 0]), NEW).unwrap();
    assert_eq!(u.nlri, vec![]);
    assert_eq!(
        u.withdrawn,
        vec![v4("10.1.0.0/16"), v4("10.0.0.0/24"), v4("11.0.0.0/8")]
    );
    assert_eq!(
        u.attributes,
        PathAttributes {
            mp_unreach: Some(MpUnreachNlri {
                family: AddressFamily::Ipv6Unicast,
                withdrawn: vec![net("2001:db8:7::/48")],
            }),
            ..PathAttributes::default()
        }
    );
    assert_eq!(
        actions(&u, type_code::ORIGIN),
        vec![ErrorAction::TreatAsWithdraw]
    );
}

#[test]
fn encode_errors() {
    let too_many = Update {
        attributes: base_path(),
        nlri: (0..2000u32)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(i << 8), 24).unwrap())
            .collect(),
        ..Update::default()
    };
    let mut out = BytesMut::from(&b"keep"[..]);
    let err = encode_message(&Message::Update(too_many.clone()), NEW, &mut out).unwrap_err();
    assert!(
        matches!(err, EncodeError::MessageTooLarge { max: 4096, .. }),
        "{err}"
    );
    assert_eq!(
        &out[..],
        b"keep",
        "a failed encode leaves the buffer as it was"
    );
    assert!(encode_message(&Message::Update(too_many), NEW_EXT, &mut out).is_ok());

    let wrong_nh = Update {
        attributes: PathAttributes {
            mp_reach: Some(MpReachNlri {
                family: AddressFamily::Ipv6Unicast,
                next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
                nlri: vec![net("2001:db8::/32")],
            }),
            ..base_path()
        },
        ..Update::default()
    };
    assert!(matches!(
        encode_message(&Message::Update(wrong_nh), NEW, &mut BytesMut::new()),
        Err(EncodeError::NextHopFamilyMismatch { .. })
    ));
    let wrong_prefix = Update {
        attributes: PathAttributes {
            mp_unreach: Some(MpUnreachNlri {
                family: AddressFamily::Ipv6Unicast,
                withdrawn: vec![net("10.0.0.0/8")],
            }),
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    assert!(matches!(
        encode_message(&Message::Update(wrong_prefix), NEW, &mut BytesMut::new()),
        Err(EncodeError::PrefixFamilyMismatch { .. })
    ));
}
