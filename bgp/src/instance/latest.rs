//! A subscription to the Loc-RIB that keeps only the latest state of each changed prefix.
//!
//! A consumer slower than the decision process (a FIB writer waiting on the kernel while ten
//! peers send 100,000 prefixes each) would otherwise queue every intermediate change: one per
//! path arrival, a million for a 10-way table, each holding its next-hop set. Here the queue
//! is one entry per prefix, overwritten in place, so it never outgrows the table; the consumer
//! skips states it could not have installed in time anyway.
//!
//! It also tells when a neighbour's routes are about to go (its session ended and nothing keeps
//! them for a graceful restart) and when it is back, before the Loc-RIB has worked through the
//! individual prefixes: a FIB writer can take that neighbour's address out of every multipath
//! set at once, which with nexthop groups is one kernel update however many prefixes it served.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ipnet::IpNet;
use tokio::sync::Notify;

use crate::rib::{BestRoute, RibChange};

/// Changes not yet taken, and whether the instance is gone.
#[derive(Default)]
struct Pending {
    changes: HashMap<IpNet, Option<BestRoute>>,
    /// Neighbours whose liveness changed: their address and whether they are up now.
    neighbors: BTreeMap<IpAddr, bool>,
    closed: bool,
}

/// What [`LatestChanges::recv_update`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatestUpdate {
    /// Neighbours whose routes are going: their session ended and nothing keeps its routes.
    /// The Loc-RIB changes that remove them follow (in this update or a later one).
    pub neighbors_down: Vec<IpAddr>,
    /// Neighbours that established a session again since they were reported down.
    pub neighbors_up: Vec<IpAddr>,
    /// Every prefix that changed, with its current state.
    pub changes: Vec<RibChange>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    notify: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Every critical section leaves the map consistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The receiving end: see [`super::Instance::subscribe_latest`].
pub struct LatestChanges {
    shared: Arc<Shared>,
}

impl LatestChanges {
    /// Waits until some prefix changed, then returns every prefix that changed since the last
    /// call with its current state (in no particular order). `None` once the instance stopped
    /// and everything was taken.
    pub async fn recv(&mut self) -> Option<Vec<RibChange>> {
        loop {
            {
                let mut pending = self.shared.lock();
                // Liveness is not asked for here: drop it so that it cannot pile up.
                pending.neighbors.clear();
                if !pending.changes.is_empty() {
                    return Some(take_changes(&mut pending));
                }
                if pending.closed {
                    return None;
                }
            }
            // A notification sent since the check above is kept as a permit: none is lost.
            self.shared.notify.notified().await;
        }
    }

    /// Like [`LatestChanges::recv`], and also returns when only a neighbour's liveness
    /// changed; a neighbour that went down and came back meanwhile is reported up only.
    pub async fn recv_update(&mut self) -> Option<LatestUpdate> {
        loop {
            {
                let mut pending = self.shared.lock();
                if !pending.changes.is_empty() || !pending.neighbors.is_empty() {
                    let (up, down): (Vec<_>, Vec<_>) = std::mem::take(&mut pending.neighbors)
                        .into_iter()
                        .partition(|(_, up)| *up);
                    return Some(LatestUpdate {
                        neighbors_down: down.into_iter().map(|(a, _)| a).collect(),
                        neighbors_up: up.into_iter().map(|(a, _)| a).collect(),
                        changes: take_changes(&mut pending),
                    });
                }
                if pending.closed {
                    return None;
                }
            }
            self.shared.notify.notified().await;
        }
    }
}

fn take_changes(pending: &mut Pending) -> Vec<RibChange> {
    std::mem::take(&mut pending.changes)
        .into_iter()
        .map(|(prefix, best)| RibChange { prefix, best })
        .collect()
}

/// The instance's end.
pub(super) struct LatestPublisher {
    shared: Arc<Shared>,
}

