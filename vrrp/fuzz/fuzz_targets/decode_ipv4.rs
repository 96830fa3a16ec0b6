//! Any bytes as an IPv4 datagram from the VRRP raw socket: decoding never panics, whatever
//! decodes passed every receive check, and it encodes back to the same VRRP message.
#![no_main]

use ferrolb_vrrp::checksum::vrrp_checksum;
use ferrolb_vrrp::packet::{decode_ipv4, HEADER_LEN, TTL};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(received) = decode_ipv4(data) else {
        return;
    };
    let a = &received.advertisement;
    assert_eq!(data[8], TTL);
    assert_ne!(a.vrid, 0);
    assert!(a.max_advert_interval > 0 && a.max_advert_interval <= 0x0fff);
    let wire = a
        .encode(received.source, received.destination)
        .expect("a decoded advertisement encodes");
    assert_eq!(vrrp_checksum(received.source, received.destination, &wire), 0);
    // Same fields and addresses; the received copy may carry reserved bits and trailing bytes.
    let header_len = usize::from(data[0] & 0x0f) * 4;
    let message = &data[header_len..];
    assert_eq!(wire[..4], message[..4], "version, type, vrid, priority, count");
    assert_eq!(wire[HEADER_LEN..], message[HEADER_LEN..wire.len()], "addresses");
});
