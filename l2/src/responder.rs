//! What to send: answers to requests for owned IPs, and the schedule of gratuitous
//! announcements. Pure: the answering task in [`crate::announcer`] does the I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tokio::time::{Duration, Instant};

use crate::mac::MacAddr;
use crate::packet::{arp, ndp, Request};

/// The frame answering `request` on an interface with `our_mac` that answers for `owned`, or
/// `None` if the request is not ours to answer.
pub(crate) fn answer(
    request: &Request,
    our_mac: MacAddr,
    owned: &BTreeSet<IpAddr>,
) -> Option<Vec<u8>> {
    match request {
        Request::Arp(req) => {
            // A gratuitous request is someone announcing the address, not asking for it.
            let ours = owned.contains(&IpAddr::V4(req.target_ip));
            (ours && !req.is_gratuitous() && req.sender_mac != our_mac)
                .then(|| arp::reply(our_mac, req))
        }
        Request::NeighborSolicitation(ns) => {
            let ours = owned.contains(&IpAddr::V6(ns.target));
            (ours && ns.frame_source != our_mac).then(|| ndp::solicited_advertisement(our_mac, ns))
        }
    }
}

/// The gratuitous ARP or unsolicited Neighbor Advertisement announcing `ip` at `our_mac`.
pub(crate) fn announcement(ip: IpAddr, our_mac: MacAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => arp::gratuitous(our_mac, v4),
        IpAddr::V6(v6) => ndp::unsolicited_advertisement(our_mac, v6),
    }
}

/// Pending announcements: for each IP, when the next one is due and how many remain.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    pending: BTreeMap<IpAddr, (Instant, u32)>,
}

impl Schedule {
    /// Announces `ip` `count` times starting at `now`; merges with a burst already pending.
    pub(crate) fn burst(&mut self, ip: IpAddr, now: Instant, count: u32) {
        if count == 0 {
            return;
        }
        let entry = self.pending.entry(ip).or_insert((now, count));
        entry.0 = entry.0.min(now);
        entry.1 = entry.1.max(count);
    }

    /// Stops announcing `ip` (it is no longer owned).
    pub(crate) fn cancel(&mut self, ip: &IpAddr) {
        self.pending.remove(ip);
    }

    /// When the next announcement is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|(due, _)| *due).min()
    }

    /// The IPs to announce now; each one's next announcement moves `spacing` later.
    pub(crate) fn take_due(&mut self, now: Instant, spacing: Duration) -> Vec<IpAddr> {
        let mut due = Vec::new();
        self.pending.retain(|ip, (at, remaining)| {
            if *at > now {
                return true;
            }
            due.push(*ip);
            *remaining = remaining.saturating_sub(1);
            *at = now + spacing;
            *remaining > 0
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{parse_frame, ArpRequest, NeighborSolicitation};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
    const CLIENT: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xc]);

    fn arp_req(sender_mac: MacAddr, sender: [u8; 4], target: [u8; 4]) -> Request {
        Request::Arp(ArpRequest {
            sender_mac,
            sender_ip: Ipv4Addr::from(sender),
            target_ip: Ipv4Addr::from(target),
        })
    }

    fn ns(frame_source: MacAddr, target: &str) -> Request {
        let target: Ipv6Addr = target.parse().unwrap();
        Request::NeighborSolicitation(NeighborSolicitation {
            frame_source,
            source: "2001:db8::9".parse().unwrap(),
            destination: crate::mac::solicited_node(target),
            target,
            source_link_addr: None,
        })
    }

    #[test]
    fn answers_only_for_owned_ips() {
        let owned: BTreeSet<IpAddr> = [
            "198.18.0.100".parse().unwrap(),
            "2001:db8::64".parse().unwrap(),
        ]
        .into();
        let cases = [
            (
                "owned v4",
                arp_req(CLIENT, [198, 18, 0, 9], [198, 18, 0, 100]),
                true,
            ),
            (
                "probe for owned v4",
                arp_req(CLIENT, [0, 0, 0, 0], [198, 18, 0, 100]),
                true,
            ),
            (
                "other v4",
                arp_req(CLIENT, [198, 18, 0, 9], [198, 18, 0, 101]),
                false,
            ),
            (
                "someone's gratuitous arp",
                arp_req(CLIENT, [198, 18, 0, 100], [198, 18, 0, 100]),
                false,
            ),
            (
                "our own request",
                arp_req(US, [198, 18, 0, 1], [198, 18, 0, 100]),
                false,
            ),
            ("owned v6", ns(CLIENT, "2001:db8::64"), true),
            ("other v6", ns(CLIENT, "2001:db8::65"), false),
            ("our own solicitation", ns(US, "2001:db8::64"), false),
        ];
        for (name, request, answered) in cases {
            let frame = answer(&request, US, &owned);
            assert_eq!(frame.is_some(), answered, "{name}");
            if let Some(frame) = frame {
                assert_eq!(&frame[6..12], &US.0, "{name}: from our MAC");
                assert_eq!(&frame[..6], &CLIENT.0, "{name}: to the requester");
            }
        }
        assert!(answer(
            &arp_req(CLIENT, [1, 1, 1, 1], [198, 18, 0, 100]),
            US,
            &BTreeSet::new()
        )
        .is_none());
    }

    #[test]
    fn announcements_are_gratuitous_for_each_family() {
        let v4 = announcement("198.18.0.100".parse().unwrap(), US);
        match parse_frame(&v4) {
            Ok(Request::Arp(req)) => assert!(req.is_gratuitous()),
            other => panic!("{other:?}"),
        }
        let v6 = announcement("2001:db8::64".parse().unwrap(), US);
        assert_eq!(&v6[..6], &[0x33, 0x33, 0, 0, 0, 1]);
    }

    #[test]
    fn schedule_spaces_bursts_and_refreshes() {
        let a: IpAddr = "198.18.0.100".parse().unwrap();
        let b: IpAddr = "2001:db8::64".parse().unwrap();
        let spacing = Duration::from_millis(100);
        let t0 = Instant::now();
        let mut s = Schedule::default();
        assert_eq!(s.next_due(), None);
        s.burst(a, t0, 3);
        s.burst(b, t0, 0); // nothing to send
        assert_eq!(s.next_due(), Some(t0));
        assert_eq!(s.take_due(t0, spacing), vec![a]);
        assert_eq!(
            s.take_due(t0 + Duration::from_millis(50), spacing),
            Vec::<IpAddr>::new()
        );
        let t1 = t0 + spacing;
        assert_eq!(s.next_due(), Some(t1));
        // A refresh while a burst is pending neither resets nor extends it beyond its count.
        s.burst(a, t1, 1);
        assert_eq!(s.take_due(t1, spacing), vec![a]);
        s.burst(b, t1, 1);
        let t2 = t1 + spacing;
        assert_eq!(s.take_due(t2, spacing), vec![a, b]);
        assert_eq!(s.next_due(), None, "3 for a, 1 for b, then done");
        s.burst(a, t2, 2);
        s.cancel(&a);
        assert_eq!(s.next_due(), None);
    }
}
