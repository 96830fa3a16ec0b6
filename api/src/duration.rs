//! Kubernetes-style durations (`"90s"`, `"1m30s"`, `"250ms"`, `"4h"`).
//!
//! FerroLB uses one duration representation everywhere — custom resources and
//! the router daemon's YAML config — so users write timers the same way in
//! both places. The syntax is that of Go's `time.ParseDuration`, which is what
//! `metav1.Duration` fields in Kubernetes accept, restricted to non-negative
//! values: a sequence of decimal numbers, each with an optional fraction and
//! a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), or a bare `0`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The ECMA-262 pattern the API server enforces on duration fields, so an
/// object with a malformed duration is rejected at admission instead of
/// failing to decode in every FerroLB watcher.
pub const DURATION_PATTERN: &str = r"^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A non-negative duration written as a Kubernetes/Go duration string.
///
/// Serializes as a string (see [`Duration`]'s `Display`) and deserializes from
/// one; an invalid string is a deserialization error naming the problem.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(StdDuration);

/// Why a duration string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationParseError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Duration {
    /// The zero duration (`"0s"`).
    pub const ZERO: Duration = Duration(StdDuration::ZERO);

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(StdDuration::from_secs(secs))
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(StdDuration::from_millis(millis))
    }

    /// The same span as a [`std::time::Duration`].
    pub const fn as_std(&self) -> StdDuration {
        self.0
    }

    /// True for a zero-length duration.
    pub const fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The number of seconds if the duration is a whole number of seconds.
    ///
    /// BGP timers are carried in whole seconds on the wire, so the validator
    /// uses this to reject values such as `"2.5s"` for them.
    pub fn whole_seconds(&self) -> Option<u64> {
        (self.0.subsec_nanos() == 0).then_some(self.0.as_secs())
    }
}

impl From<StdDuration> for Duration {
    fn from(d: StdDuration) -> Self {
        Duration(d)
    }
}

impl From<Duration> for StdDuration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({self})")
    }
}

/// Formats compactly: `"0s"`, `"250ms"`, `"1.5us"`, `"90s"` as `"1m30s"`,
/// `"1h"`, `"1h0.5s"`. The output always parses back to the same value.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let nanos = self.0.subsec_nanos();
        if secs == 0 {
            return match nanos {
                0 => f.write_str("0s"),
                n if n < 1_000 => write!(f, "{n}ns"),
                n if n < 1_000_000 => write_scaled(f, u64::from(n), 1_000, "us"),
                n => write_scaled(f, u64::from(n), 1_000_000, "ms"),
            };
        }
        let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        if seconds > 0 || nanos > 0 {
            write_scaled(
                f,
                seconds * 1_000_000_000 + u64::from(nanos),
                1_000_000_000,
                "s",
            )?;
        }
        Ok(())
    }
}

