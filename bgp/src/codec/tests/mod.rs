//! Codec unit tests: one file per message or concern, table-driven, asserting the exact bytes,
//! NOTIFICATION (code, subcode, data) or RFC 7606 action a peer would see.

mod as4;
mod attributes;
mod framed;
mod header;
mod messages;
mod open;
mod packer;
mod update;

use std::net::Ipv4Addr;

use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net};

use super::{decode_message, encode_message, CodecOptions};
use crate::attribute::{flags, type_code, AsPath, ErrorAction, Origin, PathAttributes};
use crate::message::{Message, Notification, Update};

/// Before the OPEN exchange, or with an OLD (2-octet AS) peer.
pub(super) const OLD: CodecOptions = CodecOptions {
    four_octet_as: false,
    extended_message: false,
};
/// A 4-octet AS session.
pub(super) const NEW: CodecOptions = CodecOptions {
    four_octet_as: true,
    extended_message: false,
};
/// A 4-octet AS session with extended messages.
pub(super) const NEW_EXT: CodecOptions = CodecOptions {
    four_octet_as: true,
    extended_message: true,
};

pub(super) const WK: u8 = flags::TRANSITIVE;
pub(super) const OPT: u8 = flags::OPTIONAL;
pub(super) const OPT_TRANS: u8 = flags::OPTIONAL | flags::TRANSITIVE;

pub(super) fn v4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

pub(super) fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// A framed message.
pub(super) fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 16];
    f.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    f.push(msg_type);
    f.extend_from_slice(body);
    f
}

/// An UPDATE body from its three fields.
pub(super) fn update_body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    b
}

pub(super) fn update_frame(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    frame(2, &update_body(withdrawn, attrs, nlri))
}

/// One path attribute; a two-octet length when `attr_flags` has Extended Length or the value
/// needs it.
pub(super) fn attr(attr_flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let attr_flags = if value.len() > 255 {
        attr_flags | flags::EXTENDED_LENGTH
    } else {
        attr_flags
    };
    let mut a = vec![attr_flags, code];
    if attr_flags & flags::EXTENDED_LENGTH != 0 {
        a.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    } else {
        a.push(u8::try_from(value.len()).unwrap());
    }
    a.extend_from_slice(value);
    a
}

pub(super) fn origin_attr() -> Vec<u8> {
    attr(WK, type_code::ORIGIN, &[0])
}

/// AS_PATH of one AS_SEQUENCE, with ASNs of the session's width.
pub(super) fn as_path_attr(asns: &[u32], opts: CodecOptions) -> Vec<u8> {
    let mut v = vec![2, u8::try_from(asns.len()).unwrap()];
    for a in asns {
        if opts.four_octet_as {
            v.extend_from_slice(&a.to_be_bytes());
        } else {
            v.extend_from_slice(&u16::try_from(*a).unwrap().to_be_bytes());
        }
    }
    attr(WK, type_code::AS_PATH, &v)
}

pub(super) fn next_hop_attr() -> Vec<u8> {
    attr(WK, type_code::NEXT_HOP, &[192, 0, 2, 1])
}

/// ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1.
pub(super) fn base_attrs(opts: CodecOptions) -> Vec<u8> {
    [origin_attr(), as_path_attr(&[65001], opts), next_hop_attr()].concat()
}

/// The attributes [`base_attrs`] decodes to.
pub(super) fn base_path() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence([65001])),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    }
}

pub(super) fn encode(msg: &Message, opts: CodecOptions) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(msg, opts, &mut out).unwrap();
    out.to_vec()
}

/// Encodes and decodes again.
pub(super) fn round_trip(msg: &Message, opts: CodecOptions) -> Message {
    decode_message(&encode(msg, opts), opts).unwrap()
}

pub(super) fn decode_update(frame: &[u8], opts: CodecOptions) -> Result<Update, Notification> {
    match decode_message(frame, opts)? {
        Message::Update(u) => Ok(u),
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

/// The actions recorded for a type code.
pub(super) fn actions(u: &Update, code: u8) -> Vec<ErrorAction> {
    u.errors
        .iter()
        .filter(|e| e.type_code == code)
        .map(|e| e.action)
        .collect()
}
