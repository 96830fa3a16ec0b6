//! Ctrl-C and SIGTERM: every wait in the demo checks a shared flag, so an
//! interrupted demo unwinds through its Drop guards and removes everything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often polling waits look again.
const POLL: Duration = Duration::from_millis(50);

/// Set once the demo must stop.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag nobody has set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A flag set by SIGINT or SIGTERM, from a thread that waits for them.
    pub fn on_signals() -> Result<Cancel> {
        let cancel = Cancel::new();
        let flag = cancel.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the signal thread", e))?;
        // Register the handlers before returning, so no signal is missed.
        let mut terminate = runtime
            .block_on(async {
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            })
            .map_err(|e| Error::io("listening for SIGTERM", e))?;
        let mut interrupt = runtime
            .block_on(async {
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            })
            .map_err(|e| Error::io("listening for SIGINT", e))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                runtime.block_on(async {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                });
                flag.cancel();
            })
            .map_err(|e| Error::io("starting the signal thread", e))?;
        Ok(cancel)
    }

    /// Asks everything to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the demo must stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Sleeps `period`, waking early when cancelled.
    pub fn sleep(&self, period: Duration) -> Result<()> {
        let end = Instant::now() + period;
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(POLL));
        }
    }

    /// Polls `probe` until it returns `Ok`; after `timeout` fails with
    /// `what` and the probe's last complaint.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut() -> Result<T, String>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check()?;
            match probe() {
                Ok(value) => return Ok(value),
                Err(last) if Instant::now() >= deadline => {
                    return Err(Error::Check(format!(
                        "{what}: not after {timeout:?} (last: {last})"
                    )))
                }
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_end_on_success_timeout_or_cancel() {
        let cancel = Cancel::new();
        let mut calls = 0;
        let got = cancel.wait_for("third call", Duration::from_secs(5), || {
            calls += 1;
            if calls == 3 {
                Ok(calls)
            } else {
                Err(format!("call {calls}"))
            }
        });
        assert_eq!(got.unwrap(), 3);

        let timed_out = cancel.wait_for("never", Duration::from_millis(120), || {
            Err::<(), _>("still no".to_owned())
        });
        let message = timed_out.unwrap_err().to_string();
        assert!(
            message.contains("never") && message.contains("still no"),
            "{message}"
        );

        cancel.cancel();
        assert!(matches!(
            cancel.wait_for("x", Duration::from_secs(5), || Ok(())),
            Err(Error::Interrupted)
        ));
        assert!(matches!(
            cancel.sleep(Duration::from_secs(5)),
            Err(Error::Interrupted)
        ));
    }
}
