//! Writes the `seed-*` inputs of `corpus/decode_ipv4/`: valid advertisements (one address,
//! several, the maximum 255, priority 0 and 255, reserved bits set, trailing bytes, IP
//! options) and refused ones (TTL 254, version 2, bad checksum, short count, truncated).

use std::net::{IpAddr, Ipv4Addr};

use ferrolb_vrrp::packet::{ipv4_datagram, Advertisement, MULTICAST_V4};

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode_ipv4");
    std::fs::create_dir_all(&dir).unwrap();
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let advert = |priority: u8, n: usize| Advertisement {
        vrid: 51,
        priority,
        max_advert_interval: 100,
        addresses: (0..n)
            .map(|i| IpAddr::V4(Ipv4Addr::new(198, 51, (i / 256) as u8, i as u8)))
            .collect(),
    };
    let message = |a: &Advertisement| a.encode(src.into(), MULTICAST_V4.into()).unwrap();
    let datagram = |m: &[u8]| ipv4_datagram(src, MULTICAST_V4, 255, m);
    let mut seeds: Vec<(&str, Vec<u8>)> = vec![
        ("one", datagram(&message(&advert(100, 1)))),
        ("three", datagram(&message(&advert(100, 3)))),
        ("max", datagram(&message(&advert(100, 255)))),
        ("resign", datagram(&message(&advert(0, 1)))),
        ("owner", datagram(&message(&advert(255, 1)))),
        ("ttl254", ipv4_datagram(src, MULTICAST_V4, 254, &message(&advert(100, 1)))),
    ];
    let mut reserved = message(&advert(100, 1));
    reserved[4] |= 0xf0;
    seeds.push(("reserved-bits", datagram(&reserved)));
    let mut trailing = message(&advert(100, 1));
    trailing.extend_from_slice(&[0; 8]);
    seeds.push(("trailing", datagram(&trailing)));
    let mut v2 = message(&advert(100, 1));
    v2[0] = 0x21;
    seeds.push(("version2", datagram(&v2)));
    let mut bad_sum = message(&advert(100, 1));
    bad_sum[6] ^= 0xff;
    seeds.push(("bad-checksum", datagram(&bad_sum)));
    let mut short = message(&advert(100, 2));
    short[3] = 9;
    seeds.push(("short-count", datagram(&short)));
    let one = datagram(&message(&advert(100, 1)));
    seeds.push(("truncated", one[..27].to_vec()));
    // Four bytes of IP options (NOP NOP NOP EOL): header length 6 words.
    let mut options = one.clone();
    options[0] = 0x46;
    options.splice(20..20, [1, 1, 1, 0]);
    let total = (options.len() as u16).to_be_bytes();
    options[2..4].copy_from_slice(&total);
    seeds.push(("ip-options", options));
    for (name, bytes) in seeds {
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
