//! Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table in which every
//! backend owns a share of slots proportional to its weight, built so that adding or removing
//! one backend moves (almost) only the slots that backend gains or loses.

/// Table size: a prime well above the backend counts a frontend has, so shares are even.
pub const TABLE_SIZE: usize = 65_537;

const EMPTY: u32 = u32::MAX;

/// A backend's entry in the table: a stable key (its address) and a weight (at least 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What identifies the backend across rebuilds, e.g. `192.0.2.1:6443`.
    pub key: String,
    /// Relative share of slots.
    pub weight: u32,
}

/// A built lookup table; slots hold indexes into the entries it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaglevTable {
    slots: Vec<u32>,
}

/// 64-bit FNV-1a with a seed folded in first: stable across runs, releases and hosts, so
/// every router of a group maps a client to the same backend.
pub fn hash(seed: u64, data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche (from SplitMix64) so nearby inputs land far apart.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl MaglevTable {
    /// Builds a table of [`TABLE_SIZE`] slots for `entries`; empty when there are none.
    pub fn build(entries: &[Entry]) -> MaglevTable {
        Self::build_sized(entries, TABLE_SIZE)
    }

    /// `size` must be prime: every backend's permutation then visits every slot, which is
    /// what ends the search for a free one.
    fn build_sized(entries: &[Entry], size: usize) -> MaglevTable {
        let weights: Vec<u64> = entries.iter().map(|e| u64::from(e.weight.max(1))).collect();
        if entries.is_empty() || size < 2 {
            return MaglevTable { slots: Vec::new() };
        }
        let m = size as u64;
        let perms: Vec<(u64, u64)> = entries
            .iter()
            .map(|e| {
                let offset = hash(1, e.key.as_bytes()) % m;
                let skip = hash(2, e.key.as_bytes()) % (m - 1) + 1;
                (offset, skip)
            })
            .collect();
        let max_weight = weights.iter().copied().max().unwrap_or(1);
        let mut next = vec![0u64; entries.len()];
        let mut slots = vec![EMPTY; size];
        let mut filled = 0usize;
        // Each round every backend takes up to `weight` turns, in order of weight credit, so
        // shares follow weights; each turn claims the backend's next free preferred slot.
        let mut credit = vec![0u64; entries.len()];
        'fill: loop {
            for (i, (offset, skip)) in perms.iter().enumerate() {
                credit[i] += weights[i];
                while credit[i] >= max_weight {
                    credit[i] -= max_weight;
                    loop {
                        let slot = ((offset + next[i] * skip) % m) as usize;
                        next[i] += 1;
                        if let Some(s) = slots.get_mut(slot) {
                            if *s == EMPTY {
                                *s = i as u32;
                                filled += 1;
                                break;
                            }
                        }
                    }
                    if filled == size {
                        break 'fill;
                    }
                }
            }
        }
        MaglevTable { slots }
    }

    /// The entry index owning `key_hash`, `None` for an empty table.
    pub fn lookup(&self, key_hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = (key_hash % self.slots.len() as u64) as usize;
        self.slots.get(slot).map(|&i| i as usize)
    }

    /// How many slots each entry owns (for tests and diagnostics).
    pub fn shares(&self, entries: usize) -> Vec<usize> {
        let mut shares = vec![0; entries];
        for &s in &self.slots {
            if let Some(c) = shares.get_mut(s as usize) {
                *c += 1;
            }
        }
        shares
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[(&str, u32)]) -> Vec<Entry> {
        keys.iter()
            .map(|(k, w)| Entry {
                key: (*k).to_owned(),
                weight: *w,
            })
            .collect()
    }

    #[test]
    fn shares_follow_weights() {
        // (backends, expected share ratios)
        let cases: [&[(&str, u32)]; 3] = [
            &[("a:1", 1), ("b:1", 1), ("c:1", 1)],
            &[("a:1", 1), ("b:1", 2), ("c:1", 1)],
            &[("a:1", 5), ("b:1", 1)],
        ];
        for case in cases {
            let t = MaglevTable::build(&entries(case));
            let shares = t.shares(case.len());
            let total_weight: u32 = case.iter().map(|c| c.1).sum();
            for (i, (_, w)) in case.iter().enumerate() {
                let expected = TABLE_SIZE as f64 * f64::from(*w) / f64::from(total_weight);
                let got = shares[i] as f64;
                assert!(
                    (got - expected).abs() / expected < 0.02,
                    "{case:?}: entry {i} has {got}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn removing_one_backend_moves_little_else() {
        let before = entries(&[("a:1", 1), ("b:1", 1), ("c:1", 1), ("d:1", 1)]);
        let after = entries(&[("a:1", 1), ("b:1", 1), ("d:1", 1)]);
        let t1 = MaglevTable::build(&before);
        let t2 = MaglevTable::build(&after);
        let mut moved_other = 0;
        for slot in 0..TABLE_SIZE as u64 {
            let a = &before[t1.lookup(slot).unwrap()].key;
            let b = &after[t2.lookup(slot).unwrap()].key;
            if a != "c:1" && a != b {
                moved_other += 1;
            }
        }
        // Maglev trades a little disruption for balance; well under 5% of the rest move.
        assert!(moved_other < TABLE_SIZE / 20, "{moved_other} slots moved");
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(MaglevTable::build(&[]).lookup(7), None);
        let t = MaglevTable::build_sized(&entries(&[("a:1", 3)]), 7);
        assert!((0..20).all(|h| t.lookup(h) == Some(0)));
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash(0, b"10.0.0.1"), hash(0, b"10.0.0.1"));
        assert_ne!(hash(0, b"10.0.0.1"), hash(0, b"10.0.0.2"));
        assert_ne!(hash(1, b"x"), hash(2, b"x"));
    }
}
