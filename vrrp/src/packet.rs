//! The VRRPv3 advertisement (RFC 5798 5.1, 5.2) and its strict receive checks (RFC 5798 7.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//!  |(rsvd) |     Max Adver Int     |          Checksum             |
//!  |                       IPvX Address(es)                        |
//! ```
//!
//! Pure: bytes in, values out. Nothing a peer sends can panic or allocate more than the
//! 255 addresses the count field allows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum::{vrrp_checksum, PROTOCOL};

/// VRRP version 3, type 1 (ADVERTISEMENT) in the first octet.
const VERSION_TYPE: u8 = 0x31;
/// The fixed part before the addresses.
pub const HEADER_LEN: usize = 8;
/// The largest advertisement interval the 12-bit field holds, in centiseconds.
pub const MAX_ADVERT_INTERVAL: u16 = 0x0fff;
/// Every VRRP packet is sent, and must arrive, with this TTL / hop limit (RFC 5798 5.1.1.3).
pub const TTL: u8 = 255;
/// The IPv4 multicast group of VRRP (RFC 5798 5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// One VRRPv3 ADVERTISEMENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// Virtual router ID, 1 to 255.
    pub vrid: u8,
    /// The sender's priority: 0 = the master is giving up, 255 = the address owner.
    pub priority: u8,
    /// The sender's advertisement interval in centiseconds (12 bits).
    pub max_advert_interval: u16,
    /// The virtual addresses, all of the family of the IP header.
    pub addresses: Vec<IpAddr>,
}

/// An advertisement with the IP header facts the receive checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The sender's primary address (IP source).
    pub source: IpAddr,
    /// The IP destination (the multicast group, or our address for unicast peers).
    pub destination: IpAddr,
    /// The advertisement itself.
    pub advertisement: Advertisement,
}

/// Why a received packet was discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than a header says or than the fixed part.
    #[error("truncated packet: {0} bytes")]
    Truncated(usize),
    /// The IP header is not IPv4 or has a bad header length.
    #[error("malformed IPv4 header")]
    BadIpHeader,
    /// The IP protocol is not 112.
    #[error("IP protocol {0} is not VRRP")]
    NotVrrp(u8),
    /// The TTL / hop limit is not 255: the packet was routed, so it is not from this link.
    #[error("TTL {0}, expected 255")]
    BadTtl(u8),
    /// Not version 3.
    #[error("VRRP version {0}, expected 3")]
    BadVersion(u8),
    /// Not an ADVERTISEMENT.
    #[error("VRRP type {0}, expected 1 (ADVERTISEMENT)")]
    BadType(u8),
    /// The checksum does not match.
    #[error("bad checksum")]
    BadChecksum,
    /// The address count does not fit the length.
    #[error("{count} addresses do not fit {len} bytes")]
    AddressCount {
        /// The count field.
        count: u8,
        /// The message length.
        len: usize,
    },
    /// An advertisement interval of zero would make the master-down timer fire at once.
    #[error("advertisement interval 0")]
    ZeroInterval,
    /// Virtual router ID 0 is not valid.
    #[error("virtual router ID 0")]
    ZeroVrid,
}

/// Why an advertisement could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// More than 255 addresses.
    #[error("{0} addresses, at most 255 fit")]
    TooManyAddresses(usize),
    /// The interval does not fit 12 bits.
    #[error("advertisement interval {0} cs is outside 1..=4095")]
    Interval(u16),
    /// An address is not of the family of the source and destination.
    #[error("{0} is not of the packet's address family")]
    MixedFamilies(IpAddr),
}

