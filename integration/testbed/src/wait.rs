//! Polling until a condition holds, with a deadline and a useful timeout message.

use std::fmt::Display;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often conditions are re-checked. Daemon queries take a few milliseconds, so this keeps
/// the tests responsive without burning the (shared, small) CPU budget.
const INTERVAL: Duration = Duration::from_millis(100);

/// One observation made while polling.
#[derive(Debug)]
pub enum Poll<T> {
    /// The condition holds; polling stops and returns the value.
    Ready(T),
    /// Not yet; the text describes what was seen and ends up in [`Error::Timeout`].
    Pending(String),
}

/// Calls `probe` until it returns [`Poll::Ready`] or `timeout` elapses.
///
/// `probe` returning `Err` aborts the wait at once (use that for "the daemon died"); transient
/// failures should be reported as [`Poll::Pending`] instead.
pub fn poll_until<T>(
    what: impl Display,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Poll<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let last = match probe()? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(last) => last,
        };
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(Error::Timeout {
                what: what.to_string(),
                seconds: elapsed.as_secs_f64(),
                last,
            });
        }
        thread::sleep(INTERVAL.min(timeout - elapsed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_ready() {
        let mut calls = 0;
        let value = poll_until("three calls", Duration::from_secs(5), || {
            calls += 1;
            Ok(if calls == 3 {
                Poll::Ready(calls)
            } else {
                Poll::Pending(format!("call {calls}"))
            })
        })
        .unwrap();
        assert_eq!(value, 3);
    }

    #[test]
    fn times_out_with_the_last_observation() {
        let err = poll_until("never", Duration::from_millis(250), || {
            Ok(Poll::<()>::Pending("still idle".into()))
        })
        .unwrap_err();
        match err {
            Error::Timeout { what, last, .. } => {
                assert_eq!(what, "never");
                assert_eq!(last, "still idle");
            }
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn a_probe_error_aborts_immediately() {
        let start = Instant::now();
        let err = poll_until("fatal", Duration::from_secs(30), || -> Result<Poll<()>> {
            Err(Error::Config("boom".into()))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
