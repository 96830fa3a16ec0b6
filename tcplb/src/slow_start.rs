//! Slow start: a backend coming back takes a growing share of new connections instead of a
//! flood (pure).

use std::time::Duration;

/// Weights are scaled by this internally so a configured weight of 1 can still ramp.
pub const WEIGHT_SCALE: u32 = 256;

/// The balancing weight of a backend with `configured` weight that has been up for `up_for`,
/// with a slow-start period of `period` (none: full weight at once). At least 1.
pub fn effective_weight(configured: u32, up_for: Duration, period: Option<Duration>) -> u32 {
    let full = configured.max(1).saturating_mul(WEIGHT_SCALE);
    let Some(period) = period.filter(|p| !p.is_zero()) else {
        return full;
    };
    if up_for >= period {
        return full;
    }
    let share = u128::from(full) * up_for.as_millis() / period.as_millis().max(1);
    (share as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_linearly_over_the_period() {
        let s = Duration::from_secs;
        // (configured, up for, period, expected)
        let cases = [
            (1, s(0), None, 256),
            (3, s(0), Some(s(0)), 768),
            (1, s(0), Some(s(10)), 1),
            (1, s(5), Some(s(10)), 128),
            (2, s(1), Some(s(4)), 128),
            (1, s(10), Some(s(10)), 256),
            (1, s(3600), Some(s(10)), 256),
            (0, s(3600), None, 256),
        ];
        for (configured, up_for, period, expected) in cases {
            assert_eq!(
                effective_weight(configured, up_for, period),
                expected,
                "{configured} {up_for:?} {period:?}"
            );
        }
    }
}
