//! A table of prefixes that stores neighbouring prefixes together.
//!
//! Peers send their tables in address order (BIRD, FRR and FerroLB walk theirs that way), so
//! an UPDATE carries runs of adjacent prefixes. Hashed one by one, each of them lands in its own
//! cache line of a table far larger than the cache, and a million prefixes cost a few million
//! memory stalls. Here a prefix belongs to a *block*: the prefixes of its length that differ
//! only in the last [`BLOCK_BITS`] bits of their network part (64 /24s make a block, a /18's
//! worth). A hash table, seeded per process so a peer cannot aim at one spot, maps each block
//! to its entries, kept in a vector in offset order with a bitmap of the offsets present. Runs
//! of adjacent prefixes then touch one block and one vector, and the hash table holds one entry
//! per block, so it stays small, grows rarely and never holds two copies of the whole table.

use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table::{self, HashTable};
use ipnet::{Ipv4Net, Ipv6Net};

use super::prefix_map::FastState;

/// log2 of the number of prefixes in a block (the width of its bitmap).
const BLOCK_BITS: u32 = 6;

/// A key of a [`PrefixTable`]: a prefix, split into its block and its offset in the block.
pub(crate) trait BlockKey: Copy + Eq {
    /// Identifies a block: the network bits above the offset, and the prefix length.
    type Block: Copy + Eq + Hash + std::fmt::Debug;

    /// The block and the offset (below 2^[`BLOCK_BITS`]).
    fn block(&self) -> (Self::Block, u32);
}

/// The network part of a prefix of `len` bits of the `width`-bit address `bits`, split into
/// the bits above the offset and the offset.
fn split(bits: u128, width: u32, len: u8) -> (u128, u32) {
    let host = width.saturating_sub(u32::from(len));
    let network = bits.checked_shr(host).unwrap_or(0);
    let mask = (1u128 << BLOCK_BITS) - 1;
    // The mask keeps the offset below 2^BLOCK_BITS, which fits a u32.
    (network >> BLOCK_BITS, (network & mask) as u32)
}

impl BlockKey for Ipv4Net {
    type Block = (u32, u8);

    fn block(&self) -> ((u32, u8), u32) {
        let len = self.prefix_len();
        let (high, offset) = split(u128::from(self.network().to_bits()), 32, len);
        // At most 32 bits of address, shifted right: fits a u32.
        ((high as u32, len), offset)
    }
}

impl BlockKey for Ipv6Net {
    type Block = (u128, u8);

    fn block(&self) -> ((u128, u8), u32) {
        let len = self.prefix_len();
        let (high, offset) = split(self.network().to_bits(), 128, len);
        ((high, len), offset)
    }
}

/// The entries of one block.
#[derive(Debug, Clone)]
struct Block<K: BlockKey, V> {
    id: K::Block,
    /// Bit `i` set: the prefix at offset `i` is present. Entries are in offset order, so the
    /// index of offset `i` is the number of lower bits set.
    present: u64,
    /// Never empty: a block without entries leaves the table.
    entries: Vec<(K, V)>,
}

impl<K: BlockKey, V> Block<K, V> {
    /// Where offset `offset` is or would go in `entries`, and whether it is present.
    fn slot(&self, offset: u32) -> (usize, bool) {
        let bit = 1u64 << offset;
        let below = self.present & (bit - 1);
        (below.count_ones() as usize, self.present & bit != 0)
    }
}

/// A map from prefixes (of one family) to `V`, adjacent prefixes stored together.
#[derive(Debug, Clone)]
pub(crate) struct PrefixTable<K: BlockKey, V> {
    blocks: HashTable<Block<K, V>>,
    seed: FastState,
    len: usize,
}

impl<K: BlockKey, V> Default for PrefixTable<K, V> {
    fn default() -> Self {
        PrefixTable {
            blocks: HashTable::new(),
            seed: FastState::default(),
            len: 0,
        }
    }
}

