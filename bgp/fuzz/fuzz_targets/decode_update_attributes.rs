//! A path attribute block alone, with RFC 7606 handling; whatever decodes must encode and decode
//! to the same attributes.
//!
//! Input: one octet (bits 0-1: session options, bit 2: the UPDATE has classic NLRI), then the
//! attribute block.
#![no_main]

use bytes::BytesMut;
use ferrolb_bgp::attribute::PathAttributes;
use ferrolb_bgp::codec::{decode_path_attributes, encode_path_attributes, DecodedAttributes};
use ferrolb_bgp_fuzz::{as4_growth, normalize_attributes, options};
use libfuzzer_sys::fuzz_target;

fn owned(d: &DecodedAttributes<'_>) -> PathAttributes {
    PathAttributes {
        mp_reach: d.mp_reach.map(|m| m.to_owned_nlri()),
        mp_unreach: d.mp_unreach.map(|u| u.to_owned_nlri()),
        ..d.attributes.clone()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, block)) = data.split_first() else {
        return;
    };
    let opts = options(selector);
    let classic_nlri = selector & 4 != 0;
    let Ok(decoded) = decode_path_attributes(block, classic_nlri, opts) else {
        return;
    };
    assert_eq!(
        decoded.treat_as_withdraw,
        decoded
            .errors
            .iter()
            .any(|e| e.action == ferrolb_bgp::attribute::ErrorAction::TreatAsWithdraw)
    );
    let attrs = owned(&decoded);
    let mut out = BytesMut::new();
    match encode_path_attributes(&attrs, opts, &mut out) {
        Ok(()) => {}
        Err(e) if as4_growth(opts, &e) => return,
        Err(e) => panic!("decoded attributes do not encode: {e}\n{attrs:?}"),
    }
    let again =
        decode_path_attributes(&out, classic_nlri, opts).expect("re-encoded attributes decode");
    assert_eq!(
        normalize_attributes(owned(&again)),
        normalize_attributes(attrs)
    );
});
