//! Process shutdown: a token that SIGTERM / SIGINT (or the daemon itself)
//! triggers, which every task can wait on.
//!
//! The first signal starts a graceful shutdown. A signal arriving while a
//! shutdown is already under way means the operator is done waiting: the
//! process exits at once with status `128 + signal`, the shell convention
//! for death by that signal.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// A signal handler could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install a handler for {signal}")]
pub struct SignalError {
    /// The signal's name, e.g. `SIGTERM`.
    pub signal: &'static str,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// What to do about a termination signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalResponse {
    /// Start a graceful shutdown.
    Graceful,
    /// Exit immediately with this status.
    ForceExit(i32),
}

impl SignalResponse {
    /// The response to signal number `signo` given whether a shutdown is
    /// already under way.
    pub fn decide(signo: i32, shutting_down: bool) -> Self {
        if shutting_down {
            Self::ForceExit(128 + signo)
        } else {
            Self::Graceful
        }
    }
}

/// A cloneable shutdown handle; all clones see the same trigger.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A handle that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the shutdown (idempotent).
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether shutdown has fired.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once shutdown has fired.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// The underlying token, for APIs that take a `CancellationToken`.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// A handle that fires with this one but can also be fired on its own,
    /// to stop one subsystem without stopping the process.
    pub fn child(&self) -> Self {
        Self {
            token: self.token.child_token(),
        }
    }

    /// Makes SIGTERM and SIGINT fire this handle (see the module docs for
    /// what a second signal does). Needs a tokio runtime.
    pub fn install_signal_handlers(&self) -> Result<(), SignalError> {
        let mut term = install(SignalKind::terminate(), "SIGTERM")?;
        let mut int = install(SignalKind::interrupt(), "SIGINT")?;
        let shutdown = self.clone();
        tokio::spawn(async move {
            loop {
                let (name, signo) = tokio::select! {
                    _ = term.recv() => ("SIGTERM", libc::SIGTERM),
                    _ = int.recv() => ("SIGINT", libc::SIGINT),
                };
                match SignalResponse::decide(signo, shutdown.is_triggered()) {
                    SignalResponse::Graceful => {
                        tracing::info!(
                            signal = name,
                            "shutting down; send it again to exit immediately"
                        );
                        shutdown.trigger();
                    }
                    SignalResponse::ForceExit(status) => {
                        tracing::warn!(
                            signal = name,
                            status,
                            "signal during shutdown; exiting immediately"
                        );
                        std::process::exit(status);
                    }
                }
            }
        });
        Ok(())
    }
}

/// Installs a tokio handler for `kind`, which also stops the signal's
/// default action (termination) for the rest of the process's life.
pub(crate) fn install(kind: SignalKind, name: &'static str) -> Result<Signal, SignalError> {
    signal(kind).map_err(|source| SignalError {
        signal: name,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn signal_responses() {
        let cases = [
            (libc::SIGTERM, false, SignalResponse::Graceful),
            (libc::SIGINT, false, SignalResponse::Graceful),
            (libc::SIGTERM, true, SignalResponse::ForceExit(143)),
            (libc::SIGINT, true, SignalResponse::ForceExit(130)),
        ];
        for (signo, shutting_down, want) in cases {
            assert_eq!(SignalResponse::decide(signo, shutting_down), want);
        }
    }

    #[tokio::test]
    async fn trigger_wakes_all_clones_and_children() {
        let shutdown = Shutdown::new();
        let clone = shutdown.clone();
        let child = shutdown.child();
        let waiter = tokio::spawn(async move { clone.wait().await });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(child.is_triggered());
        assert!(shutdown.token().is_cancelled());
    }

    #[tokio::test]
    async fn child_fires_alone() {
        let shutdown = Shutdown::new();
        let child = shutdown.child();
        child.trigger();
        child.wait().await;
        assert!(!shutdown.is_triggered());
    }
}
