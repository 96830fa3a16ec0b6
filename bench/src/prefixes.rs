//! The benchmark's routes: `count` consecutive IPv4 prefixes of one length from a base address,
//! and a counter of the distinct ones a peer holds, kept in a bitmap indexed by position.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

/// The first prefix of every benchmark: 16.0.0.0 upward is ordinary unicast space, and a million
/// /24s (16.0.0.0/4) stay clear of 0/8, 10/8 and 127/8.
pub const DEFAULT_BASE: Ipv4Addr = Ipv4Addr::new(16, 0, 0, 0);

/// A set that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixSetError {
    /// The length is outside 8..=32.
    #[error("prefix length /{0} is not in /8../32")]
    Length(u8),
    /// The base has bits set beyond the prefix length.
    #[error("{base} is not the start of a /{len}")]
    Unaligned {
        /// The base address.
        base: Ipv4Addr,
        /// The prefix length.
        len: u8,
    },
    /// The prefixes would run past 255.255.255.255.
    #[error("{count} /{len} prefixes from {base} run past the end of the IPv4 space")]
    Overflow {
        /// The base address.
        base: Ipv4Addr,
        /// The prefix length.
        len: u8,
        /// The number of prefixes.
        count: u32,
    },
}

/// `count` consecutive prefixes of length `len` starting at `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixSet {
    base: u32,
    len: u8,
    count: u32,
}

impl PrefixSet {
    /// The set, checked to fit in the IPv4 space.
    pub fn new(base: Ipv4Addr, len: u8, count: u32) -> Result<PrefixSet, PrefixSetError> {
        if !(8..=32).contains(&len) {
            return Err(PrefixSetError::Length(len));
        }
        let base_bits = u32::from(base);
        let shift = 32 - u32::from(len);
        if base_bits.checked_shr(shift).unwrap_or(0).checked_shl(shift) != Some(base_bits) {
            return Err(PrefixSetError::Unaligned { base, len });
        }
        let end = u64::from(base_bits) + (u64::from(count) << shift);
        if end > 1 << 32 {
            return Err(PrefixSetError::Overflow { base, len, count });
        }
        Ok(PrefixSet {
            base: base_bits,
            len,
            count,
        })
    }

    /// How many prefixes.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Their length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    fn step_shift(&self) -> u32 {
        32 - u32::from(self.len)
    }

    /// Every prefix, in address order.
    pub fn iter(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        (0..self.count).filter_map(move |i| {
            let addr = self.base + (i << self.step_shift());
            Ipv4Net::new(Ipv4Addr::from(addr), self.len).ok()
        })
    }

    /// Every prefix as an [`IpNet`], as the UPDATE packer takes them.
    pub fn to_vec(&self) -> Vec<IpNet> {
        self.iter().map(IpNet::V4).collect()
    }

    /// The position of `prefix` in the set, if it belongs to it.
    pub fn index_of(&self, prefix: &IpNet) -> Option<u32> {
        let IpNet::V4(p) = prefix else { return None };
        if p.prefix_len() != self.len {
            return None;
        }
        let offset = u32::from(p.network()).checked_sub(self.base)?;
        let index = offset >> self.step_shift();
        (index < self.count).then_some(index)
    }
}

/// The distinct prefixes of a [`PrefixSet`] a peer currently has routes for.
///
/// Announcing a prefix twice (a new best path) counts once; a withdrawal removes it. Prefixes
/// outside the set are only tallied, as a sign that something else leaked in.
#[derive(Debug, Clone)]
pub struct PrefixCounter {
    set: PrefixSet,
    bits: Vec<u64>,
    held: u32,
    /// Announcements of prefixes outside the set.
    pub foreign: u64,
    /// Announcements received, repeats included.
    pub announcements: u64,
    /// Withdrawals received, repeats included.
    pub withdrawals: u64,
}

impl PrefixCounter {
    /// An empty counter for `set`.
    pub fn new(set: PrefixSet) -> PrefixCounter {
        let words = usize::try_from(set.count().div_ceil(64)).unwrap_or(usize::MAX);
        PrefixCounter {
            set,
            bits: vec![0; words],
            held: 0,
            foreign: 0,
            announcements: 0,
            withdrawals: 0,
        }
    }

