//! Basic BGP identifiers: AS numbers, router IDs and address families.

use std::fmt;
use std::net::Ipv4Addr;

/// An autonomous system number (4-octet, RFC 6793).
pub type Asn = u32;

/// AS_TRANS (RFC 6793): the 2-octet placeholder for a 4-octet ASN.
pub const AS_TRANS: Asn = 23456;

/// The BGP identifier of a speaker (RFC 4271 section 4.2; RFC 6286 allows any non-zero value).
pub type RouterId = Ipv4Addr;

/// Address Family Identifier (IANA).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Afi {
    /// IPv4 (1).
    Ipv4,
    /// IPv6 (2).
    Ipv6,
}

impl Afi {
    /// The IANA code point.
    pub const fn code(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        }
    }

    /// The AFI for an IANA code point, if FerroLB supports it.
    pub const fn from_code(code: u16) -> Option<Afi> {
        match code {
            1 => Some(Afi::Ipv4),
            2 => Some(Afi::Ipv6),
            _ => None,
        }
    }
}

/// Subsequent Address Family Identifier (IANA). Only unicast is routed by FerroLB.
pub const SAFI_UNICAST: u8 = 1;

/// An (AFI, SAFI) pair that FerroLB can carry: IPv4 unicast or IPv6 unicast.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum AddressFamily {
    /// AFI 1, SAFI 1.
    Ipv4Unicast,
    /// AFI 2, SAFI 1.
    Ipv6Unicast,
}

impl AddressFamily {
    /// Both families, in a fixed order.
    pub const ALL: [AddressFamily; 2] = [AddressFamily::Ipv4Unicast, AddressFamily::Ipv6Unicast];

    /// The AFI of this family.
    pub const fn afi(self) -> Afi {
        match self {
            AddressFamily::Ipv4Unicast => Afi::Ipv4,
            AddressFamily::Ipv6Unicast => Afi::Ipv6,
        }
    }

    /// The SAFI of this family.
    pub const fn safi(self) -> u8 {
        SAFI_UNICAST
    }

    /// The family for an (AFI, SAFI) code pair, if supported.
    pub const fn from_codes(afi: u16, safi: u8) -> Option<AddressFamily> {
        match (afi, safi) {
            (1, SAFI_UNICAST) => Some(AddressFamily::Ipv4Unicast),
            (2, SAFI_UNICAST) => Some(AddressFamily::Ipv6Unicast),
            _ => None,
        }
    }

    /// The family a prefix belongs to.
    pub fn of(prefix: &ipnet::IpNet) -> AddressFamily {
        match prefix {
            ipnet::IpNet::V4(_) => AddressFamily::Ipv4Unicast,
            ipnet::IpNet::V6(_) => AddressFamily::Ipv6Unicast,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressFamily::Ipv4Unicast => f.write_str("ipv4-unicast"),
            AddressFamily::Ipv6Unicast => f.write_str("ipv6-unicast"),
        }
    }
}
