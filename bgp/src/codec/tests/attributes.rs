//! Path attributes, one table row per attribute and error (RFC 4271 section 5 / 6.3, RFC 7606).

use super::*;
use crate::attribute::{Aggregator, AttributeError, Community, LargeCommunity, UnknownAttribute};
use crate::codec::rules::{Handling, RULES};
use crate::codec::{decode_path_attributes, encode_path_attributes};
use crate::message::{subcode, ErrorCode};

/// What decoding an UPDATE announcing 10.0.0.0/24 with a given attribute block must give.
#[derive(Debug)]
enum Want {
    /// No error; these attributes.
    Path(Box<PathAttributes>),
    /// The attribute of this type was discarded; the prefix stays announced.
    Discard(u8),
    /// Treat-as-withdraw because of this attribute type.
    Withdraw(u8),
    /// Session reset with UPDATE Message Error, this subcode and data.
    Reset(u8, Vec<u8>),
}

const PREFIX: [u8; 4] = [24, 10, 0, 0];

fn check(name: &str, opts: CodecOptions, block: &[u8], want: Want) {
    let result = decode_update(&update_frame(&[], block, &PREFIX), opts);
    let announced = vec![v4("10.0.0.0/24")];
    match want {
        Want::Path(path) => {
            let u = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(u.errors, vec![], "{name}");
            assert_eq!(u.attributes, *path, "{name}");
            assert_eq!(u.nlri, announced, "{name}");
        }
        Want::Discard(code) => {
            let u = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                actions(&u, code),
                vec![ErrorAction::AttributeDiscard],
                "{name}: {:?}",
                u.errors
            );
            assert!(
                u.errors
                    .iter()
                    .all(|e| e.action == ErrorAction::AttributeDiscard),
                "{name}"
            );
            assert_eq!(u.nlri, announced, "{name}");
        }
        Want::Withdraw(code) => {
            let u = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                actions(&u, code).contains(&ErrorAction::TreatAsWithdraw),
                "{name}: {:?}",
                u.errors
            );
            assert_eq!(u.nlri, vec![], "{name}");
            assert_eq!(u.withdrawn, announced, "{name}");
            assert_eq!(u.attributes, PathAttributes::default(), "{name}");
        }
        Want::Reset(sub, data) => {
            assert_eq!(
                result,
                Err(Notification::new(ErrorCode::UpdateMessage, sub, data)),
                "{name}"
            );
        }
    }
}

#[test]
fn valid_attributes() {
    let base = base_attrs(NEW);
    let unknown_trans = attr(
        OPT_TRANS | flags::PARTIAL | flags::EXTENDED_LENGTH,
        16,
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    let unknown_non_trans = attr(OPT, 9, &[10, 0, 0, 9]);
    let cases: Vec<(&str, CodecOptions, Vec<u8>, PathAttributes)> = vec![
        ("mandatory only", NEW, base.clone(), base_path()),
        (
            "MED and LOCAL_PREF",
            NEW,
            [
                base.clone(),
                attr(OPT, 4, &[0, 0, 0, 7]),
                attr(WK, 5, &[0, 0, 0, 100]),
            ]
            .concat(),
            PathAttributes {
                med: Some(7),
                local_pref: Some(100),
                ..base_path()
            },
        ),
        (
            "ATOMIC_AGGREGATE and 8-octet AGGREGATOR",
            NEW,
            [
                base.clone(),
                attr(WK, 6, &[]),
                attr(OPT_TRANS, 7, &[0, 1, 0, 0, 192, 0, 2, 9]),
            ]
            .concat(),
            PathAttributes {
                atomic_aggregate: true,
                aggregator: Some(Aggregator {
                    asn: 65536,
                    address: Ipv4Addr::new(192, 0, 2, 9),
                }),
                ..base_path()
            },
        ),
        (
            "6-octet AGGREGATOR on a 2-octet session",
            OLD,
            [
                base_attrs(OLD),
                attr(OPT_TRANS, 7, &[0xfd, 0xe9, 192, 0, 2, 9]),
            ]
            .concat(),
            PathAttributes {
                aggregator: Some(Aggregator {
                    asn: 65001,
                    address: Ipv4Addr::new(192, 0, 2, 9),
                }),
                ..base_path()
            },
        ),
        (
            "COMMUNITIES and LARGE_COMMUNITY",
            NEW,
            [
                base.clone(),
                attr(OPT_TRANS, 8, &[0xfd, 0xe9, 0, 100, 0xff, 0xff, 0xff, 0x01]),
                attr(OPT_TRANS, 32, &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2]),
            ]
            .concat(),
            PathAttributes {
                communities: vec![Community::new(65001, 100), Community::NO_EXPORT],
                large_communities: vec![LargeCommunity {
                    global_admin: 65001,
                    local_data1: 1,
                    local_data2: 2,
                }],
                ..base_path()
            },
        ),
        (
            "unknown optional attributes kept with their flags (Extended Length dropped)",
            NEW,
            [base.clone(), unknown_trans, unknown_non_trans].concat(),
            PathAttributes {
                unknown: vec![
                    UnknownAttribute {
                        flags: OPT_TRANS | flags::PARTIAL,
                        type_code: 16,
                        value: vec![1, 2, 3, 4, 5, 6, 7, 8],
                    },
                    UnknownAttribute {
                        flags: OPT,
                        type_code: 9,
                        value: vec![10, 0, 0, 9],
                    },
                ],
                ..base_path()
            },
        ),
        (
            "empty AS_PATH (internal peer) and extended-length ORIGIN",
            NEW,
            [
                attr(WK | flags::EXTENDED_LENGTH, 1, &[1]),
                attr(WK, 2, &[]),
                next_hop_attr(),
            ]
            .concat(),
            PathAttributes {
                origin: Some(Origin::Egp),
                as_path: Some(AsPath::default()),
                ..base_path()
            },
        ),
    ];
    for (name, opts, block, path) in cases {
        check(name, opts, &block, Want::Path(Box::new(path)));
    }
}

