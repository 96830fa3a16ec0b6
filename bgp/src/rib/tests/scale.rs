//! 200k paths from 10 peers, then one peer goes down: the table must end up exactly right.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::support::*;
use crate::attribute::{AsPath, NextHop, Origin, PathAttributes};
use crate::message::Update;
use crate::rib::{LocRib, PeerId};

const SHARED: u32 = 15_000;
const UNIQUE: u32 = 5_000;
const PEERS: u8 = 10;

fn shared_prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap()
}

fn unique_prefix(peer: u8, i: u32) -> Ipv4Net {
    Ipv4Net::new(
        Ipv4Addr::from(0x0b00_0000 + (u32::from(peer) << 16) + i),
        32,
    )
    .unwrap()
}

fn hop(peer: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, peer)
}

/// Peer n announces in UPDATEs of 500 prefixes; peers 1-5 with a 1-AS path (equal, multipath),
/// peers 6-10 with a 2-AS path.
fn updates(n: u8) -> Vec<Update> {
    let as_path = if n <= 5 {
        vec![65001]
    } else {
        vec![65001, 65001]
    };
    let prefixes: Vec<Ipv4Net> = (0..SHARED)
        .map(shared_prefix)
        .chain((0..UNIQUE).map(|i| unique_prefix(n, i)))
        .collect();
    prefixes
        .chunks(500)
        .map(|chunk| Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::from_sequence(as_path.iter().copied())),
                next_hop: Some(hop(n)),
                ..PathAttributes::default()
            },
            nlri: chunk.to_vec(),
            ..Update::default()
        })
        .collect()
}

#[test]
fn two_hundred_thousand_paths_and_a_peer_down() {
    let mut rib = LocRib::default();
    let peers: Vec<PeerId> = (1..=PEERS).map(|n| add_peer(&mut rib, n, 65001)).collect();
    let mut changes = 0;
    for (n, &id) in (1..=PEERS).zip(&peers) {
        for u in updates(n) {
            changes += apply(&mut rib, id, &u).len();
        }
    }
    let prefixes = (SHARED + u32::from(PEERS) * UNIQUE) as usize;
    assert_eq!(rib.len(), prefixes);
    // Each shared prefix changes when peers 1 (first) and 2..5 (multipath grows) arrive, but
    // not for peers 6..10 (longer paths); unique prefixes change once.
    assert_eq!(
        changes,
        SHARED as usize * 5 + (u32::from(PEERS) * UNIQUE) as usize
    );
    for &id in &peers {
        assert_eq!(
            rib.adj_rib_in(id).unwrap().prefix_count(),
            (SHARED + UNIQUE) as usize
        );
    }
    let all_fast: Vec<NextHop> = (1..=5).map(|n| NextHop::V4(hop(n))).collect();
    let best = rib.best(&IpNet::V4(shared_prefix(77))).unwrap();
    assert_eq!(best.peer, peers[0]);
    assert_eq!(&*best.next_hops, all_fast.as_slice());

    let down = rib.peer_down(peers[0]).unwrap();
    assert_eq!(down.len(), (SHARED + UNIQUE) as usize);
    let remaining: Vec<NextHop> = (2..=5).map(|n| NextHop::V4(hop(n))).collect();
    for c in &down {
        let IpNet::V4(p) = c.prefix else {
            panic!("unexpected {c:?}")
        };
        let shared = u32::from(p.addr()) < 0x0b00_0000;
        match &c.best {
            Some(b) => {
                assert!(shared, "{p} should be gone");
                assert_eq!(b.peer, peers[1]);
                assert_eq!(&*b.next_hops, remaining.as_slice());
            }
            None => assert!(!shared, "{p} should still be reachable"),
        }
    }
    assert_eq!(rib.len(), prefixes - UNIQUE as usize);
    assert_eq!(rib.adj_rib_in(peers[0]).unwrap().prefix_count(), 0);
    // Every remaining prefix is exactly as the peers left it.
    for i in (0..SHARED).step_by(97) {
        let b = rib.best(&IpNet::V4(shared_prefix(i))).unwrap();
        assert_eq!(
            (b.peer, b.next_hops.to_vec()),
            (peers[1], remaining.clone())
        );
        assert_eq!(rib.paths(&IpNet::V4(shared_prefix(i))).len(), 9);
    }
    for (n, &id) in (2..=PEERS).zip(&peers[1..]) {
        let b = rib.best(&IpNet::V4(unique_prefix(n, UNIQUE - 1))).unwrap();
        assert_eq!(b.peer, id);
        assert!(rib.best(&IpNet::V4(unique_prefix(1, n.into()))).is_none());
    }
}
