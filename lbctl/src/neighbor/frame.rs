//! The frames of a neighbour probe: ARP requests (RFC 826) and Neighbor
//! Solicitations (RFC 4861 4.3) out, ARP replies and Neighbor Advertisements
//! (RFC 4861 4.4) in. Pure: bytes in, bytes out; nothing a peer sends can
//! make it panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_l2::mac::{ipv6_multicast_mac, solicited_node};
use ferrolb_l2::packet::ndp::checksum;
use ferrolb_l2::packet::{ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV6};
use ferrolb_l2::MacAddr;

/// ARP hardware type Ethernet, protocol type IPv4, and their lengths.
const ARP_ETHERNET_IPV4: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
const ARP_LEN: usize = 28;
const IPV6_HEADER_LEN: usize = 40;
const ICMPV6: u8 = 58;
/// RFC 4861: NDP is sent and accepted only with hop limit 255.
const NDP_HOP_LIMIT: u8 = 255;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Type, code, checksum, flags and target of NS and NA.
const NDP_FIXED_LEN: usize = 24;
const OPTION_SOURCE_LINK_ADDR: u8 = 1;
const OPTION_TARGET_LINK_ADDR: u8 = 2;
/// Shortest Ethernet frame without FCS.
const MIN_FRAME_LEN: usize = 60;

/// Someone on the segment saying `address` is at `mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The address resolved.
    pub address: IpAddr,
    /// The hardware address it resolves to.
    pub mac: MacAddr,
}

fn ethernet(dst: MacAddr, src: MacAddr, ethertype: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MIN_FRAME_LEN + 32);
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

/// A broadcast ARP request from `our_mac`/`our_ip` asking who has `target`
/// (`our_ip` 0.0.0.0 makes it an RFC 5227 probe).
pub fn arp_request(our_mac: MacAddr, our_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = ethernet(MacAddr::BROADCAST, our_mac, ETHERTYPE_ARP);
    frame.extend_from_slice(&ARP_ETHERNET_IPV4);
    frame.extend_from_slice(&ARP_REQUEST.to_be_bytes());
    frame.extend_from_slice(&our_mac.0);
    frame.extend_from_slice(&our_ip.octets());
    frame.extend_from_slice(&MacAddr::ZERO.0);
    frame.extend_from_slice(&target.octets());
    frame.resize(MIN_FRAME_LEN, 0);
    frame
}

/// A Neighbor Solicitation for `target` from `our_mac`/`source`, sent to
/// the target's solicited-node group with our Source Link-Layer Address
/// (so the answer comes straight back).
pub fn neighbor_solicitation(our_mac: MacAddr, source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let group = solicited_node(target);
    let mut icmp = vec![NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[OPTION_SOURCE_LINK_ADDR, 1]);
    icmp.extend_from_slice(&our_mac.0);
    let sum = checksum(source, group, &icmp).to_be_bytes();
    icmp[2..4].copy_from_slice(&sum);
    let mut frame = ethernet(ipv6_multicast_mac(group), our_mac, ETHERTYPE_IPV6);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    // 32 octets: always fits.
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[ICMPV6, NDP_HOP_LIMIT]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&group.octets());
    frame.extend_from_slice(&icmp);
    frame
}

/// The answer a received frame carries, if it is an ARP reply, a
/// gratuitous ARP, or a valid Neighbor Advertisement.
pub fn parse_answer(frame: &[u8]) -> Option<Answer> {
    let source = MacAddr(array(frame, 6)?);
    let payload = frame.get(ETHERNET_HEADER_LEN..)?;
    match u16::from_be_bytes(array(frame, 12)?) {
        ETHERTYPE_ARP => parse_arp(payload),
        ETHERTYPE_IPV6 => parse_advertisement(source, payload),
        _ => None,
    }
}

