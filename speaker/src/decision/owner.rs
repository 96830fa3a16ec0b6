//! Which node answers for an L2 address: a deterministic ranking of the
//! candidate nodes by a hash of (node, address).
//!
//! Every speaker computes the same ranking from the same inputs, so they
//! agree on the owner without talking to each other, and because the hash
//! differs per address the addresses spread evenly over the nodes. When the
//! owner goes away only its addresses move (to each one's next-ranked node).

use std::net::IpAddr;

use ring::digest::{digest, SHA256};

/// The rank key of `node` for `ip`: SHA-256 of `node#ip`, a hash that is
/// stable across speaker versions (a rollout mixes them).
fn rank_key(node: &str, ip: IpAddr) -> [u8; 32] {
    let input = format!("{node}#{ip}");
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, input.as_bytes()).as_ref());
    key
}

/// `nodes` ordered by preference for owning `ip`, best first. Ties (which
/// SHA-256 makes practically impossible) fall back to the node name.
pub fn rank<'a>(nodes: impl IntoIterator<Item = &'a str>, ip: IpAddr) -> Vec<&'a str> {
    let mut keyed: Vec<([u8; 32], &str)> =
        nodes.into_iter().map(|n| (rank_key(n, ip), n)).collect();
    keyed.sort_unstable();
    keyed.dedup_by(|a, b| a.1 == b.1);
    keyed.into_iter().map(|(_, n)| n).collect()
}

/// The node that owns `ip` among `nodes`, if any.
pub fn owner<'a>(nodes: impl IntoIterator<Item = &'a str>, ip: IpAddr) -> Option<&'a str> {
    nodes
        .into_iter()
        .map(|n| (rank_key(n, ip), n))
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    use super::*;

    const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

    fn ips(n: u8) -> Vec<IpAddr> {
        (1..=n)
            .map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)))
            .collect()
    }

    #[test]
    fn twenty_addresses_spread_over_three_nodes() {
        let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
        for ip in ips(20) {
            *per_node.entry(owner(NODES, ip).unwrap()).or_default() += 1;
        }
        assert_eq!(per_node.values().sum::<usize>(), 20);
        assert_eq!(per_node.len(), 3, "{per_node:?}");
        assert!(per_node.values().all(|&n| n <= 9), "{per_node:?}");
    }

    #[test]
    fn owner_is_first_of_ranking_and_independent_of_input_order() {
        for ip in ips(20) {
            let ranked = rank(NODES, ip);
            assert_eq!(ranked.len(), 3);
            assert_eq!(owner(NODES, ip), Some(ranked[0]));
            let reversed: Vec<&str> = NODES.iter().rev().copied().collect();
            assert_eq!(rank(reversed, ip), ranked);
        }
        assert_eq!(owner([], ips(1)[0]), None);
    }

    #[test]
    fn losing_a_node_moves_only_its_addresses() {
        for ip in ips(20) {
            let before = owner(NODES, ip).unwrap();
            let survivors: Vec<&str> = NODES.iter().copied().filter(|n| *n != "node-b").collect();
            let after = owner(survivors, ip).unwrap();
            if before != "node-b" {
                assert_eq!(after, before, "{ip}");
            } else {
                assert_eq!(after, rank(NODES, ip)[1], "{ip}");
            }
        }
    }
}