#[test]
fn malformed_attributes() {
    let base = base_attrs(NEW);
    let without = |code: u8| -> Vec<u8> {
        [
            (1, origin_attr()),
            (2, as_path_attr(&[65001], NEW)),
            (3, next_hop_attr()),
        ]
        .into_iter()
        .filter(|(c, _)| *c != code)
        .flat_map(|(_, a)| a)
        .collect()
    };
    let plus = |a: Vec<u8>| [base.clone(), a].concat();
    let well_known_99 = attr(WK, 99, &[1, 2]);
    let mp_short = attr(OPT, 14, &[0, 2, 1, 16]);
    let mp_v6_with_v4_next_hop = attr(OPT, 14, &[0, 2, 1, 4, 192, 0, 2, 1, 0]);
    let mp_next_hop_overrun = attr(OPT, 14, &[0, 2, 1, 16, 0x20, 0x01, 0]);
    let mp_unreach_short = attr(OPT, 15, &[0, 2]);
    let mp_unreach6 = attr(OPT, 15, &[0, 2, 1]);
    let overrun_mp = [0x90, 14, 0x01, 0x00, 0, 2, 1];
    let cases: Vec<(&str, CodecOptions, Vec<u8>, Want)> = vec![
        (
            "ORIGIN length 2",
            NEW,
            [without(1), attr(WK, 1, &[0, 0])].concat(),
            Want::Withdraw(1),
        ),
        (
            "ORIGIN value 3",
            NEW,
            [without(1), attr(WK, 1, &[3])].concat(),
            Want::Withdraw(1),
        ),
        (
            "ORIGIN marked optional",
            NEW,
            [without(1), attr(OPT_TRANS, 1, &[0])].concat(),
            Want::Withdraw(1),
        ),
        (
            "AS_PATH zero segment length",
            NEW,
            [without(2), attr(WK, 2, &[2, 0])].concat(),
            Want::Withdraw(2),
        ),
        (
            "AS_PATH segment overrun",
            NEW,
            [without(2), attr(WK, 2, &[2, 2, 0, 0, 0, 1])].concat(),
            Want::Withdraw(2),
        ),
        (
            "AS_PATH one octet left",
            NEW,
            [without(2), attr(WK, 2, &[2, 1, 0, 0, 0, 1, 2])].concat(),
            Want::Withdraw(2),
        ),
        (
            "AS_PATH unknown segment type",
            NEW,
            [without(2), attr(WK, 2, &[5, 1, 0, 0, 0, 1])].concat(),
            Want::Withdraw(2),
        ),
        (
            "AS_PATH confederation segment",
            NEW,
            [without(2), attr(WK, 2, &[3, 1, 0, 0, 0, 1])].concat(),
            Want::Withdraw(2),
        ),
        (
            "AS_PATH 2-octet shape on a 4-octet session",
            NEW,
            [without(2), attr(WK, 2, &[2, 2, 0, 1, 0, 2])].concat(),
            Want::Withdraw(2),
        ),
        (
            "NEXT_HOP length 5",
            NEW,
            [without(3), attr(WK, 3, &[1, 2, 3, 4, 5])].concat(),
            Want::Withdraw(3),
        ),
        (
            "MULTI_EXIT_DISC length 3",
            NEW,
            plus(attr(OPT, 4, &[0, 0, 1])),
            Want::Withdraw(4),
        ),
        (
            "MULTI_EXIT_DISC marked well-known",
            NEW,
            plus(attr(WK, 4, &[0, 0, 0, 1])),
            Want::Withdraw(4),
        ),
        (
            "LOCAL_PREF length 2",
            NEW,
            plus(attr(WK, 5, &[0, 1])),
            Want::Withdraw(5),
        ),
        (
            "ATOMIC_AGGREGATE length 1",
            NEW,
            plus(attr(WK, 6, &[0])),
            Want::Discard(6),
        ),
        (
            "AGGREGATOR 6 octets on a 4-octet session",
            NEW,
            plus(attr(OPT_TRANS, 7, &[0, 1, 1, 2, 3, 4])),
            Want::Discard(7),
        ),
        (
            "AGGREGATOR 8 octets on a 2-octet session",
            OLD,
            [
                base_attrs(OLD),
                attr(OPT_TRANS, 7, &[0, 0, 0, 1, 1, 2, 3, 4]),
            ]
            .concat(),
            Want::Discard(7),
        ),
        (
            "COMMUNITIES empty",
            NEW,
            plus(attr(OPT_TRANS, 8, &[])),
            Want::Withdraw(8),
        ),
        (
            "COMMUNITIES length 5",
            NEW,
            plus(attr(OPT_TRANS, 8, &[0, 0, 0, 1, 2])),
            Want::Withdraw(8),
        ),
        (
            "LARGE_COMMUNITY length 13",
            NEW,
            plus(attr(OPT_TRANS, 32, &[0; 13])),
            Want::Withdraw(32),
        ),
        (
            "AS4_PATH on a 4-octet session",
            NEW,
            plus(attr(OPT_TRANS, 17, &[2, 1, 0, 1, 0, 0])),
            Want::Discard(17),
        ),
        (
            "AS4_AGGREGATOR on a 4-octet session",
            NEW,
            plus(attr(OPT_TRANS, 18, &[0, 1, 0, 0, 1, 2, 3, 4])),
            Want::Discard(18),
        ),
        (
            "MP_REACH_NLRI of an unsupported family",
            NEW,
            plus(attr(OPT, 14, &[0, 1, 128, 4, 1, 2, 3, 4, 0])),
            Want::Discard(14),
        ),
        (
            "MP_UNREACH_NLRI of an unsupported family",
            NEW,
            plus(attr(OPT, 15, &[0, 25, 65])),
            Want::Discard(15),
        ),
        ("missing ORIGIN", NEW, without(1), Want::Withdraw(1)),
        ("missing AS_PATH", NEW, without(2), Want::Withdraw(2)),
        ("missing NEXT_HOP", NEW, without(3), Want::Withdraw(3)),
        ("no attributes at all", NEW, vec![], Want::Withdraw(1)),
        (
            "last attribute overruns the block",
            NEW,
            [base.clone(), vec![0xc0, 8, 9, 0, 0]].concat(),
            Want::Withdraw(8),
        ),
        (
            "two octets left",
            NEW,
            [base.clone(), vec![0xc0, 8]].concat(),
            Want::Withdraw(8),
        ),
        (
            "one octet left",
            NEW,
            [base.clone(), vec![0xc0]].concat(),
            Want::Withdraw(0),
        ),
        (
            "extended length header truncated",
            NEW,
            [base.clone(), vec![0xd0, 8, 0]].concat(),
            Want::Withdraw(8),
        ),
        (
            "strongest handling wins",
            NEW,
            [without(1), attr(OPT_TRANS, 7, &[1]), attr(WK, 1, &[7])].concat(),
            Want::Withdraw(1),
        ),
        (
            "unrecognized well-known attribute",
            NEW,
            plus(well_known_99.clone()),
            Want::Reset(
                subcode::update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                well_known_99,
            ),
        ),
        (
            "MP_REACH_NLRI shorter than 5",
            NEW,
            plus(mp_short.clone()),
            Want::Reset(9, mp_short),
        ),
        (
            "MP_REACH_NLRI ipv6 with a 4-octet next hop",
            NEW,
            plus(mp_v6_with_v4_next_hop.clone()),
            Want::Reset(9, mp_v6_with_v4_next_hop),
        ),
        (
            "MP_REACH_NLRI next hop overrun",
            NEW,
            plus(mp_next_hop_overrun.clone()),
            Want::Reset(9, mp_next_hop_overrun),
        ),
        (
            "MP_UNREACH_NLRI shorter than 3",
            NEW,
            plus(mp_unreach_short.clone()),
            Want::Reset(9, mp_unreach_short),
        ),
        (
            "MP_UNREACH_NLRI twice",
            NEW,
            [mp_unreach6.clone(), mp_unreach6, base.clone()].concat(),
            Want::Reset(subcode::update::MALFORMED_ATTRIBUTE_LIST, vec![]),
        ),
        (
            "MP_REACH_NLRI overruns the block",
            NEW,
            [base.clone(), overrun_mp.to_vec()].concat(),
            Want::Reset(subcode::update::ATTRIBUTE_LENGTH_ERROR, overrun_mp.to_vec()),
        ),
    ];
    for (name, opts, block, want) in cases {
        check(name, opts, &block, want);
    }
}