/// An ARP reply, or a gratuitous request (sender and target address equal):
/// both say where the sender address is.
fn parse_arp(arp: &[u8]) -> Option<Answer> {
    let arp = arp.get(..ARP_LEN)?;
    if arp.get(..6)? != ARP_ETHERNET_IPV4 {
        return None;
    }
    let op = u16::from_be_bytes(array(arp, 6)?);
    let mac = MacAddr(array(arp, 8)?);
    let sender = Ipv4Addr::from(array::<4>(arp, 14)?);
    let target = Ipv4Addr::from(array::<4>(arp, 24)?);
    let announces = op == ARP_REPLY || (op == ARP_REQUEST && sender == target);
    (announces && !mac.is_multicast() && !sender.is_unspecified()).then_some(Answer {
        address: IpAddr::V4(sender),
        mac,
    })
}

/// A Neighbor Advertisement that passes RFC 4861 7.1.2's checks; its
/// Target Link-Layer Address option, else the frame's source, is the MAC.
fn parse_advertisement(frame_source: MacAddr, ip: &[u8]) -> Option<Answer> {
    let header = ip.get(..IPV6_HEADER_LEN)?;
    if header.first()? >> 4 != 6 || *header.get(6)? != ICMPV6 || *header.get(7)? != NDP_HOP_LIMIT {
        return None;
    }
    let len = usize::from(u16::from_be_bytes(array(header, 4)?));
    let source = Ipv6Addr::from(array::<16>(header, 8)?);
    let destination = Ipv6Addr::from(array::<16>(header, 24)?);
    let icmp = ip.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN.checked_add(len)?)?;
    if icmp.len() < NDP_FIXED_LEN
        || icmp.first()? != &NEIGHBOR_ADVERTISEMENT
        || icmp.get(1)? != &0
        || checksum(source, destination, icmp) != 0
    {
        return None;
    }
    let target = Ipv6Addr::from(array::<16>(icmp, 8)?);
    if target.is_multicast() {
        return None;
    }
    let mac = target_link_addr(icmp.get(NDP_FIXED_LEN..)?)?.unwrap_or(frame_source);
    (!mac.is_multicast()).then_some(Answer {
        address: IpAddr::V6(target),
        mac,
    })
}

/// The Target Link-Layer Address option among `options`; `None` (outer)
/// when an option is malformed, which voids the whole message.
fn target_link_addr(mut options: &[u8]) -> Option<Option<MacAddr>> {
    let mut found = None;
    // Each step consumes at least 8 octets, so this ends.
    while !options.is_empty() {
        let kind = *options.first()?;
        let len = usize::from(*options.get(1)?) * 8;
        if len == 0 {
            return None;
        }
        let option = options.get(..len)?;
        if kind == OPTION_TARGET_LINK_ADDR && len == 8 {
            found = Some(MacAddr(array(option, 2)?));
        }
        options = options.get(len..)?;
    }
    Some(found)
}

