//! Hash-consing of attribute sets, so a million prefixes with one attribute set share one copy.
//!
//! Two levels: distinct [`PathAttributes`] values become one `Arc<PathAttributes>`, and each
//! (interned attributes, next hop) pair becomes one `Arc<PathData>`. Because an interned
//! attribute set is unique, the second level keys on its address, so a lookup hashes a
//! pointer and a next hop rather than the whole set.
//!
//! Nothing is freed eagerly: entries nobody else holds are swept when the tables have doubled
//! since the last sweep (amortised O(1) per insert), or when a caller asks after a mass removal.

use std::collections::HashSet;
use std::sync::Arc;

use crate::attribute::{NextHop, PathAttributes};

use super::path::PathData;
use super::prefix_map::{FastMap, FastState};

/// Below this many entries, sweeping is not worth a pass.
const MIN_SWEEP: usize = 1024;

/// An interner of attribute sets and (attribute set, next hop) pairs.
#[derive(Debug, Default)]
pub(crate) struct PathInterner {
    attributes: HashSet<Arc<PathAttributes>, FastState>,
    paths: FastMap<(usize, NextHop), Arc<PathData>>,
    sweep_at: usize,
}

impl PathInterner {
    /// The shared copy of `attributes`.
    pub(crate) fn attributes(&mut self, attributes: PathAttributes) -> Arc<PathAttributes> {
        if let Some(shared) = self.attributes.get(&attributes) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(attributes);
        self.attributes.insert(Arc::clone(&shared));
        self.maybe_sweep();
        shared
    }

    /// The shared path for an attribute set returned by [`PathInterner::attributes`] of this
    /// interner and a next hop.
    pub(crate) fn path(
        &mut self,
        attributes: &Arc<PathAttributes>,
        next_hop: NextHop,
    ) -> Arc<PathData> {
        // The map's value holds `attributes`, so its address cannot be reused while the key exists.
        let key = (Arc::as_ptr(attributes) as usize, next_hop);
        if let Some(path) = self.paths.get(&key) {
            return Arc::clone(path);
        }
        let path = Arc::new(PathData::new(Arc::clone(attributes), next_hop));
        self.paths.insert(key, Arc::clone(&path));
        self.maybe_sweep();
        path
    }

    /// Number of distinct attribute sets held.
    pub(crate) fn attribute_sets(&self) -> usize {
        self.attributes.len()
    }

    /// Drops every entry that only the interner still holds.
    pub(crate) fn sweep(&mut self) {
        // Paths first: they hold attribute sets.
        self.paths.retain(|_, p| Arc::strong_count(p) > 1);
        self.attributes.retain(|a| Arc::strong_count(a) > 1);
        self.sweep_at = (2 * self.attributes.len().max(self.paths.len())).max(MIN_SWEEP);
    }

    fn maybe_sweep(&mut self) {
        if self.attributes.len().max(self.paths.len()) >= self.sweep_at.max(MIN_SWEEP) {
            self.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::attribute::AsPath;

    fn attrs(asn: u32) -> PathAttributes {
        PathAttributes {
            as_path: Some(AsPath::from_sequence([asn])),
            ..PathAttributes::default()
        }
    }

    #[test]
    fn equal_sets_share_one_copy_and_unused_ones_are_swept() {
        let mut i = PathInterner::default();
        let a = i.attributes(attrs(65001));
        let b = i.attributes(attrs(65001));
        let c = i.attributes(attrs(65002));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let p1 = i.path(&a, nh);
        let p2 = i.path(&b, nh);
        let p3 = i.path(&a, NextHop::V4(Ipv4Addr::new(192, 0, 2, 2)));
        assert!(Arc::ptr_eq(&p1, &p2));
        assert!(!Arc::ptr_eq(&p1, &p3));
        assert_eq!(i.attribute_sets(), 2);

        drop((b, c, p2, p3));
        i.sweep();
        // `a` and `p1` are still held outside; the 65002 set and the second path are gone.
        assert_eq!(i.attribute_sets(), 1);
        assert_eq!(i.paths.len(), 1);
        drop((a, p1));
        i.sweep();
        assert_eq!(i.attribute_sets(), 0);
        assert_eq!(i.paths.len(), 0);
    }
}