impl<K: BlockKey, V> PrefixTable<K, V> {
    /// The value stored for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let (id, offset) = key.block();
        let block = self.blocks.find(self.seed.hash_one(id), |b| b.id == id)?;
        match block.slot(offset) {
            (index, true) => block.entries.get(index).map(|(_, v)| v),
            (_, false) => None,
        }
    }

    /// The value stored for `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let (id, offset) = key.block();
        let block = self
            .blocks
            .find_mut(self.seed.hash_one(id), |b| b.id == id)?;
        match block.slot(offset) {
            (index, true) => block.entries.get_mut(index).map(|(_, v)| v),
            (_, false) => None,
        }
    }

    /// The entry of `key`, for in-place insertion or update.
    pub(crate) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let (id, offset) = key.block();
        let seed = &self.seed;
        let len = &mut self.len;
        let found = self
            .blocks
            .entry(seed.hash_one(id), |b| b.id == id, |b| seed.hash_one(b.id));
        match found {
            hash_table::Entry::Occupied(block) => match block.get().slot(offset) {
                (index, true) => Entry::Occupied(OccupiedEntry { block, index, len }),
                (index, false) => Entry::Vacant(VacantEntry {
                    key,
                    len,
                    slot: Slot::InBlock(block, index, offset),
                }),
            },
            hash_table::Entry::Vacant(room) => Entry::Vacant(VacantEntry {
                key,
                len,
                slot: Slot::NewBlock(room, id, offset),
            }),
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

    /// Gives memory back after a large removal, when at most a quarter of the block index is
    /// used; every block's vector is trimmed to its entries then too.
    pub(crate) fn shrink_if_sparse(&mut self) {
        if self.blocks.len() * 4 >= self.blocks.capacity() {
            return;
        }
        let seed = &self.seed;
        self.blocks.shrink_to_fit(|b| seed.hash_one(b.id));
        for b in self.blocks.iter_mut() {
            b.entries.shrink_to_fit();
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room in the block index before it next grows (in blocks).
    pub(crate) fn capacity(&self) -> usize {
        self.blocks.capacity()
    }

    /// Every (key, value): block by block in no particular order, in address order within one.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.blocks
            .iter()
            .flat_map(|b| b.entries.iter().map(|(k, v)| (k, v)))
    }

    /// Every value, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.blocks
            .iter_mut()
            .flat_map(|b| b.entries.iter_mut().map(|(_, v)| v))
    }
}

/// A key's place in a [`PrefixTable`], as [`std::collections::hash_map::Entry`].
pub(crate) enum Entry<'a, K: BlockKey, V> {
    /// The key is present.
    Occupied(OccupiedEntry<'a, K, V>),
    /// The key is absent.
    Vacant(VacantEntry<'a, K, V>),
}

/// A present key.
pub(crate) struct OccupiedEntry<'a, K: BlockKey, V> {
    block: hash_table::OccupiedEntry<'a, Block<K, V>>,
    index: usize,
    len: &'a mut usize,
}

/// An absent key.
pub(crate) struct VacantEntry<'a, K: BlockKey, V> {
    key: K,
    len: &'a mut usize,
    slot: Slot<'a, K, V>,
}

/// Where an absent key goes: into its existing block at an index, or into a new block.
enum Slot<'a, K: BlockKey, V> {
    InBlock(hash_table::OccupiedEntry<'a, Block<K, V>>, usize, u32),
    NewBlock(hash_table::VacantEntry<'a, Block<K, V>>, K::Block, u32),
}

impl<'a, K: BlockKey, V> OccupiedEntry<'a, K, V> {
    fn pair(&self) -> &(K, V) {
        // `index` was found present when the entry was made, and the entry holds the block
        // exclusively since.
        &self.block.get().entries[self.index]
    }

    /// The value.
    pub(crate) fn get(&self) -> &V {
        &self.pair().1
    }

    /// The value, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut V {
        &mut self.block.get_mut().entries[self.index].1
    }

    /// Replaces the value, returning the old one.
    pub(crate) fn insert(&mut self, value: V) -> V {
        std::mem::replace(self.get_mut(), value)
    }

    /// Removes the key, returning its value; an emptied block leaves the table.
    pub(crate) fn remove(mut self) -> V {
        *self.len -= 1;
        let block = self.block.get_mut();
        let (key, value) = block.entries.remove(self.index);
        block.present &= !(1u64 << key.block().1);
        if block.entries.is_empty() {
            self.block.remove();
        }
        value
    }
}

impl<'a, K: BlockKey, V> VacantEntry<'a, K, V> {
    /// Inserts the key with `value`.
    pub(crate) fn insert(self, value: V) -> &'a mut V {
        *self.len += 1;
        let (block, index) = match self.slot {
            Slot::InBlock(block, index, offset) => {
                let block = block.into_mut();
                block.present |= 1u64 << offset;
                block.entries.insert(index, (self.key, value));
                (block, index)
            }
            Slot::NewBlock(room, id, offset) => {
                let block = room
                    .insert(Block {
                        id,
                        present: 1u64 << offset,
                        entries: vec![(self.key, value)],
                    })
                    .into_mut();
                (block, 0)
            }
        };
        &mut block.entries[index].1
    }
}

#[cfg(test)]
#[path = "prefix_table_tests.rs"]
mod tests;
