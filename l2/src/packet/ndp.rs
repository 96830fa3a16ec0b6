//! IPv6 Neighbor Discovery (RFC 4861): parsing and validating Neighbor Solicitations, building
//! solicited and unsolicited Neighbor Advertisements.

use std::net::Ipv6Addr;

use super::{array, be16, ethernet_frame, ParseError, ETHERTYPE_IPV6};
use crate::mac::{ipv6_multicast_mac, MacAddr};

/// IPv6 next header number of ICMPv6.
const NEXT_HEADER_ICMPV6: u8 = 58;
/// Length of the fixed IPv6 header.
const IPV6_HEADER_LEN: usize = 40;
/// RFC 4861: NDP packets are sent, and only accepted, with hop limit 255 (never routed).
const NDP_HOP_LIMIT: u8 = 255;
/// ICMPv6 type of a Neighbor Solicitation.
const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement.
const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Fixed part of NS and NA: type, code, checksum, 4 bytes flags/reserved, target.
const NDP_FIXED_LEN: usize = 24;
/// Option type Source Link-Layer Address.
const OPTION_SOURCE_LINK_ADDR: u8 = 1;
/// Option type Target Link-Layer Address.
const OPTION_TARGET_LINK_ADDR: u8 = 2;
/// NA flag: the sender is a router.
#[cfg(test)]
const FLAG_ROUTER: u8 = 0x80;
/// NA flag: sent in response to a solicitation.
const FLAG_SOLICITED: u8 = 0x40;
/// NA flag: override an existing cache entry's link-layer address.
const FLAG_OVERRIDE: u8 = 0x20;
/// ff02::1, all nodes on the link.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A validated Neighbor Solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborSolicitation {
    /// Ethernet source of the frame.
    pub frame_source: MacAddr,
    /// IPv6 source: the solicitor, or unspecified during duplicate address detection.
    pub source: Ipv6Addr,
    /// IPv6 destination: the target's solicited-node group, or the target itself when
    /// verifying reachability.
    pub destination: Ipv6Addr,
    /// The address being resolved.
    pub target: Ipv6Addr,
    /// The solicitor's Source Link-Layer Address option, if present.
    pub source_link_addr: Option<MacAddr>,
}

/// Parses and validates (RFC 4861 7.1.1) the IPv6 payload of a frame as a Neighbor Solicitation.
pub(super) fn parse(frame_source: MacAddr, ip: &[u8]) -> Result<NeighborSolicitation, ParseError> {
    let header = ip.get(..IPV6_HEADER_LEN).ok_or(ParseError::Truncated)?;
    let first = header.first().copied().ok_or(ParseError::Truncated)?;
    if first >> 4 != 6 {
        return Err(ParseError::IpVersion);
    }
    let payload_len = usize::from(be16(header, 4).ok_or(ParseError::Truncated)?);
    let next_header = header.get(6).copied().ok_or(ParseError::Truncated)?;
    if next_header != NEXT_HEADER_ICMPV6 {
        return Err(ParseError::NextHeader(next_header));
    }
    let hop_limit = header.get(7).copied().ok_or(ParseError::Truncated)?;
    if hop_limit != NDP_HOP_LIMIT {
        return Err(ParseError::HopLimit(hop_limit));
    }
    let source = Ipv6Addr::from(array::<16>(header, 8).ok_or(ParseError::Truncated)?);
    let destination = Ipv6Addr::from(array::<16>(header, 24).ok_or(ParseError::Truncated)?);
    // The payload length, not the frame length, bounds the message: frames may carry padding.
    let icmp = ip
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)
        .ok_or(ParseError::Truncated)?;
    let icmp_type = icmp.first().copied().ok_or(ParseError::Truncated)?;
    if icmp_type != TYPE_NEIGHBOR_SOLICITATION {
        return Err(ParseError::IcmpType(icmp_type));
    }
    let code = icmp.get(1).copied().ok_or(ParseError::Truncated)?;
    if code != 0 {
        return Err(ParseError::IcmpCode(code));
    }
    if icmp.len() < NDP_FIXED_LEN {
        return Err(ParseError::ShortSolicitation);
    }
    if checksum(source, destination, icmp) != 0 {
        return Err(ParseError::Checksum);
    }
    let target = Ipv6Addr::from(array::<16>(icmp, 8).ok_or(ParseError::Truncated)?);
    if target.is_multicast() {
        return Err(ParseError::MulticastTarget);
    }
    let source_link_addr = source_link_addr(icmp.get(NDP_FIXED_LEN..).unwrap_or_default())?;
    if source.is_unspecified()
        && (source_link_addr.is_some() || !is_solicited_node_group(destination))
    {
        return Err(ParseError::UnspecifiedSource);
    }
    Ok(NeighborSolicitation {
        frame_source,
        source,
        destination,
        target,
        source_link_addr,
    })
}

