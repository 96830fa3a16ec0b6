//! Path attribute encoding: the inverse of the block decoder, in the order RFC 7606 section 5.1
//! asks for.

use bytes::{BufMut, BytesMut};

use super::{as_path, community, mp, path, rules};
use crate::attribute::{flags, type_code, PathAttributes, UnknownAttribute};
use crate::codec::error::EncodeError;
use crate::codec::wire::{patch_len, reserve_u16};
use crate::codec::CodecOptions;
use crate::types::Asn;

const WELL_KNOWN: u8 = flags::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = flags::OPTIONAL | flags::TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE: u8 = flags::OPTIONAL;

/// Writes one attribute whose value `write` appends, with a one-octet length when it fits.
pub(crate) fn put_attribute(
    out: &mut BytesMut,
    attr_flags: u8,
    code: u8,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = out.len();
    out.put_u8(attr_flags | flags::EXTENDED_LENGTH);
    out.put_u8(code);
    let slot = reserve_u16(out);
    write(out)?;
    let len = patch_len(out, slot).ok_or(EncodeError::AttributeTooLong {
        type_code: code,
        length: out.len().saturating_sub(start + 4),
    })?;
    if len <= usize::from(u8::MAX) {
        // Move the value one octet left over the high length octet.
        out.copy_within(start + 3.., start + 2);
        out.truncate(out.len() - 1);
        if let Some(f) = out.get_mut(start) {
            *f = attr_flags & !flags::EXTENDED_LENGTH;
        }
    }
    Ok(())
}

fn put_fixed(
    out: &mut BytesMut,
    attr_flags: u8,
    code: u8,
    value: &[u8],
) -> Result<(), EncodeError> {
    put_attribute(out, attr_flags, code, |o| {
        o.put_slice(value);
        Ok(())
    })
}

/// Appends the path attributes: MP_UNREACH_NLRI and MP_REACH_NLRI first (RFC 7606 section 5.1),
/// the others in type code order, then unknown optional transitive attributes with the Partial
/// bit set. Unknown non-transitive attributes are not passed on (RFC 4271 section 5).
///
/// Without 4-octet AS support (`opts.four_octet_as` false), ASNs above 65535 become AS_TRANS
/// and AS4_PATH / AS4_AGGREGATOR carry the real ones (RFC 6793 section 4.2.2).
pub fn encode_path_attributes(
    attrs: &PathAttributes,
    opts: CodecOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    if let Some(u) = &attrs.mp_unreach {
        put_attribute(
            out,
            OPTIONAL_NON_TRANSITIVE,
            type_code::MP_UNREACH_NLRI,
            |o| mp::put_unreach(o, u),
        )?;
    }
    if let Some(r) = &attrs.mp_reach {
        put_attribute(
            out,
            OPTIONAL_NON_TRANSITIVE,
            type_code::MP_REACH_NLRI,
            |o| mp::put_reach(o, r),
        )?;
    }
    encode_path(attrs, opts, out)
}

/// Appends every attribute but the MP ones.
pub(crate) fn encode_path(
    attrs: &PathAttributes,
    opts: CodecOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let four = opts.four_octet_as;
    if let Some(origin) = attrs.origin {
        put_fixed(
            out,
            WELL_KNOWN,
            type_code::ORIGIN,
            &[path::origin_code(origin)],
        )?;
    }
    if let Some(p) = &attrs.as_path {
        put_attribute(out, WELL_KNOWN, type_code::AS_PATH, |o| {
            as_path::put(o, p, four)
        })?;
    }
    if let Some(nh) = attrs.next_hop {
        put_fixed(out, WELL_KNOWN, type_code::NEXT_HOP, &nh.octets())?;
    }
    if let Some(med) = attrs.med {
        put_fixed(
            out,
            OPTIONAL_NON_TRANSITIVE,
            type_code::MULTI_EXIT_DISC,
            &med.to_be_bytes(),
        )?;
    }
    if let Some(lp) = attrs.local_pref {
        put_fixed(out, WELL_KNOWN, type_code::LOCAL_PREF, &lp.to_be_bytes())?;
    }
    if attrs.atomic_aggregate {
        put_fixed(out, WELL_KNOWN, type_code::ATOMIC_AGGREGATE, &[])?;
    }
    if let Some(agg) = &attrs.aggregator {
        put_attribute(out, OPTIONAL_TRANSITIVE, type_code::AGGREGATOR, |o| {
            path::put_aggregator(o, agg, four);
            Ok(())
        })?;
    }
    if !attrs.communities.is_empty() {
        put_attribute(out, OPTIONAL_TRANSITIVE, type_code::COMMUNITIES, |o| {
            community::put_communities(o, &attrs.communities);
            Ok(())
        })?;
    }
    if !four {
        if let Some(p) = attrs
            .as_path
            .as_ref()
            .filter(|p| as_path::needs_four_octets(p))
        {
            put_attribute(out, OPTIONAL_TRANSITIVE, type_code::AS4_PATH, |o| {
                as_path::put(o, p, true)
            })?;
        }
        if let Some(agg) = attrs
            .aggregator
            .as_ref()
            .filter(|a| a.asn > Asn::from(u16::MAX))
        {
            put_attribute(out, OPTIONAL_TRANSITIVE, type_code::AS4_AGGREGATOR, |o| {
                path::put_aggregator(o, agg, true);
                Ok(())
            })?;
        }
    }
    if !attrs.large_communities.is_empty() {
        put_attribute(out, OPTIONAL_TRANSITIVE, type_code::LARGE_COMMUNITY, |o| {
            community::put_large(o, &attrs.large_communities);
            Ok(())
        })?;
    }
    for u in attrs.unknown.iter().filter(|u| passed_on(u)) {
        let attr_flags = (u.flags & OPTIONAL_TRANSITIVE) | flags::PARTIAL;
        put_fixed(out, attr_flags, u.type_code, &u.value)?;
    }
    Ok(())
}

/// An unknown attribute is passed on when it is optional transitive and not one the codec
/// writes itself.
fn passed_on(u: &UnknownAttribute) -> bool {
    u.flags & OPTIONAL_TRANSITIVE == OPTIONAL_TRANSITIVE && rules::rule(u.type_code).is_none()
}
