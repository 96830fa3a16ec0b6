//! OPEN optional parameters and capabilities; whatever decodes must encode and decode to the
//! same OPEN.
//!
//! Input: the optional parameters as they follow the fixed OPEN fields (length octet first).
#![no_main]

use bytes::BytesMut;
use ferrolb_bgp::codec::{decode_open_body, encode_open_body};
use libfuzzer_sys::fuzz_target;

/// Version 4, AS 65001, hold time 90, identifier 10.0.0.1.
const FIXED: [u8; 9] = [4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1];

fuzz_target!(|data: &[u8]| {
    let body = [&FIXED[..], data].concat();
    let Ok(open) = decode_open_body(&body) else {
        return;
    };
    let mut out = BytesMut::new();
    encode_open_body(&open, &mut out).expect("a decoded OPEN encodes");
    let again = decode_open_body(&out).expect("a re-encoded OPEN decodes");
    assert_eq!(again, open);
});
