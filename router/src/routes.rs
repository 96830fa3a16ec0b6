//! The routes learned from the speakers, as the router sees them: each prefix with the next hops
//! of its ECMP set (one per announcing node) and the import policy's verdict.
//!
//! Fed with the BGP instance's Loc-RIB changes, it tells the forwarding layer which prefixes to
//! install, change or remove. A new import policy re-judges every route at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_bgp::rib::RibChange;
use ferrolb_bgp::NextHop;
use ipnet::IpNet;

use crate::import::{ImportPolicy, RejectReason};

/// A sorted, duplicate-free set of next-hop addresses.
pub type NextHopAddrs = BTreeSet<IpAddr>;

/// What the forwarding layer must do for one prefix: install it with these next hops, or
/// (`None`) remove it.
pub type Desired = (IpNet, Option<NextHopAddrs>);

/// One learned route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Next hops of the forwarding paths.
    pub next_hops: NextHopAddrs,
    /// The import policy's verdict.
    pub verdict: Result<(), RejectReason>,
}

/// The result of applying changes: what to forward, and the routes newly refused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Changes for the forwarding layer, one per prefix.
    pub desired: Vec<Desired>,
    /// Newly refused (prefix, next hop) pairs, per reason: a speaker announcing a refused prefix
    /// counts once, however often the ECMP set around it changes.
    pub rejected: BTreeMap<RejectReason, u64>,
}

/// Every learned route, accepted or not.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: BTreeMap<IpNet, Learned>,
}

/// A Loc-RIB change as a prefix and its next-hop addresses (`None`: unreachable).
pub fn learned(change: &RibChange) -> Desired {
    let next_hops = change
        .best
        .as_ref()
        .map(|best| best.next_hops.iter().map(next_hop_addr).collect());
    (change.prefix, next_hops)
}

/// The address a next hop is forwarded to. IPv6 next hops use the global address: the
/// link-local one would need the interface, and speakers send the global one too.
pub fn next_hop_addr(next_hop: &NextHop) -> IpAddr {
    match next_hop {
        NextHop::V4(a) => IpAddr::V4(*a),
        NextHop::V6 { global, .. } => IpAddr::V6(*global),
    }
}

