use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn advert(addresses: &[&str]) -> Advertisement {
    Advertisement {
        vrid: 51,
        priority: 100,
        max_advert_interval: 100,
        addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

fn v4_message() -> Vec<u8> {
    advert(&["192.0.2.100", "192.0.2.101"])
        .encode(SRC.into(), MULTICAST_V4.into())
        .unwrap()
}

/// Recomputes the checksum after a test changed a field.
fn reseal(mut message: Vec<u8>) -> Vec<u8> {
    message[6] = 0;
    message[7] = 0;
    let sum = vrrp_checksum(SRC.into(), MULTICAST_V4.into(), &message).to_be_bytes();
    message[6..8].copy_from_slice(&sum);
    message
}

#[test]
fn encodes_the_rfc_layout() {
    let m = v4_message();
    assert_eq!(m.len(), 16);
    assert_eq!(&m[..6], &[0x31, 51, 100, 2, 0, 100]);
    assert_eq!(&m[8..], &[192, 0, 2, 100, 192, 0, 2, 101]);
    // The checksum verifies against the pseudo-header and fails without it.
    assert_eq!(vrrp_checksum(SRC.into(), MULTICAST_V4.into(), &m), 0);
    assert_ne!(
        vrrp_checksum(
            Ipv4Addr::UNSPECIFIED.into(),
            Ipv4Addr::UNSPECIFIED.into(),
            &m
        ),
        0
    );
}

#[test]
fn round_trips_both_families() {
    let v4 = advert(&["192.0.2.100"]);
    let d = ipv4_datagram(SRC, MULTICAST_V4, 255, &v4_message());
    let r = decode_ipv4(&d).unwrap();
    assert_eq!(r.source, IpAddr::V4(SRC));
    assert_eq!(r.destination, IpAddr::V4(MULTICAST_V4));
    assert_eq!(r.advertisement.addresses.len(), 2);
    assert_eq!(r.advertisement.vrid, v4.vrid);

    let v6 = advert(&["2001:db8::100", "2001:db8::101"]);
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let m = v6.encode(src.into(), MULTICAST_V6.into()).unwrap();
    assert_eq!(m.len(), 8 + 32);
    let r = decode_ipv6(src, MULTICAST_V6, 255, &m).unwrap();
    assert_eq!(r.advertisement, v6);
    assert_eq!(
        decode_ipv6(src, MULTICAST_V6, 1, &m),
        Err(PacketError::BadTtl(1))
    );
}

#[test]
fn receive_checks() {
    type Mutate = fn(Vec<u8>) -> Vec<u8>;
    let cases: &[(&str, Mutate, u8, PacketError)] = &[
        ("ttl 254", |m| m, 254, PacketError::BadTtl(254)),
        (
            "version 2",
            |m| reseal([&[0x21][..], &m[1..]].concat()),
            255,
            PacketError::BadVersion(2),
        ),
        (
            "type 2",
            |m| reseal([&[0x32][..], &m[1..]].concat()),
            255,
            PacketError::BadType(2),
        ),
        (
            "checksum",
            |mut m| {
                m[7] ^= 1;
                m
            },
            255,
            PacketError::BadChecksum,
        ),
        (
            "priority changed without the checksum",
            |mut m| {
                m[2] = 200;
                m
            },
            255,
            PacketError::BadChecksum,
        ),
        (
            "count too large",
            |mut m| {
                m[3] = 3;
                reseal(m)
            },
            255,
            PacketError::AddressCount { count: 3, len: 16 },
        ),
        (
            "interval 0",
            |mut m| {
                m[4] = 0xf0; // reserved bits set, interval bits zero
                m[5] = 0;
                reseal(m)
            },
            255,
            PacketError::ZeroInterval,
        ),
        (
            "vrid 0",
            |mut m| {
                m[1] = 0;
                reseal(m)
            },
            255,
            PacketError::ZeroVrid,
        ),
        ("short", |m| m[..7].to_vec(), 255, PacketError::Truncated(7)),
    ];
    for (name, mutate, ttl, want) in cases {
        let d = ipv4_datagram(SRC, MULTICAST_V4, *ttl, &mutate(v4_message()));
        assert_eq!(decode_ipv4(&d), Err(want.clone()), "{name}");
    }
}

#[test]
fn accepted_variations() {
    // Reserved bits of the interval word are ignored; trailing bytes are tolerated; v2-style
    // authentication data does not exist in v3, so extra bytes are simply covered by the sum.
    let mut m = v4_message();
    m[4] |= 0xf0;
    m.extend_from_slice(&[0, 0, 0, 0]);
    let m = reseal(m);
    let r = decode_ipv4(&ipv4_datagram(SRC, MULTICAST_V4, 255, &m)).unwrap();
    assert_eq!(r.advertisement.max_advert_interval, 100);
    assert_eq!(r.advertisement.addresses.len(), 2);
    // Zero addresses is a valid (if useless) advertisement.
    let empty = advert(&[]).encode(SRC.into(), MULTICAST_V4.into()).unwrap();
    assert!(decode_ipv4(&ipv4_datagram(SRC, MULTICAST_V4, 255, &empty)).is_ok());
}

#[test]
fn ip_header_checks() {
    let m = v4_message();
    let good = ipv4_datagram(SRC, MULTICAST_V4, 255, &m);
    let cases: &[(&str, Vec<u8>, PacketError)] = &[
        ("empty", vec![], PacketError::Truncated(0)),
        (
            "ipv6 version",
            [&[0x65][..], &good[1..]].concat(),
            PacketError::BadIpHeader,
        ),
        (
            "ihl 4",
            [&[0x44][..], &good[1..]].concat(),
            PacketError::BadIpHeader,
        ),
        (
            "total length beyond the buffer",
            {
                let mut d = good.clone();
                d[2] = 0xff;
                d
            },
            PacketError::Truncated(good.len()),
        ),
        (
            "protocol 17",
            {
                let mut d = good.clone();
                d[9] = 17;
                d
            },
            PacketError::NotVrrp(17),
        ),
    ];
    for (name, datagram, want) in cases {
        assert_eq!(decode_ipv4(datagram), Err(want.clone()), "{name}");
    }
}

#[test]
fn encode_errors() {
    let mut too_many = advert(&[]);
    too_many.addresses = vec![IpAddr::V4(SRC); 256];
    let mixed = advert(&["2001:db8::1"]);
    let mut zero = advert(&[]);
    zero.max_advert_interval = 0;
    let cases = [
        (too_many, EncodeError::TooManyAddresses(256)),
        (
            mixed,
            EncodeError::MixedFamilies("2001:db8::1".parse().unwrap()),
        ),
        (zero, EncodeError::Interval(0)),
    ];
    for (a, want) in cases {
        assert_eq!(a.encode(SRC.into(), MULTICAST_V4.into()), Err(want));
    }
}

#[test]
fn never_panics_on_any_prefix_or_byte_flip() {
    let d = ipv4_datagram(SRC, MULTICAST_V4, 255, &v4_message());
    for len in 0..=d.len() {
        let _ = decode_ipv4(&d[..len]);
    }
    for i in 0..d.len() {
        for bit in 0..8 {
            let mut m = d.clone();
            m[i] ^= 1 << bit;
            let _ = decode_ipv4(&m);
        }
    }
}
