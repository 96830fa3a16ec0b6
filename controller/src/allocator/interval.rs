//! A set of addresses (as `u128`) stored as disjoint inclusive intervals, so
//! that a /8 with 100,000 holes costs 100,000 entries, not 16 million, and
//! "lowest member" and "remove one" are O(log n).

use std::collections::BTreeMap;

/// Disjoint, non-adjacent inclusive intervals `start -> end`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    intervals: BTreeMap<u128, u128>,
}

impl IntervalSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// The interval containing `x`, if any.
    fn interval_of(&self, x: u128) -> Option<(u128, u128)> {
        let (&start, &end) = self.intervals.range(..=x).next_back()?;
        (end >= x).then_some((start, end))
    }

    /// Whether `x` is a member.
    pub fn contains(&self, x: u128) -> bool {
        self.interval_of(x).is_some()
    }

    /// The lowest member.
    pub fn first(&self) -> Option<u128> {
        self.intervals.keys().next().copied()
    }

    /// Adds every value in `lo..=hi`, merging with overlapping and adjacent
    /// intervals. Does nothing if `lo > hi`.
    pub fn insert_range(&mut self, lo: u128, hi: u128) {
        if lo > hi {
            return;
        }
        let (mut start, mut end) = (lo, hi);
        // An interval starting at or before `lo` that reaches `lo - 1` or beyond.
        if let Some((&s, &e)) = self.intervals.range(..=lo).next_back() {
            if e.saturating_add(1) >= lo {
                start = s;
                end = end.max(e);
            }
        }
        // Every interval starting inside `start..=end + 1` is swallowed.
        loop {
            let next = match end.checked_add(1) {
                Some(limit) => self.intervals.range(start..=limit).next(),
                None => self.intervals.range(start..).next(),
            };
            let Some((&s, &e)) = next else { break };
            self.intervals.remove(&s);
            end = end.max(e);
        }
        self.intervals.insert(start, end);
    }

    /// Adds `x`.
    pub fn insert(&mut self, x: u128) {
        self.insert_range(x, x);
    }

    /// Removes `x`; returns whether it was a member.
    pub fn remove(&mut self, x: u128) -> bool {
        let Some((start, end)) = self.interval_of(x) else {
            return false;
        };
        self.intervals.remove(&start);
        if start < x {
            self.intervals.insert(start, x - 1);
        }
        if x < end {
            self.intervals.insert(x + 1, end);
        }
        true
    }

    /// The intervals, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.intervals.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[(u128, u128)]) -> IntervalSet {
        let mut s = IntervalSet::new();
        for &(lo, hi) in ranges {
            s.insert_range(lo, hi);
        }
        s
    }

    fn intervals(s: &IntervalSet) -> Vec<(u128, u128)> {
        s.iter().collect()
    }

    #[test]
    fn inserts_merge_overlapping_and_adjacent() {
        type Ranges = &'static [(u128, u128)];
        let table: &[(Ranges, Ranges)] = &[
            (&[(1, 3), (5, 7)], &[(1, 3), (5, 7)]),
            (&[(1, 3), (4, 7)], &[(1, 7)]),
            (&[(4, 7), (1, 3)], &[(1, 7)]),
            (&[(1, 10), (3, 4)], &[(1, 10)]),
            (&[(1, 2), (5, 6), (9, 10), (2, 9)], &[(1, 10)]),
            (
                &[(5, 6), (0, 0), (u128::MAX, u128::MAX)],
                &[(0, 0), (5, 6), (u128::MAX, u128::MAX)],
            ),
            (
                &[(u128::MAX - 1, u128::MAX), (0, u128::MAX - 2)],
                &[(0, u128::MAX)],
            ),
            (&[(3, 2)], &[]),
        ];
        for (input, want) in table {
            assert_eq!(intervals(&set(input)), *want, "{input:?}");
        }
    }

    #[test]
    fn remove_splits_intervals() {
        let mut s = set(&[(0, 10)]);
        assert!(s.remove(0));
        assert!(s.remove(5));
        assert!(s.remove(10));
        assert!(!s.remove(5));
        assert!(!s.remove(11));
        assert_eq!(intervals(&s), [(1, 4), (6, 9)]);
        assert_eq!(s.first(), Some(1));
        assert!(s.contains(4) && !s.contains(5) && s.contains(6));
        s.insert(5);
        assert_eq!(intervals(&s), [(1, 9)]);

        let mut full = set(&[(0, u128::MAX)]);
        assert!(full.remove(u128::MAX));
        assert!(full.remove(0));
        assert_eq!(intervals(&full), [(1, u128::MAX - 1)]);
    }

    #[test]
    fn empty_set() {
        let mut s = IntervalSet::new();
        assert!(s.is_empty());
        assert_eq!(s.first(), None);
        assert!(!s.contains(0));
        assert!(!s.remove(0));
    }
}
