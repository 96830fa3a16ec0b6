//! Exponential backoff with jitter for the ConnectRetry and IdleHold timers.
//!
//! The FSM stays deterministic: jitter comes from a small seeded generator the caller seeds.

use std::time::Duration;

/// An exponential backoff: `initial`, doubling per consecutive failure, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure (and the first ConnectRetry interval).
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
    /// Multiply each delay by a random factor in [0.75, 1.0] (RFC 4271 section 10) so that
    /// peers that failed together do not retry in lockstep.
    pub jitter: bool,
}

impl Backoff {
    /// A backoff from `initial` to `max`, with jitter.
    pub const fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            jitter: true,
        }
    }

    /// The delay after `failures` consecutive failures (0 for the first interval).
    pub fn delay(&self, failures: u32, rng: &mut Jitter) -> Duration {
        // 2^16 times any sane initial value is past any sane max; stop doubling there.
        let factor = 1u32 << failures.min(16);
        let base = self
            .initial
            .saturating_mul(factor)
            .min(self.max.max(self.initial));
        if self.jitter {
            base.mul_f64(rng.factor())
        } else {
            base
        }
    }
}

/// A seeded pseudo-random source for timer jitter (SplitMix64; not for anything secret).
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator from a seed.
    pub const fn new(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A factor in [0.75, 1.0].
    pub fn factor(&mut self) -> f64 {
        // 53 random bits give a uniform value in [0, 1).
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        0.75 + 0.25 * unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn fixed(initial_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            initial: Duration::from_millis(initial_ms),
            max: Duration::from_millis(max_ms),
            jitter: false,
        }
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let b = fixed(100, 1000);
        let mut rng = Jitter::new(1);
        let table = [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (40, 1000),
            (u32::MAX, 1000),
        ];
        for (failures, want_ms) in table {
            assert_eq!(
                b.delay(failures, &mut rng),
                Duration::from_millis(want_ms),
                "failures={failures}"
            );
        }
    }

    #[test]
    fn max_below_initial_means_initial() {
        assert_eq!(
            fixed(500, 100).delay(3, &mut Jitter::new(1)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn jitter_stays_between_three_quarters_and_full() {
        let b = Backoff::new(Duration::from_secs(4), Duration::from_secs(60));
        let mut rng = Jitter::new(42);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..1000 {
            let d = b.delay(0, &mut rng);
            assert!(
                d >= Duration::from_secs(3) && d <= Duration::from_secs(4),
                "{d:?}"
            );
            seen_low |= d < Duration::from_millis(3250);
            seen_high |= d > Duration::from_millis(3750);
        }
        assert!(seen_low && seen_high, "jitter should spread over the range");
    }
}
