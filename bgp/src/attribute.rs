//! Path attributes (RFC 4271 section 5 and the RFCs that add attributes), as plain data.
//!
//! The wire format lives in `codec`; this module only says what an attribute means.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::types::{AddressFamily, Asn};

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
}

/// Attribute flag bits (RFC 4271 section 4.3).
pub mod flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: some router on the path did not recognise this optional transitive attribute.
    pub const PARTIAL: u8 = 0x20;
    /// The length field is two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Origin {
    /// Learned from an interior gateway protocol (0); preferred by the decision process.
    #[default]
    Igp,
    /// Learned from EGP (1).
    Egp,
    /// Learned some other way (2).
    Incomplete,
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AsSegment {
    /// An ordered AS_SEQUENCE.
    Sequence(Vec<Asn>),
    /// An unordered AS_SET (counts as one hop in path length).
    Set(Vec<Asn>),
}

/// An AS_PATH, always held with 4-octet ASNs; the codec merges AS4_PATH (RFC 6793) on decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// The segments, nearest AS first.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl IntoIterator<Item = Asn>) -> AsPath {
        let asns: Vec<Asn> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment::Sequence(asns)],
        }
    }

    /// Path length for the decision process: each AS in a sequence counts one, each AS_SET counts one.
    pub fn path_length(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(_) => 1,
            })
            .sum()
    }

    /// The neighbouring AS (the first AS of the first AS_SEQUENCE), used for MED comparison.
    pub fn first_asn(&self) -> Option<Asn> {
        match self.segments.first() {
            Some(AsSegment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// True when `asn` appears anywhere in the path (loop detection).
    pub fn contains(&self, asn: Asn) -> bool {
        self.segments.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.contains(&asn),
        })
    }

    /// A copy with `asn` prepended, as an eBGP speaker does when advertising.
    pub fn prepend(&self, asn: Asn) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            // A sequence holds at most 255 ASNs on the wire; the codec splits longer ones.
            Some(AsSegment::Sequence(v)) => v.insert(0, asn),
            _ => segments.insert(0, AsSegment::Sequence(vec![asn])),
        }
        AsPath { segments }
    }
}

/// A standard community (RFC 1997): two 16-bit halves, conventionally `asn:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);

    /// The community `high:low`.
    pub const fn new(high: u16, low: u16) -> Community {
        Community(((high as u32) << 16) | low as u32)
    }
}

/// A large community (RFC 8092): global administrator, local data 1, local data 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// The ASN of the administrator.
    pub global_admin: u32,
    /// First local data part.
    pub local_data1: u32,
    /// Second local data part.
    pub local_data2: u32,
}

/// The AGGREGATOR attribute (with a 4-octet ASN, merged from AS4_AGGREGATOR on decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: Asn,
    /// The BGP identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// The next hop of a route, by how MP_REACH_NLRI or NEXT_HOP carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// An IPv4 next hop.
    V4(Ipv4Addr),
    /// An IPv6 global next hop, with the link-local one when the peer is on a shared link (RFC 2545).
    V6 {
        /// Global unicast address.
        global: Ipv6Addr,
        /// Link-local address, if sent (32-octet next hop).
        link_local: Option<Ipv6Addr>,
    },
}

/// MP_REACH_NLRI (RFC 4760): reachable prefixes of one family with their next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReachNlri {
    /// The family of the NLRI.
    pub family: AddressFamily,
    /// The next hop for every NLRI in this attribute.
    pub next_hop: NextHop,
    /// The announced prefixes.
    pub nlri: Vec<IpNet>,
}

/// MP_UNREACH_NLRI (RFC 4760): withdrawn prefixes of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreachNlri {
    /// The family of the withdrawn prefixes.
    pub family: AddressFamily,
    /// The withdrawn prefixes (empty for an End-of-RIB marker, RFC 4724).
    pub withdrawn: Vec<IpNet>,
}

/// An attribute FerroLB does not interpret, kept byte for byte so optional transitive ones pass through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownAttribute {
    /// Flags as received (the codec sets PARTIAL when passing an optional transitive attribute on).
    pub flags: u8,
    /// The type code.
    pub type_code: u8,
    /// The attribute value.
    pub value: Vec<u8>,
}

/// The path attributes of an UPDATE.
///
/// Everything but `mp_reach`/`mp_unreach` describes a path and can be shared between the prefixes
/// that carry it; see [`PathAttributes::without_nlri`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttributes {
    /// ORIGIN (well-known mandatory when NLRI are present).
    pub origin: Option<Origin>,
    /// AS_PATH (well-known mandatory when NLRI are present).
    pub as_path: Option<AsPath>,
    /// NEXT_HOP for IPv4 NLRI in the classic NLRI field.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES, in the order received.
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY, in the order received.
    pub large_communities: Vec<LargeCommunity>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReachNlri>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreachNlri>,
    /// Attributes not interpreted by FerroLB (optional ones; passed on if transitive).
    pub unknown: Vec<UnknownAttribute>,
}

impl PathAttributes {
    /// A copy without the NLRI-carrying MP attributes: the part that describes a path.
    pub fn without_nlri(&self) -> PathAttributes {
        PathAttributes {
            mp_reach: None,
            mp_unreach: None,
            ..self.clone()
        }
    }
}

/// How RFC 7606 says an UPDATE with a malformed attribute is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorAction {
    /// The attribute was dropped; the rest of the UPDATE stands (RFC 7606 section 2, "attribute discard").
    AttributeDiscard,
    /// Every prefix the UPDATE announced is handled as withdrawn (RFC 7606 section 2).
    TreatAsWithdraw,
}

/// A malformed attribute found while decoding an UPDATE and already handled per RFC 7606.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttributeError {
    /// The attribute's type code.
    pub type_code: u8,
    /// What was done about it.
    pub action: ErrorAction,
    /// Why it was malformed, for logs and counters.
    pub reason: String,
}

/// A prefix in the classic IPv4 NLRI fields.
pub type Ipv4Nlri = Ipv4Net;
