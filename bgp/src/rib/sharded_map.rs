//! A hash map split into a fixed number of independently growing shards.
//!
//! A single hash table of a million prefixes doubles in one step, and while it rehashes the old
//! and the new table are both resident: the process's peak memory is half as large again as
//! the table it ends with. Split into shards, each doubling moves one shard's entries, so the
//! peak exceeds the final size by one shard only. Lookups pay one extra hash of the (small)
//! key to pick the shard.

use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

use super::prefix_map::{FastMap, FastState};

/// log2 of the number of shards: 16 keeps the transient overhead of a doubling near 6% while
/// an empty map stays a few hundred bytes (a speaker holds many small ones).
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;

/// A hash map of `SHARDS` shards, chosen by a hash with its own seed (the shards' tables use
/// the high bits of theirs for control bytes; sharing a seed would make those bits constant
/// within a shard).
#[derive(Debug, Clone)]
pub(crate) struct ShardedMap<K, V> {
    shards: Box<[FastMap<K, V>]>,
    selector: FastState,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| FastMap::default()).collect(),
            selector: FastState::default(),
        }
    }
}

impl<K: Eq + Hash, V> ShardedMap<K, V> {
    fn shard(&self, key: &K) -> &FastMap<K, V> {
        let i = self.index(key);
        // `index` is below SHARDS, the length of `shards`.
        &self.shards[i]
    }

    fn shard_mut(&mut self, key: &K) -> &mut FastMap<K, V> {
        let i = self.index(key);
        &mut self.shards[i]
    }

    fn index(&self, key: &K) -> usize {
        (self.selector.hash_one(key) >> (u64::BITS - SHARD_BITS)) as usize
    }

    /// The value stored for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.shard(key).get(key)
    }

    /// The value stored for `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shard_mut(key).get_mut(key)
    }

    /// The entry of `key`, for in-place insertion or update.
    pub(crate) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        self.shard_mut(&key).entry(key)
    }

    /// Inserts or replaces the value of `key`, returning the old one.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.shard_mut(&key).insert(key, value)
    }

    /// Removes `key`, returning its value.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.shard_mut(key).remove(key)
    }
}

impl<K, V> ShardedMap<K, V> {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(FastMap::len).sum()
    }

    /// True when there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(FastMap::is_empty)
    }

    /// Room for entries before the next growth, over all shards.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(FastMap::capacity).sum()
    }

    /// Every (key, value), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Every value, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.shards.iter_mut().flat_map(|s| s.values_mut())
    }
}

impl<K: Eq + Hash, V> ShardedMap<K, V> {
    /// Shrinks every shard to its entries.
    pub(crate) fn shrink_to_fit(&mut self) {
        for s in self.shards.iter_mut() {
            s.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_one_map() {
        let mut m: ShardedMap<u32, u32> = ShardedMap::default();
        assert!(m.is_empty());
        for k in 0..10_000 {
            assert_eq!(m.insert(k, k * 2), None);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.insert(7, 1), Some(14));
        assert_eq!(m.get(&7), Some(&1));
        *m.get_mut(&8).unwrap() += 1;
        assert_eq!(m.get(&8), Some(&17));
        match m.entry(20_000) {
            Entry::Vacant(v) => {
                v.insert(5);
            }
            Entry::Occupied(_) => panic!("20000 was never inserted"),
        }
        assert_eq!(m.len(), 10_001);
        assert_eq!(m.remove(&20_000), Some(5));
        assert_eq!(m.get(&20_000), None);
        let mut keys: Vec<u32> = m.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..10_000).collect::<Vec<_>>());
        for v in m.values_mut() {
            *v = 0;
        }
        assert!(m.iter().all(|(_, v)| *v == 0));
    }

    #[test]
    fn keys_spread_over_every_shard() {
        let mut m: ShardedMap<u32, ()> = ShardedMap::default();
        for k in 0..4_096 {
            m.insert(k, ());
        }
        for s in m.shards.iter() {
            // 256 expected per shard; a selector that ignored its seed or the key would
            // leave shards empty.
            assert!(s.len() > 128, "uneven shards: {}", s.len());
        }
    }

    #[test]
    fn growth_moves_one_shard_at_a_time() {
        let mut m: ShardedMap<u32, [u8; 20]> = ShardedMap::default();
        let mut largest_step = 0;
        let mut capacity = m.capacity();
        for k in 0..200_000 {
            m.insert(k, [0; 20]);
            let now = m.capacity();
            largest_step = largest_step.max(now - capacity);
            capacity = now;
        }
        // One table would have grown by its whole size (about 230k entries) in one step.
        assert!(
            largest_step * 4 < capacity,
            "largest growth {largest_step} of {capacity}"
        );
    }
}
