//! A hash table of prefixes that keeps neighbouring prefixes in neighbouring buckets.
//!
//! Peers send their tables in address order (BIRD, FRR and FerroLB walk theirs that way), so
//! an UPDATE carries runs of adjacent prefixes. Hashed at random, each of them lands in its own
//! cache line of a table far larger than the cache: a million prefixes cost a few million
//! memory stalls. Here a prefix's hash is a seeded hash of its *block* (the prefix without the
//! last [`BLOCK_BITS`] bits of its network part) plus its offset in the block, so the 64
//! prefixes of a block fill 64 consecutive buckets (four probe groups). The block's place
//! is still random per process, so a peer cannot aim prefixes at one spot of the table.
//!
//! The table is split into a fixed number of independently growing shards (chosen by the
//! block): a single table of a million prefixes doubles in one step, and while it rehashes the
//! old and the new table are both resident. Split into shards, each doubling moves one shard's
//! entries, so the peak exceeds the final size by one shard only.

use std::hash::BuildHasher;

use hashbrown::hash_table::{self, HashTable};
use ipnet::{Ipv4Net, Ipv6Net};

use super::prefix_map::FastState;

/// log2 of the number of prefixes in a block. A /24 block is a /18. Measured with a million
/// /24s sent in order: 16 prefixes per block took 8% longer than 64.
const BLOCK_BITS: u32 = 6;
const BLOCK_MASK: u64 = (1 << BLOCK_BITS) - 1;

/// log2 of the number of shards: 16 keeps the transient overhead of a doubling near 6% while
/// an empty table stays a few hundred bytes (a speaker holds many small ones).
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;

/// A key of a [`PrefixTable`]: a prefix split into its block and its offset in the block.
pub(crate) trait BlockKey: Copy + Eq {
    /// The block (network bits above the offset, and the prefix length) and the offset.
    fn block(&self) -> ((u128, u8), u64);
}

/// The network part of a prefix of `len` bits of the `width`-bit address `bits`, split into
/// block and offset.
fn split(bits: u128, width: u32, len: u8) -> ((u128, u8), u64) {
    let host = width.saturating_sub(u32::from(len));
    let network = bits.checked_shr(host).unwrap_or(0);
    ((network >> BLOCK_BITS, len), (network as u64) & BLOCK_MASK)
}

impl BlockKey for Ipv4Net {
    fn block(&self) -> ((u128, u8), u64) {
        split(u128::from(self.network().to_bits()), 32, self.prefix_len())
    }
}

impl BlockKey for Ipv6Net {
    fn block(&self) -> ((u128, u8), u64) {
        split(self.network().to_bits(), 128, self.prefix_len())
    }
}

/// A map from prefixes to `V`, sharded, with adjacent prefixes stored together.
#[derive(Debug, Clone)]
pub(crate) struct PrefixTable<K, V> {
    shards: Box<[HashTable<(K, V)>]>,
    seed: FastState,
}

impl<K, V> Default for PrefixTable<K, V> {
    fn default() -> Self {
        PrefixTable {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
            seed: FastState::default(),
        }
    }
}

/// Where a key lives: its shard and its hash in that shard's table.
///
/// The hash's low bits (the bucket index) are the block's seeded hash followed by the offset;
/// its top seven bits (hashbrown's tag byte) mix the offset in as well, so the members of a block
/// never share a tag and a probe compares one key, not sixteen.
fn place<K: BlockKey>(seed: &FastState, key: &K) -> (usize, u64) {
    let (block, offset) = key.block();
    let mixed = seed.hash_one(block);
    let tag = (offset.wrapping_mul(37) & 0x7f) << 57;
    let hash = ((mixed << BLOCK_BITS) | offset) ^ tag;
    // Bits 32.. of `mixed` reach neither the bucket index of a realistic table nor the tag.
    let shard = ((mixed >> 32) as usize) & (SHARDS - 1);
    (shard, hash)
}

impl<K: BlockKey, V> PrefixTable<K, V> {
    fn rehasher(seed: &FastState) -> impl Fn(&(K, V)) -> u64 + '_ {
        move |(k, _)| place(seed, k).1
    }

    /// The value stored for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let (shard, hash) = place(&self.seed, key);
        let (_, v) = self.shards.get(shard)?.find(hash, |(k, _)| k == key)?;
        Some(v)
    }

    /// The value stored for `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let (shard, hash) = place(&self.seed, key);
        let (_, v) = self
            .shards
            .get_mut(shard)?
            .find_mut(hash, |(k, _)| k == key)?;
        Some(v)
    }

    /// The entry of `key`, for in-place insertion or update.
    pub(crate) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let (shard, hash) = place(&self.seed, &key);
        let seed = &self.seed;
        // `place` returns an index below SHARDS, the length of `shards`.
        let table = &mut self.shards[shard];
        match table.entry(hash, |(k, _)| *k == key, Self::rehasher(seed)) {
            hash_table::Entry::Occupied(e) => Entry::Occupied(OccupiedEntry(e)),
            hash_table::Entry::Vacant(e) => Entry::Vacant(VacantEntry(e, key)),
        }
    }

    /// Inserts or replaces the value of `key`, returning the old one.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.entry(key) {
            Entry::Occupied(mut e) => Some(e.insert(value)),
            Entry::Vacant(e) => {
                e.insert(value);
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self.entry(*key) {
            Entry::Occupied(e) => Some(e.remove()),
            Entry::Vacant(_) => None,
        }
    }

    /// Shrinks every shard to its entries.
    pub(crate) fn shrink_to_fit(&mut self) {
        let seed = &self.seed;
        for s in self.shards.iter_mut() {
            s.shrink_to_fit(Self::rehasher(seed));
        }
    }
}

impl<K, V> PrefixTable<K, V> {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// True when there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(HashTable::is_empty)
    }

    /// Room for entries before the next growth, over all shards.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(HashTable::capacity).sum()
    }

    /// Every (key, value), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (k, v)))
    }

    /// Every value, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.shards
            .iter_mut()
            .flat_map(|s| s.iter_mut().map(|(_, v)| v))
    }
}

/// A key's place in a [`PrefixTable`], as [`std::collections::hash_map::Entry`].
pub(crate) enum Entry<'a, K, V> {
    /// The key is present.
    Occupied(OccupiedEntry<'a, K, V>),
    /// The key is absent.
    Vacant(VacantEntry<'a, K, V>),
}

/// A present key.
pub(crate) struct OccupiedEntry<'a, K, V>(hash_table::OccupiedEntry<'a, (K, V)>);

/// An absent key.
pub(crate) struct VacantEntry<'a, K, V>(hash_table::VacantEntry<'a, (K, V)>, K);

impl<'a, K, V> OccupiedEntry<'a, K, V> {
    /// The value.
    pub(crate) fn get(&self) -> &V {
        &self.0.get().1
    }

    /// The value, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut V {
        &mut self.0.get_mut().1
    }

    /// Replaces the value, returning the old one.
    pub(crate) fn insert(&mut self, value: V) -> V {
        std::mem::replace(self.get_mut(), value)
    }

    /// Removes the key, returning its value.
    pub(crate) fn remove(self) -> V {
        (self.0.remove().0).1
    }
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    /// Inserts the key with `value`.
    pub(crate) fn insert(self, value: V) -> &'a mut V {
        let VacantEntry(entry, key) = self;
        &mut entry.insert((key, value)).into_mut().1
    }
}

#[cfg(test)]
#[path = "prefix_table_tests.rs"]
mod tests;
