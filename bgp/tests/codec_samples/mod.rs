//! Realistic BGP messages built with FerroLB's encoder, and malformed variants of them.
//!
//! Shared by `codec_differential.rs` and by `examples/fuzz_seeds.rs`, which writes them as the
//! fuzzers' seed corpora.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use ferrolb_bgp::attribute::{
    Aggregator, AsPath, AsSegment, Community, LargeCommunity, MpReachNlri, MpUnreachNlri, NextHop,
    Origin, PathAttributes, UnknownAttribute,
};
use ferrolb_bgp::codec::{encode_message, CodecOptions, UpdatePacker};
use ferrolb_bgp::message::{
    Capability, ErrorCode, GracefulRestartCapability, GracefulRestartFamily, Notification, Open,
    Update,
};
use ferrolb_bgp::{AddressFamily, Message};
use ipnet::{IpNet, Ipv4Net};

/// One sample: a whole message stream for a session with `opts`.
#[derive(Debug, Clone)]
pub struct Sample {
    /// A file-name-friendly name.
    pub name: &'static str,
    /// The session parameters the bytes are meant for.
    pub opts: CodecOptions,
    /// One or more framed messages.
    pub bytes: Vec<u8>,
}

pub const OLD: CodecOptions = CodecOptions {
    four_octet_as: false,
    extended_message: false,
};
pub const NEW: CodecOptions = CodecOptions {
    four_octet_as: true,
    extended_message: false,
};
pub const NEW_EXT: CodecOptions = CodecOptions {
    four_octet_as: true,
    extended_message: true,
};

/// The fuzz targets' first octet for these options.
pub fn selector(opts: CodecOptions) -> u8 {
    u8::from(opts.four_octet_as) | (u8::from(opts.extended_message) << 1)
}

fn encode(msg: Message, opts: CodecOptions) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(&msg, opts, &mut out).expect("sample encodes");
    out.to_vec()
}

fn net(s: &str) -> IpNet {
    s.parse().expect("prefix")
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().expect("prefix")
}

fn path() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence([65001, 65002])),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(10),
        communities: vec![Community::new(65001, 100), Community::NO_EXPORT],
        ..PathAttributes::default()
    }
}

fn v6_next_hop() -> NextHop {
    NextHop::V6 {
        global: "2001:db8::1".parse().expect("address"),
        link_local: Some("fe80::1".parse::<Ipv6Addr>().expect("address")),
    }
}

fn opens() -> Vec<Sample> {
    let open = |asn, hold, caps| Open {
        version: 4,
        asn,
        hold_time: hold,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: caps,
    };
    let full = vec![
        Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
        Capability::Multiprotocol(AddressFamily::Ipv6Unicast),
        Capability::RouteRefresh,
        Capability::ExtendedMessage,
        Capability::GracefulRestart(GracefulRestartCapability {
            restarting: false,
            restart_time: 120,
            families: AddressFamily::ALL
                .iter()
                .map(|&family| GracefulRestartFamily {
                    family,
                    forwarding_preserved: true,
                })
                .collect(),
        }),
        Capability::FourOctetAs(4_200_000_001),
        Capability::Unknown {
            code: 73,
            value: b"\x06node-1\x00".to_vec(),
        },
    ];
    let mut many = full.clone();
    many.extend((200..240u8).map(|code| Capability::Unknown {
        code,
        value: vec![code; 4],
    }));
    vec![
        Sample {
            name: "open_two_octet_as",
            opts: OLD,
            bytes: encode(
                Message::Open(open(
                    65001,
                    90,
                    vec![
                        Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
                        Capability::RouteRefresh,
                        Capability::FourOctetAs(65001),
                    ],
                )),
                OLD,
            ),
        },
        Sample {
            name: "open_four_octet_as",
            opts: OLD,
            bytes: encode(Message::Open(open(4_200_000_001, 180, full)), OLD),
        },
        Sample {
            name: "open_extended_parameters",
            opts: OLD,
            bytes: encode(Message::Open(open(65001, 90, many)), OLD),
        },
    ]
}

