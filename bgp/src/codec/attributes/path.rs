//! The fixed-size path attributes: ORIGIN, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF,
//! ATOMIC_AGGREGATE, AGGREGATOR and AS4_AGGREGATOR (RFC 4271 section 5.1, RFC 6793).

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::attribute::{Aggregator, Origin};
use crate::message::subcode::update::{
    ATTRIBUTE_LENGTH_ERROR, INVALID_ORIGIN_ATTRIBUTE, OPTIONAL_ATTRIBUTE_ERROR,
};
use crate::types::{Asn, AS_TRANS};

fn length(name: &str, value: &[u8], expected: usize) -> Result<(), Malformed> {
    if value.len() == expected {
        Ok(())
    } else {
        Err(Malformed::new(
            ATTRIBUTE_LENGTH_ERROR,
            format!("{name}: length {}, expected {expected}", value.len()),
        ))
    }
}

pub(super) fn decode_origin(value: &[u8]) -> Result<Origin, Malformed> {
    length("ORIGIN", value, 1)?;
    match value.first() {
        Some(0) => Ok(Origin::Igp),
        Some(1) => Ok(Origin::Egp),
        Some(2) => Ok(Origin::Incomplete),
        other => Err(Malformed::new(
            INVALID_ORIGIN_ATTRIBUTE,
            format!("ORIGIN: undefined value {other:?}"),
        )),
    }
}

pub(super) const fn origin_code(origin: Origin) -> u8 {
    match origin {
        Origin::Igp => 0,
        Origin::Egp => 1,
        Origin::Incomplete => 2,
    }
}

fn ipv4(value: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(value).ok().map(Ipv4Addr::from)
}

pub(super) fn decode_next_hop(value: &[u8]) -> Result<Ipv4Addr, Malformed> {
    length("NEXT_HOP", value, 4)?;
    ipv4(value).ok_or_else(|| Malformed::new(ATTRIBUTE_LENGTH_ERROR, "NEXT_HOP: length"))
}

/// MULTI_EXIT_DISC or LOCAL_PREF: one four-octet value.
pub(super) fn decode_u32(name: &str, value: &[u8]) -> Result<u32, Malformed> {
    length(name, value, 4)?;
    <[u8; 4]>::try_from(value)
        .map(u32::from_be_bytes)
        .map_err(|_| Malformed::new(ATTRIBUTE_LENGTH_ERROR, format!("{name}: length")))
}

pub(super) fn decode_atomic_aggregate(value: &[u8]) -> Result<(), Malformed> {
    length("ATOMIC_AGGREGATE", value, 0)
}

/// AGGREGATOR with 2- or 4-octet ASN, or AS4_AGGREGATOR (always 4).
pub(super) fn decode_aggregator(
    name: &str,
    value: &[u8],
    asn_len: usize,
) -> Result<Aggregator, Malformed> {
    length(name, value, asn_len + 4)?;
    let (asn, address) = value.split_at(asn_len);
    let asn = match *asn {
        [a, b] => Asn::from(u16::from_be_bytes([a, b])),
        [a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
        _ => {
            return Err(Malformed::new(
                OPTIONAL_ATTRIBUTE_ERROR,
                format!("{name}: ASN"),
            ))
        }
    };
    let address = ipv4(address)
        .ok_or_else(|| Malformed::new(ATTRIBUTE_LENGTH_ERROR, format!("{name}: length")))?;
    Ok(Aggregator { asn, address })
}

/// Writes an aggregator value; with 2-octet ASNs a 4-octet one becomes AS_TRANS.
pub(super) fn put_aggregator(out: &mut BytesMut, aggregator: &Aggregator, four_octet: bool) {
    if four_octet {
        out.put_u32(aggregator.asn);
    } else {
        out.put_u16(u16::try_from(aggregator.asn).unwrap_or(AS_TRANS as u16));
    }
    out.put_slice(&aggregator.address.octets());
}
