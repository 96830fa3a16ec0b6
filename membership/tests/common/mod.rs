//! Helpers shared by the membership integration tests.
// Each test binary uses a different subset.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferrolb_membership::{MemberView, Membership, MembershipConfig};

/// The group key every honest member uses.
pub const KEY: [u8; 32] = *b"ferrolb-membership-test-key-0001";

/// Starts a member bound to `bind` (port 0 picks a free one) with the default timers.
pub async fn start(name: &str, bind: SocketAddr, key: &[u8]) -> Membership {
    let config = MembershipConfig::new(name, bind, bind, key.to_vec());
    Membership::start(config).await.unwrap()
}

/// Name -> address of every member, as Kubernetes would list them.
pub fn expected(members: &[(&str, &Membership)]) -> BTreeMap<String, SocketAddr> {
    members
        .iter()
        .map(|(name, m)| (name.to_string(), m.local_addr()))
        .collect()
}

/// Polls `view` until `check` holds, returning how long it took; panics after `timeout`.
pub fn wait_view(
    what: &str,
    view: &tokio::sync::watch::Receiver<MemberView>,
    timeout: Duration,
    check: impl Fn(&MemberView) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let now = view.borrow().clone();
        if check(&now) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; last view {now:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Async flavour of [`wait_view`]: waits for every view to satisfy `check` and returns the time
/// from `since` to the moment the last one did.
pub async fn wait_all(
    what: &str,
    views: &[tokio::sync::watch::Receiver<MemberView>],
    since: Instant,
    timeout: Duration,
    check: impl Fn(&MemberView) -> bool + Clone,
) -> Duration {
    let mut latest = Duration::ZERO;
    for view in views {
        let mut view = view.clone();
        let check = check.clone();
        let waited =
            tokio::time::timeout_at((since + timeout).into(), view.wait_for(move |v| check(v)))
                .await
                .is_ok_and(|r| r.is_ok());
        match waited {
            true => latest = latest.max(since.elapsed()),
            false => panic!(
                "timed out after {timeout:?} waiting for {what}; view {:?}",
                *view.borrow()
            ),
        }
    }
    latest
}

/// The median of a non-empty sample.
pub fn median(mut sample: Vec<Duration>) -> Duration {
    sample.sort();
    sample[sample.len() / 2]
}
