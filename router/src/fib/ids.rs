//! Nexthop ids: FerroLB picks the ids of its nexthop objects and groups itself.

use std::collections::BTreeSet;

use super::NEXTHOP_ID_BASE;

/// Hands out nexthop ids from [`NEXTHOP_ID_BASE`] up, never one in use, reserved (taken by
/// another program or left over from a previous run) or released during the current plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdPool {
    used: BTreeSet<u32>,
    reserved: BTreeSet<u32>,
    /// Released during the current plan: their objects are deleted at the end of the batch,
    /// after any new object of the same batch was created, so they cannot be reused yet.
    pending: Vec<u32>,
    next: u32,
}

impl IdPool {
    /// A free id, marked used.
    pub fn allocate(&mut self) -> u32 {
        let mut candidate = self.next.max(NEXTHOP_ID_BASE);
        // Terminates: far fewer ids are ever in use or reserved than u32 has.
        while self.used.contains(&candidate) || self.reserved.contains(&candidate) {
            candidate = candidate.checked_add(1).unwrap_or(NEXTHOP_ID_BASE);
        }
        self.used.insert(candidate);
        self.next = candidate.checked_add(1).unwrap_or(NEXTHOP_ID_BASE);
        candidate
    }

    /// Marks `id` free once the current plan is committed.
    pub fn release(&mut self, id: u32) {
        self.pending.push(id);
    }

    /// Makes the ids released during the plan available again, lowest first.
    pub fn commit(&mut self) {
        for id in self.pending.drain(..) {
            self.used.remove(&id);
            self.next = self.next.min(id);
        }
    }

    /// Keeps `id` from being handed out until [`IdPool::unreserve`].
    pub fn reserve(&mut self, id: u32) {
        self.reserved.insert(id);
    }

    /// Allows `id` again.
    pub fn unreserve(&mut self, id: u32) {
        self.reserved.remove(&id);
        self.next = self.next.min(id);
    }

    /// Keeps only the reservations `keep` accepts.
    pub fn retain_reserved(&mut self, keep: impl Fn(u32) -> bool) {
        let dropped: Vec<u32> = self
            .reserved
            .iter()
            .copied()
            .filter(|id| !keep(*id))
            .collect();
        for id in dropped {
            self.unreserve(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_skip_used_and_reserved_and_are_reused_after_commit() {
        let base = NEXTHOP_ID_BASE;
        let mut pool = IdPool::default();
        pool.reserve(base + 1);
        assert_eq!(pool.allocate(), base);
        assert_eq!(pool.allocate(), base + 2);
        pool.release(base);
        // Not before the plan is committed.
        assert_eq!(pool.allocate(), base + 3);
        pool.commit();
        assert_eq!(pool.allocate(), base);
        assert_eq!(pool.allocate(), base + 4);
        pool.unreserve(base + 1);
        assert_eq!(pool.allocate(), base + 1);
    }
}