impl RouteTable {
    /// Applies a batch of changes (see [`learned`]) under `policy`.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = Desired>,
        policy: &ImportPolicy,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        for (prefix, next_hops) in changes {
            let prefix = prefix.trunc();
            let Some(next_hops) = next_hops.filter(|n| !n.is_empty()) else {
                if let Some(old) = self.routes.remove(&prefix) {
                    if old.verdict.is_ok() {
                        outcome.desired.push((prefix, None));
                    }
                }
                continue;
            };
            let verdict = policy.evaluate(&prefix);
            let old = self.routes.insert(
                prefix,
                Learned {
                    next_hops: next_hops.clone(),
                    verdict,
                },
            );
            match verdict {
                Ok(()) => {
                    let unchanged = old
                        .as_ref()
                        .is_some_and(|o| o.verdict.is_ok() && o.next_hops == next_hops);
                    if !unchanged {
                        outcome.desired.push((prefix, Some(next_hops)));
                    }
                }
                Err(reason) => {
                    let known = old
                        .as_ref()
                        .filter(|o| o.verdict == verdict)
                        .map(|o| &o.next_hops);
                    let fresh = next_hops
                        .iter()
                        .filter(|nh| known.is_none_or(|k| !k.contains(nh)))
                        .count();
                    if fresh > 0 {
                        *outcome.rejected.entry(reason).or_default() += fresh as u64;
                    }
                    if old.is_some_and(|o| o.verdict.is_ok()) {
                        outcome.desired.push((prefix, None));
                    }
                }
            }
        }
        outcome
    }

    /// Re-judges every route under a new policy; returns the forwarding changes (routes now
    /// accepted or now refused).
    pub fn set_policy(&mut self, policy: &ImportPolicy) -> Vec<Desired> {
        let mut desired = Vec::new();
        for (prefix, learned) in &mut self.routes {
            let verdict = policy.evaluate(prefix);
            match (learned.verdict.is_ok(), verdict.is_ok()) {
                (false, true) => desired.push((*prefix, Some(learned.next_hops.clone()))),
                (true, false) => desired.push((*prefix, None)),
                _ => {}
            }
            learned.verdict = verdict;
        }
        desired
    }

    /// Every accepted route with its next hops.
    pub fn accepted(&self) -> impl Iterator<Item = (&IpNet, &NextHopAddrs)> {
        self.routes
            .iter()
            .filter(|(_, l)| l.verdict.is_ok())
            .map(|(p, l)| (p, &l.next_hops))
    }

    /// Every learned route.
    pub fn iter(&self) -> impl Iterator<Item = (&IpNet, &Learned)> {
        self.routes.iter()
    }

    /// Every next-hop address of an accepted route.
    pub fn next_hop_addrs(&self) -> NextHopAddrs {
        self.accepted()
            .flat_map(|(_, nhs)| nhs.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use ferrolb_api::router_config::ImportConfig;

    use super::*;

    fn policy(pools: &[&str]) -> ImportPolicy {
        ImportPolicy::new(&ImportConfig {
            service_pools: pools.iter().map(|p| p.parse().unwrap()).collect(),
            ..ImportConfig::default()
        })
    }

    fn nh(last: u8) -> NextHop {
        NextHop::V4(Ipv4Addr::new(198, 18, 0, last))
    }

    fn addrs(lasts: &[u8]) -> NextHopAddrs {
        lasts.iter().map(|l| next_hop_addr(&nh(*l))).collect()
    }

    fn change(prefix: &str, lasts: &[u8]) -> Desired {
        (prefix.parse().unwrap(), Some(addrs(lasts)))
    }

    fn net(p: &str) -> IpNet {
        p.parse().unwrap()
    }

    #[test]
    fn batches_become_forwarding_changes_and_rejections() {
        let pool = policy(&["10.96.0.0/24"]);
        let mut table = RouteTable::default();
        // (batch, desired changes, rejected outside-pools)
        type Case = (Vec<Desired>, Vec<Desired>, u64);
        let cases: Vec<Case> = vec![
            (
                vec![change("10.96.0.10/32", &[2, 3]), change("8.8.8.0/24", &[2])],
                vec![(net("10.96.0.10/32"), Some(addrs(&[2, 3])))],
                1,
            ),
            // A third node joins both: one more rejection (node 4 for 8.8.8.0/24), not two.
            (
                vec![
                    change("10.96.0.10/32", &[2, 3, 4]),
                    change("8.8.8.0/24", &[2, 4]),
                ],
                vec![(net("10.96.0.10/32"), Some(addrs(&[2, 3, 4])))],
                1,
            ),
            // Unchanged next hops: nothing to do.
            (vec![change("10.96.0.10/32", &[4, 3, 2])], vec![], 0),
            // A node leaves 8.8.8.0/24: nothing new is refused.
            (vec![change("8.8.8.0/24", &[4])], vec![], 0),
            // Withdrawals: only accepted routes need removing from the kernel.
            (
                vec![change("10.96.0.10/32", &[]), change("8.8.8.0/24", &[])],
                vec![(net("10.96.0.10/32"), None)],
                0,
            ),
            // Withdrawing what was never learned is a no-op.
            (vec![change("10.96.0.11/32", &[])], vec![], 0),
        ];
        for (i, (batch, want, rejected)) in cases.into_iter().enumerate() {
            let outcome = table.apply(batch, &pool);
            assert_eq!(outcome.desired, want, "batch {i}");
            let got = outcome
                .rejected
                .get(&RejectReason::OutsidePools)
                .copied()
                .unwrap_or(0);
            assert_eq!(got, rejected, "batch {i}");
        }
        assert_eq!(table.iter().count(), 0);
    }

    #[test]
    fn rib_changes_map_to_next_hop_addresses() {
        let v6 = NextHop::V6 {
            global: "2001:db8::2".parse().unwrap(),
            link_local: Some("fe80::2".parse().unwrap()),
        };
        assert_eq!(next_hop_addr(&v6), "2001:db8::2".parse::<IpAddr>().unwrap());
        assert_eq!(
            next_hop_addr(&nh(7)),
            "198.18.0.7".parse::<IpAddr>().unwrap()
        );
        let withdrawn = RibChange {
            prefix: net("10.96.0.10/32"),
            best: None,
        };
        assert_eq!(learned(&withdrawn), (net("10.96.0.10/32"), None));
    }

    #[test]
    fn a_new_policy_rejudges_every_route() {
        let mut table = RouteTable::default();
        let narrow = policy(&["10.96.0.0/24"]);
        table.apply(
            [
                change("10.96.0.10/32", &[2]),
                change("10.97.0.10/32", &[2, 3]),
            ],
            &narrow,
        );
        assert_eq!(table.next_hop_addrs(), addrs(&[2]));

        let wide = policy(&["10.96.0.0/24", "10.97.0.0/24"]);
        assert_eq!(
            table.set_policy(&wide),
            vec![(net("10.97.0.10/32"), Some(addrs(&[2, 3])))]
        );
        assert_eq!(table.accepted().count(), 2);
        assert_eq!(table.set_policy(&wide), vec![]);

        let other = policy(&["10.97.0.0/24"]);
        assert_eq!(table.set_policy(&other), vec![(net("10.96.0.10/32"), None)]);
        assert_eq!(table.next_hop_addrs(), addrs(&[2, 3]));
    }

    #[test]
    fn a_route_turning_rejected_by_change_is_removed() {
        // The same prefix cannot change verdict within one policy, but a withdrawal followed
        // by a refused announcement under another policy must still remove the route.
        let mut table = RouteTable::default();
        table.apply([change("10.96.0.10/32", &[2])], &policy(&["10.96.0.0/24"]));
        let outcome = table.apply([change("10.96.0.10/32", &[2])], &policy(&[]));
        assert_eq!(outcome.desired, vec![(net("10.96.0.10/32"), None)]);
        assert_eq!(outcome.rejected.get(&RejectReason::OutsidePools), Some(&1));
    }
}
