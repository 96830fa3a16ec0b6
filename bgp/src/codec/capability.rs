//! Capabilities (RFC 5492) inside the OPEN Capabilities optional parameter.
//!
//! A known capability with a value of the wrong shape is kept as [`Capability::Unknown`] rather
//! than closing the session: the FSM then simply does not see it negotiated.

use bytes::{BufMut, BytesMut};

use super::error::{open_error, EncodeError, UNSPECIFIC};
use super::wire::Reader;
use crate::message::{Capability, GracefulRestartCapability, GracefulRestartFamily, Notification};
use crate::types::AddressFamily;

/// Capability codes (IANA "Capability Codes").
pub(crate) mod code {
    /// Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 4-octet AS number (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// The pre-standard route refresh code some older routers still send.
    pub const ROUTE_REFRESH_PRE_STANDARD: u8 = 128;
}

/// Graceful restart Restart State bit, in the restart flags / time field.
const GR_RESTARTING: u16 = 0x8000;
/// The 12-bit restart time.
const GR_TIME_MASK: u16 = 0x0fff;
/// Graceful restart per-family Forwarding State bit.
const GR_FORWARDING: u8 = 0x80;

/// Appends the capabilities of one Capabilities optional parameter to `caps`.
///
/// A capability overrunning the parameter is an OPEN Message Error (unspecific subcode).
pub(crate) fn decode_into(param: &[u8], caps: &mut Vec<Capability>) -> Result<(), Notification> {
    let mut r = Reader::new(param);
    while !r.is_empty() {
        let (Some(cap_code), Some(len)) = (r.u8(), r.u8()) else {
            return Err(open_error(UNSPECIFIC, Vec::new()));
        };
        let value = r
            .take(usize::from(len))
            .ok_or_else(|| open_error(UNSPECIFIC, Vec::new()))?;
        let cap = decode_one(cap_code, value);
        // Peers often send both route refresh codes; one is enough.
        if cap == Capability::RouteRefresh && caps.contains(&Capability::RouteRefresh) {
            continue;
        }
        caps.push(cap);
    }
    Ok(())
}

fn decode_one(cap_code: u8, value: &[u8]) -> Capability {
    let known = match cap_code {
        code::MULTIPROTOCOL => multiprotocol(value),
        code::ROUTE_REFRESH | code::ROUTE_REFRESH_PRE_STANDARD if value.is_empty() => {
            Some(Capability::RouteRefresh)
        }
        code::EXTENDED_MESSAGE if value.is_empty() => Some(Capability::ExtendedMessage),
        code::GRACEFUL_RESTART => graceful_restart(value),
        code::FOUR_OCTET_AS => <[u8; 4]>::try_from(value)
            .ok()
            .map(|v| Capability::FourOctetAs(u32::from_be_bytes(v))),
        _ => None,
    };
    known.unwrap_or_else(|| Capability::Unknown {
        code: cap_code,
        value: value.to_vec(),
    })
}

fn multiprotocol(value: &[u8]) -> Option<Capability> {
    let [a, b, _reserved, safi] = <[u8; 4]>::try_from(value).ok()?;
    AddressFamily::from_codes(u16::from_be_bytes([a, b]), safi).map(Capability::Multiprotocol)
}

/// RFC 4724 section 3. Entries for families FerroLB does not carry are left out.
fn graceful_restart(value: &[u8]) -> Option<Capability> {
    let mut r = Reader::new(value);
    let flags_time = r.u16()?;
    if !r.remaining().is_multiple_of(4) {
        return None;
    }
    let mut families = Vec::with_capacity(r.remaining() / 4);
    while let (Some(afi), Some(safi), Some(flags)) = (r.u16(), r.u8(), r.u8()) {
        if let Some(family) = AddressFamily::from_codes(afi, safi) {
            families.push(GracefulRestartFamily {
                family,
                forwarding_preserved: flags & GR_FORWARDING != 0,
            });
        }
    }
    Some(Capability::GracefulRestart(GracefulRestartCapability {
        restarting: flags_time & GR_RESTARTING != 0,
        restart_time: flags_time & GR_TIME_MASK,
        families,
    }))
}

/// Octets one capability takes (code, length, value).
pub(crate) fn encoded_len(cap: &Capability) -> usize {
    2 + match cap {
        Capability::Multiprotocol(_) | Capability::FourOctetAs(_) => 4,
        Capability::RouteRefresh | Capability::ExtendedMessage => 0,
        Capability::GracefulRestart(gr) => 2 + 4 * gr.families.len(),
        Capability::Unknown { value, .. } => value.len(),
    }
}

/// Writes one capability.
pub(crate) fn put(out: &mut BytesMut, cap: &Capability) -> Result<(), EncodeError> {
    let (cap_code, len) = match cap {
        Capability::Multiprotocol(_) => (code::MULTIPROTOCOL, 4),
        Capability::RouteRefresh => (code::ROUTE_REFRESH, 0),
        Capability::ExtendedMessage => (code::EXTENDED_MESSAGE, 0),
        Capability::GracefulRestart(_) => (code::GRACEFUL_RESTART, encoded_len(cap) - 2),
        Capability::FourOctetAs(_) => (code::FOUR_OCTET_AS, 4),
        Capability::Unknown { code, value } => (*code, value.len()),
    };
    let len = u8::try_from(len).map_err(|_| EncodeError::CapabilityTooLong {
        code: cap_code,
        length: len,
    })?;
    out.put_u8(cap_code);
    out.put_u8(len);
    match cap {
        Capability::Multiprotocol(family) => {
            out.put_u16(family.afi().code());
            out.put_u8(0);
            out.put_u8(family.safi());
        }
        Capability::RouteRefresh | Capability::ExtendedMessage => {}
        Capability::GracefulRestart(gr) => {
            let restarting = if gr.restarting { GR_RESTARTING } else { 0 };
            out.put_u16(restarting | (gr.restart_time & GR_TIME_MASK));
            for f in &gr.families {
                out.put_u16(f.family.afi().code());
                out.put_u8(f.family.safi());
                out.put_u8(if f.forwarding_preserved {
                    GR_FORWARDING
                } else {
                    0
                });
            }
        }
        Capability::FourOctetAs(asn) => out.put_u32(*asn),
        Capability::Unknown { value, .. } => out.put_slice(value),
    }
    Ok(())
}
