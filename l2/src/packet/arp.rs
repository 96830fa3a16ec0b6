//! ARP (RFC 826) for IPv4 over Ethernet: parsing requests, building replies and gratuitous
//! announcements.

use std::net::Ipv4Addr;

use super::{array, be16, ethernet_frame, pad, ParseError, ETHERTYPE_ARP};
use crate::mac::MacAddr;

/// Hardware type Ethernet.
const HTYPE_ETHERNET: u16 = 1;
/// Protocol type IPv4.
const PTYPE_IPV4: u16 = 0x0800;
/// Operation request.
const OP_REQUEST: u16 = 1;
/// Operation reply.
const OP_REPLY: u16 = 2;
/// Length of an ARP packet for IPv4 over Ethernet.
const ARP_LEN: usize = 28;

/// An ARP request: `sender` asks who has `target_ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRequest {
    /// Sender hardware address: where the reply goes.
    pub sender_mac: MacAddr,
    /// Sender protocol address; 0.0.0.0 in an address probe (RFC 5227).
    pub sender_ip: Ipv4Addr,
    /// The address being resolved.
    pub target_ip: Ipv4Addr,
}

impl ArpRequest {
    /// A gratuitous ARP request (sender and target address equal): someone announcing the
    /// address, not asking for it.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// Parses the ARP payload of a frame; only requests for IPv4 over Ethernet are accepted.
pub(super) fn parse(arp: &[u8]) -> Result<ArpRequest, ParseError> {
    let arp = arp.get(..ARP_LEN).ok_or(ParseError::Truncated)?;
    let htype = be16(arp, 0).ok_or(ParseError::Truncated)?;
    let ptype = be16(arp, 2).ok_or(ParseError::Truncated)?;
    let (hlen, plen) = (arp.get(4).copied(), arp.get(5).copied());
    if htype != HTYPE_ETHERNET || ptype != PTYPE_IPV4 || hlen != Some(6) || plen != Some(4) {
        return Err(ParseError::ArpFormat);
    }
    let op = be16(arp, 6).ok_or(ParseError::Truncated)?;
    if op != OP_REQUEST {
        return Err(ParseError::ArpOperation(op));
    }
    let sender_mac = MacAddr(array(arp, 8).ok_or(ParseError::Truncated)?);
    if sender_mac.is_multicast() {
        return Err(ParseError::MulticastSender);
    }
    let sender_ip = Ipv4Addr::from(array::<4>(arp, 14).ok_or(ParseError::Truncated)?);
    let target_ip = Ipv4Addr::from(array::<4>(arp, 24).ok_or(ParseError::Truncated)?);
    Ok(ArpRequest {
        sender_mac,
        sender_ip,
        target_ip,
    })
}

/// The reply to `request` saying `request.target_ip` is at `our_mac`, sent straight to the
/// requester.
pub fn reply(our_mac: MacAddr, request: &ArpRequest) -> Vec<u8> {
    frame(
        request.sender_mac,
        our_mac,
        OP_REPLY,
        request.target_ip,
        request.sender_mac,
        request.sender_ip,
    )
}

/// A gratuitous ARP request for `ip` at `our_mac`, broadcast so that every neighbour (and the
/// switches' forwarding tables) learns the new location at once. The request form is used
/// because it is the one every stack accepts (RFC 5227 3).
pub fn gratuitous(our_mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    frame(
        MacAddr::BROADCAST,
        our_mac,
        OP_REQUEST,
        ip,
        MacAddr::ZERO,
        ip,
    )
}

/// An ARP frame from `our_mac` claiming `sender_ip`.
fn frame(
    dst: MacAddr,
    our_mac: MacAddr,
    op: u16,
    sender_ip: Ipv4Addr,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut frame = ethernet_frame(dst, our_mac, ETHERTYPE_ARP, ARP_LEN);
    frame.extend_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    frame.extend_from_slice(&PTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(&[6, 4]);
    frame.extend_from_slice(&op.to_be_bytes());
    frame.extend_from_slice(&our_mac.0);
    frame.extend_from_slice(&sender_ip.octets());
    frame.extend_from_slice(&target_mac.0);
    frame.extend_from_slice(&target_ip.octets());
    pad(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{parse_frame, Request};

    const CLIENT: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0c]);
    const NODE: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);

    /// An ARP request frame as a client's kernel sends it (broadcast, zero target MAC).
    fn request_frame(op: u16, sender_mac: MacAddr, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
        frame(
            MacAddr::BROADCAST,
            sender_mac,
            op,
            spa.into(),
            MacAddr::ZERO,
            tpa.into(),
        )
    }

    #[test]
    fn parses_requests_and_rejects_the_rest() {
        let ok = request_frame(1, CLIENT, [198, 18, 0, 9], [198, 18, 0, 100]);
        let mut reply_op = ok.clone();
        reply_op[21] = 2;
        let mut ptype_v6 = ok.clone();
        ptype_v6[16..18].copy_from_slice(&0x86ddu16.to_be_bytes());
        let mut hlen = ok.clone();
        hlen[18] = 8;
        let multicast_sender = request_frame(1, MacAddr::BROADCAST, [1, 1, 1, 1], [2, 2, 2, 2]);
        let cases: Vec<(&str, &[u8], Result<ArpRequest, ParseError>)> = vec![
            (
                "request",
                &ok,
                Ok(ArpRequest {
                    sender_mac: CLIENT,
                    sender_ip: Ipv4Addr::new(198, 18, 0, 9),
                    target_ip: Ipv4Addr::new(198, 18, 0, 100),
                }),
            ),
            ("unpadded", &ok[..42], parse(&ok[14..42])),
            ("truncated", &ok[..41], Err(ParseError::Truncated)),
            ("reply", &reply_op, Err(ParseError::ArpOperation(2))),
            ("not ipv4", &ptype_v6, Err(ParseError::ArpFormat)),
            ("hardware length", &hlen, Err(ParseError::ArpFormat)),
            (
                "multicast sender",
                &multicast_sender,
                Err(ParseError::MulticastSender),
            ),
        ];
        for (name, frame, want) in cases {
            assert_eq!(parse_frame(frame), want.map(Request::Arp), "{name}");
        }
    }

    #[test]
    fn reply_answers_the_requester_with_our_mac() {
        let request =
            parse(&request_frame(1, CLIENT, [198, 18, 0, 9], [198, 18, 0, 100])[14..]).unwrap();
        let reply = reply(NODE, &request);
        let mut want = Vec::new();
        want.extend_from_slice(&CLIENT.0); // to the requester
        want.extend_from_slice(&NODE.0);
        want.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        want.extend_from_slice(&NODE.0); // sender: us, with the requested address
        want.extend_from_slice(&[198, 18, 0, 100]);
        want.extend_from_slice(&CLIENT.0); // target: the requester
        want.extend_from_slice(&[198, 18, 0, 9]);
        want.resize(60, 0);
        assert_eq!(reply, want);
    }

    #[test]
    fn gratuitous_is_a_broadcast_request_for_our_own_address() {
        let garp = gratuitous(NODE, Ipv4Addr::new(198, 18, 0, 100));
        assert_eq!(garp.len(), 60);
        assert_eq!(&garp[..6], &[0xff; 6]);
        let parsed = parse(&garp[14..]).unwrap();
        assert!(parsed.is_gratuitous());
        assert_eq!(parsed.sender_mac, NODE);
        assert_eq!(parsed.target_ip, Ipv4Addr::new(198, 18, 0, 100));
    }
}