#[test]
fn duplicate_attributes_keep_the_first() {
    let block = [
        base_attrs(NEW),
        attr(OPT_TRANS, 8, &[0, 0, 0, 1]),
        attr(OPT_TRANS, 8, &[0, 0, 0, 2]),
        attr(WK, 1, &[2]),
        attr(OPT_TRANS, 8, &[0, 0, 0, 3]),
    ]
    .concat();
    let u = decode_update(&update_frame(&[], &block, &PREFIX), NEW).unwrap();
    assert_eq!(u.attributes.communities, vec![Community(1)]);
    assert_eq!(u.attributes.origin, Some(Origin::Igp));
    assert_eq!(u.nlri, vec![v4("10.0.0.0/24")]);
    assert_eq!(
        actions(&u, 8),
        vec![ErrorAction::AttributeDiscard],
        "one record per type"
    );
    assert_eq!(actions(&u, 1), vec![ErrorAction::AttributeDiscard]);
}

#[test]
fn missing_mandatory_attributes_with_mp_reach_only() {
    let mut mp = vec![0, 2, 1, 16];
    mp.extend_from_slice(&[
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    ]);
    mp.extend_from_slice(&[64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 9]);
    let block = [attr(OPT, 14, &mp), origin_attr()].concat();
    let u = decode_update(&update_frame(&[], &block, &[]), NEW).unwrap();
    // NEXT_HOP is not needed without classic NLRI; AS_PATH is.
    assert_eq!(u.errors.len(), 1, "{:?}", u.errors);
    assert_eq!(actions(&u, 2), vec![ErrorAction::TreatAsWithdraw]);
    assert_eq!(
        u.withdrawn_prefixes().collect::<Vec<_>>(),
        vec![net("2001:db8:0:9::/64")]
    );
    assert_eq!(u.announced().count(), 0);
}

