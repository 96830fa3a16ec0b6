//! A subscription to the Loc-RIB that keeps only the latest state of each changed prefix.
//!
//! A consumer slower than the decision process (a FIB writer waiting on the kernel while ten
//! peers send 100,000 prefixes each) would otherwise queue every intermediate change: one per
//! path arrival, a million for a 10-way table, each holding its next-hop set. Here the queue
//! is one entry per prefix, overwritten in place, so it never outgrows the table; the consumer
//! skips states it could not have installed in time anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ipnet::IpNet;
use tokio::sync::Notify;

use crate::rib::{BestRoute, RibChange};

/// Changes not yet taken, and whether the instance is gone.
#[derive(Default)]
struct Pending {
    changes: HashMap<IpNet, Option<BestRoute>>,
    closed: bool,
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
                if !pending.changes.is_empty() {
                    let changes = std::mem::take(&mut pending.changes);
                    return Some(
                        changes
                            .into_iter()
                            .map(|(prefix, best)| RibChange { prefix, best })
                            .collect(),
                    );
                }
                if pending.closed {
                    return None;
                }
            }
            // A notification sent since the check above is kept as a permit: none is lost.
            self.shared.notify.notified().await;
        }
    }
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

    #[test]
    fn a_dropped_subscriber_closes_the_publisher() {
        let (publisher, changes) = LatestPublisher::pair();
        drop(changes);
        assert!(!publisher.is_open());
    }
}
