//! 4-octet AS numbers with OLD speakers (RFC 6793 sections 4.2.2 and 4.2.3).

use super::*;
use crate::attribute::{Aggregator, AsSegment};
use crate::types::{Asn, AS_TRANS};

const T: u32 = AS_TRANS;
const BIG: u32 = 4_200_000_000;

fn seq(asns: &[u32]) -> AsSegment {
    AsSegment::Sequence(asns.to_vec())
}

fn set(asns: &[u32]) -> AsSegment {
    AsSegment::Set(asns.to_vec())
}

fn segments(segs: &[AsSegment], four_octet: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for s in segs {
        let (t, asns) = match s {
            AsSegment::Set(a) => (1u8, a),
            AsSegment::Sequence(a) => (2u8, a),
        };
        v.push(t);
        v.push(u8::try_from(asns.len()).unwrap());
        for a in asns {
            if four_octet {
                v.extend_from_slice(&a.to_be_bytes());
            } else {
                v.extend_from_slice(&u16::try_from(*a).unwrap().to_be_bytes());
            }
        }
    }
    v
}

fn aggregator(asn: Asn, four_octet: bool) -> Vec<u8> {
    let mut v = if four_octet {
        asn.to_be_bytes().to_vec()
    } else {
        u16::try_from(asn).unwrap().to_be_bytes().to_vec()
    };
    v.extend_from_slice(&[192, 0, 2, 9]);
    v
}

/// Decodes an UPDATE from an OLD speaker.
fn from_old_speaker(
    as_path: &[AsSegment],
    as4_path: Option<&[AsSegment]>,
    agg: Option<Asn>,
    as4_agg: Option<Asn>,
) -> Update {
    let mut block = [
        origin_attr(),
        attr(WK, 2, &segments(as_path, false)),
        next_hop_attr(),
    ]
    .concat();
    if let Some(a) = agg {
        block.extend(attr(OPT_TRANS, 7, &aggregator(a, false)));
    }
    if let Some(p) = as4_path {
        block.extend(attr(OPT_TRANS, 17, &segments(p, true)));
    }
    if let Some(a) = as4_agg {
        block.extend(attr(OPT_TRANS, 18, &aggregator(a, true)));
    }
    decode_update(&update_frame(&[], &block, &[24, 10, 0, 0]), OLD).unwrap()
}

/// Name; AS_PATH, AS4_PATH, AGGREGATOR ASN and AS4_AGGREGATOR ASN sent; the path and
/// aggregator ASN expected.
type MergeCase = (
    &'static str,
    Vec<AsSegment>,
    Option<Vec<AsSegment>>,
    Option<Asn>,
    Option<Asn>,
    Vec<AsSegment>,
    Option<Asn>,
);

#[test]
fn merging_table() {
    let long: Vec<u32> = (1..=255).collect();
    let tail: Vec<u32> = (1000..1050).collect();
    let as4_long: Vec<u32> = (5000..5100).collect();
    let cases: Vec<MergeCase> = vec![
        (
            "no AS4_PATH",
            vec![seq(&[100, 200])],
            None,
            None,
            None,
            vec![seq(&[100, 200])],
            None,
        ),
        (
            "AS4_PATH replaces AS_TRANS",
            vec![seq(&[65001, T, T])],
            Some(vec![seq(&[BIG, BIG + 1])]),
            None,
            None,
            vec![seq(&[65001, BIG, BIG + 1])],
            None,
        ),
        (
            "equal lengths",
            vec![seq(&[T, T])],
            Some(vec![seq(&[BIG, BIG + 1])]),
            None,
            None,
            vec![seq(&[BIG, BIG + 1])],
            None,
        ),
        (
            "AS4_PATH longer than AS_PATH is ignored",
            vec![seq(&[T])],
            Some(vec![seq(&[BIG, 1])]),
            None,
            None,
            vec![seq(&[T])],
            None,
        ),
        (
            "an AS_SET counts as one",
            vec![seq(&[100]), set(&[T, 300])],
            Some(vec![set(&[BIG, 300])]),
            None,
            None,
            vec![seq(&[100]), set(&[BIG, 300])],
            None,
        ),
        (
            "a leading AS_SET is kept whole",
            vec![set(&[1, 2]), seq(&[T])],
            Some(vec![seq(&[BIG])]),
            None,
            None,
            vec![set(&[1, 2]), seq(&[BIG])],
            None,
        ),
        (
            "AGGREGATOR other than AS_TRANS with AS4_AGGREGATOR: AS4 attributes ignored",
            vec![seq(&[100, T])],
            Some(vec![seq(&[BIG])]),
            Some(100),
            Some(BIG),
            vec![seq(&[100, T])],
            Some(100),
        ),
        (
            "AGGREGATOR other than AS_TRANS alone: AS4_PATH still used",
            vec![seq(&[100, T])],
            Some(vec![seq(&[BIG])]),
            Some(100),
            None,
            vec![seq(&[100, BIG])],
            Some(100),
        ),
        (
            "AGGREGATOR AS_TRANS: AS4_AGGREGATOR used",
            vec![seq(&[100, T])],
            Some(vec![seq(&[BIG])]),
            Some(T),
            Some(BIG),
            vec![seq(&[100, BIG])],
            Some(BIG),
        ),
        (
            "AS4_AGGREGATOR without AGGREGATOR is ignored",
            vec![seq(&[100, T])],
            Some(vec![seq(&[BIG])]),
            None,
            Some(BIG),
            vec![seq(&[100, BIG])],
            None,
        ),
        (
            "a merged sequence longer than 255 stays two segments",
            vec![seq(&long), seq(&tail)],
            Some(vec![seq(&as4_long)]),
            None,
            None,
            vec![seq(&long[..205]), seq(&as4_long)],
            None,
        ),
    ];
    for (name, as_path, as4_path, agg, as4_agg, want_path, want_agg) in cases {
        let u = from_old_speaker(&as_path, as4_path.as_deref(), agg, as4_agg);
        assert_eq!(u.errors, vec![], "{name}");
        assert_eq!(
            u.attributes.as_path,
            Some(AsPath {
                segments: want_path
            }),
            "{name}"
        );
        assert_eq!(u.attributes.aggregator.map(|a| a.asn), want_agg, "{name}");
    }
}

