//! BgpCodec as a tokio_util framer.

use bytes::Bytes;
use tokio_util::codec::{Decoder, Encoder};

use super::*;
use crate::codec::{BgpCodec, CodecError, EncodeError};
use crate::message::{subcode, ErrorCode};
use crate::types::AddressFamily;

fn sample_update() -> Message {
    Message::Update(Update {
        attributes: base_path(),
        nlri: vec![v4("10.0.0.0/24"), v4("10.0.1.0/24")],
        ..Update::default()
    })
}

#[test]
fn decodes_a_stream_fed_one_octet_at_a_time() {
    let mut codec = BgpCodec::new(NEW);
    let messages = vec![
        Message::Keepalive,
        sample_update(),
        Message::RouteRefresh(AddressFamily::Ipv6Unicast),
        Message::Notification(Notification::cease(2)),
    ];
    let mut stream = BytesMut::new();
    for m in &messages {
        codec.encode(m, &mut stream).unwrap();
    }
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in stream.iter() {
        buf.extend_from_slice(&[*b]);
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, messages);
    assert!(buf.is_empty());
}

#[test]
fn decodes_several_messages_from_one_read() {
    let mut codec = BgpCodec::default();
    let mut buf = BytesMut::new();
    for _ in 0..3 {
        codec.encode(Message::Keepalive, &mut buf).unwrap();
    }
    // A ROUTE-REFRESH to ignore in the middle is skipped.
    buf.extend_from_slice(&frame(5, &[0, 1, 0, 128]));
    codec.encode(Message::Keepalive, &mut buf).unwrap();
    let mut n = 0;
    while let Some(m) = codec.decode(&mut buf).unwrap() {
        assert_eq!(m, Message::Keepalive);
        n += 1;
    }
    assert_eq!(n, 4);
    assert!(buf.is_empty());
}

#[test]
fn errors_carry_the_notification() {
    let mut codec = BgpCodec::default();
    let mut buf = BytesMut::from(&frame(4, &[0])[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err.notification(),
        Some(&Notification::new(
            ErrorCode::MessageHeader,
            subcode::header::BAD_MESSAGE_LENGTH,
            vec![0, 20]
        ))
    );
    let mut garbage = BytesMut::from(&[0u8; 5][..]);
    let err = codec.decode(&mut garbage).unwrap_err();
    assert_eq!(
        err.notification().map(|n| n.subcode),
        Some(subcode::header::CONNECTION_NOT_SYNCHRONIZED)
    );
    assert!(matches!(err, CodecError::Protocol(_)));
}

#[test]
fn set_options_switches_to_extended_messages() {
    let big = Message::Update(Update {
        attributes: base_path(),
        nlri: (0..2000u32)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap())
            .collect(),
        ..Update::default()
    });
    let mut codec = BgpCodec::new(NEW);
    let mut out = BytesMut::new();
    let err = codec.encode(&big, &mut out).unwrap_err();
    assert!(matches!(
        err,
        CodecError::Encode(EncodeError::MessageTooLarge { .. })
    ));
    codec.set_options(NEW_EXT);
    assert_eq!(codec.options(), NEW_EXT);
    codec.encode(&big, &mut out).unwrap();
    assert!(out.len() > 4096);

    let mut old = BgpCodec::new(NEW);
    let err = old.decode(&mut out.clone()).unwrap_err();
    assert_eq!(
        err.notification().map(|n| n.subcode),
        Some(subcode::header::BAD_MESSAGE_LENGTH)
    );
    assert_eq!(codec.decode(&mut out).unwrap(), Some(big));
}

#[test]
fn pre_encoded_bytes_are_written_as_they_are() {
    let mut codec = BgpCodec::new(NEW);
    let mut pre = BytesMut::new();
    codec.encode(sample_update(), &mut pre).unwrap();
    codec.encode(Message::Keepalive, &mut pre).unwrap();
    let pre = pre.freeze();
    let mut out = BytesMut::new();
    codec.encode(pre.clone(), &mut out).unwrap();
    assert_eq!(&out[..], &pre[..]);
    let err = codec
        .encode(Bytes::from_static(&[0xff; 20]), &mut out)
        .unwrap_err();
    assert!(matches!(
        err,
        CodecError::Encode(EncodeError::NotWholeMessages { .. })
    ));
}
