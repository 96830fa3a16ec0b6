//! The classic BPF program attached to every packet socket, so that the kernel queues only
//! ARP requests and ICMPv6 Neighbor Solicitations received from the wire: the rest of the
//! node's traffic never reaches FerroLB.

use crate::packet::{ETHERTYPE_ARP, ETHERTYPE_IPV6};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcodes (linux/filter.h).
const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Ancillary load of the packet type (SKF_AD_OFF + SKF_AD_PKTTYPE).
const ANCILLARY_PKTTYPE: u32 = 0xffff_f000 + 4;
/// Ancillary load of "an offloaded VLAN tag is present" (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT).
/// The parent of a VLAN interface sees that VLAN's frames with the tag stripped into metadata;
/// answering them untagged on the parent would be wrong, the VLAN interface answers them.
const ANCILLARY_VLAN_TAG_PRESENT: u32 = 0xffff_f000 + 48;
/// `PACKET_OUTGOING`: a copy of a frame this host sends, not one it receives.
const PACKET_OUTGOING: u32 = 4;
/// `PACKET_OTHERHOST`: seen only because the interface is promiscuous; the kernel ignores these.
const PACKET_OTHERHOST: u32 = 3;
/// Offset of the ARP operation in the frame.
const ARP_OPERATION: u32 = 20;
/// Offset of the IPv6 next header field in the frame.
const IPV6_NEXT_HEADER: u32 = 20;
/// Offset of the ICMPv6 type in the frame (no extension headers).
const ICMPV6_TYPE: u32 = 54;
/// Accept up to this many bytes of a frame (more than any ARP/NDP packet).
const SNAPLEN: u32 = 2048;

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// The filter, without its final accept instruction (see [`program`]). Jump offsets count
/// instructions after the current one; `drop` is instruction 14, `accept` instruction 15.
pub(crate) const PROGRAM: [Insn; 15] = [
    /* 0 */ insn(LD_B_ABS, 0, 0, ANCILLARY_PKTTYPE),
    /* 1 */ insn(JEQ_K, 12, 0, PACKET_OUTGOING), // our own transmissions -> drop
    /* 2 */ insn(JEQ_K, 11, 0, PACKET_OTHERHOST), // unicast to another host -> drop
    /* 3 */ insn(LD_B_ABS, 0, 0, ANCILLARY_VLAN_TAG_PRESENT),
    /* 4 */ insn(JEQ_K, 0, 9, 0), // tagged: belongs to a VLAN interface -> drop
    /* 5 */ insn(LD_H_ABS, 0, 0, 12),
    /* 6 */ insn(JEQ_K, 0, 2, ETHERTYPE_ARP as u32), // not ARP -> 9
    /* 7 */ insn(LD_H_ABS, 0, 0, ARP_OPERATION),
    /* 8 */ insn(JEQ_K, 6, 5, 1), // request -> accept, else drop
    /* 9 */ insn(JEQ_K, 0, 4, ETHERTYPE_IPV6 as u32), // not IPv6 -> drop
    /* 10 */ insn(LD_B_ABS, 0, 0, IPV6_NEXT_HEADER),
    /* 11 */ insn(JEQ_K, 0, 2, 58), // not ICMPv6 -> drop
    /* 12 */ insn(LD_B_ABS, 0, 0, ICMPV6_TYPE),
    /* 13 */ insn(JEQ_K, 1, 0, 135), // Neighbor Solicitation -> accept
    /* 14 */ insn(RET_K, 0, 0, 0),
];

/// The accepting instruction that ends [`program`].
const ACCEPT: Insn = insn(RET_K, 0, 0, SNAPLEN);

/// The program in the form `SO_ATTACH_FILTER` takes.
pub(crate) fn sock_filters() -> Vec<socket2::SockFilter> {
    program()
        .iter()
        .map(|i| socket2::SockFilter::new(i.code, i.jt, i.jf, i.k))
        .collect()
}

/// The full program: [`PROGRAM`] followed by the accept instruction.
fn program() -> Vec<Insn> {
    let mut program = PROGRAM.to_vec();
    program.push(ACCEPT);
    program
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::MacAddr;
    use crate::packet::{arp, ndp};

    /// A classic BPF interpreter for the opcodes the program uses, to check it on real frames.
    fn run(program: &[Insn], frame: &[u8], pkttype: u32, vlan_tagged: bool) -> u32 {
        let mut pc = 0usize;
        let mut a = 0u32;
        for _ in 0..program.len() {
            let i = program[pc];
            match i.code {
                LD_B_ABS if i.k == ANCILLARY_PKTTYPE => a = pkttype,
                LD_B_ABS if i.k == ANCILLARY_VLAN_TAG_PRESENT => a = u32::from(vlan_tagged),
                LD_B_ABS => match frame.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                LD_H_ABS => match frame.get(i.k as usize..i.k as usize + 2) {
                    Some(b) => a = u32::from(u16::from_be_bytes([b[0], b[1]])),
                    None => return 0,
                },
                JEQ_K => {
                    let skip = if a == i.k { i.jt } else { i.jf };
                    pc += usize::from(skip);
                }
                RET_K => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
            pc += 1;
        }
        panic!("program ran off its end");
    }

    #[test]
    fn passes_only_received_arp_requests_and_solicitations() {
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let target = "2001:db8::64".parse().unwrap();
        let arp_request = arp::gratuitous(mac, "198.18.0.1".parse().unwrap());
        let arp_reply = {
            let mut f = arp_request.clone();
            f[21] = 2;
            f
        };
        let na = ndp::unsolicited_advertisement(mac, target);
        let ns = {
            let mut f = na.clone();
            f[54] = 135;
            f
        };
        let udp6 = {
            let mut f = ns.clone();
            f[20] = 17;
            f
        };
        let ipv4 = {
            let mut f = arp_request.clone();
            f[12..14].copy_from_slice(&[8, 0]);
            f
        };
        const HOST: u32 = 0;
        const BROADCAST: u32 = 1;
        let cases = [
            ("arp request", &arp_request, BROADCAST, true),
            (
                "arp request sent by this host",
                &arp_request,
                PACKET_OUTGOING,
                false,
            ),
            (
                "arp request to another host",
                &arp_request,
                PACKET_OTHERHOST,
                false,
            ),
            ("arp reply", &arp_reply, HOST, false),
            ("neighbor solicitation", &ns, 2, true),
            (
                "neighbor solicitation sent by this host",
                &ns,
                PACKET_OUTGOING,
                false,
            ),
            ("neighbor advertisement", &na, 2, false),
            ("udp over ipv6", &udp6, HOST, false),
            ("ipv4", &ipv4, HOST, false),
        ];
        let program = program();
        for (name, frame, pkttype, accept) in cases {
            let verdict = run(&program, frame, pkttype, false);
            assert_eq!(verdict != 0, accept, "{name}");
            assert_eq!(
                run(&program, frame, pkttype, true),
                0,
                "{name} with a VLAN tag"
            );
        }
        assert_eq!(
            run(&program, &arp_request[..13], HOST, false),
            0,
            "short frame"
        );
        assert_eq!(sock_filters().len(), program.len());
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let program = program();
        for (pc, i) in program.iter().enumerate() {
            if i.code == JEQ_K {
                assert!(
                    pc + 1 + usize::from(i.jt.max(i.jf)) < program.len(),
                    "insn {pc}"
                );
            }
        }
        assert_eq!(program.last().map(|i| i.code), Some(RET_K));
    }
}
