//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760), with IPv6 next hops per RFC 2545 and IPv6 next
//! hops for IPv4 NLRI per RFC 8950.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::IpNet;

use super::Malformed;
use crate::attribute::{MpReachNlri, MpUnreachNlri, NextHop};
use crate::codec::error::EncodeError;
use crate::codec::nlri::{self, Prefixes};
use crate::codec::wire::Reader;
use crate::message::subcode::update::OPTIONAL_ATTRIBUTE_ERROR;
use crate::types::{AddressFamily, Afi};

/// MP_REACH_NLRI read in place: the prefixes stay in the frame.
#[derive(Debug, Clone, Copy)]
pub struct MpReachView<'a> {
    /// The family of the NLRI.
    pub family: AddressFamily,
    /// The next hop of every prefix.
    pub next_hop: NextHop,
    /// The announced prefixes.
    pub nlri: Prefixes<'a>,
}

impl MpReachView<'_> {
    /// The attribute as owned data.
    pub fn to_owned_nlri(&self) -> MpReachNlri {
        MpReachNlri {
            family: self.family,
            next_hop: self.next_hop,
            nlri: self.nlri.collect(),
        }
    }
}

/// MP_UNREACH_NLRI read in place.
#[derive(Debug, Clone, Copy)]
pub struct MpUnreachView<'a> {
    /// The family of the withdrawn prefixes.
    pub family: AddressFamily,
    /// The withdrawn prefixes (none for End-of-RIB).
    pub withdrawn: Prefixes<'a>,
}

impl MpUnreachView<'_> {
    /// The attribute as owned data.
    pub fn to_owned_nlri(&self) -> MpUnreachNlri {
        MpUnreachNlri {
            family: self.family,
            withdrawn: self.withdrawn.collect(),
        }
    }
}

/// An MP attribute of a family FerroLB carries, or the AFI/SAFI it named instead.
pub(super) enum Mp<T> {
    Supported(T),
    Unsupported { afi: u16, safi: u8 },
}

fn malformed(name: &str, why: String) -> Malformed {
    Malformed::new(OPTIONAL_ATTRIBUTE_ERROR, format!("{name}: {why}"))
}

fn next_hop(afi: Afi, octets: &[u8]) -> Option<NextHop> {
    let v6 = |o: &[u8]| <[u8; 16]>::try_from(o).ok().map(Ipv6Addr::from);
    match (afi, octets.len()) {
        (Afi::Ipv4, 4) => <[u8; 4]>::try_from(octets)
            .ok()
            .map(|o| NextHop::V4(Ipv4Addr::from(o))),
        (_, 16) => v6(octets).map(|global| NextHop::V6 {
            global,
            link_local: None,
        }),
        (_, 32) => {
            let (global, link_local) = octets.split_at(16);
            Some(NextHop::V6 {
                global: v6(global)?,
                link_local: Some(v6(link_local)?),
            })
        }
        _ => None,
    }
}

pub(super) fn decode_reach(value: &[u8]) -> Result<Mp<MpReachView<'_>>, Malformed> {
    const NAME: &str = "MP_REACH_NLRI";
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(malformed(
            NAME,
            format!("length {} shorter than 5", value.len()),
        ));
    };
    let (Some(nh), Some(_reserved)) = (r.take(usize::from(nh_len)), r.u8()) else {
        return Err(malformed(
            NAME,
            format!("next hop length {nh_len} overruns the attribute"),
        ));
    };
    let Some(family) = AddressFamily::from_codes(afi, safi) else {
        return Ok(Mp::Unsupported { afi, safi });
    };
    let next_hop = next_hop(family.afi(), nh).ok_or_else(|| {
        malformed(
            NAME,
            format!("next hop length {nh_len} invalid for {family}"),
        )
    })?;
    nlri::validate(r.rest(), family.afi())
        .map_err(|()| malformed(NAME, format!("{family} NLRI syntactically incorrect")))?;
    Ok(Mp::Supported(MpReachView {
        family,
        next_hop,
        nlri: Prefixes::checked(family.afi(), r.rest()),
    }))
}

pub(super) fn decode_unreach(value: &[u8]) -> Result<Mp<MpUnreachView<'_>>, Malformed> {
    const NAME: &str = "MP_UNREACH_NLRI";
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
        return Err(malformed(
            NAME,
            format!("length {} shorter than 3", value.len()),
        ));
    };
    let Some(family) = AddressFamily::from_codes(afi, safi) else {
        return Ok(Mp::Unsupported { afi, safi });
    };
    nlri::validate(r.rest(), family.afi()).map_err(|()| {
        malformed(
            NAME,
            format!("{family} withdrawn routes syntactically incorrect"),
        )
    })?;
    Ok(Mp::Supported(MpUnreachView {
        family,
        withdrawn: Prefixes::checked(family.afi(), r.rest()),
    }))
}

/// Writes AFI, SAFI, next hop and the reserved octet: everything of MP_REACH_NLRI before the NLRI.
pub(crate) fn put_reach_head(
    out: &mut BytesMut,
    family: AddressFamily,
    next_hop: &NextHop,
) -> Result<(), EncodeError> {
    out.put_u16(family.afi().code());
    out.put_u8(family.safi());
    match (family, next_hop) {
        (AddressFamily::Ipv4Unicast, NextHop::V4(a)) => {
            out.put_u8(4);
            out.put_slice(&a.octets());
        }
        (_, NextHop::V6 { global, link_local }) => {
            out.put_u8(if link_local.is_some() { 32 } else { 16 });
            out.put_slice(&global.octets());
            if let Some(ll) = link_local {
                out.put_slice(&ll.octets());
            }
        }
        (AddressFamily::Ipv6Unicast, NextHop::V4(_)) => {
            return Err(EncodeError::NextHopFamilyMismatch {
                family,
                next_hop: *next_hop,
            })
        }
    }
    out.put_u8(0);
    Ok(())
}

/// Octets [`put_reach_head`] writes.
pub(crate) fn reach_head_len(next_hop: &NextHop) -> usize {
    let nh = match next_hop {
        NextHop::V4(_) => 4,
        NextHop::V6 {
            link_local: None, ..
        } => 16,
        NextHop::V6 {
            link_local: Some(_),
            ..
        } => 32,
    };
    5 + nh
}

/// Writes prefixes that must all belong to `family`.
pub(crate) fn put_prefixes(
    out: &mut BytesMut,
    family: AddressFamily,
    prefixes: &[IpNet],
) -> Result<(), EncodeError> {
    for prefix in prefixes {
        if AddressFamily::of(prefix) != family {
            return Err(EncodeError::PrefixFamilyMismatch {
                family,
                prefix: *prefix,
            });
        }
        nlri::put(out, prefix);
    }
    Ok(())
}

pub(super) fn put_reach(out: &mut BytesMut, reach: &MpReachNlri) -> Result<(), EncodeError> {
    put_reach_head(out, reach.family, &reach.next_hop)?;
    put_prefixes(out, reach.family, &reach.nlri)
}

/// Writes AFI and SAFI: everything of MP_UNREACH_NLRI before the withdrawn routes.
pub(crate) fn put_unreach_head(out: &mut BytesMut, family: AddressFamily) {
    out.put_u16(family.afi().code());
    out.put_u8(family.safi());
}

pub(super) fn put_unreach(out: &mut BytesMut, unreach: &MpUnreachNlri) -> Result<(), EncodeError> {
    put_unreach_head(out, unreach.family);
    put_prefixes(out, unreach.family, &unreach.withdrawn)
}