/// Writes `value / scale` with the fraction's trailing zeros trimmed.
fn write_scaled(f: &mut fmt::Formatter<'_>, value: u64, scale: u64, unit: &str) -> fmt::Result {
    let (whole, frac) = (value / scale, value % scale);
    if frac == 0 {
        return write!(f, "{whole}{unit}");
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    write!(f, "{whole}.{}{unit}", digits.trim_end_matches('0'))
}

impl FromStr for Duration {
    type Err = DurationParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationParseError {
            input: input.to_owned(),
            reason,
        };
        match input {
            "" => return Err(fail("empty string")),
            "0" => return Ok(Duration::ZERO),
            _ if input.starts_with('-') => return Err(fail("negative durations are not allowed")),
            _ => {}
        }
        let mut rest = input;
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let (whole, after_whole) = split_digits(rest);
            let (fraction, after_number) = match after_whole.strip_prefix('.') {
                Some(after_dot) => split_digits(after_dot),
                None => ("", after_whole),
            };
            if whole.is_empty() && fraction.is_empty() {
                return Err(fail("expected a number"));
            }
            let unit_len = after_number
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after_number.len());
            let (unit, tail) = after_number.split_at(unit_len);
            let scale = unit_nanos(unit).ok_or_else(|| {
                fail(if unit.is_empty() {
                    "missing unit (expected one of ns, us, ms, s, m, h)"
                } else {
                    "unknown unit (expected one of ns, us, ms, s, m, h)"
                })
            })?;
            let term = scaled_value(whole, fraction, scale).ok_or_else(|| fail("too large"))?;
            total = total.checked_add(term).ok_or_else(|| fail("too large"))?;
            rest = tail;
        }
        let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| fail("too large"))?;
        // The remainder is below one second, so it fits in u32.
        let nanos = (total % NANOS_PER_SEC) as u32;
        Ok(Duration(StdDuration::new(secs, nanos)))
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// `whole.fraction × scale` in nanoseconds, truncating below a nanosecond.
fn scaled_value(whole: &str, fraction: &str, scale: u128) -> Option<u128> {
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(scale)?;
    // Digits past the 13th cannot matter: the largest unit is 3.6e12 ns.
    let fraction = &fraction[..fraction.len().min(13)];
    if !fraction.is_empty() {
        let numerator: u128 = fraction.parse().ok()?;
        let denominator = 10u128.pow(fraction.len() as u32);
        nanos = nanos.checked_add(numerator * scale / denominator)?;
    }
    Some(nanos)
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_str::deserialize_from_str(
            deserializer,
            "a duration string such as \"90s\" or \"1m30s\"",
        )
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_durations() {
        let cases: &[(&str, StdDuration)] = &[
            ("0", StdDuration::ZERO),
            ("0s", StdDuration::ZERO),
            ("90s", StdDuration::from_secs(90)),
            ("1m30s", StdDuration::from_secs(90)),
            ("1h", StdDuration::from_secs(3600)),
            ("2h45m", StdDuration::from_secs(9900)),
            ("250ms", StdDuration::from_millis(250)),
            ("1.5s", StdDuration::from_millis(1500)),
            (".5s", StdDuration::from_millis(500)),
            ("1.s", StdDuration::from_secs(1)),
            ("1.5h", StdDuration::from_secs(5400)),
            ("0.1m", StdDuration::from_secs(6)),
            ("10us", StdDuration::from_micros(10)),
            ("10µs", StdDuration::from_micros(10)),
            ("7ns", StdDuration::from_nanos(7)),
            ("1h1m1s1ms", StdDuration::from_millis(3_661_001)),
        ];
        for (input, want) in cases {
            let got: Duration = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.as_std(), *want, "{input}");
        }
    }

    #[test]
    fn rejects_malformed_durations() {
        let cases: &[(&str, &str)] = &[
            ("", "empty string"),
            ("90", "missing unit (expected one of ns, us, ms, s, m, h)"),
            ("5x", "unknown unit (expected one of ns, us, ms, s, m, h)"),
            ("1d", "unknown unit (expected one of ns, us, ms, s, m, h)"),
            ("-5s", "negative durations are not allowed"),
            ("s", "expected a number"),
            (".s", "expected a number"),
            ("1 s", "unknown unit (expected one of ns, us, ms, s, m, h)"),
            ("99999999999999999999999999999h", "too large"),
        ];
        for (input, reason) in cases {
            let err = input.parse::<Duration>().expect_err(input);
            assert_eq!(err.reason, *reason, "{input}");
            assert_eq!(err.input, *input);
        }
    }

    #[test]
    fn display_round_trips() {
        let cases: &[(&str, &str)] = &[
            ("0", "0s"),
            ("90s", "1m30s"),
            ("3600s", "1h"),
            ("3600.5s", "1h0.5s"),
            ("1500ms", "1.5s"),
            ("250ms", "250ms"),
            ("1.25ms", "1.25ms"),
            ("1500ns", "1.5us"),
            ("3ns", "3ns"),
            ("4h", "4h"),
            ("61m", "1h1m"),
        ];
        for (input, want) in cases {
            let d: Duration = input.parse().unwrap();
            assert_eq!(d.to_string(), *want, "{input}");
            assert_eq!(want.parse::<Duration>().unwrap(), d, "{want}");
        }
    }

    #[test]
    fn pattern_agrees_with_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for ok in ["0", "90s", "1m30s", "1.5h", ".5s", "10µs", "1h1m1s1ms"] {
            assert!(re.is_match(ok), "{ok}");
            assert!(ok.parse::<Duration>().is_ok(), "{ok}");
        }
        for bad in ["", "90", "5x", "-5s", "s", "1 s"] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_seconds_rejects_fractions() {
        assert_eq!(Duration::from_secs(90).whole_seconds(), Some(90));
        assert_eq!("2.5s".parse::<Duration>().unwrap().whole_seconds(), None);
    }

    #[test]
    fn serde_uses_strings() {
        let d: Duration = serde_json::from_str("\"1m30s\"").unwrap();
        assert_eq!(d, Duration::from_secs(90));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1m30s\"");
        let err = serde_json::from_str::<Duration>("90")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a duration string such as"), "{err}");
    }
}