/// Walks the options (each a multiple of 8 octets, never 0) and returns the Source Link-Layer
/// Address, if any. Unknown options are skipped, as RFC 4861 requires.
fn source_link_addr(mut options: &[u8]) -> Result<Option<MacAddr>, ParseError> {
    let mut found = None;
    // Every iteration consumes at least 8 bytes, so this ends.
    while !options.is_empty() {
        let kind = options.first().copied().ok_or(ParseError::BadOption)?;
        let units = options.get(1).copied().ok_or(ParseError::BadOption)?;
        let len = usize::from(units) * 8;
        if len == 0 {
            return Err(ParseError::BadOption);
        }
        let option = options.get(..len).ok_or(ParseError::BadOption)?;
        if kind == OPTION_SOURCE_LINK_ADDR && units == 1 {
            found = array(option, 2).map(MacAddr);
        }
        options = options.get(len..).unwrap_or_default();
    }
    Ok(found)
}

/// ff02::1:ffXX:XXXX.
fn is_solicited_node_group(addr: Ipv6Addr) -> bool {
    let s = addr.segments();
    s[..6] == [0xff02, 0, 0, 0, 0, 1] && s[6] >> 8 == 0xff
}

/// The Neighbor Advertisement answering `ns` for its target at `our_mac` (RFC 4861 7.2.4):
/// Solicited and Override set, with a Target Link-Layer Address option. A solicitation from
/// the unspecified address (duplicate address detection) is answered to all nodes without S.
pub fn solicited_advertisement(our_mac: MacAddr, ns: &NeighborSolicitation) -> Vec<u8> {
    if ns.source.is_unspecified() {
        return advertisement(our_mac, ns.target, ALL_NODES, None, FLAG_OVERRIDE);
    }
    let dst_mac = ns.source_link_addr.unwrap_or(ns.frame_source);
    advertisement(
        our_mac,
        ns.target,
        ns.source,
        Some(dst_mac),
        FLAG_SOLICITED | FLAG_OVERRIDE,
    )
}

/// An unsolicited Neighbor Advertisement for `target` at `our_mac` to all nodes, with Override
/// set so that existing cache entries switch to us (RFC 4861 7.2.6).
pub fn unsolicited_advertisement(our_mac: MacAddr, target: Ipv6Addr) -> Vec<u8> {
    advertisement(our_mac, target, ALL_NODES, None, FLAG_OVERRIDE)
}

/// A Neighbor Advertisement frame. The target address is also the IPv6 source: it is the
/// address being advertised, and this node owns it.
fn advertisement(
    our_mac: MacAddr,
    target: Ipv6Addr,
    destination: Ipv6Addr,
    dst_mac: Option<MacAddr>,
    flags: u8,
) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(NDP_FIXED_LEN + 8);
    icmp.extend_from_slice(&[TYPE_NEIGHBOR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[OPTION_TARGET_LINK_ADDR, 1]);
    icmp.extend_from_slice(&our_mac.0);
    let sum = checksum(target, destination, &icmp).to_be_bytes();
    icmp[2..4].copy_from_slice(&sum);
    let dst_mac = dst_mac.unwrap_or_else(|| ipv6_multicast_mac(destination));
    ipv6_frame(dst_mac, our_mac, target, destination, &icmp)
}