impl LatestPublisher {
    /// A connected pair.
    pub fn pair() -> (LatestPublisher, LatestChanges) {
        let shared = Arc::new(Shared::default());
        (
            LatestPublisher {
                shared: Arc::clone(&shared),
            },
            LatestChanges { shared },
        )
    }

    /// True while the subscriber exists.
    pub fn is_open(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }

    /// Records `changes`, each overwriting what is pending for its prefix.
    pub fn publish(&self, changes: &[RibChange]) {
        if changes.is_empty() {
            return;
        }
        let mut pending = self.shared.lock();
        for c in changes {
            pending.changes.insert(c.prefix, c.best.clone());
        }
        drop(pending);
        self.shared.notify.notify_one();
    }

    /// Records that neighbour `address` is up (a session established) or that its routes are
    /// going (`up` false).
    pub fn neighbor(&self, address: IpAddr, up: bool) {
        self.shared.lock().neighbors.insert(address, up);
        self.shared.notify.notify_one();
    }
}

impl Drop for LatestPublisher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(prefix: &str, best: Option<BestRoute>) -> RibChange {
        RibChange {
            prefix: prefix.parse().unwrap(),
            best,
        }
    }

    #[tokio::test]
    async fn keeps_the_last_state_of_each_prefix_and_ends_after_the_publisher() {
        let (publisher, mut changes) = LatestPublisher::pair();
        assert!(publisher.is_open());
        // Two changes of one prefix before the subscriber looks come as one.
        publisher.publish(&[change("10.0.0.1/32", None), change("10.0.0.2/32", None)]);
        publisher.publish(&[change("10.0.0.1/32", None)]);
        let mut got = changes.recv().await.unwrap();
        got.sort_by_key(|c| c.prefix);
        assert_eq!(
            got,
            [change("10.0.0.1/32", None), change("10.0.0.2/32", None)]
        );
        publisher.publish(&[change("10.0.0.3/32", None)]);
        drop(publisher);
        // What was published before the end is still delivered, then the end.
        assert_eq!(changes.recv().await.unwrap(), [change("10.0.0.3/32", None)]);
        assert_eq!(changes.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_subscriber_wakes_for_a_publication() {
        let (publisher, mut changes) = LatestPublisher::pair();
        let waiter = tokio::spawn(async move { changes.recv().await });
        tokio::task::yield_now().await;
        publisher.publish(&[change("10.0.0.9/32", None)]);
        assert_eq!(
            waiter.await.unwrap().unwrap(),
            [change("10.0.0.9/32", None)]
        );
    }

    #[tokio::test]
    async fn neighbour_liveness_comes_before_the_changes_and_only_its_last_state_counts() {
        let (publisher, mut changes) = LatestPublisher::pair();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        // Liveness alone wakes the subscriber.
        publisher.neighbor(a, false);
        assert_eq!(
            changes.recv_update().await.unwrap(),
            LatestUpdate {
                neighbors_down: vec![a],
                ..LatestUpdate::default()
            }
        );
        // Down then up again before the subscriber looks: up; b down, with a change.
        publisher.neighbor(a, false);
        publisher.neighbor(b, false);
        publisher.neighbor(a, true);
        publisher.publish(&[change("10.0.0.1/32", None)]);
        assert_eq!(
            changes.recv_update().await.unwrap(),
            LatestUpdate {
                neighbors_down: vec![b],
                neighbors_up: vec![a],
                changes: vec![change("10.0.0.1/32", None)],
            }
        );
        // A subscriber that takes only changes never sees liveness, nor waits on it.
        publisher.neighbor(b, true);
        publisher.publish(&[change("10.0.0.2/32", None)]);
        assert_eq!(changes.recv().await.unwrap(), [change("10.0.0.2/32", None)]);
        drop(publisher);
        assert_eq!(changes.recv_update().await, None);
    }

    #[test]
    fn a_dropped_subscriber_closes_the_publisher() {
        let (publisher, changes) = LatestPublisher::pair();
        drop(changes);
        assert!(!publisher.is_open());
    }
}
