//! Feeds random bytes, truncations and corruptions of valid frames to `parse_frame`: nothing a
//! peer sends may panic it. (A cargo-fuzz target can call `parse_frame` the same way.)

use std::net::{Ipv4Addr, Ipv6Addr};

use ferrolb_l2::packet::{arp, ndp};
use ferrolb_l2::{parse_frame, MacAddr, Request};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// A valid Neighbor Solicitation, made from an advertisement by changing its type and fixing
/// the checksum.
fn solicitation() -> Vec<u8> {
    let target: Ipv6Addr = "2001:db8::64".parse().unwrap();
    let mut frame = ndp::unsolicited_advertisement(MAC, target);
    frame[6] = 0x02; // any unicast source
    frame[54] = 135;
    frame[55 + 3] = 0; // clear NA flags (reserved in an NS)
    frame[56..58].copy_from_slice(&[0, 0]);
    frame[86 - 8] = 1; // the option becomes a source link-layer address
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[22..38]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[38..54]).unwrap());
    let sum = ndp::checksum(src, dst, &frame[54..]);
    frame[56..58].copy_from_slice(&sum.to_be_bytes());
    frame
}

fn seeds() -> Vec<Vec<u8>> {
    let arp_request = arp::gratuitous(MAC, Ipv4Addr::new(198, 18, 0, 100));
    vec![
        arp_request,
        ndp::unsolicited_advertisement(MAC, "2001:db8::1".parse().unwrap()),
        solicitation(),
    ]
}

#[test]
fn seeds_are_what_they_claim() {
    let seeds = seeds();
    assert!(matches!(parse_frame(&seeds[0]), Ok(Request::Arp(_))));
    assert!(
        parse_frame(&seeds[1]).is_err(),
        "an advertisement is not a request"
    );
    assert!(matches!(
        parse_frame(&seeds[2]),
        Ok(Request::NeighborSolicitation(ns)) if ns.source_link_addr == Some(MAC)
    ));
}

#[test]
fn truncations_never_panic_and_never_parse_short_frames() {
    for seed in seeds() {
        for len in 0..seed.len() {
            let result = parse_frame(&seed[..len]);
            if len < 42 {
                assert!(result.is_err(), "{len}-byte prefix parsed");
            }
        }
    }
}

#[test]
fn corruptions_and_random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x464c_4232);
    let seeds = seeds();
    for _ in 0..5_000 {
        let mut frame = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..6) {
            let at = rng.gen_range(0..frame.len());
            frame[at] = rng.gen();
        }
        if rng.gen_bool(0.3) {
            frame.truncate(rng.gen_range(0..=frame.len()));
        }
        if rng.gen_bool(0.1) {
            let extra = rng.gen_range(0..64);
            frame.extend((0..extra).map(|_| rng.gen::<u8>()));
        }
        let _ = parse_frame(&frame);
    }
    for _ in 0..5_000 {
        let len = rng.gen_range(0..256);
        let mut frame: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Steer half of them past the EtherType check.
        if len >= 14 && rng.gen_bool(0.5) {
            let ethertype: u16 = if rng.gen() { 0x0806 } else { 0x86dd };
            frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        let _ = parse_frame(&frame);
    }
}
