//! OPEN and capabilities (RFC 4271 section 4.2 / 6.2, RFC 5492, RFC 6793, RFC 9072).

use super::*;
use crate::codec::{decode_open_body, encode_open_body};
use crate::message::{
    subcode, Capability, ErrorCode, GracefulRestartCapability, GracefulRestartFamily, Open,
};
use crate::types::{AddressFamily, AS_TRANS};

/// An OPEN body with identifier 10.0.0.1 and the given optional parameters block (length
/// octet included).
fn open_body(version: u8, my_as: u16, hold: u16, params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&[10, 0, 0, 1]);
    b.extend_from_slice(params);
    b
}

/// Classic optional parameters: one-octet total length, then the parameters.
fn params(list: &[Vec<u8>]) -> Vec<u8> {
    let body = list.concat();
    let mut p = vec![u8::try_from(body.len()).unwrap()];
    p.extend(body);
    p
}

/// One Capabilities parameter holding `caps` (already encoded).
fn cap_param(caps: &[u8]) -> Vec<u8> {
    let mut p = vec![2, u8::try_from(caps.len()).unwrap()];
    p.extend_from_slice(caps);
    p
}

fn open_error(sub: u8, data: &[u8]) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, data.to_vec())
}

fn decode(body: &[u8]) -> Result<Open, Notification> {
    match decode_message(&frame(1, body), OLD)? {
        Message::Open(o) => Ok(o),
        other => panic!("expected OPEN, got {other:?}"),
    }
}

fn full_open() -> Open {
    Open {
        version: 4,
        asn: 4_200_000_000,
        hold_time: 90,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
            Capability::Multiprotocol(AddressFamily::Ipv6Unicast),
            Capability::RouteRefresh,
            Capability::ExtendedMessage,
            Capability::GracefulRestart(GracefulRestartCapability {
                restarting: true,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: AddressFamily::Ipv4Unicast,
                        forwarding_preserved: true,
                    },
                    GracefulRestartFamily {
                        family: AddressFamily::Ipv6Unicast,
                        forwarding_preserved: false,
                    },
                ],
            }),
            Capability::FourOctetAs(4_200_000_000),
            Capability::Unknown {
                code: 73,
                value: b"host".to_vec(),
            },
        ],
    }
}

#[test]
fn round_trip_with_every_capability() {
    let open = full_open();
    let bytes = encode(&Message::Open(open.clone()), OLD);
    // The 2-octet My Autonomous System field holds AS_TRANS.
    assert_eq!(bytes[20..22], (AS_TRANS as u16).to_be_bytes());
    assert_eq!(decode_message(&bytes, OLD), Ok(Message::Open(open)));
}

#[test]
fn exact_bytes_of_a_small_open() {
    let open = Open {
        version: 4,
        asn: 65001,
        hold_time: 180,
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol(AddressFamily::Ipv6Unicast),
            Capability::FourOctetAs(65001),
        ],
    };
    let caps = [1, 4, 0, 2, 0, 1, 65, 4, 0, 0, 0xfd, 0xe9];
    let body = open_body(4, 65001, 180, &params(&[cap_param(&caps)]));
    assert_eq!(encode(&Message::Open(open.clone()), OLD), frame(1, &body));
    assert_eq!(decode(&body), Ok(open));
}

#[test]
fn open_errors() {
    let ok_params = params(&[cap_param(&[2, 0])]);
    let cases: Vec<(&str, Vec<u8>, Notification)> = vec![
        (
            "version 3",
            open_body(3, 65001, 90, &ok_params),
            open_error(subcode::open::UNSUPPORTED_VERSION_NUMBER, &[0, 4]),
        ),
        (
            "hold time 1",
            open_body(4, 65001, 1, &ok_params),
            open_error(subcode::open::UNACCEPTABLE_HOLD_TIME, &[]),
        ),
        (
            "hold time 2",
            open_body(4, 65001, 2, &ok_params),
            open_error(subcode::open::UNACCEPTABLE_HOLD_TIME, &[]),
        ),
        (
            "authentication parameter",
            open_body(4, 65001, 90, &params(&[vec![1, 2, 0, 0]])),
            open_error(subcode::open::UNSUPPORTED_OPTIONAL_PARAMETER, &[]),
        ),
        (
            "capability overruns its parameter",
            open_body(4, 65001, 90, &params(&[vec![2, 3, 65, 4, 0]])),
            open_error(0, &[]),
        ),
        (
            "parameter overruns the parameters",
            open_body(4, 65001, 90, &[4, 2, 6, 2, 0]),
            open_error(0, &[]),
        ),
        (
            "parameters length overruns the message",
            open_body(4, 65001, 90, &[9, 2, 2, 2, 0]),
            open_error(0, &[]),
        ),
        (
            "octets after the parameters",
            open_body(4, 65001, 90, &[0, 0]),
            open_error(0, &[]),
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(decode(&body), Err(expected), "{name}");
    }
}

#[test]
fn hold_times_zero_and_three_are_accepted() {
    for hold in [0u16, 3, 65535] {
        let o = decode(&open_body(4, 65001, hold, &[0])).unwrap();
        assert_eq!(o.hold_time, hold);
        assert!(o.capabilities.is_empty());
        assert_eq!(o.asn, 65001);
    }
}

#[test]
fn capability_decoding_table() {
    let cases: Vec<(&str, Vec<u8>, Vec<Capability>)> = vec![
        ("route refresh", vec![2, 0], vec![Capability::RouteRefresh]),
        (
            "pre-standard route refresh",
            vec![128, 0],
            vec![Capability::RouteRefresh],
        ),
        (
            "both route refresh codes",
            vec![2, 0, 128, 0],
            vec![Capability::RouteRefresh],
        ),
        (
            "extended message",
            vec![6, 0],
            vec![Capability::ExtendedMessage],
        ),
        (
            "unknown family kept",
            vec![1, 4, 0, 1, 0, 128],
            vec![Capability::Unknown {
                code: 1,
                value: vec![0, 1, 0, 128],
            }],
        ),
        (
            "4-octet AS of the wrong length kept as unknown",
            vec![65, 2, 0, 1],
            vec![Capability::Unknown {
                code: 65,
                value: vec![0, 1],
            }],
        ),
        (
            "graceful restart: flags, time, families, unknown family left out",
            vec![
                64, 14, 0x80, 0x78, 0, 1, 1, 0x80, 0, 2, 1, 0x00, 0, 1, 128, 0x80,
            ],
            vec![Capability::GracefulRestart(GracefulRestartCapability {
                restarting: true,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: AddressFamily::Ipv4Unicast,
                        forwarding_preserved: true,
                    },
                    GracefulRestartFamily {
                        family: AddressFamily::Ipv6Unicast,
                        forwarding_preserved: false,
                    },
                ],
            })],
        ),
        (
            "graceful restart helper only, notification bit ignored",
            vec![64, 2, 0x4f, 0xff],
            vec![Capability::GracefulRestart(GracefulRestartCapability {
                restarting: false,
                restart_time: 4095,
                families: vec![],
            })],
        ),
        (
            "unknown capability kept",
            vec![70, 0, 69, 4, 0, 1, 1, 3],
            vec![
                Capability::Unknown {
                    code: 70,
                    value: vec![],
                },
                Capability::Unknown {
                    code: 69,
                    value: vec![0, 1, 1, 3],
                },
            ],
        ),
    ];
    for (name, caps, expected) in cases {
        let o = decode(&open_body(4, 65001, 90, &params(&[cap_param(&caps)]))).unwrap();
        assert_eq!(o.capabilities, expected, "{name}");
    }
}