fn small_messages() -> Vec<Sample> {
    let shutdown = [&[11u8][..], b"maintenance"].concat();
    vec![
        Sample {
            name: "keepalive",
            opts: OLD,
            bytes: encode(Message::Keepalive, OLD),
        },
        Sample {
            name: "notification_shutdown",
            opts: NEW,
            bytes: encode(
                Message::Notification(Notification::new(ErrorCode::Cease, 2, shutdown)),
                NEW,
            ),
        },
        Sample {
            name: "notification_hold_timer",
            opts: NEW,
            bytes: encode(
                Message::Notification(Notification::new(ErrorCode::HoldTimerExpired, 0, vec![])),
                NEW,
            ),
        },
        Sample {
            name: "notification_update_error",
            opts: NEW,
            bytes: encode(
                Message::Notification(Notification::new(
                    ErrorCode::UpdateMessage,
                    4,
                    vec![0xc0, 1, 1, 0],
                )),
                NEW,
            ),
        },
        Sample {
            name: "route_refresh_ipv4",
            opts: NEW,
            bytes: encode(Message::RouteRefresh(AddressFamily::Ipv4Unicast), NEW),
        },
        Sample {
            name: "route_refresh_ipv6",
            opts: NEW,
            bytes: encode(Message::RouteRefresh(AddressFamily::Ipv6Unicast), NEW),
        },
    ]
}

