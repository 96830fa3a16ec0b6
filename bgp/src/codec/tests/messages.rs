//! NOTIFICATION and ROUTE-REFRESH (RFC 4271 section 4.5, RFC 2918, RFC 7313).

use super::*;
use crate::codec::decode_frame;
use crate::message::{subcode, ErrorCode, IgnoredRouteRefresh};
use crate::types::AddressFamily;

#[test]
fn notification_round_trips() {
    let cases = [
        Notification::cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN),
        Notification::new(ErrorCode::UpdateMessage, 5, vec![0x40, 1, 2, 0, 0]),
        Notification::new(ErrorCode::Unknown(42), 9, vec![1; 100]),
        Notification::new(ErrorCode::HoldTimerExpired, 0, vec![]),
    ];
    for n in cases {
        let bytes = encode(&Message::Notification(n.clone()), OLD);
        assert_eq!(bytes[19], n.code.code());
        assert_eq!(bytes[20], n.subcode);
        assert_eq!(&bytes[21..], &n.data[..]);
        assert_eq!(decode_message(&bytes, OLD), Ok(Message::Notification(n)));
    }
}

#[test]
fn notification_data_is_truncated_to_fit() {
    let n = Notification::new(ErrorCode::UpdateMessage, 1, vec![7; 5000]);
    let bytes = encode(&Message::Notification(n.clone()), OLD);
    assert_eq!(bytes.len(), 4096);
    let ext = encode(&Message::Notification(n), NEW_EXT);
    assert_eq!(ext.len(), 19 + 2 + 5000);
}

#[test]
fn route_refresh_round_trips() {
    for family in AddressFamily::ALL {
        let bytes = encode(&Message::RouteRefresh(family), OLD);
        assert_eq!(bytes.len(), 23);
        assert_eq!(bytes[19..], [0, family.afi().code() as u8, 0, 1]);
        assert_eq!(
            decode_message(&bytes, OLD),
            Ok(Message::RouteRefresh(family))
        );
    }
}

type Decoded = Result<Option<Message>, Notification>;

#[test]
fn route_refresh_table() {
    let rr_len = |f: &[u8]| {
        Notification::new(
            ErrorCode::RouteRefreshMessage,
            subcode::route_refresh::INVALID_MESSAGE_LENGTH,
            f.to_vec(),
        )
    };
    let borr_long = frame(5, &[0, 1, 1, 1, 0]);
    let cases: Vec<(&str, Vec<u8>, Decoded)> = vec![
        (
            "ipv6 request",
            frame(5, &[0, 2, 0, 1]),
            Ok(Some(Message::RouteRefresh(AddressFamily::Ipv6Unicast))),
        ),
        (
            "request followed by ORF entries",
            frame(5, &[0, 1, 0, 1, 1, 2, 3]),
            Ok(Some(Message::RouteRefresh(AddressFamily::Ipv4Unicast))),
        ),
        (
            "unsupported family ignored",
            frame(5, &[0, 1, 0, 128]),
            Ok(None),
        ),
        ("BoRR ignored", frame(5, &[0, 1, 1, 1]), Ok(None)),
        ("EoRR ignored", frame(5, &[0, 2, 2, 1]), Ok(None)),
        ("unknown subtype ignored", frame(5, &[0, 1, 7, 1]), Ok(None)),
        (
            "BoRR of the wrong length",
            borr_long.clone(),
            Err(rr_len(&borr_long)),
        ),
    ];
    for (name, f, expected) in cases {
        assert_eq!(decode_frame(&f, OLD), expected, "{name}");
    }
}

#[test]
fn ignorable_route_refresh_decodes_as_ignored_and_round_trips() {
    let ignored = |afi, subtype, safi| {
        Message::RouteRefreshIgnored(IgnoredRouteRefresh { afi, subtype, safi })
    };
    let cases = [
        ("unsupported family", vec![0, 1, 0, 128], ignored(1, 0, 128)),
        ("BoRR", vec![0, 1, 1, 1], ignored(1, 1, 1)),
        ("EoRR", vec![0, 2, 2, 1], ignored(2, 2, 1)),
        (
            "reserved subtype 255",
            vec![0, 1, 255, 1],
            ignored(1, 255, 1),
        ),
        ("unknown subtype", vec![0, 1, 7, 1], ignored(1, 7, 1)),
    ];
    for (name, body, expected) in cases {
        let f = frame(5, &body);
        assert_eq!(decode_message(&f, OLD), Ok(expected.clone()), "{name}");
        assert_eq!(decode_frame(&f, OLD), Ok(None), "{name}");
        let mut out = BytesMut::new();
        encode_message(&expected, OLD, &mut out).unwrap();
        assert_eq!(&out[..], &f[..], "{name}");
    }
    // A BoRR of the wrong length stays an error (RFC 7313 section 5).
    let long = frame(5, &[0, 1, 1, 1, 0]);
    let err = decode_message(&long, OLD).unwrap_err();
    assert_eq!(err.code, ErrorCode::RouteRefreshMessage);
    assert_eq!(err.subcode, 1);
}