/// Wraps an ICMPv6 message in IPv6 (hop limit 255) and Ethernet.
fn ipv6_frame(
    dst_mac: MacAddr,
    src_mac: MacAddr,
    source: Ipv6Addr,
    destination: Ipv6Addr,
    icmp: &[u8],
) -> Vec<u8> {
    let mut frame = ethernet_frame(
        dst_mac,
        src_mac,
        ETHERTYPE_IPV6,
        IPV6_HEADER_LEN + icmp.len(),
    );
    // NDP messages are a few dozen bytes; the length always fits.
    let payload_len = u16::try_from(icmp.len()).unwrap_or(u16::MAX);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&payload_len.to_be_bytes());
    frame.extend_from_slice(&[NEXT_HEADER_ICMPV6, NDP_HOP_LIMIT]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&destination.octets());
    frame.extend_from_slice(icmp);
    frame
}

/// The ICMPv6 checksum (RFC 4443 2.3) over the pseudo-header and `message`. Computing it over a
/// message whose checksum field is filled in gives 0 when that checksum is right.
pub fn checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut sum = sum_words(&source.octets(), 0);
    sum = sum_words(&destination.octets(), sum);
    sum = sum_words(&len.to_be_bytes(), sum);
    sum = sum_words(&[0, 0, 0, NEXT_HEADER_ICMPV6], sum);
    sum = sum_words(message, sum);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop above leaves at most 16 bits.
    !(u16::try_from(sum).unwrap_or(u16::MAX))
}