fn updates() -> Vec<Sample> {
    let update = |u: Update, opts| encode(Message::Update(u), opts);
    let announce_v4 = Update {
        attributes: path(),
        nlri: vec![v4("203.0.113.0/24"), v4("198.51.100.7/32")],
        ..Update::default()
    };
    let announce_v6 = Update {
        attributes: PathAttributes {
            next_hop: None,
            local_pref: Some(100),
            large_communities: vec![LargeCommunity {
                global_admin: 4_200_000_001,
                local_data1: 1,
                local_data2: 2,
            }],
            mp_reach: Some(MpReachNlri {
                family: AddressFamily::Ipv6Unicast,
                next_hop: v6_next_hop(),
                nlri: vec![net("2001:db8:1::/48"), net("2001:db8::7/128")],
            }),
            ..path()
        },
        ..Update::default()
    };
    let full = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Incomplete),
            as_path: Some(AsPath {
                segments: vec![
                    AsSegment::Sequence(vec![65001, 65003]),
                    AsSegment::Set(vec![65010, 65011]),
                ],
            }),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 65003,
                address: Ipv4Addr::new(192, 0, 2, 3),
            }),
            unknown: vec![
                UnknownAttribute {
                    flags: 0xc0,
                    type_code: 16,
                    value: vec![0, 2, 0xfd, 0xe9, 0, 0, 0, 1],
                },
                UnknownAttribute {
                    flags: 0x80,
                    type_code: 9,
                    value: vec![192, 0, 2, 9],
                },
            ],
            ..path()
        },
        nlri: vec![v4("10.20.0.0/16")],
        ..Update::default()
    };
    let old_as4 = Update {
        attributes: PathAttributes {
            as_path: Some(AsPath::from_sequence([65001, 4_200_000_001, 65005])),
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(192, 0, 2, 5),
            }),
            ..path()
        },
        nlri: vec![v4("192.0.2.128/25")],
        ..Update::default()
    };
    let via_mp = |next_hop| Update {
        attributes: PathAttributes {
            next_hop: None,
            mp_reach: Some(MpReachNlri {
                family: AddressFamily::Ipv4Unicast,
                next_hop,
                nlri: vec![net("198.51.100.0/24")],
            }),
            ..path()
        },
        ..Update::default()
    };
    let v6_withdraw = Update {
        attributes: PathAttributes {
            mp_unreach: Some(MpUnreachNlri {
                family: AddressFamily::Ipv6Unicast,
                withdrawn: vec![net("2001:db8:1::/48")],
            }),
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    let prefixes: Vec<IpNet> = (0..1000u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).expect("prefix")))
        .collect();
    let packed = UpdatePacker::new(NEW)
        .announce(&path(), NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)), &prefixes)
        .expect("packs");
    let extended = UpdatePacker::new(NEW_EXT)
        .announce(&path(), NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)), &prefixes)
        .expect("packs");
    let stream = [
        encode(Message::Keepalive, NEW),
        update(announce_v4.clone(), NEW),
        encode(Message::Keepalive, NEW),
    ]
    .concat();
    vec![
        Sample {
            name: "update_ipv4_announce",
            opts: NEW,
            bytes: update(announce_v4.clone(), NEW),
        },
        Sample {
            name: "update_ipv4_announce_two_octet_as",
            opts: OLD,
            bytes: update(announce_v4, OLD),
        },
        Sample {
            name: "update_ipv4_withdraw",
            opts: NEW,
            bytes: update(
                Update {
                    withdrawn: vec![v4("203.0.113.0/24"), v4("10.0.0.0/8")],
                    ..Update::default()
                },
                NEW,
            ),
        },
        Sample {
            name: "update_ipv6_announce",
            opts: NEW,
            bytes: update(announce_v6, NEW),
        },
        Sample {
            name: "update_ipv6_withdraw",
            opts: NEW,
            bytes: update(v6_withdraw, NEW),
        },
        Sample {
            name: "update_end_of_rib_ipv4",
            opts: NEW,
            bytes: update(Update::end_of_rib(AddressFamily::Ipv4Unicast), NEW),
        },
        Sample {
            name: "update_end_of_rib_ipv6",
            opts: NEW,
            bytes: update(Update::end_of_rib(AddressFamily::Ipv6Unicast), NEW),
        },
        Sample {
            name: "update_every_attribute",
            opts: NEW,
            bytes: update(full, NEW),
        },
        Sample {
            name: "update_as4_path_for_old_speaker",
            opts: OLD,
            bytes: update(old_as4, OLD),
        },
        Sample {
            name: "update_ipv4_in_mp_reach",
            opts: NEW,
            bytes: update(via_mp(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))), NEW),
        },
        Sample {
            name: "update_ipv4_with_ipv6_next_hop",
            opts: NEW,
            bytes: update(via_mp(v6_next_hop()), NEW),
        },
        Sample {
            name: "update_packed_ipv4_32",
            opts: NEW,
            bytes: packed.first().map(|b| b.to_vec()).unwrap_or_default(),
        },
        Sample {
            name: "update_extended_message",
            opts: NEW_EXT,
            bytes: extended.first().map(|b| b.to_vec()).unwrap_or_default(),
        },
        Sample {
            name: "stream_keepalive_update_keepalive",
            opts: NEW,
            bytes: stream,
        },
    ]
}

/// Messages every BGP decoder must accept.
pub fn valid() -> Vec<Sample> {
    [opens(), small_messages(), updates()].concat()
}

/// A framed message.
fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 16];
    f.extend_from_slice(&u16::try_from(19 + body.len()).expect("small").to_be_bytes());
    f.push(msg_type);
    f.extend_from_slice(body);
    f
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    [
        &[flags, code, u8::try_from(value.len()).expect("short")][..],
        value,
    ]
    .concat()
}

fn update_frame(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = u16::try_from(attrs.len()).expect("small").to_be_bytes();
    frame(2, &[&[0, 0], &len[..], attrs, nlri].concat())
}

