//! Prefix encoding (RFC 4271 section 4.3, RFC 4760 section 5): a length in bits, then just enough
//! octets to hold it.
//!
//! Fields are checked whole before use (RFC 7606 section 5.3: a prefix longer than the family
//! allows, or one overrunning the field, makes the field syntactically incorrect), so the
//! iterators below never meet an error and never allocate.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::types::Afi;

/// The longest prefix of a family, in bits.
pub(crate) const fn max_bits(afi: Afi) -> u8 {
    match afi {
        Afi::Ipv4 => 32,
        Afi::Ipv6 => 128,
    }
}

/// Octets one prefix of `bits` bits takes on the wire.
pub(crate) const fn encoded_len(bits: u8) -> usize {
    1 + (bits as usize).div_ceil(8)
}

/// Splits the first prefix off `buf`: its length in bits, its address octets and the rest.
fn split(buf: &[u8], max: u8) -> Option<(u8, &[u8], &[u8])> {
    let (&bits, rest) = buf.split_first()?;
    if bits > max {
        return None;
    }
    let n = usize::from(bits).div_ceil(8);
    if n > rest.len() {
        return None;
    }
    let (addr, rest) = rest.split_at(n);
    Some((bits, addr, rest))
}

/// Checks that `buf` is a syntactically correct NLRI field of the family.
pub(crate) fn validate(buf: &[u8], afi: Afi) -> Result<(), ()> {
    let max = max_bits(afi);
    let mut rest = buf;
    while !rest.is_empty() {
        let (_, _, tail) = split(rest, max).ok_or(())?;
        rest = tail;
    }
    Ok(())
}

/// The address octets, zero-padded, with host bits beyond `bits` cleared by the caller's `trunc`.
fn padded<const N: usize>(addr: &[u8]) -> [u8; N] {
    let mut octets = [0u8; N];
    for (o, a) in octets.iter_mut().zip(addr) {
        *o = *a;
    }
    octets
}

fn v4(bits: u8, addr: &[u8]) -> Option<Ipv4Net> {
    Ipv4Net::new(Ipv4Addr::from(padded::<4>(addr)), bits)
        .ok()
        .map(|p| p.trunc())
}

fn v6(bits: u8, addr: &[u8]) -> Option<Ipv6Net> {
    Ipv6Net::new(Ipv6Addr::from(padded::<16>(addr)), bits)
        .ok()
        .map(|p| p.trunc())
}

/// The IPv4 prefixes of a checked classic Withdrawn Routes or NLRI field, read in place.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ipv4Prefixes<'a> {
    rest: &'a [u8],
}

impl<'a> Ipv4Prefixes<'a> {
    /// Wraps a field that [`validate`] accepted.
    pub(crate) fn checked(rest: &'a [u8]) -> Ipv4Prefixes<'a> {
        Ipv4Prefixes { rest }
    }

    /// True when no prefix is left.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The encoded prefixes not yet iterated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.rest
    }
}

impl Iterator for Ipv4Prefixes<'_> {
    type Item = Ipv4Net;

    fn next(&mut self) -> Option<Ipv4Net> {
        let Some((bits, addr, rest)) = split(self.rest, 32) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        v4(bits, addr)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Each prefix takes 1 to 5 octets.
        (self.rest.len().div_ceil(5), Some(self.rest.len()))
    }
}

/// The prefixes of a checked NLRI field of one family, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Prefixes<'a> {
    afi: Afi,
    rest: &'a [u8],
}

impl<'a> Prefixes<'a> {
    /// Wraps a field that [`validate`] accepted for `afi`.
    pub(crate) fn checked(afi: Afi, rest: &'a [u8]) -> Prefixes<'a> {
        Prefixes { afi, rest }
    }

    /// The address family of the prefixes.
    pub fn afi(&self) -> Afi {
        self.afi
    }

    /// True when no prefix is left.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The encoded prefixes not yet iterated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.rest
    }
}

impl Iterator for Prefixes<'_> {
    type Item = IpNet;

    fn next(&mut self) -> Option<IpNet> {
        let Some((bits, addr, rest)) = split(self.rest, max_bits(self.afi)) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        match self.afi {
            Afi::Ipv4 => v4(bits, addr).map(IpNet::V4),
            Afi::Ipv6 => v6(bits, addr).map(IpNet::V6),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let longest = encoded_len(max_bits(self.afi));
        (self.rest.len().div_ceil(longest), Some(self.rest.len()))
    }
}

/// Writes one IPv4 prefix (host bits cleared).
pub(crate) fn put_v4(out: &mut BytesMut, prefix: &Ipv4Net) {
    put_octets(out, prefix.prefix_len(), &prefix.network().octets());
}

/// Writes one prefix (host bits cleared).
pub(crate) fn put(out: &mut BytesMut, prefix: &IpNet) {
    match prefix {
        IpNet::V4(p) => put_v4(out, p),
        IpNet::V6(p) => put_octets(out, p.prefix_len(), &p.network().octets()),
    }
}

fn put_octets(out: &mut BytesMut, bits: u8, octets: &[u8]) {
    let n = usize::from(bits).div_ceil(8).min(octets.len());
    out.put_u8(bits);
    out.put_slice(octets.get(..n).unwrap_or_default());
}

/// Octets a prefix takes on the wire.
pub(crate) fn prefix_len_on_wire(prefix: &IpNet) -> usize {
    encoded_len(prefix.prefix_len())
}
