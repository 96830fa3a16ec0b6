//! Builders for peers and UPDATEs used across the RIB tests.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::attribute::{AsPath, MpReachNlri, MpUnreachNlri, NextHop, Origin, PathAttributes};
use crate::message::Update;
use crate::rib::{BestRoute, ImportPolicy, LocRib, PeerId, PeerInfo, RibChange};
use crate::types::{AddressFamily, Asn};

/// Our AS in every test.
pub(crate) const LOCAL_AS: Asn = 65000;

pub(crate) fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// A next hop from an address string (IPv4 or IPv6 global).
pub(crate) fn nh(s: &str) -> NextHop {
    match s.parse::<IpAddr>().unwrap() {
        IpAddr::V4(a) => NextHop::V4(a),
        IpAddr::V6(global) => NextHop::V6 {
            global,
            link_local: None,
        },
    }
}

/// Peer number `n` (1..=255): address 10.0.0.n, router id n.n.n.n.
pub(crate) fn peer_info(n: u8, asn: Asn) -> PeerInfo {
    PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        asn,
        LOCAL_AS,
        Ipv4Addr::new(n, n, n, n),
    )
}

/// Registers peer `n` with the default import policy.
pub(crate) fn add_peer(rib: &mut LocRib, n: u8, asn: Asn) -> PeerId {
    rib.add_peer(peer_info(n, asn), ImportPolicy::default())
}

/// An UPDATE announcing `prefixes` (IPv4 in the classic fields, IPv6 in MP_REACH_NLRI) via
/// next hop `next_hop` with the given AS_PATH and ORIGIN IGP.
pub(crate) fn announce(prefixes: &[&str], next_hop: &str, as_path: &[Asn]) -> Update {
    let hop = nh(next_hop);
    let mut u = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(as_path.iter().copied())),
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    for p in prefixes.iter().map(|p| net(p)) {
        match (p, hop) {
            (IpNet::V4(p), NextHop::V4(a)) => {
                u.nlri.push(p);
                u.attributes.next_hop = Some(a);
            }
            (p, hop) => {
                let family = AddressFamily::of(&p);
                u.attributes
                    .mp_reach
                    .get_or_insert_with(|| MpReachNlri {
                        family,
                        next_hop: hop,
                        nlri: Vec::new(),
                    })
                    .nlri
                    .push(p);
            }
        }
    }
    u
}

/// [`announce`] with the attributes changed by `f`.
pub(crate) fn announce_with(
    prefixes: &[&str],
    next_hop: &str,
    as_path: &[Asn],
    f: impl FnOnce(&mut PathAttributes),
) -> Update {
    let mut u = announce(prefixes, next_hop, as_path);
    f(&mut u.attributes);
    u
}

/// An UPDATE withdrawing `prefixes`.
pub(crate) fn withdraw(prefixes: &[&str]) -> Update {
    let mut u = Update::default();
    for p in prefixes.iter().map(|p| net(p)) {
        match p {
            IpNet::V4(p) => u.withdrawn.push(p),
            IpNet::V6(_) => u
                .attributes
                .mp_unreach
                .get_or_insert_with(|| MpUnreachNlri {
                    family: AddressFamily::Ipv6Unicast,
                    withdrawn: Vec::new(),
                })
                .withdrawn
                .push(p),
        }
    }
    u
}

/// Applies an UPDATE and returns its changes.
pub(crate) fn apply(rib: &mut LocRib, peer: PeerId, u: &Update) -> Vec<RibChange> {
    rib.apply_update(peer, u).unwrap().changes
}

/// A change summarised as (prefix, best peer, next hops).
pub(crate) type Summary = (String, Option<(PeerId, Vec<NextHop>)>);

pub(crate) fn summary(changes: &[RibChange]) -> Vec<Summary> {
    changes
        .iter()
        .map(|c| (c.prefix.to_string(), c.best.as_ref().map(route_summary)))
        .collect()
}

pub(crate) fn route_summary(b: &BestRoute) -> (PeerId, Vec<NextHop>) {
    (b.peer, b.next_hops.to_vec())
}

/// Shorthand for an expected [`Summary`].
pub(crate) fn reach(prefix: &str, peer: PeerId, hops: &[&str]) -> Summary {
    (
        prefix.to_string(),
        Some((peer, hops.iter().map(|h| nh(h)).collect())),
    )
}

/// Shorthand for an expected unreachable [`Summary`].
pub(crate) fn gone(prefix: &str) -> Summary {
    (prefix.to_string(), None)
}