/// Messages with one defect each: session resets and RFC 7606 cases.
pub fn malformed() -> Vec<Sample> {
    let base = [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &[2, 1, 0, 0, 0xfd, 0xe9]),
        attr(0x40, 3, &[192, 0, 2, 1]),
    ]
    .concat();
    let nlri = [24, 10, 0, 0];
    let mut bad_marker = encode(Message::Keepalive, NEW);
    bad_marker[3] = 0;
    let open_body = |version: u8, hold: u16, params: &[u8]| {
        let h = hold.to_be_bytes();
        [&[version, 0xfd, 0xe9, h[0], h[1], 10, 0, 0, 1][..], params].concat()
    };
    let mp_reach_bad_nh = attr(0x80, 14, &[0, 2, 1, 4, 192, 0, 2, 1, 0]);
    let mp_unreach = attr(0x80, 15, &[0, 2, 1]);
    let mut truncated = update_frame(&base, &nlri);
    truncated.truncate(truncated.len() - 2);
    let cases: Vec<(&'static str, CodecOptions, Vec<u8>)> = vec![
        ("bad_marker", NEW, bad_marker),
        ("keepalive_length_20", NEW, frame(4, &[0])),
        ("unknown_message_type", NEW, frame(9, &[1, 2, 3])),
        ("open_version_3", OLD, frame(1, &open_body(3, 90, &[0]))),
        ("open_hold_time_1", OLD, frame(1, &open_body(4, 1, &[0]))),
        (
            "open_unsupported_parameter",
            OLD,
            frame(1, &open_body(4, 90, &[4, 1, 2, 0, 0])),
        ),
        (
            "open_capability_overrun",
            OLD,
            frame(1, &open_body(4, 90, &[4, 2, 2, 65, 4])),
        ),
        (
            "update_origin_value_9",
            NEW,
            update_frame(&[attr(0x40, 1, &[9]), base[4..].to_vec()].concat(), &nlri),
        ),
        (
            "update_missing_as_path",
            NEW,
            update_frame(
                &[attr(0x40, 1, &[0]), attr(0x40, 3, &[192, 0, 2, 1])].concat(),
                &nlri,
            ),
        ),
        (
            "update_aggregator_length_5",
            NEW,
            update_frame(&[base.clone(), attr(0xc0, 7, &[0; 5])].concat(), &nlri),
        ),
        (
            "update_communities_length_3",
            NEW,
            update_frame(&[base.clone(), attr(0xc0, 8, &[0; 3])].concat(), &nlri),
        ),
        (
            "update_duplicate_communities",
            NEW,
            update_frame(
                &[
                    base.clone(),
                    attr(0xc0, 8, &[0, 0, 0, 1]),
                    attr(0xc0, 8, &[0, 0, 0, 2]),
                ]
                .concat(),
                &nlri,
            ),
        ),
        (
            "update_unknown_well_known",
            NEW,
            update_frame(&[base.clone(), attr(0x40, 99, &[1])].concat(), &nlri),
        ),
        (
            "update_duplicate_mp_unreach",
            NEW,
            update_frame(&[mp_unreach.clone(), mp_unreach].concat(), &[]),
        ),
        (
            "update_mp_reach_bad_next_hop",
            NEW,
            update_frame(&[mp_reach_bad_nh, base.clone()].concat(), &[]),
        ),
        (
            "update_prefix_length_33",
            NEW,
            update_frame(&base, &[33, 10, 0, 0, 0, 0]),
        ),
        (
            "update_attribute_overrun",
            NEW,
            update_frame(&[base.clone(), vec![0xc0, 8, 40, 0, 0]].concat(), &nlri),
        ),
        (
            "update_as4_path_malformed",
            OLD,
            update_frame(
                &[
                    attr(0x40, 1, &[0]),
                    attr(0x40, 2, &[2, 1, 0xfd, 0xe9]),
                    attr(0x40, 3, &[192, 0, 2, 1]),
                    attr(0xc0, 17, &[2, 0]),
                ]
                .concat(),
                &nlri,
            ),
        ),
        ("update_truncated", NEW, truncated),
        (
            "route_refresh_borr_length_5",
            NEW,
            frame(5, &[0, 1, 1, 1, 0]),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, opts, bytes)| Sample { name, opts, bytes })
        .collect()
}