impl Advertisement {
    /// The VRRP message (no IP header) sent from `source` to `destination`, checksum included.
    pub fn encode(&self, source: IpAddr, destination: IpAddr) -> Result<Vec<u8>, EncodeError> {
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| EncodeError::TooManyAddresses(self.addresses.len()))?;
        if self.max_advert_interval == 0 || self.max_advert_interval > MAX_ADVERT_INTERVAL {
            return Err(EncodeError::Interval(self.max_advert_interval));
        }
        let v6 = source.is_ipv6();
        if destination.is_ipv6() != v6 {
            return Err(EncodeError::MixedFamilies(destination));
        }
        let mut out = Vec::with_capacity(HEADER_LEN + self.addresses.len() * 16);
        out.extend_from_slice(&[VERSION_TYPE, self.vrid, self.priority, count]);
        out.extend_from_slice(&self.max_advert_interval.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        for a in &self.addresses {
            match a {
                IpAddr::V4(a) if !v6 => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) if v6 => out.extend_from_slice(&a.octets()),
                other => return Err(EncodeError::MixedFamilies(*other)),
            }
        }
        let sum = vrrp_checksum(source, destination, &out).to_be_bytes();
        out[6..8].copy_from_slice(&sum);
        Ok(out)
    }

    /// Decodes and checks a VRRP message (no IP header) received from `source` to
    /// `destination`. The TTL is the caller's to check ([`decode_ipv4`] does).
    pub fn decode(
        source: IpAddr,
        destination: IpAddr,
        message: &[u8],
    ) -> Result<Advertisement, PacketError> {
        let [first, vrid, priority, count, interval_hi, interval_lo, _, _, addresses @ ..] =
            message
        else {
            return Err(PacketError::Truncated(message.len()));
        };
        if first >> 4 != 3 {
            return Err(PacketError::BadVersion(first >> 4));
        }
        if first & 0x0f != 1 {
            return Err(PacketError::BadType(first & 0x0f));
        }
        // A correct checksum sums, with the pseudo-header, to all ones (complement zero).
        if vrrp_checksum(source, destination, message) != 0 {
            return Err(PacketError::BadChecksum);
        }
        if *vrid == 0 {
            return Err(PacketError::ZeroVrid);
        }
        let max_advert_interval = u16::from_be_bytes([*interval_hi, *interval_lo]) & 0x0fff;
        if max_advert_interval == 0 {
            return Err(PacketError::ZeroInterval);
        }
        let width = if source.is_ipv6() { 16 } else { 4 };
        let needed = usize::from(*count) * width;
        // Trailing bytes are tolerated (covered by the checksum); missing ones are not.
        let Some(listed) = addresses.get(..needed) else {
            return Err(PacketError::AddressCount {
                count: *count,
                len: message.len(),
            });
        };
        // `chunks_exact` yields only whole addresses, so no conversion below fails.
        let addresses = listed
            .chunks_exact(width)
            .filter_map(|c| {
                <[u8; 16]>::try_from(c)
                    .map(IpAddr::from)
                    .or_else(|_| <[u8; 4]>::try_from(c).map(IpAddr::from))
                    .ok()
            })
            .collect();
        Ok(Advertisement {
            vrid: *vrid,
            priority: *priority,
            max_advert_interval,
            addresses,
        })
    }
}

/// Decodes a whole IPv4 datagram as a raw IPv4 socket delivers it (header included) and
/// applies every receive check: protocol 112, TTL 255, then [`Advertisement::decode`].
pub fn decode_ipv4(datagram: &[u8]) -> Result<Received, PacketError> {
    let Some(header) = datagram.get(..20) else {
        return Err(PacketError::Truncated(datagram.len()));
    };
    if header[0] >> 4 != 4 {
        return Err(PacketError::BadIpHeader);
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if header_len < 20 || total_len < header_len {
        return Err(PacketError::BadIpHeader);
    }
    let Some(message) = datagram.get(header_len..total_len) else {
        return Err(PacketError::Truncated(datagram.len()));
    };
    if header[9] != PROTOCOL {
        return Err(PacketError::NotVrrp(header[9]));
    }
    if header[8] != TTL {
        return Err(PacketError::BadTtl(header[8]));
    }
    let source = IpAddr::from([header[12], header[13], header[14], header[15]]);
    let destination = IpAddr::from([header[16], header[17], header[18], header[19]]);
    Ok(Received {
        source,
        destination,
        advertisement: Advertisement::decode(source, destination, message)?,
    })
}

/// Checks an IPv6 VRRP message whose IP facts came from the socket (a raw IPv6 socket strips
/// the header): hop limit 255, then [`Advertisement::decode`].
pub fn decode_ipv6(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    hop_limit: u8,
    message: &[u8],
) -> Result<Received, PacketError> {
    if hop_limit != TTL {
        return Err(PacketError::BadTtl(hop_limit));
    }
    let (source, destination) = (IpAddr::V6(source), IpAddr::V6(destination));
    Ok(Received {
        source,
        destination,
        advertisement: Advertisement::decode(source, destination, message)?,
    })
}

/// Builds the IPv4 datagram a peer on the link would send: for tests and the fuzz corpus.
pub fn ipv4_datagram(source: Ipv4Addr, destination: Ipv4Addr, ttl: u8, message: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + message.len()).unwrap_or(u16::MAX);
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, ttl, PROTOCOL, 0, 0]);
    out.extend_from_slice(&source.octets());
    out.extend_from_slice(&destination.octets());
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