#[test]
fn malformed_as4_path_is_discarded() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero segment length", vec![2, 0]),
        ("confederation segment", vec![3, 1, 0, 0, 0, 1]),
        ("2-octet sized", vec![2, 2, 0, 1, 0, 2]),
    ];
    for (name, value) in cases {
        let block = [base_attrs(OLD), attr(OPT_TRANS, 17, &value)].concat();
        let u = decode_update(&update_frame(&[], &block, &[24, 10, 0, 0]), OLD).unwrap();
        assert_eq!(
            actions(&u, 17),
            vec![ErrorAction::AttributeDiscard],
            "{name}"
        );
        assert_eq!(
            u.attributes.as_path,
            Some(AsPath::from_sequence([65001])),
            "{name}"
        );
        assert_eq!(u.nlri.len(), 1, "{name}");
    }
}

fn big_path() -> PathAttributes {
    PathAttributes {
        as_path: Some(AsPath::from_sequence([65001, BIG])),
        aggregator: Some(Aggregator {
            asn: BIG,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        ..base_path()
    }
}

#[test]
fn encoding_for_an_old_speaker() {
    let u = Update {
        attributes: big_path(),
        nlri: vec![v4("10.0.0.0/24")],
        ..Update::default()
    };
    let bytes = encode(&Message::Update(u.clone()), OLD);
    let expect_as_path = attr(WK, 2, &segments(&[seq(&[65001, T])], false));
    let expect_as4_path = attr(OPT_TRANS, 17, &segments(&[seq(&[65001, BIG])], true));
    let expect_agg = attr(OPT_TRANS, 7, &aggregator(T, false));
    let expect_as4_agg = attr(OPT_TRANS, 18, &aggregator(BIG, true));
    for (name, a) in [
        ("AS_PATH", expect_as_path),
        ("AS4_PATH", expect_as4_path),
        ("AGGREGATOR", expect_agg),
        ("AS4_AGGREGATOR", expect_as4_agg),
    ] {
        assert!(
            bytes.windows(a.len()).any(|w| w == a),
            "{name} not in {bytes:02x?}"
        );
    }
    assert_eq!(decode_update(&bytes, OLD), Ok(u.clone()));

    // A NEW speaker gets the real ASNs and no AS4 attributes.
    let new = encode(&Message::Update(u.clone()), NEW);
    assert!(!new.windows(2).any(|w| w == [OPT_TRANS, 17]));
    assert!(!new.windows(2).any(|w| w == [OPT_TRANS, 18]));
    assert_eq!(decode_update(&new, NEW), Ok(u));
}

#[test]
fn two_octet_paths_need_no_as4_path() {
    let u = Update {
        attributes: base_path(),
        nlri: vec![v4("10.0.0.0/24")],
        ..Update::default()
    };
    let bytes = encode(&Message::Update(u), OLD);
    assert!(!bytes.windows(2).any(|w| w == [OPT_TRANS, 17]));
}

#[test]
fn a_rebuilt_path_round_trips_to_an_old_speaker() {
    // AGGREGATOR AS_TRANS with a 2-octet AS4_AGGREGATOR: written back as a plain AGGREGATOR,
    // which must not make the receiver ignore AS4_PATH (found by fuzzing).
    let u = from_old_speaker(
        &[seq(&[65001, T, 65005])],
        Some(&[seq(&[BIG, 65005])]),
        Some(T),
        Some(7),
    );
    assert_eq!(u.attributes.aggregator.map(|a| a.asn), Some(7));
    assert_eq!(
        u.attributes.as_path,
        Some(AsPath::from_sequence([65001, BIG, 65005]))
    );
    assert_eq!(
        decode_update(&encode(&Message::Update(u.clone()), OLD), OLD),
        Ok(u)
    );
}