#[test]
fn unknown_attributes_on_re_encode() {
    let block = [
        base_attrs(NEW),
        attr(OPT_TRANS, 16, &[1, 2, 3, 4, 5, 6, 7, 8]),
        attr(OPT, 9, &[10, 0, 0, 9]),
    ]
    .concat();
    let u = decode_update(&update_frame(&[], &block, &PREFIX), NEW).unwrap();
    assert_eq!(u.attributes.unknown.len(), 2);
    let again = decode_update(&encode(&Message::Update(u), NEW), NEW).unwrap();
    // The transitive one is passed on marked Partial; the non-transitive one is not passed on.
    assert_eq!(
        again.attributes.unknown,
        vec![UnknownAttribute {
            flags: OPT_TRANS | flags::PARTIAL,
            type_code: 16,
            value: vec![1, 2, 3, 4, 5, 6, 7, 8]
        }]
    );
}

#[test]
fn long_attributes_use_extended_length() {
    let path = PathAttributes {
        communities: (0..100).map(Community).collect(),
        ..base_path()
    };
    let mut out = BytesMut::new();
    encode_path_attributes(&path, NEW, &mut out).unwrap();
    let comm = out
        .windows(2)
        .position(|w| w == [OPT_TRANS | flags::EXTENDED_LENGTH, 8])
        .expect("extended COMMUNITIES");
    assert_eq!(out[comm + 2..comm + 4], 400u16.to_be_bytes());
    let decoded = decode_path_attributes(&out, true, NEW).unwrap();
    assert_eq!(decoded.attributes, path);
}

