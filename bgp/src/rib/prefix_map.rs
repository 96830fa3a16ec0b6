//! Per-family prefix maps: the storage layout shared by the RIB tables.
//!
//! IPv4 and IPv6 prefixes live in separate maps keyed by `Ipv4Net` (5 bytes) and `Ipv6Net`
//! (17 bytes) rather than by `IpNet`, which keeps hash buckets small. Keys are always
//! normalised (host bits cleared) so `10.0.0.1/24` and `10.0.0.0/24` are one prefix.

use std::collections::HashMap;
use std::hash::Hash;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::prefix_table::{BlockKey, PrefixTable};
use crate::types::AddressFamily;

/// The hasher of every RIB map: fast on small keys and seeded per process, so a peer cannot
/// precompute colliding prefixes.
pub(crate) type FastState = foldhash::fast::RandomState;

/// A `HashMap` with [`FastState`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

/// One map per address family.
#[derive(Debug, Clone)]
pub(crate) struct FamilyMaps<V> {
    pub(crate) v4: PrefixTable<Ipv4Net, V>,
    pub(crate) v6: PrefixTable<Ipv6Net, V>,
}

impl<V> Default for FamilyMaps<V> {
    fn default() -> Self {
        FamilyMaps {
            v4: PrefixTable::default(),
            v6: PrefixTable::default(),
        }
    }
}

impl<V> FamilyMaps<V> {
    /// Number of prefixes of both families.
    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// The value stored for a prefix.
    pub(crate) fn get(&self, prefix: &IpNet) -> Option<&V> {
        match prefix {
            IpNet::V4(p) => self.v4.get(&p.trunc()),
            IpNet::V6(p) => self.v6.get(&p.trunc()),
        }
    }

    /// Every (prefix, value), IPv4 first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let v4 = self.v4.iter().map(|(p, v)| (IpNet::V4(*p), v));
        let v6 = self.v6.iter().map(|(p, v)| (IpNet::V6(*p), v));
        v4.chain(v6)
    }

    /// Gives memory back after a large removal (see [`PrefixTable::shrink_if_sparse`]).
    pub(crate) fn shrink_if_sparse(&mut self) {
        self.v4.shrink_if_sparse();
        self.v6.shrink_if_sparse();
    }
}

/// A prefix type with its own map in [`FamilyMaps`].
pub(crate) trait Prefix: BlockKey + Hash + Into<IpNet> + std::fmt::Debug {
    /// The family of this prefix type.
    const FAMILY: AddressFamily;

    /// This family's map.
    fn map<V>(maps: &FamilyMaps<V>) -> &PrefixTable<Self, V>;

    /// This family's map, mutably.
    fn map_mut<V>(maps: &mut FamilyMaps<V>) -> &mut PrefixTable<Self, V>;
}

impl Prefix for Ipv4Net {
    const FAMILY: AddressFamily = AddressFamily::Ipv4Unicast;

    fn map<V>(maps: &FamilyMaps<V>) -> &PrefixTable<Self, V> {
        &maps.v4
    }

    fn map_mut<V>(maps: &mut FamilyMaps<V>) -> &mut PrefixTable<Self, V> {
        &mut maps.v4
    }
}

impl Prefix for Ipv6Net {
    const FAMILY: AddressFamily = AddressFamily::Ipv6Unicast;

    fn map<V>(maps: &FamilyMaps<V>) -> &PrefixTable<Self, V> {
        &maps.v6
    }

    fn map_mut<V>(maps: &mut FamilyMaps<V>) -> &mut PrefixTable<Self, V> {
        &mut maps.v6
    }
}

/// Below this many blocks (64 prefixes each) an index's growth leaves too little behind to be
/// worth a trim.
const TRIM_MIN_CAPACITY: usize = 1 << 10;

impl<V> FamilyMaps<V> {
    /// Room of both maps' block indexes, in blocks.
    pub(crate) fn capacity(&self) -> usize {
        self.v4.capacity() + self.v6.capacity()
    }

    /// Call after an operation that started with [`FamilyMaps::capacity`] `before`: when a
    /// large block index grew, the index it outgrew has just been freed, and is handed back to
    /// the operating system rather than left resident in the heap.
    pub(crate) fn release_outgrown(&self, before: usize) {
        let after = self.capacity();
        if after > before && after >= TRIM_MIN_CAPACITY {
            release_free_heap();
        }
    }
}

/// Returns the allocator's free heap pages to the operating system. glibc keeps freed chunks
/// below its (adaptive, up to 32 MiB) mmap threshold resident, so every doubling of a large hash
/// table would otherwise leave the old table's pages counted in the process's memory.
fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's arenas; it has no
    // preconditions and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
