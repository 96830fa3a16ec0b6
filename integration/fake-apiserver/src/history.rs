//! The bounded event history behind watches and consistent paginated lists
//! (the role etcd's revision history and the watch cache play for the real server).

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use crate::status::GroupResource;

/// Identity of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The resource type (group + plural).
    pub resource: GroupResource,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object changed.
    Modified,
    /// The object was removed.
    Deleted,
}

impl EventType {
    /// The `type` string of a watch event.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object, at one resourceVersion.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// Which object changed.
    pub key: ObjectKey,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for `Deleted`: its last state, at `rv`).
    pub object: Arc<Value>,
    /// The object before the change (`None` for `Added`).
    pub prev: Option<Arc<Value>>,
}

/// Changes retained after `floor`, oldest first.
#[derive(Debug)]
pub struct History {
    events: VecDeque<HistoryEvent>,
    capacity: usize,
    /// Every change with a resourceVersion greater than this is retained.
    floor: u64,
}

/// A requested resourceVersion older than the retained history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    /// The requested resourceVersion.
    pub requested: u64,
    /// The oldest resourceVersion still served.
    pub oldest: u64,
}

impl History {
    /// An empty history keeping at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::new(),
            capacity: capacity.max(1),
            floor: 0,
        }
    }

    /// Records a change, dropping the oldest one when full.
    pub fn push(&mut self, ev: HistoryEvent) {
        self.events.push_back(ev);
        while self.events.len() > self.capacity {
            if let Some(old) = self.events.pop_front() {
                self.floor = old.rv;
            }
        }
    }

    /// Forgets every change up to and including `rv` (etcd compaction).
    pub fn compact(&mut self, rv: u64) {
        while self.events.front().is_some_and(|e| e.rv <= rv) {
            self.events.pop_front();
        }
        self.floor = self.floor.max(rv);
    }

    /// Whether every change after `rv` is still retained.
    pub fn covers(&self, rv: u64) -> Result<(), TooOld> {
        if rv < self.floor {
            Err(TooOld {
                requested: rv,
                oldest: self.floor,
            })
        } else {
            Ok(())
        }
    }

    /// The changes after `rv`, oldest first, or `TooOld` if some were forgotten.
    pub fn since(&self, rv: u64) -> Result<impl Iterator<Item = &HistoryEvent>, TooOld> {
        self.covers(rv)?;
        let start = self.events.partition_point(|e| e.rv <= rv);
        Ok(self.events.range(start..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(rv: u64) -> HistoryEvent {
        HistoryEvent {
            rv,
            key: ObjectKey {
                resource: GroupResource::new("", "configmaps"),
                namespace: "ns".into(),
                name: format!("o{rv}"),
            },
            kind: EventType::Added,
            object: Arc::new(json!({})),
            prev: None,
        }
    }

    fn rvs(h: &History, from: u64) -> Result<Vec<u64>, TooOld> {
        h.since(from).map(|it| it.map(|e| e.rv).collect())
    }

    #[test]
    fn bounded_and_compactable() {
        let mut h = History::new(3);
        for rv in 1..=5 {
            h.push(ev(rv));
        }
        assert_eq!(rvs(&h, 2), Ok(vec![3, 4, 5]));
        assert_eq!(rvs(&h, 4), Ok(vec![5]));
        assert_eq!(rvs(&h, 5), Ok(vec![]));
        assert_eq!(
            rvs(&h, 1),
            Err(TooOld {
                requested: 1,
                oldest: 2
            })
        );
        h.compact(4);
        assert_eq!(rvs(&h, 4), Ok(vec![5]));
        assert!(rvs(&h, 3).is_err());
        h.compact(5);
        assert_eq!(rvs(&h, 5), Ok(vec![]));
    }
}