/// The `N` bytes at `at`, if there are that many.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0c]);
    const NODE: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// An ARP frame from NODE: `op`, sender address, target address.
    fn arp(op: u16, sender: &str, target: &str) -> Vec<u8> {
        let mut frame = arp_request(NODE, v4(sender), v4(target));
        frame[20..22].copy_from_slice(&op.to_be_bytes());
        frame
    }

    /// A Neighbor Advertisement for `target` from NODE to `to`, with `options`.
    fn advertisement(target: &str, options: &[u8], hop_limit: u8) -> Vec<u8> {
        let (source, to) = (v6(target), v6("fe80::c"));
        let mut icmp = vec![NEIGHBOR_ADVERTISEMENT, 0, 0, 0, 0x60, 0, 0, 0];
        icmp.extend_from_slice(&source.octets());
        icmp.extend_from_slice(options);
        let sum = checksum(source, to, &icmp).to_be_bytes();
        icmp[2..4].copy_from_slice(&sum);
        let mut frame = ethernet(US, NODE, ETHERTYPE_IPV6);
        frame.extend_from_slice(&[0x60, 0, 0, 0]);
        frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        frame.extend_from_slice(&[ICMPV6, hop_limit]);
        frame.extend_from_slice(&source.octets());
        frame.extend_from_slice(&to.octets());
        frame.extend_from_slice(&icmp);
        frame
    }

    #[test]
    fn arp_request_asks_everyone_for_the_target() {
        let frame = arp_request(US, v4("198.18.0.9"), v4("198.18.0.100"));
        let mut want = vec![0xff; 6];
        want.extend_from_slice(&US.0);
        want.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        want.extend_from_slice(&US.0);
        want.extend_from_slice(&[198, 18, 0, 9, 0, 0, 0, 0, 0, 0, 198, 18, 0, 100]);
        want.resize(60, 0);
        assert_eq!(frame, want);
    }

    #[test]
    fn solicitation_is_one_ferrolb_l2_accepts() {
        // FerroLB's own responder parses what lbctl sends.
        let frame = neighbor_solicitation(US, v6("fe80::c"), v6("2001:db8::64"));
        assert_eq!(&frame[..6], &[0x33, 0x33, 0xff, 0, 0, 0x64]);
        match ferrolb_l2::parse_frame(&frame) {
            Ok(ferrolb_l2::Request::NeighborSolicitation(ns)) => {
                assert_eq!(ns.target, v6("2001:db8::64"));
                assert_eq!(ns.source_link_addr, Some(US));
                assert_eq!(ns.destination, v6("ff02::1:ff00:64"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_told_from_everything_else() {
        let tlla = [OPTION_TARGET_LINK_ADDR, 1, 2, 0, 0, 0, 0, 0x0b];
        let unknown_then_tlla = [[9, 1, 0, 0, 0, 0, 0, 0], tlla].concat();
        let zero_length = [OPTION_TARGET_LINK_ADDR, 0, 0, 0, 0, 0, 0, 0];
        let mut bad_sum = advertisement("2001:db8::64", &tlla, 255);
        let last = bad_sum.len() - 1;
        bad_sum[last] ^= 1;
        let solicitation = neighbor_solicitation(NODE, v6("fe80::a"), v6("2001:db8::64"));
        let answer = |ip: &str, mac: MacAddr| {
            Some(Answer {
                address: ip.parse().unwrap(),
                mac,
            })
        };
        let other = MacAddr([2, 0, 0, 0, 0, 0x0b]);
        let mut ipv4_frame = arp(2, "1.1.1.1", "1.1.1.2");
        ipv4_frame[12..14].copy_from_slice(&[8, 0]);
        let cases: Vec<(&str, Vec<u8>, Option<Answer>)> = vec![
            (
                "arp reply",
                arp(2, "198.18.0.100", "198.18.0.9"),
                answer("198.18.0.100", NODE),
            ),
            (
                "gratuitous arp",
                arp(1, "198.18.0.100", "198.18.0.100"),
                answer("198.18.0.100", NODE),
            ),
            (
                "someone else's request",
                arp(1, "198.18.0.7", "198.18.0.100"),
                None,
            ),
            (
                "arp probe reply from nobody",
                arp(2, "0.0.0.0", "198.18.0.9"),
                None,
            ),
            (
                "truncated arp",
                arp(2, "198.18.0.100", "198.18.0.9")[..40].to_vec(),
                None,
            ),
            (
                "na with tlla",
                advertisement("2001:db8::64", &tlla, 255),
                answer("2001:db8::64", other),
            ),
            (
                "na skipping unknown option",
                advertisement("2001:db8::64", &unknown_then_tlla, 255),
                answer("2001:db8::64", other),
            ),
            (
                "na without options",
                advertisement("2001:db8::64", &[], 255),
                answer("2001:db8::64", NODE),
            ),
            (
                "na routed (hop limit 64)",
                advertisement("2001:db8::64", &tlla, 64),
                None,
            ),
            (
                "na zero-length option",
                advertisement("2001:db8::64", &zero_length, 255),
                None,
            ),
            ("na bad checksum", bad_sum, None),
            ("our own solicitation", solicitation, None),
            ("ipv4 frame", ipv4_frame, None),
            ("empty", vec![], None),
        ];
        for (name, frame, want) in cases {
            assert_eq!(parse_answer(&frame), want, "{name}");
            for cut in 0..frame.len() {
                // Never panics on a prefix.
                let _ = parse_answer(&frame[..cut]);
            }
        }
    }
}
