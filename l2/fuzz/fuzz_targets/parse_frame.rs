//! Any bytes as a received Ethernet frame: parsing never panics, and whatever parses as a
//! request is consistent with the frame and with the answers built for it.
#![no_main]

use ferrolb_l2::packet::{arp, ndp};
use ferrolb_l2::{parse_frame, ParseError, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let Ok(request) = parse_frame(frame) else {
        return;
    };
    // Ethernet padding after the packet never changes what a frame means.
    let padded = [frame, &[0u8; 8]].concat();
    assert_eq!(
        parse_frame(&padded).as_ref(),
        Ok(&request),
        "padding changed the parse"
    );
    match request {
        Request::Arp(req) => {
            assert_eq!(req.sender_mac.0[..], frame[22..28], "sender MAC");
            assert!(!req.sender_mac.is_multicast());
            // Our answer is a reply, which the parser does not take for a request.
            let reply = arp::reply(ferrolb_l2::MacAddr([2, 0, 0, 0, 0, 1]), &req);
            assert_eq!(parse_frame(&reply), Err(ParseError::ArpOperation(2)));
            // A gratuitous request from the same sender parses back to itself.
            let announce = arp::gratuitous(req.sender_mac, req.target_ip);
            let back = parse_frame(&announce);
            let Ok(Request::Arp(back)) = back else {
                panic!("gratuitous ARP does not parse: {back:?}");
            };
            assert!(back.is_gratuitous());
            assert_eq!(
                (back.sender_mac, back.target_ip),
                (req.sender_mac, req.target_ip)
            );
        }
        Request::NeighborSolicitation(ns) => {
            assert_eq!(ns.frame_source.0[..], frame[6..12], "frame source");
            assert!(!ns.target.is_multicast());
            assert!(!(ns.source.is_unspecified() && ns.source_link_addr.is_some()));
            // Our answer is an advertisement, which the parser does not take for a solicitation.
            let na = ndp::solicited_advertisement(ferrolb_l2::MacAddr([2, 0, 0, 0, 0, 1]), &ns);
            assert_eq!(parse_frame(&na), Err(ParseError::IcmpType(136)));
        }
    }
});
