//! Choosing a backend for a new connection: weighted round robin, least connections and
//! source-address consistent hashing. Pure: callers pass the eligible backends each time.

use std::collections::HashMap;
use std::net::IpAddr;

use ferrolb_api::router_config::Algorithm;

use crate::maglev::{self, Entry, MaglevTable};

/// A backend that may take a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Stable identity of the backend (unique within its frontend).
    pub id: u64,
    /// Key for consistent hashing: the backend's address as text.
    pub key: String,
    /// Effective weight now (slow start applied), at least 1.
    pub weight: u32,
    /// Weight as configured, which consistent hashing uses so slow start does not reshuffle.
    pub configured_weight: u32,
    /// Connections currently open to it.
    pub active: u64,
}

/// Per-frontend balancing state.
#[derive(Debug, Default)]
pub struct Balancer {
    /// Smooth weighted round robin's running scores, by backend id.
    current: HashMap<u64, i64>,
    /// Rotating tie-break for least connections.
    rotation: u64,
    /// Maglev table and the candidate keys it was built for.
    table: Option<(Vec<(String, u32)>, MaglevTable)>,
}

impl Balancer {
    /// Picks among `candidates` (must be the eligible ones, in a stable order) for a client
    /// at `client`. Returns the index into `candidates`.
    pub fn pick(
        &mut self,
        algorithm: Algorithm,
        candidates: &[Candidate],
        client: IpAddr,
    ) -> Option<usize> {
        if candidates.is_empty() {
            return None;
        }
        match algorithm {
            Algorithm::RoundRobin => Some(self.round_robin(candidates)),
            Algorithm::LeastConnections => Some(self.least_connections(candidates)),
            Algorithm::SourceHash => self.source_hash(candidates, client),
        }
    }

    /// Smooth weighted round robin (as nginx does it): every pick adds each weight to its
    /// backend's score, takes the highest and lowers it by the total. Equal weights rotate
    /// strictly; unequal ones interleave instead of bursting.
    fn round_robin(&mut self, candidates: &[Candidate]) -> usize {
        self.current
            .retain(|id, _| candidates.iter().any(|c| c.id == *id));
        let total: i64 = candidates.iter().map(|c| i64::from(c.weight)).sum();
        let mut best = 0;
        let mut best_score = i64::MIN;
        for (i, c) in candidates.iter().enumerate() {
            let score = self.current.entry(c.id).or_insert(0);
            *score += i64::from(c.weight);
            if *score > best_score {
                best_score = *score;
                best = i;
            }
        }
        if let Some(c) = candidates.get(best) {
            if let Some(score) = self.current.get_mut(&c.id) {
                *score -= total;
            }
        }
        best
    }

    /// Fewest active connections per unit of weight; ties rotate.
    fn least_connections(&mut self, candidates: &[Candidate]) -> usize {
        let n = candidates.len();
        let start = (self.rotation % n as u64) as usize;
        self.rotation = self.rotation.wrapping_add(1);
        let mut best = start;
        for k in 1..n {
            let i = (start + k) % n;
            let (a, b) = (&candidates[i], &candidates[best]);
            // a.active / a.weight < b.active / b.weight, without division.
            if u128::from(a.active) * u128::from(b.weight)
                < u128::from(b.active) * u128::from(a.weight)
            {
                best = i;
            }
        }
        best
    }

