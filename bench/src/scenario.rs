//! What one benchmark run sends: how many injectors, each announcing the same prefixes.
//!
//! Written `<injectors>x<count>[/<length>]`, count with an optional `k` or `m` suffix:
//! `1x100k` (one injector, 100,000 /24s), `10x100k` (ten injectors, the same 100,000 /24s,
//! so ten paths per prefix), `1x1m`, `1x100k/32`.

use std::fmt;
use std::str::FromStr;

use crate::prefixes::{PrefixSet, PrefixSetError, DEFAULT_BASE};

/// Most injectors a run may have (their addresses are 198.18.0.11 upward).
pub const MAX_INJECTORS: u32 = 100;

/// One benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Injecting peers, each announcing every prefix.
    pub injectors: u32,
    /// Distinct prefixes.
    pub prefixes: u32,
    /// Their length.
    pub prefix_len: u8,
}

impl Scenario {
    /// The full benchmark: 1 x 100k /24, 1 x 1M /24, 10 x 100k /24, 1 x 100k /32.
    pub fn full() -> Vec<Scenario> {
        vec![
            Scenario::new(1, 100_000, 24),
            Scenario::new(1, 1_000_000, 24),
            Scenario::new(10, 100_000, 24),
            Scenario::new(1, 100_000, 32),
        ]
    }

    /// A fast check of the harness: 1 x 10k and 10 x 10k /24s.
    pub fn quick() -> Vec<Scenario> {
        vec![Scenario::new(1, 10_000, 24), Scenario::new(10, 10_000, 24)]
    }

    /// A scenario (not checked; see [`Scenario::prefix_set`]).
    pub const fn new(injectors: u32, prefixes: u32, prefix_len: u8) -> Scenario {
        Scenario {
            injectors,
            prefixes,
            prefix_len,
        }
    }

    /// The prefixes every injector announces.
    pub fn prefix_set(&self) -> Result<PrefixSet, PrefixSetError> {
        PrefixSet::new(DEFAULT_BASE, self.prefix_len, self.prefixes)
    }

    /// Paths the device under test must hold: one per prefix and injector.
    pub fn paths(&self) -> u64 {
        u64::from(self.prefixes) * u64::from(self.injectors)
    }
}

/// A count with its `k`/`m` suffix when it is a round number.
fn count_text(n: u32) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{}/{}",
            self.injectors,
            count_text(self.prefixes),
            self.prefix_len
        )
    }
}

/// A scenario that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scenario {text:?}: {why} (expected INJECTORSxCOUNT[/LENGTH], e.g. 10x100k/24)")]
pub struct BadScenario {
    text: String,
    why: String,
}

impl FromStr for Scenario {
    type Err = BadScenario;

    fn from_str(text: &str) -> Result<Self, BadScenario> {
        let bad = |why: &str| BadScenario {
            text: text.to_owned(),
            why: why.to_owned(),
        };
        let lower = text.trim().to_ascii_lowercase();
        let (injectors, rest) = lower.split_once('x').ok_or_else(|| bad("no 'x'"))?;
        let (count, len) = match rest.split_once('/') {
            Some((count, len)) => (count, len.parse().map_err(|_| bad("bad length"))?),
            None => (rest, 24),
        };
        let (digits, scale) = match count.as_bytes().last() {
            Some(b'k') => (&count[..count.len() - 1], 1_000),
            Some(b'm') => (&count[..count.len() - 1], 1_000_000),
            _ => (count, 1),
        };
        let prefixes = digits
            .parse::<u32>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|&n| n > 0)
            .ok_or_else(|| bad("bad prefix count"))?;
        let injectors = injectors
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_INJECTORS).contains(n))
            .ok_or_else(|| bad("injectors must be 1-100"))?;
        let scenario = Scenario::new(injectors, prefixes, len);
        scenario.prefix_set().map_err(|e| bad(&e.to_string()))?;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_and_print_back() {
        let cases = [
            ("1x100k", Some((1, 100_000, 24)), "1x100k/24"),
            ("10x100K/24", Some((10, 100_000, 24)), "10x100k/24"),
            ("1x1m", Some((1, 1_000_000, 24)), "1x1m/24"),
            ("1x100k/32", Some((1, 100_000, 32)), "1x100k/32"),
            ("2x2000", Some((2, 2_000, 24)), "2x2k/24"),
            ("3x1234/32", Some((3, 1_234, 32)), "3x1234/32"),
            ("0x100k", None, ""),
            ("101x1k", None, ""),
            ("1x0", None, ""),
            ("1x", None, ""),
            ("100k", None, ""),
            ("1x100k/33", None, ""),
            ("1x5000m", None, ""),
            // 16.0.0.0 upward holds at most 15 * 2^20 /24s.
            ("1x16m/24", None, ""),
        ];
        for (text, want, shown) in cases {
            let got = text.parse::<Scenario>();
            match want {
                Some((i, n, l)) => {
                    let s = got.unwrap();
                    assert_eq!(s, Scenario::new(i, n, l), "{text}");
                    assert_eq!(s.to_string(), shown);
                    assert_eq!(s.to_string().parse::<Scenario>().unwrap(), s);
                }
                None => assert!(got.is_err(), "{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn the_standard_sets_are_valid() {
        for s in Scenario::full().into_iter().chain(Scenario::quick()) {
            assert!(s.prefix_set().is_ok(), "{s}");
        }
        assert_eq!(Scenario::new(10, 100_000, 24).paths(), 1_000_000);
    }
}
