//! Parsing the frames the BPF filter lets through (ARP requests, Neighbor Solicitations) and
//! building the answers and announcements. Pure functions over byte slices: no I/O.
//!
//! Everything here handles bytes from the network: nothing may panic, index out of bounds or
//! loop on what a peer sends.

pub mod arp;
pub mod ndp;

use crate::mac::MacAddr;

pub use arp::ArpRequest;
pub use ndp::NeighborSolicitation;

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header (destination, source, EtherType).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Shortest Ethernet frame without the FCS; shorter frames are padded with zeros.
const MIN_FRAME_LEN: usize = 60;

/// A request FerroLB may have to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// An ARP request (RFC 826) asking who has an IPv4 address.
    Arp(ArpRequest),
    /// An ICMPv6 Neighbor Solicitation (RFC 4861 4.3) asking who has an IPv6 address.
    NeighborSolicitation(NeighborSolicitation),
}

/// Why a frame is not a request FerroLB answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The frame ends before a header or field it announces.
    #[error("frame truncated")]
    Truncated,
    /// Neither ARP nor IPv6.
    #[error("unexpected EtherType {0:#06x}")]
    EtherType(u16),
    /// ARP for something other than IPv4 over Ethernet.
    #[error("ARP is not IPv4 over Ethernet")]
    ArpFormat,
    /// An ARP operation other than request.
    #[error("ARP operation {0} is not a request")]
    ArpOperation(u16),
    /// A sender hardware address that is broadcast or multicast.
    #[error("multicast sender hardware address")]
    MulticastSender,
    /// Not an IPv6 header.
    #[error("IP version is not 6")]
    IpVersion,
    /// An IPv6 packet that is not ICMPv6 (extension headers are not expected before NDP).
    #[error("IPv6 next header {0} is not ICMPv6")]
    NextHeader(u8),
    /// RFC 4861 7.1.1: a hop limit other than 255 means the packet was routed.
    #[error("hop limit {0} is not 255")]
    HopLimit(u8),
    /// An ICMPv6 message other than Neighbor Solicitation.
    #[error("ICMPv6 type {0} is not a Neighbor Solicitation")]
    IcmpType(u8),
    /// RFC 4861 7.1.1: ICMP code must be 0.
    #[error("ICMPv6 code {0} is not 0")]
    IcmpCode(u8),
    /// RFC 4861 7.1.1: the ICMPv6 message is shorter than 24 octets.
    #[error("Neighbor Solicitation shorter than 24 octets")]
    ShortSolicitation,
    /// The ICMPv6 checksum does not verify.
    #[error("bad ICMPv6 checksum")]
    Checksum,
    /// RFC 4861 7.1.1: a multicast target address.
    #[error("multicast target address")]
    MulticastTarget,
    /// RFC 4861 7.1.1: an option of length zero or running past the message.
    #[error("malformed NDP option")]
    BadOption,
    /// RFC 4861 7.1.1: an unspecified source must go to a solicited-node group and carry no
    /// source link-layer address.
    #[error("invalid solicitation from the unspecified address")]
    UnspecifiedSource,
}

/// Parses one Ethernet frame as received on a packet socket. This is the entry point for
/// fuzzing: any input must return, never panic.
pub fn parse_frame(frame: &[u8]) -> Result<Request, ParseError> {
    let ethernet = frame
        .get(..ETHERNET_HEADER_LEN)
        .ok_or(ParseError::Truncated)?;
    let source = MacAddr(array(ethernet, 6).ok_or(ParseError::Truncated)?);
    let ethertype = be16(ethernet, 12).ok_or(ParseError::Truncated)?;
    let payload = frame.get(ETHERNET_HEADER_LEN..).unwrap_or_default();
    match ethertype {
        ETHERTYPE_ARP => arp::parse(payload).map(Request::Arp),
        ETHERTYPE_IPV6 => ndp::parse(source, payload).map(Request::NeighborSolicitation),
        other => Err(ParseError::EtherType(other)),
    }
}

/// Starts a frame with its Ethernet header; `payload_len` sizes the allocation.
fn ethernet_frame(dst: MacAddr, src: MacAddr, ethertype: u16, payload_len: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity((ETHERNET_HEADER_LEN + payload_len).max(MIN_FRAME_LEN));
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

/// Pads a finished frame to the Ethernet minimum (software interfaces do not pad for us).
fn pad(mut frame: Vec<u8>) -> Vec<u8> {
    if frame.len() < MIN_FRAME_LEN {
        frame.resize(MIN_FRAME_LEN, 0);
    }
    frame
}

/// The big-endian u16 at `at`, if the slice is long enough.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_be_bytes)
}

/// The `N` bytes at `at`, if the slice is long enough.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_on_ethertype() {
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        frame.extend_from_slice(&0x0800u16.to_be_bytes());
        frame.resize(60, 0);
        assert_eq!(parse_frame(&frame), Err(ParseError::EtherType(0x0800)));
        assert_eq!(parse_frame(&frame[..13]), Err(ParseError::Truncated));
        assert_eq!(parse_frame(&[]), Err(ParseError::Truncated));
    }

    #[test]
    fn helpers_never_read_past_the_end() {
        let bytes = [1, 2, 3];
        assert_eq!(be16(&bytes, 1), Some(0x0203));
        assert_eq!(be16(&bytes, 2), None);
        assert_eq!(be16(&bytes, usize::MAX), None);
        assert_eq!(array::<4>(&bytes, 0), None);
    }
}
