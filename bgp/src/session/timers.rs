//! The deadlines of one state machine's timers.

use std::time::Duration;

use tokio::time::Instant;

use crate::fsm::Timer;

/// When each running timer fires.
#[derive(Debug, Default)]
pub struct Timers {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl Timers {
    /// Starts (or restarts) `timer`.
    pub fn start(&mut self, timer: Timer, duration: Duration) {
        self.deadlines[timer.index()] = Some(Instant::now() + duration);
    }

    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Waits for the earliest running timer, stops it and returns it; never returns when none
    /// runs. Cancel-safe: nothing changes until it returns.
    pub async fn expired(&mut self) -> Timer {
        let next = Timer::ALL
            .into_iter()
            .filter_map(|t| self.deadlines[t.index()].map(|d| (d, t)))
            .min();
        match next {
            Some((deadline, timer)) => {
                tokio::time::sleep_until(deadline).await;
                self.stop(timer);
                timer
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_the_earliest_and_forgets_stopped_ones() {
        let mut t = Timers::default();
        t.start(Timer::Hold, Duration::from_secs(9));
        t.start(Timer::Keepalive, Duration::from_secs(3));
        t.start(Timer::ConnectRetry, Duration::from_secs(1));
        t.stop(Timer::ConnectRetry);
        let start = Instant::now();
        assert_eq!(t.expired().await, Timer::Keepalive);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(t.expired().await, Timer::Hold);
        assert!(tokio::time::timeout(Duration::from_secs(100), t.expired())
            .await
            .is_err());
    }
}
