//! The OPEN message (RFC 4271 section 4.2) with optional parameters (RFC 5492) in the classic or
//! the RFC 9072 extended format.
//!
//! Peer AS and BGP identifier checks need session configuration and belong to the FSM.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::capability;
use super::error::{bad_message_length, open_error, EncodeError, UNSPECIFIC};
use super::wire::Reader;
use crate::message::subcode::open::{
    UNACCEPTABLE_HOLD_TIME, UNSUPPORTED_OPTIONAL_PARAMETER, UNSUPPORTED_VERSION_NUMBER,
};
use crate::message::{Capability, Notification, Open, HEADER_LEN};
use crate::types::{Asn, AS_TRANS};

/// The only BGP version.
const BGP_VERSION: u8 = 4;
/// Optional parameter type: Capabilities (RFC 5492).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072: a Non-Ext OP Len and Non-Ext OP Type of 255 announce the extended format.
const EXTENDED_PARAMS: u8 = 255;
/// Capabilities per classic optional parameter: its length is one octet.
const MAX_PARAM: usize = 255;

fn malformed() -> Notification {
    open_error(UNSPECIFIC, Vec::new())
}

/// Decodes an OPEN body (the message without its 19-octet header).
///
/// Errors: Unsupported Version Number (data: 2-octet version 4), Unacceptable Hold Time (1 or 2
/// seconds), Unsupported Optional Parameter (a parameter other than Capabilities), and the
/// unspecific OPEN Message Error for parameters or capabilities that overrun their lengths.
pub fn decode_open_body(body: &[u8]) -> Result<Open, Notification> {
    let mut r = Reader::new(body);
    let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
        (r.u8(), r.u16(), r.u16(), r.array::<4>(), r.u8())
    else {
        let len = u16::try_from(body.len() + HEADER_LEN).unwrap_or(u16::MAX);
        return Err(bad_message_length(len));
    };
    if version != BGP_VERSION {
        return Err(open_error(
            UNSUPPORTED_VERSION_NUMBER,
            u16::from(BGP_VERSION).to_be_bytes().to_vec(),
        ));
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(open_error(UNACCEPTABLE_HOLD_TIME, Vec::new()));
    }
    let capabilities = decode_parameters(&mut r, opt_len)?;
    // The real ASN of a 4-octet speaker is in its capability; the 2-octet field then holds
    // AS_TRANS (RFC 6793 section 3).
    let asn = capabilities
        .iter()
        .find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
        .unwrap_or(Asn::from(my_as));
    Ok(Open {
        version,
        asn,
        hold_time,
        router_id: Ipv4Addr::from(id),
        capabilities,
    })
}

fn decode_parameters(r: &mut Reader<'_>, opt_len: u8) -> Result<Vec<Capability>, Notification> {
    let extended = opt_len == EXTENDED_PARAMS && r.peek_u8() == Some(EXTENDED_PARAMS);
    let params = if extended {
        let _non_ext_type = r.u8();
        let len = r.u16().ok_or_else(malformed)?;
        r.take(usize::from(len))
    } else {
        r.take(usize::from(opt_len))
    };
    let params = params.ok_or_else(malformed)?;
    if !r.is_empty() {
        return Err(malformed());
    }
    let mut p = Reader::new(params);
    let mut caps = Vec::new();
    while !p.is_empty() {
        let param_type = p.u8().ok_or_else(malformed)?;
        let len = if extended {
            p.u16().map(usize::from)
        } else {
            p.u8().map(usize::from)
        };
        let value = len.and_then(|n| p.take(n)).ok_or_else(malformed)?;
        if param_type != PARAM_CAPABILITIES {
            return Err(open_error(UNSUPPORTED_OPTIONAL_PARAMETER, Vec::new()));
        }
        capability::decode_into(value, &mut caps)?;
    }
    Ok(caps)
}

/// Encodes an OPEN body. The 2-octet My Autonomous System field holds AS_TRANS when the ASN
/// does not fit. Capabilities go in as few Capabilities parameters as fit the classic format;
/// beyond 255 octets they go in one parameter of the RFC 9072 extended format.
pub fn encode_open_body(open: &Open, out: &mut BytesMut) -> Result<(), EncodeError> {
    out.put_u8(open.version);
    out.put_u16(u16::try_from(open.asn).unwrap_or(AS_TRANS as u16));
    out.put_u16(open.hold_time);
    out.put_slice(&open.router_id.octets());

    // Classic format: capabilities grouped into parameters of at most 255 octets each, as long
    // as all of them fit the one-octet total. Otherwise one RFC 9072 parameter holds them all.
    let mut groups: Vec<(usize, &[Capability])> = Vec::new();
    let mut first = 0;
    let mut size = 0;
    for (i, cap) in open.capabilities.iter().enumerate() {
        let len = capability::encoded_len(cap);
        if size + len > MAX_PARAM && i > first {
            groups.push((size, open.capabilities.get(first..i).unwrap_or_default()));
            first = i;
            size = 0;
        }
        size += len;
    }
    if first < open.capabilities.len() {
        groups.push((size, open.capabilities.get(first..).unwrap_or_default()));
    }
    let classic: usize = groups.iter().map(|(len, _)| 2 + len).sum();
    if classic <= MAX_PARAM && groups.iter().all(|(len, _)| *len <= MAX_PARAM) {
        out.put_u8(u8::try_from(classic).unwrap_or(u8::MAX));
        for (len, caps) in groups {
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u8(u8::try_from(len).unwrap_or(u8::MAX));
            for cap in caps {
                capability::put(out, cap)?;
            }
        }
        return Ok(());
    }
    let caps_len: usize = open.capabilities.iter().map(capability::encoded_len).sum();
    let too_long = |len: usize| EncodeError::OptionalParametersTooLong(len);
    let total = u16::try_from(3 + caps_len).map_err(|_| too_long(3 + caps_len))?;
    out.put_u8(EXTENDED_PARAMS);
    out.put_u8(EXTENDED_PARAMS);
    out.put_u16(total);
    out.put_u8(PARAM_CAPABILITIES);
    out.put_u16(u16::try_from(caps_len).map_err(|_| too_long(caps_len))?);
    for cap in &open.capabilities {
        capability::put(out, cap)?;
    }
    Ok(())
}
