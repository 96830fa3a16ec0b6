//! Framing and header errors (RFC 4271 section 6.1, RFC 8654).

use super::*;
use crate::codec::frame_length;
use crate::message::{subcode, ErrorCode};

fn header(len: u16, msg_type: u8) -> Vec<u8> {
    let mut h = vec![0xff; 16];
    h.extend_from_slice(&len.to_be_bytes());
    h.push(msg_type);
    h
}

fn bad_length(len: u16) -> Notification {
    Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::BAD_MESSAGE_LENGTH,
        len.to_be_bytes().to_vec(),
    )
}

type Framed = Result<Option<usize>, Notification>;

#[test]
fn frame_length_table() {
    let not_sync = Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::CONNECTION_NOT_SYNCHRONIZED,
        vec![],
    );
    let mut bad_marker = header(19, 4);
    bad_marker[7] = 0xfe;
    let cases: Vec<(&str, Vec<u8>, CodecOptions, Framed)> = vec![
        ("empty", vec![], OLD, Ok(None)),
        ("partial marker", vec![0xff; 10], OLD, Ok(None)),
        ("marker without length", vec![0xff; 17], OLD, Ok(None)),
        (
            "bad marker seen early",
            vec![0xff, 0xff, 0x00],
            OLD,
            Err(not_sync.clone()),
        ),
        ("bad marker", bad_marker, OLD, Err(not_sync)),
        ("keepalive", header(19, 4), OLD, Ok(Some(19))),
        (
            "keepalive too long",
            header(20, 4),
            OLD,
            Err(bad_length(20)),
        ),
        (
            "length below header",
            header(18, 4),
            OLD,
            Err(bad_length(18)),
        ),
        ("open minimum", header(29, 1), OLD, Ok(Some(29))),
        ("open too short", header(28, 1), OLD, Err(bad_length(28))),
        (
            "open over 4096 even with extended",
            header(4097, 1),
            NEW_EXT,
            Err(bad_length(4097)),
        ),
        ("update minimum", header(23, 2), OLD, Ok(Some(23))),
        ("update too short", header(22, 2), OLD, Err(bad_length(22))),
        ("update 4096", header(4096, 2), OLD, Ok(Some(4096))),
        ("update 4097", header(4097, 2), OLD, Err(bad_length(4097))),
        (
            "update 4097 extended",
            header(4097, 2),
            NEW_EXT,
            Ok(Some(4097)),
        ),
        (
            "update 65535 extended",
            header(65535, 2),
            NEW_EXT,
            Ok(Some(65535)),
        ),
        ("notification minimum", header(21, 3), OLD, Ok(Some(21))),
        (
            "notification too short",
            header(20, 3),
            OLD,
            Err(bad_length(20)),
        ),
        ("route refresh", header(23, 5), OLD, Ok(Some(23))),
        (
            "route refresh too short",
            header(22, 5),
            OLD,
            Err(bad_length(22)),
        ),
        ("unknown type is framed", header(30, 9), OLD, Ok(Some(30))),
    ];
    for (name, bytes, opts, expected) in cases {
        assert_eq!(frame_length(&bytes, opts), expected, "{name}");
    }
}

#[test]
fn bad_message_type_carries_the_type() {
    let f = frame(9, &[1, 2, 3]);
    assert_eq!(
        decode_message(&f, OLD),
        Err(Notification::new(
            ErrorCode::MessageHeader,
            subcode::header::BAD_MESSAGE_TYPE,
            vec![9],
        ))
    );
}

#[test]
fn decode_message_wants_exactly_one_frame() {
    let mut two = frame(4, &[]);
    two.extend(frame(4, &[]));
    assert_eq!(decode_message(&two, OLD), Err(bad_length(19)));
    assert_eq!(decode_message(&[0xff; 10], OLD), Err(bad_length(10)));
}

#[test]
fn keepalive_round_trip() {
    let bytes = encode(&Message::Keepalive, OLD);
    assert_eq!(bytes, header(19, 4));
    assert_eq!(decode_message(&bytes, OLD), Ok(Message::Keepalive));
}
