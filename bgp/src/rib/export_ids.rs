//! Four-byte handles to the exported paths of one Adj-RIB-Out.
//!
//! An Adj-RIB-Out remembers, for every advertised prefix, which exported path (attribute set and
//! next hop) the peer has. Storing an [`ExportId`] instead of an `Arc<PathData>` there makes an
//! IPv4 entry 9 bytes instead of 16 (a 10-byte hash bucket instead of 17), which at a million
//! prefixes is about 15 MB less, and a smaller table to miss the cache in.

use std::sync::Arc;

use super::path::PathData;
use super::prefix_map::FastMap;

/// A handle to an exported path of one [`ExportIds`] table. Byte array rather than `u32` so
/// that a map entry keyed by a 5-byte IPv4 prefix needs no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ExportId([u8; 4]);

impl ExportId {
    fn index(self) -> usize {
        u32::from_le_bytes(self.0) as usize
    }
}

/// One slot: the exported path and how many advertised prefixes use it.
#[derive(Debug)]
struct Slot {
    path: Arc<PathData>,
    users: usize,
}

/// The exported paths of one Adj-RIB-Out, each with an id and a count of the prefixes using it.
#[derive(Debug, Default)]
pub(crate) struct ExportIds {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Exported path (by address, kept alive by its slot) to its id.
    by_path: FastMap<usize, ExportId>,
}

impl ExportIds {
    /// The id of `path`, allocating one for a path not seen yet; `None` only when four billion
    /// distinct exported paths are alive.
    pub(crate) fn id(&mut self, path: &Arc<PathData>) -> Option<ExportId> {
        let key = Arc::as_ptr(path) as usize;
        if let Some(id) = self.by_path.get(&key) {
            return Some(*id);
        }
        let slot = Slot {
            path: Arc::clone(path),
            users: 0,
        };
        let index = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(slot);
                }
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(Some(slot));
                i
            }
        };
        let id = ExportId(index.to_le_bytes());
        self.by_path.insert(key, id);
        Some(id)
    }

    /// The exported path behind an id.
    pub(crate) fn path(&self, id: ExportId) -> Option<&Arc<PathData>> {
        Some(&self.slots.get(id.index())?.as_ref()?.path)
    }

    /// One more advertised prefix uses `id`.
    pub(crate) fn acquire(&mut self, id: ExportId) {
        if let Some(Some(s)) = self.slots.get_mut(id.index()) {
            s.users += 1;
        }
    }

    /// One advertised prefix less uses `id`.
    pub(crate) fn release(&mut self, id: ExportId) {
        if let Some(Some(s)) = self.slots.get_mut(id.index()) {
            s.users = s.users.saturating_sub(1);
        }
    }

    /// No prefix is advertised any more.
    pub(crate) fn release_all(&mut self) {
        for s in self.slots.iter_mut().flatten() {
            s.users = 0;
        }
    }

    /// Frees the slots no advertised prefix uses, except those `keep` names (still cached).
    pub(crate) fn sweep(&mut self, keep: impl Fn(ExportId) -> bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            let id = ExportId(index.to_le_bytes());
            if slot.as_ref().is_some_and(|s| s.users == 0 && !keep(id)) {
                if let Some(s) = slot.take() {
                    self.by_path.remove(&(Arc::as_ptr(&s.path) as usize));
                }
                self.free.push(index);
            }
        }
    }

    /// Number of live exported paths.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_path.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::attribute::{NextHop, PathAttributes};

    fn path(last: u8) -> Arc<PathData> {
        Arc::new(PathData::new(
            Arc::new(PathAttributes::default()),
            NextHop::V4(Ipv4Addr::new(192, 0, 2, last)),
        ))
    }

    #[test]
    fn an_ipv4_entry_has_no_padding() {
        assert_eq!(std::mem::size_of::<(ipnet::Ipv4Net, ExportId)>(), 9);
    }

    #[test]
    fn ids_are_shared_counted_and_reused_after_a_sweep() {
        let mut ids = ExportIds::default();
        let (a, b) = (path(1), path(2));
        let ia = ids.id(&a).unwrap();
        assert_eq!(ids.id(&a), Some(ia));
        let ib = ids.id(&b).unwrap();
        assert_ne!(ia, ib);
        assert!(Arc::ptr_eq(ids.path(ia).unwrap(), &a));

        ids.acquire(ia);
        ids.acquire(ib);
        ids.release(ib);
        // `b` is unused but still cached: kept; `a` is in use: kept.
        ids.sweep(|id| id == ib);
        assert_eq!(ids.len(), 2);
        ids.sweep(|_| false);
        assert_eq!(ids.len(), 1);
        assert!(ids.path(ib).is_none());
        // The freed slot is reused for the next new path.
        let c = path(3);
        assert_eq!(ids.id(&c), Some(ib));
        assert!(Arc::ptr_eq(ids.path(ib).unwrap(), &c));

        ids.release_all();
        ids.sweep(|_| false);
        assert_eq!(ids.len(), 0);
    }
}