/// Adds `bytes` as big-endian 16-bit words (an odd last byte padded with zero) to `sum`,
/// folding carries so the u64 accumulator never overflows.
fn sum_words(bytes: &[u8], mut sum: u64) -> u64 {
    for chunk in bytes.chunks(2) {
        let hi = chunk.first().copied().unwrap_or(0);
        let lo = chunk.get(1).copied().unwrap_or(0);
        sum += u64::from(u16::from_be_bytes([hi, lo]));
        if sum > u64::from(u32::MAX) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::solicited_node;
    use crate::packet::{parse_frame, Request};

    const CLIENT: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0c]);
    const NODE: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// A Neighbor Solicitation frame for `target` to its solicited-node group, with `options`
    /// and a correct checksum; `hop_limit` lets a test send a routed one.
    fn ns_frame(source: Ipv6Addr, target: Ipv6Addr, options: &[u8], hop_limit: u8) -> Vec<u8> {
        let destination = solicited_node(target);
        let mut icmp = vec![TYPE_NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&target.octets());
        icmp.extend_from_slice(options);
        let sum = checksum(source, destination, &icmp).to_be_bytes();
        icmp[2..4].copy_from_slice(&sum);
        let mut frame = ipv6_frame(
            ipv6_multicast_mac(destination),
            CLIENT,
            source,
            destination,
            &icmp,
        );
        frame[14 + 7] = hop_limit;
        frame
    }

    /// A table row: name, frame, and the parsed source link-layer address or the error.
    type Case = (&'static str, Vec<u8>, Result<Option<MacAddr>, ParseError>);

    const SLLA: [u8; 8] = [1, 1, 0x02, 0, 0, 0, 0, 0x0c];

    #[test]
    fn validates_solicitations() {
        let client = addr("2001:db8::9");
        let service = addr("2001:db8::64");
        let ok = ns_frame(client, service, &SLLA, 255);
        let mut bad_sum = ok.clone();
        bad_sum[14 + 40 + 2] ^= 0xff;
        let mut code1 = ok.clone();
        code1[14 + 40 + 1] = 1;
        let mut long_payload = ok.clone();
        long_payload[14 + 5] += 8;
        let mut udp = ok.clone();
        udp[14 + 6] = 17;
        let mut v4 = ok.clone();
        v4[14] = 0x45;
        let mut na = ok.clone();
        na[14 + 40] = TYPE_NEIGHBOR_ADVERTISEMENT;
        let mut padded = ok.clone();
        padded.extend_from_slice(&[0; 10]);
        let unknown_option = [[9u8, 1, 0, 0, 0, 0, 0, 0], SLLA].concat();
        let cases: Vec<Case> = vec![
            ("with source link address", ok.clone(), Ok(Some(CLIENT))),
            ("ethernet padding ignored", padded, Ok(Some(CLIENT))),
            ("no options", ns_frame(client, service, &[], 255), Ok(None)),
            (
                "unknown option skipped",
                ns_frame(client, service, &unknown_option, 255),
                Ok(Some(CLIENT)),
            ),
            (
                "dad probe",
                ns_frame(Ipv6Addr::UNSPECIFIED, service, &[], 255),
                Ok(None),
            ),
            (
                "dad probe with slla",
                ns_frame(Ipv6Addr::UNSPECIFIED, service, &SLLA, 255),
                Err(ParseError::UnspecifiedSource),
            ),
            (
                "routed",
                ns_frame(client, service, &SLLA, 64),
                Err(ParseError::HopLimit(64)),
            ),
            (
                "zero-length option",
                ns_frame(client, service, &[1, 0, 0, 0, 0, 0, 0, 0], 255),
                Err(ParseError::BadOption),
            ),
            (
                "option past the end",
                ns_frame(client, service, &[1, 2, 0, 0, 0, 0, 0, 0], 255),
                Err(ParseError::BadOption),
            ),
            (
                "option header cut",
                ns_frame(client, service, &[1], 255),
                Err(ParseError::BadOption),
            ),
            (
                "multicast target",
                ns_frame(client, addr("ff02::1"), &[], 255),
                Err(ParseError::MulticastTarget),
            ),
            ("bad checksum", bad_sum, Err(ParseError::Checksum)),
            ("code 1", code1, Err(ParseError::IcmpCode(1))),
            (
                "payload length past the frame",
                long_payload,
                Err(ParseError::Truncated),
            ),
            ("udp", udp, Err(ParseError::NextHeader(17))),
            ("ipv4 header", v4, Err(ParseError::IpVersion)),
            (
                "advertisement",
                na,
                Err(ParseError::IcmpType(TYPE_NEIGHBOR_ADVERTISEMENT)),
            ),
            (
                "truncated header",
                ok[..14 + 39].to_vec(),
                Err(ParseError::Truncated),
            ),
        ];
        for (name, frame, want) in cases {
            let got = parse_frame(&frame).map(|r| match r {
                Request::NeighborSolicitation(ns) => ns.source_link_addr,
                Request::Arp(_) => panic!("{name}: parsed as ARP"),
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn short_message_is_rejected() {
        // Type and code right, checksum right, but only 20 octets.
        let source = addr("2001:db8::9");
        let destination = addr("ff02::1:ff00:64");
        let mut icmp = vec![TYPE_NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&[0; 12]);
        let frame = ipv6_frame(NODE, CLIENT, source, destination, &icmp);
        assert_eq!(parse_frame(&frame), Err(ParseError::ShortSolicitation));
    }

    /// Splits a built NA frame into the fields a receiver checks.
    fn read_na(frame: &[u8]) -> (MacAddr, Ipv6Addr, Ipv6Addr, u8, u8, Ipv6Addr, MacAddr) {
        assert_eq!(be16(frame, 12), Some(ETHERTYPE_IPV6));
        let ip = &frame[14..];
        assert_eq!(ip[0] >> 4, 6);
        assert_eq!(usize::from(be16(ip, 4).unwrap()), ip.len() - 40);
        assert_eq!(ip[6], NEXT_HEADER_ICMPV6);
        let hop_limit = ip[7];
        let source = Ipv6Addr::from(array::<16>(ip, 8).unwrap());
        let destination = Ipv6Addr::from(array::<16>(ip, 24).unwrap());
        let icmp = &ip[40..];
        assert_eq!(checksum(source, destination, icmp), 0, "checksum verifies");
        assert_eq!((icmp[0], icmp[1]), (TYPE_NEIGHBOR_ADVERTISEMENT, 0));
        let target = Ipv6Addr::from(array::<16>(icmp, 8).unwrap());
        assert_eq!(&icmp[24..26], &[OPTION_TARGET_LINK_ADDR, 1]);
        let tlla = MacAddr(array(icmp, 26).unwrap());
        let dst_mac = MacAddr(array(frame, 0).unwrap());
        (
            dst_mac,
            source,
            destination,
            hop_limit,
            icmp[4],
            target,
            tlla,
        )
    }

    #[test]
    fn solicited_advertisement_answers_the_solicitor() {
        let service = addr("2001:db8::64");
        let client = addr("2001:db8::9");
        // With and without a source link-layer option the answer goes to the client's MAC.
        for options in [&SLLA[..], &[]] {
            let Ok(Request::NeighborSolicitation(ns)) =
                parse_frame(&ns_frame(client, service, options, 255))
            else {
                panic!("solicitation did not parse");
            };
            let na = solicited_advertisement(NODE, &ns);
            assert_eq!(&na[6..12], &NODE.0);
            let (dst_mac, source, destination, hop_limit, flags, target, tlla) = read_na(&na);
            assert_eq!(dst_mac, CLIENT);
            assert_eq!((source, destination, target), (service, client, service));
            assert_eq!(hop_limit, 255);
            assert_eq!(flags, FLAG_SOLICITED | FLAG_OVERRIDE);
            assert_eq!(flags & FLAG_ROUTER, 0);
            assert_eq!(tlla, NODE);
        }
    }

    #[test]
    fn dad_probe_is_answered_to_all_nodes_without_solicited() {
        let service = addr("2001:db8::64");
        let Ok(Request::NeighborSolicitation(ns)) =
            parse_frame(&ns_frame(Ipv6Addr::UNSPECIFIED, service, &[], 255))
        else {
            panic!("probe did not parse");
        };
        let (dst_mac, _, destination, _, flags, _, _) =
            read_na(&solicited_advertisement(NODE, &ns));
        assert_eq!(destination, ALL_NODES);
        assert_eq!(dst_mac, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        assert_eq!(flags, FLAG_OVERRIDE);
    }

    #[test]
    fn unsolicited_advertisement_overrides_for_all_nodes() {
        let service = addr("2001:db8::abcd");
        let (dst_mac, source, destination, hop_limit, flags, target, tlla) =
            read_na(&unsolicited_advertisement(NODE, service));
        assert_eq!(dst_mac, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        assert_eq!((source, destination, target), (service, ALL_NODES, service));
        assert_eq!(hop_limit, 255);
        assert_eq!(flags, FLAG_OVERRIDE);
        assert_eq!(tlla, NODE);
    }

    #[test]
    fn checksum_matches_a_known_value() {
        // RFC 1071 style check: the sum of a message and its own checksum verifies, and a
        // hand-computed case: all-zero pseudo-header parts and message [0x00, 0x01].
        assert_eq!(
            checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0x00, 0x01]),
            // words: len 2 (0x0002) + next header 58 (0x003a) + 0x0001 = 0x003d
            !0x003d
        );
        // An odd length pads the last byte with zero.
        assert_eq!(
            checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0x01]),
            !(0x0001 + 0x003a + 0x0100)
        );
    }
}
