//! Interval arithmetic of RFC 5880: the transmission interval with its jitter (section
//! 6.8.7) and the detection time (section 6.8.4). Pure.

use std::time::Duration;

use rand::Rng;

/// The slowest rate a session may use while it is not Up: Desired Min TX is at least one
/// second then (RFC 5880 section 6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// The microseconds of `d` as carried on the wire, saturating at `u32::MAX`.
pub fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// A wire interval in microseconds as a duration.
pub fn from_micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

/// The interval between periodic packets before jitter: the larger of our Desired Min TX and
/// the remote's Required Min RX (RFC 5880 section 6.8.7).
pub fn transmit_interval(desired_min_tx: Duration, remote_min_rx: Duration) -> Duration {
    desired_min_tx.max(remote_min_rx)
}

/// `interval` reduced by the jitter RFC 5880 section 6.8.7 requires: a random 0-25 %, or 10-25 %
/// when `detect_mult` is 1 (so that one late packet cannot end the session).
pub fn jittered<R: Rng + ?Sized>(interval: Duration, detect_mult: u8, rng: &mut R) -> Duration {
    // Percentage of the interval kept.
    let keep = if detect_mult == 1 {
        rng.gen_range(75..=90)
    } else {
        rng.gen_range(75..=100)
    };
    interval * keep / 100
}

/// The detection time in asynchronous mode: the remote's Detect Mult times the larger of our
/// Required Min RX and the remote's Desired Min TX (RFC 5880 section 6.8.4).
pub fn detection_time(
    remote_detect_mult: u8,
    required_min_rx: Duration,
    remote_desired_min_tx: Duration,
) -> Duration {
    required_min_rx.max(remote_desired_min_tx) * u32::from(remote_detect_mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn jitter_stays_within_the_rfc_bounds_and_uses_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (mult, low, high) in [(3u8, 75, 100), (1, 75, 90), (255, 75, 100)] {
            let samples: Vec<Duration> = (0..5000)
                .map(|_| jittered(100 * MS, mult, &mut rng))
                .collect();
            let min = samples.iter().min().copied().unwrap();
            let max = samples.iter().max().copied().unwrap();
            assert_eq!((min, max), (low * MS, high * MS), "detect mult {mult}");
        }
    }

    #[test]
    fn detection_time_and_transmit_interval_follow_the_rfc() {
        // (remote mult, local rx, remote tx) -> detection time
        let cases = [
            (3, 50, 50, 150),
            (3, 50, 300, 900),
            (5, 300, 50, 1500),
            (1, 10, 10, 10),
        ];
        for (mult, rx, tx, want) in cases {
            assert_eq!(detection_time(mult, rx * MS, tx * MS), want * MS);
        }
        assert_eq!(transmit_interval(50 * MS, 300 * MS), 300 * MS);
        assert_eq!(transmit_interval(SLOW_TX, 50 * MS), SLOW_TX);
    }

    #[test]
    fn micros_conversion_saturates() {
        assert_eq!(to_micros(Duration::from_millis(50)), 50_000);
        assert_eq!(to_micros(Duration::from_secs(1 << 40)), u32::MAX);
        assert_eq!(from_micros(1), Duration::from_micros(1));
    }
}
