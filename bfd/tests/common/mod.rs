//! Helpers shared by the driver tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use ferrolb_bfd::{SessionHandle, SessionStatus};

/// Logs to the test output; `RUST_LOG` overrides the default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ferrolb_bfd=info"));
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(filter)
        .try_init();
}

/// Blocks until the session's status satisfies `pred`; returns it and how long that took.
/// Panics after `timeout`.
pub fn wait_status(
    handle: &SessionHandle,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&SessionStatus) -> bool,
) -> (SessionStatus, Duration) {
    let start = Instant::now();
    let mut rx = handle.state();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        tokio::time::timeout(timeout, rx.wait_for(|s| pred(s)))
            .await
            .map(|r| r.map(|s| *s))
    });
    match result {
        Ok(Ok(status)) => (status, start.elapsed()),
        Ok(Err(_)) => panic!("{}: driver gone while waiting for {what}", handle.key()),
        Err(_) => panic!(
            "{}: no {what} within {timeout:?}; status {:?}",
            handle.key(),
            handle.status()
        ),
    }
}
