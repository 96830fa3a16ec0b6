//! Writes the `parse_frame` seed corpus: valid ARP requests and Neighbor Solicitations, the
//! answers FerroLB builds (which the parser must refuse), and truncations of each.
//!
//! Run from `l2/fuzz`: `cargo run --example seeds` (writes `corpus/parse_frame/seed-*`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ferrolb_l2::mac::{ipv6_multicast_mac, solicited_node};
use ferrolb_l2::packet::{arp, ndp, ArpRequest, NeighborSolicitation};
use ferrolb_l2::{parse_frame, MacAddr};

const PEER: MacAddr = MacAddr([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
const OURS: MacAddr = MacAddr([0x02, 0x42, 0xac, 0x11, 0x00, 0x03]);

fn ethernet(dst: MacAddr, src: MacAddr, ethertype: u16) -> Vec<u8> {
    [&dst.0[..], &src.0, &ethertype.to_be_bytes()].concat()
}

/// An ARP request asking who has `target`, padded to the Ethernet minimum.
fn arp_request(sender_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = ethernet(MacAddr::BROADCAST, PEER, 0x0806);
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&PEER.0);
    frame.extend_from_slice(&sender_ip.octets());
    frame.extend_from_slice(&MacAddr::ZERO.0);
    frame.extend_from_slice(&target.octets());
    frame.resize(60, 0);
    frame
}

/// A Neighbor Solicitation for `target` with the given options and a correct checksum.
fn solicitation(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    target: Ipv6Addr,
    options: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(options);
    let sum = ndp::checksum(source, destination, &icmp).to_be_bytes();
    icmp[2..4].copy_from_slice(&sum);
    let dst_mac = if destination.is_multicast() {
        ipv6_multicast_mac(destination)
    } else {
        OURS
    };
    let mut frame = ethernet(dst_mac, PEER, 0x86dd);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[58, 255]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&destination.octets());
    frame.extend_from_slice(&icmp);
    frame
}

fn main() -> std::io::Result<()> {
    let v4 = |s: &str| s.parse::<Ipv4Addr>().expect("literal");
    let v6 = |s: &str| s.parse::<Ipv6Addr>().expect("literal");
    let sllao = [&[1u8, 1][..], &PEER.0].concat();
    let unknown_then_sllao = [&[14u8, 1, 0, 0, 0, 0, 0, 0][..], &sllao].concat();
    let service6 = v6("2001:db8::64");
    let peer6 = v6("2001:db8::1");
    let link_local = v6("fe80::42:acff:fe11:2");

    let request = ArpRequest {
        sender_mac: PEER,
        sender_ip: v4("192.0.2.1"),
        target_ip: v4("192.0.2.10"),
    };
    let ns = NeighborSolicitation {
        frame_source: PEER,
        source: peer6,
        destination: solicited_node(service6),
        target: service6,
        source_link_addr: Some(PEER),
    };
    let valid: Vec<(&str, Vec<u8>)> = vec![
        (
            "arp-request",
            arp_request(request.sender_ip, request.target_ip),
        ),
        (
            "arp-probe",
            arp_request(Ipv4Addr::UNSPECIFIED, v4("198.51.100.7")),
        ),
        ("arp-gratuitous", arp::gratuitous(PEER, v4("192.0.2.10"))),
        (
            "ns-solicited-node",
            solicitation(peer6, solicited_node(service6), service6, &sllao),
        ),
        (
            "ns-unicast",
            solicitation(peer6, service6, service6, &sllao),
        ),
        (
            "ns-no-option",
            solicitation(link_local, solicited_node(service6), service6, &[]),
        ),
        (
            "ns-unknown-option",
            solicitation(
                peer6,
                solicited_node(service6),
                service6,
                &unknown_then_sllao,
            ),
        ),
        (
            "ns-dad",
            solicitation(
                Ipv6Addr::UNSPECIFIED,
                solicited_node(service6),
                service6,
                &[],
            ),
        ),
    ];
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("arp-reply", arp::reply(OURS, &request)),
        ("na-solicited", ndp::solicited_advertisement(OURS, &ns)),
        (
            "na-unsolicited",
            ndp::unsolicited_advertisement(OURS, service6),
        ),
    ];

    // The seeds only help if they reach the paths they are named for.
    for (name, frame) in &valid {
        assert!(
            parse_frame(frame).is_ok(),
            "{name} does not parse: {:?}",
            parse_frame(frame)
        );
    }
    for (name, frame) in &refused {
        assert!(parse_frame(frame).is_err(), "{name} parses as a request");
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/parse_frame");
    std::fs::create_dir_all(&dir)?;
    let mut written = 0;
    for (name, frame) in valid.iter().chain(&refused) {
        std::fs::write(dir.join(format!("seed-{name}")), frame)?;
        written += 1;
    }
    // Truncations of the valid frames: inside the Ethernet, ARP or IPv6 header, the ICMPv6
    // fixed part, the options, and one octet short.
    for (name, frame) in &valid {
        for cut in [13, 14, 20, 41, 54, 62, 78, frame.len() - 1] {
            if cut < frame.len() {
                std::fs::write(dir.join(format!("seed-{name}-cut{cut}")), &frame[..cut])?;
                written += 1;
            }
        }
    }
    println!("wrote {written} seeds to {}", dir.display());
    Ok(())
}