    fn slot(&self, prefix: &IpNet) -> Option<(usize, u64)> {
        let index = self.set.index_of(prefix)?;
        let word = usize::try_from(index / 64).ok()?;
        Some((word, 1u64 << (index % 64)))
    }

    /// Records an announcement.
    pub fn announce(&mut self, prefix: &IpNet) {
        self.announcements += 1;
        let Some((word, bit)) = self.slot(prefix) else {
            self.foreign += 1;
            return;
        };
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                self.held += 1;
            }
        }
    }

    /// Records a withdrawal.
    pub fn withdraw(&mut self, prefix: &IpNet) {
        self.withdrawals += 1;
        let Some((word, bit)) = self.slot(prefix) else {
            return;
        };
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit != 0 {
                *w &= !bit;
                self.held -= 1;
            }
        }
    }

    /// Distinct prefixes of the set held now.
    pub fn held(&self) -> u32 {
        self.held
    }

    /// Whether every prefix of the set is held.
    pub fn is_complete(&self) -> bool {
        self.held == self.set.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn sets_are_checked_to_fit() {
        let cases = [
            ("16.0.0.0", 24, 1_000_000, true),
            ("16.0.0.0", 24, 15 * (1 << 24) / 16, true),
            ("255.255.255.0", 24, 1, true),
            ("255.255.255.0", 24, 2, false),
            ("16.0.0.1", 24, 1, false),
            ("16.0.0.1", 32, 5, true),
            ("16.0.0.0", 7, 1, false),
            ("16.0.0.0", 33, 1, false),
            ("0.0.0.0", 8, 256, true),
        ];
        for (base, len, count, ok) in cases {
            let got = PrefixSet::new(base.parse().unwrap(), len, count);
            assert_eq!(got.is_ok(), ok, "{base}/{len} x {count}: {got:?}");
        }
    }

    #[test]
    fn prefixes_are_consecutive_and_indexed_by_position() {
        let set = PrefixSet::new(DEFAULT_BASE, 24, 300).unwrap();
        let all = set.to_vec();
        assert_eq!(all.len(), 300);
        assert_eq!(all[0], net("16.0.0.0/24"));
        assert_eq!(all[299], net("16.1.43.0/24"));
        for (i, p) in all.iter().enumerate() {
            assert_eq!(set.index_of(p), Some(i as u32));
        }
        let outside = [
            "16.1.44.0/24",
            "15.255.255.0/24",
            "16.0.0.0/23",
            "16.0.0.0/32",
            "2001:db8::/48",
        ];
        for p in outside {
            assert_eq!(set.index_of(&net(p)), None, "{p}");
        }
        let hosts = PrefixSet::new(DEFAULT_BASE, 32, 3).unwrap().to_vec();
        assert_eq!(
            hosts,
            vec![net("16.0.0.0/32"), net("16.0.0.1/32"), net("16.0.0.2/32")]
        );
    }

    #[test]
    fn the_counter_holds_distinct_prefixes() {
        let set = PrefixSet::new(DEFAULT_BASE, 24, 130).unwrap();
        let mut c = PrefixCounter::new(set);
        let all = set.to_vec();
        for p in &all[..100] {
            c.announce(p);
        }
        // A second path for the same prefixes changes nothing.
        for p in &all[..100] {
            c.announce(p);
        }
        assert_eq!((c.held(), c.is_complete()), (100, false));
        c.withdraw(&all[0]);
        c.withdraw(&all[0]);
        c.withdraw(&all[129]);
        assert_eq!(c.held(), 99);
        for p in &all {
            c.announce(p);
        }
        c.announce(&net("10.0.0.0/24"));
        assert_eq!((c.held(), c.is_complete()), (130, true));
        assert_eq!(c.foreign, 1);
        assert_eq!(c.announcements, 100 + 100 + 130 + 1);
        assert_eq!(c.withdrawals, 3);
    }
}