    /// Maglev lookup of the client address (not its port, so all of a client's connections
    /// land together); rebuilt only when the eligible set changes.
    fn source_hash(&mut self, candidates: &[Candidate], client: IpAddr) -> Option<usize> {
        let keys: Vec<(String, u32)> = candidates
            .iter()
            .map(|c| (c.key.clone(), c.configured_weight))
            .collect();
        let stale = self.table.as_ref().is_none_or(|(k, _)| *k != keys);
        if stale {
            let entries: Vec<Entry> = keys
                .iter()
                .map(|(key, weight)| Entry {
                    key: key.clone(),
                    weight: *weight,
                })
                .collect();
            self.table = Some((keys, MaglevTable::build(&entries)));
        }
        let (_, table) = self.table.as_ref()?;
        let key = match client {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        table.lookup(maglev::hash(0, &key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(spec: &[(u32, u64)]) -> Vec<Candidate> {
        spec.iter()
            .enumerate()
            .map(|(i, (w, active))| Candidate {
                id: i as u64,
                key: format!("10.0.0.{i}:443"),
                weight: *w,
                configured_weight: *w,
                active: *active,
            })
            .collect()
    }

    fn counts(algorithm: Algorithm, spec: &[(u32, u64)], picks: usize) -> Vec<usize> {
        let c = cands(spec);
        let mut b = Balancer::default();
        let mut n = vec![0; c.len()];
        for _ in 0..picks {
            n[b.pick(algorithm, &c, "192.0.2.1".parse().unwrap()).unwrap()] += 1;
        }
        n
    }

    #[test]
    fn round_robin_follows_weights() {
        // (weights, picks, expected counts)
        type Case<'a> = (&'a [(u32, u64)], usize, &'a [usize]);
        let cases: [Case; 4] = [
            (&[(1, 0), (1, 0), (1, 0)], 9, &[3, 3, 3]),
            (&[(1, 0), (1, 0), (1, 0)], 10, &[4, 3, 3]),
            (&[(3, 0), (1, 0)], 8, &[6, 2]),
            (&[(256, 0), (128, 0), (128, 0)], 4, &[2, 1, 1]),
        ];
        for (spec, picks, expected) in cases {
            assert_eq!(
                counts(Algorithm::RoundRobin, spec, picks),
                expected,
                "{spec:?}"
            );
        }
    }

    #[test]
    fn round_robin_interleaves() {
        let c = cands(&[(2, 0), (1, 0)]);
        let mut b = Balancer::default();
        let seq: Vec<usize> = (0..6)
            .map(|_| {
                b.pick(Algorithm::RoundRobin, &c, "192.0.2.1".parse().unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(seq, [0, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn least_connections_prefers_the_idlest_per_weight() {
        // (weights and active connections, expected pick)
        let cases: [(&[(u32, u64)], usize); 4] = [
            (&[(1, 5), (1, 2), (1, 9)], 1),
            (&[(1, 4), (4, 12)], 1),
            (&[(1, 0), (1, 1)], 0),
            (&[(2, 3), (1, 1)], 1),
        ];
        for (spec, expected) in cases {
            let mut b = Balancer::default();
            let c = cands(spec);
            for _ in 0..3 {
                assert_eq!(
                    b.pick(
                        Algorithm::LeastConnections,
                        &c,
                        "192.0.2.1".parse().unwrap()
                    ),
                    Some(expected),
                    "{spec:?}"
                );
            }
        }
        // Ties rotate.
        assert_eq!(
            counts(Algorithm::LeastConnections, &[(1, 0), (1, 0), (1, 0)], 9),
            [3, 3, 3]
        );
    }

    #[test]
    fn source_hash_sticks_and_moves_only_the_removed_share() {
        let all = cands(&[(1, 0), (1, 0), (1, 0)]);
        let mut b = Balancer::default();
        let clients: Vec<IpAddr> = (0..3000u32)
            .map(|i| IpAddr::from((0x0a00_0000u32 + i).to_be_bytes()))
            .collect();
        let first: Vec<String> = clients
            .iter()
            .map(|&ip| {
                all[b.pick(Algorithm::SourceHash, &all, ip).unwrap()]
                    .key
                    .clone()
            })
            .collect();
        let again: Vec<String> = clients
            .iter()
            .map(|&ip| {
                all[b.pick(Algorithm::SourceHash, &all, ip).unwrap()]
                    .key
                    .clone()
            })
            .collect();
        assert_eq!(first, again);
        let fewer: Vec<Candidate> = all.iter().filter(|c| c.id != 1).cloned().collect();
        let (mut moved, mut moved_others) = (0, 0);
        for (ip, before) in clients.iter().zip(&first) {
            let after = &fewer[b.pick(Algorithm::SourceHash, &fewer, *ip).unwrap()].key;
            if before != after {
                moved += 1;
                if before != &all[1].key {
                    moved_others += 1;
                }
            }
        }
        assert!((800..1200).contains(&moved), "{moved} of 3000 moved");
        assert!(
            moved_others < 60,
            "{moved_others} clients of kept backends moved"
        );
    }

    #[test]
    fn no_candidates_no_pick() {
        let mut b = Balancer::default();
        for a in [
            Algorithm::RoundRobin,
            Algorithm::LeastConnections,
            Algorithm::SourceHash,
        ] {
            assert_eq!(b.pick(a, &[], "192.0.2.1".parse().unwrap()), None);
        }
    }
}