/// A well-formed value of each attribute in the table, for a 2-octet AS session.
fn valid_value(code: u8) -> Vec<u8> {
    match code {
        1 => vec![0],
        2 => vec![2, 1, 0xfd, 0xe9],
        3..=5 => vec![0, 0, 0, 1],
        6 => vec![],
        7 => vec![0xfd, 0xe9, 1, 2, 3, 4],
        8 => vec![0, 0, 0, 1],
        14 => [
            vec![0, 2, 1, 16],
            vec![0x20, 0x01, 0x0d, 0xb8],
            vec![0; 11],
            vec![1, 0, 32, 0x20, 0x01, 0x0d, 0xb8],
        ]
        .concat(),
        15 => vec![0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8],
        17 => vec![2, 1, 0, 0, 0xfd, 0xe9],
        18 => vec![0, 0, 0xfd, 0xe9, 1, 2, 3, 4],
        32 => vec![0; 12],
        other => panic!("no sample for {other}"),
    }
}

/// A malformed value of each attribute in the table, for a 2-octet AS session.
fn malformed_value(code: u8) -> Vec<u8> {
    match code {
        1 => vec![5],
        2 | 17 => vec![2, 0],
        3..=5 => vec![0, 0, 1],
        6 => vec![1],
        7 | 18 => vec![0; 5],
        8 => vec![0; 3],
        14 => vec![0, 2, 1, 16, 0],
        15 => vec![0, 2, 1, 33, 0],
        32 => vec![0; 11],
        other => panic!("no sample for {other}"),
    }
}

/// How the decoder handled an UPDATE with `attribute` next to valid mandatory attributes.
fn handling_of(code: u8, attribute: Vec<u8>) -> Option<Handling> {
    let mandatory: Vec<u8> = [
        (1, origin_attr()),
        (2, as_path_attr(&[65001], OLD)),
        (3, next_hop_attr()),
    ]
    .into_iter()
    .filter(|(c, _)| *c != code)
    .flat_map(|(_, a)| a)
    .collect();
    let block = [attribute, mandatory].concat();
    match decode_update(&update_frame(&[], &block, &PREFIX), OLD) {
        Err(n) => {
            assert_eq!(n.code, ErrorCode::UpdateMessage);
            Some(Handling::SessionReset)
        }
        Ok(u) => {
            let errors: Vec<&AttributeError> =
                u.errors.iter().filter(|e| e.type_code == code).collect();
            match errors.first().map(|e| e.action) {
                Some(ErrorAction::TreatAsWithdraw) => Some(Handling::TreatAsWithdraw),
                Some(ErrorAction::AttributeDiscard) => Some(Handling::AttributeDiscard),
                None => None,
            }
        }
    }
}

#[test]
fn rfc7606_table_is_what_the_decoder_does() {
    for rule in &RULES {
        let code = rule.type_code;
        assert_eq!(
            handling_of(code, attr(rule.flags, code, &valid_value(code))),
            None,
            "{} valid",
            rule.name
        );
        assert_eq!(
            handling_of(code, attr(rule.flags, code, &malformed_value(code))),
            Some(rule.malformed),
            "{} malformed",
            rule.name
        );
        let conflicting = rule.flags ^ flags::OPTIONAL;
        assert_eq!(
            handling_of(code, attr(conflicting, code, &valid_value(code))),
            Some(rule.flags_conflict),
            "{} flags",
            rule.name
        );
    }
}

#[test]
fn rfc7606_table_is_complete_and_ordered() {
    let codes: Vec<u8> = RULES.iter().map(|r| r.type_code).collect();
    assert_eq!(codes, vec![1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 17, 18, 32]);
    // Attributes that affect route selection are never silently discarded.
    for r in &RULES {
        if [1, 2, 3, 4, 5, 8, 32].contains(&r.type_code) {
            assert_eq!(r.malformed, Handling::TreatAsWithdraw, "{}", r.name);
        }
    }
}
