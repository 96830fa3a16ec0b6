//! The Loc-RIB change stream: what a subscriber (kernel route installer, Adj-RIB-Out) sees.
//!
//! A change is emitted for a prefix only when its forwarding result changes: the best path
//! (peer or attribute set) or the set of multipath next hops. Duplicate UPDATEs, stale marking
//! and changes to non-forwarding candidates emit nothing. Every RIB call returns its changes as
//! one `Vec<RibChange>` naming each prefix at most once, so a batch can be applied in any order.

use std::ops::Deref;
use std::sync::Arc;

use ipnet::IpNet;

use crate::attribute::{NextHop, PathAttributes};

use super::path::{Path, PathData};
use super::peer::{PeerId, PeerKind};

/// The next hops of a prefix's forwarding paths: sorted and deduplicated.
///
/// One next hop (the common case) is stored inline, without an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHopSet(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    One(NextHop),
    Many(Vec<NextHop>),
}

impl NextHopSet {
    /// A set of one next hop.
    pub fn one(next_hop: NextHop) -> NextHopSet {
        NextHopSet(Repr::One(next_hop))
    }

    /// The set of the given next hops (sorted and deduplicated here); `None` when empty.
    pub fn from_next_hops(mut hops: Vec<NextHop>) -> Option<NextHopSet> {
        hops.sort_unstable();
        hops.dedup();
        match hops.as_slice() {
            [] => None,
            [one] => Some(NextHopSet::one(*one)),
            _ => Some(NextHopSet(Repr::Many(hops))),
        }
    }

    /// The next hops of the first `count` paths (the forwarding ones).
    pub(crate) fn of_paths(paths: &[Path]) -> Option<NextHopSet> {
        match paths {
            [] => None,
            [one] => Some(NextHopSet::one(one.next_hop())),
            many => NextHopSet::from_next_hops(many.iter().map(Path::next_hop).collect()),
        }
    }
}

impl Deref for NextHopSet {
    type Target = [NextHop];

    fn deref(&self) -> &[NextHop] {
        match &self.0 {
            Repr::One(nh) => std::slice::from_ref(nh),
            Repr::Many(v) => v,
        }
    }
}

/// The forwarding result for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestRoute {
    /// The peer the best path came from.
    pub peer: PeerId,
    /// Whether that peer is internal or external (export rules depend on it).
    pub peer_kind: PeerKind,
    /// The best path's attribute set and next hop.
    pub path: Arc<PathData>,
    /// Next hops of every forwarding (multipath) path, the best one's included.
    pub next_hops: NextHopSet,
}

impl BestRoute {
    /// The best path's attributes.
    pub fn attributes(&self) -> &Arc<PathAttributes> {
        self.path.attributes()
    }

    /// The best path's next hop.
    pub fn next_hop(&self) -> NextHop {
        self.path.next_hop()
    }
}

/// A change of one prefix's forwarding result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibChange {
    /// The prefix.
    pub prefix: IpNet,
    /// The new result; `None` when the prefix is no longer reachable.
    pub best: Option<BestRoute>,
}

/// Keeps only the last change of each prefix, in order; used when one call could touch a
/// prefix twice (an UPDATE that withdraws and announces the same prefix).
pub(crate) fn keep_last_per_prefix(changes: &mut Vec<RibChange>, from: usize) {
    use std::collections::hash_map::Entry;

    let Some(tail) = changes.get(from..) else {
        return;
    };
    let mut last: super::prefix_map::FastMap<IpNet, usize> = Default::default();
    let mut duplicate = false;
    for (i, c) in tail.iter().enumerate() {
        match last.entry(c.prefix) {
            Entry::Occupied(mut e) => {
                e.insert(i);
                duplicate = true;
            }
            Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    if !duplicate {
        return;
    }
    let mut i = 0;
    let mut pos = 0;
    changes.retain(|c| {
        let keep = pos < from || last.get(&c.prefix) == Some(&i);
        if pos >= from {
            i += 1;
        }
        pos += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn v4(last: u8) -> NextHop {
        NextHop::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn next_hop_sets_are_sorted_and_deduplicated() {
        let v6 = NextHop::V6 {
            global: Ipv6Addr::LOCALHOST,
            link_local: None,
        };
        let cases: Vec<(Vec<NextHop>, Option<Vec<NextHop>>)> = vec![
            (vec![], None),
            (vec![v4(1)], Some(vec![v4(1)])),
            (
                vec![v4(3), v4(1), v4(3), v4(2)],
                Some(vec![v4(1), v4(2), v4(3)]),
            ),
            (vec![v4(1), v4(1)], Some(vec![v4(1)])),
            (vec![v6, v4(1)], Some(vec![v4(1), v6])),
        ];
        for (input, want) in cases {
            let got = NextHopSet::from_next_hops(input.clone()).map(|s| s.to_vec());
            assert_eq!(got, want, "input {input:?}");
        }
        // Equal sets compare equal whichever way they were built.
        assert_eq!(
            NextHopSet::from_next_hops(vec![v4(1), v4(1)]),
            Some(NextHopSet::one(v4(1)))
        );
    }

    #[test]
    fn only_the_last_change_of_a_prefix_is_kept() {
        let change = |p: &str| RibChange {
            prefix: p.parse().unwrap(),
            best: None,
        };
        let mut v = vec![
            change("10.0.0.0/8"),
            change("10.0.0.1/32"),
            change("10.0.0.2/32"),
            change("10.0.0.1/32"),
            change("10.0.0.0/8"),
        ];
        // The first entry predates this call and must stay.
        keep_last_per_prefix(&mut v, 1);
        let got: Vec<String> = v.iter().map(|c| c.prefix.to_string()).collect();
        assert_eq!(
            got,
            ["10.0.0.0/8", "10.0.0.2/32", "10.0.0.1/32", "10.0.0.0/8"]
        );
    }
}