#[test]
fn real_asn_comes_from_the_capability() {
    let caps = [65, 4, 0xfa, 0x56, 0xea, 0x00];
    let o = decode(&open_body(
        4,
        AS_TRANS as u16,
        90,
        &params(&[cap_param(&caps)]),
    ))
    .unwrap();
    assert_eq!(o.asn, 4_200_000_000);
    assert!(o.four_octet_as());
}

#[test]
fn several_capability_parameters() {
    let p = params(&[
        cap_param(&[1, 4, 0, 1, 0, 1]),
        cap_param(&[1, 4, 0, 2, 0, 1]),
        cap_param(&[]),
    ]);
    let o = decode(&open_body(4, 65001, 90, &p)).unwrap();
    assert_eq!(
        o.families(),
        vec![AddressFamily::Ipv4Unicast, AddressFamily::Ipv6Unicast]
    );
}

#[test]
fn rfc9072_extended_parameters_are_read() {
    let caps = [2u8, 0, 6, 0];
    let mut p = vec![255, 255];
    p.extend_from_slice(&u16::try_from(3 + caps.len()).unwrap().to_be_bytes());
    p.push(2);
    p.extend_from_slice(&u16::try_from(caps.len()).unwrap().to_be_bytes());
    p.extend_from_slice(&caps);
    let o = decode(&open_body(4, 65001, 90, &p)).unwrap();
    assert_eq!(
        o.capabilities,
        vec![Capability::RouteRefresh, Capability::ExtendedMessage]
    );
}

#[test]
fn many_capabilities_use_rfc9072_and_round_trip() {
    let mut open = full_open();
    for code in 200..240u8 {
        open.capabilities.push(Capability::Unknown {
            code,
            value: vec![code; 6],
        });
    }
    let mut out = BytesMut::new();
    encode_open_body(&open, &mut out).unwrap();
    // Non-Ext OP Len and Non-Ext OP Type are both 255.
    assert_eq!(out[9..11], [255, 255]);
    assert_eq!(decode_open_body(&out), Ok(open.clone()));
    assert_eq!(
        round_trip(&Message::Open(open.clone()), OLD),
        Message::Open(open)
    );
}

#[test]
fn capability_value_too_long_is_an_encode_error() {
    let mut open = full_open();
    open.capabilities.push(Capability::Unknown {
        code: 99,
        value: vec![0; 256],
    });
    let mut out = BytesMut::new();
    let err = encode_message(&Message::Open(open), OLD, &mut out).unwrap_err();
    assert_eq!(
        err,
        crate::codec::EncodeError::CapabilityTooLong {
            code: 99,
            length: 256
        }
    );
    assert!(out.is_empty(), "nothing written on error");
}

#[test]
fn negotiated_options_need_both_sides() {
    let with = |caps: Vec<Capability>| Open {
        capabilities: caps,
        ..full_open()
    };
    let both = with(vec![
        Capability::FourOctetAs(65001),
        Capability::ExtendedMessage,
    ]);
    let four_only = with(vec![Capability::FourOctetAs(65002)]);
    assert_eq!(CodecOptions::negotiated(&both, &both), NEW_EXT);
    assert_eq!(CodecOptions::negotiated(&both, &four_only), NEW);
    assert_eq!(CodecOptions::negotiated(&four_only, &with(vec![])), OLD);
    assert_eq!(CodecOptions::default(), OLD);
    assert_eq!(
        (OLD.max_message_len(), NEW_EXT.max_message_len()),
        (4096, 65535)
    );
}
