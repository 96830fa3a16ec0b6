//! Readiness: whether the daemon is ready to do its job, and if not, why.

use std::sync::Arc;

use tokio::sync::watch;

/// Readiness state as reported on `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyState {
    /// Serving.
    Ready,
    /// Not serving, with a human-readable reason.
    NotReady(String),
}

/// A shared readiness flag; clones refer to the same flag.
#[derive(Debug, Clone)]
pub struct Readiness {
    state: Arc<watch::Sender<ReadyState>>,
}

impl Readiness {
    /// Creates a handle that is not ready for `reason` (e.g. `"starting"`).
    pub fn new(reason: impl Into<String>) -> Self {
        let (state, _) = watch::channel(ReadyState::NotReady(reason.into()));
        Self {
            state: Arc::new(state),
        }
    }

    /// Marks the daemon ready.
    pub fn set_ready(&self) {
        self.set(ReadyState::Ready);
    }

    /// Marks the daemon not ready because of `reason`.
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        self.set(ReadyState::NotReady(reason.into()));
    }

    /// The current state.
    pub fn state(&self) -> ReadyState {
        self.state.borrow().clone()
    }

    /// Whether the daemon is ready.
    pub fn is_ready(&self) -> bool {
        matches!(*self.state.borrow(), ReadyState::Ready)
    }

    /// Waits until the daemon is ready.
    pub async fn wait_ready(&self) {
        let mut rx = self.state.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        let _ = rx.wait_for(|s| *s == ReadyState::Ready).await;
    }

    fn set(&self, new: ReadyState) {
        let changed = self.state.send_if_modified(|state| {
            if *state == new {
                return false;
            }
            *state = new.clone();
            true
        });
        if changed {
            match &new {
                ReadyState::Ready => tracing::info!("ready"),
                ReadyState::NotReady(reason) => tracing::info!(%reason, "not ready"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transitions() {
        let readiness = Readiness::new("starting");
        let clone = readiness.clone();
        assert_eq!(readiness.state(), ReadyState::NotReady("starting".into()));
        assert!(!readiness.is_ready());

        let waiter = tokio::spawn(async move { clone.wait_ready().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        readiness.set_ready();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(readiness.is_ready());

        readiness.set_not_ready("BGP sessions down");
        assert_eq!(
            readiness.state(),
            ReadyState::NotReady("BGP sessions down".into())
        );
    }
}
