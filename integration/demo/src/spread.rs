//! How requests spread over the nodes (or API servers) that answered them.

use std::collections::{BTreeMap, BTreeSet};

/// Tally of a batch of requests: answers by server name, and failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spread {
    /// Requests answered, by the name in the answer.
    pub answers: BTreeMap<String, usize>,
    /// Requests that failed.
    pub failures: usize,
    /// The first failure's reason.
    pub first_error: Option<String>,
}

impl Spread {
    /// Tallies request outcomes (`Ok(name)` or `Err(reason)`).
    pub fn tally(results: impl IntoIterator<Item = Result<String, String>>) -> Spread {
        let mut spread = Spread::default();
        for result in results {
            spread.add(result);
        }
        spread
    }

    /// Counts one more outcome.
    pub fn add(&mut self, result: Result<String, String>) {
        match result {
            Ok(name) => *self.answers.entry(name).or_default() += 1,
            Err(reason) => {
                self.failures += 1;
                self.first_error.get_or_insert(reason);
            }
        }
    }

    /// Both tallies together.
    pub fn merge(mut self, other: Spread) -> Spread {
        for (name, count) in other.answers {
            *self.answers.entry(name).or_default() += count;
        }
        self.failures += other.failures;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self
    }

    /// Requests sent.
    pub fn total(&self) -> usize {
        self.answers.values().sum::<usize>() + self.failures
    }

    /// The servers that answered.
    pub fn servers(&self) -> BTreeSet<String> {
        self.answers.keys().cloned().collect()
    }

    /// `Ok` if nothing failed, exactly `expected` answered, and each of
    /// them got at least `min_percent` of the requests.
    pub fn check(&self, expected: &BTreeSet<String>, min_percent: usize) -> Result<(), String> {
        if self.failures > 0 {
            return Err(format!(
                "{} of {} requests failed (first: {})",
                self.failures,
                self.total(),
                self.first_error.as_deref().unwrap_or("?")
            ));
        }
        let servers = self.servers();
        if &servers != expected {
            return Err(format!(
                "answered by {}, expected {}",
                join(&servers),
                join(expected)
            ));
        }
        let total = self.total();
        for (name, count) in &self.answers {
            if count * 100 < total * min_percent {
                return Err(format!(
                    "{name} got {count} of {total}, under {min_percent}%"
                ));
            }
        }
        Ok(())
    }

    /// One line per server: count, share and a bar; then failures if any.
    pub fn render(&self) -> String {
        let total = self.total().max(1);
        let mut out = String::new();
        for (name, count) in &self.answers {
            let percent = count * 100 / total;
            let bar = "█".repeat(count * 40 / total);
            out.push_str(&format!(
                "    {name:<18} {count:>5}  {percent:>3}%  {bar}\n"
            ));
        }
        if self.failures > 0 {
            out.push_str(&format!(
                "    {:<18} {:>5}  ({})\n",
                "failed",
                self.failures,
                self.first_error.as_deref().unwrap_or("?")
            ));
        }
        out
    }
}

/// `a, b, c`, or `nobody`.
pub fn join(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "nobody".to_owned()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn spread(counts: &[(&str, usize)], failures: usize) -> Spread {
        let mut results: Vec<Result<String, String>> = Vec::new();
        for (name, n) in counts {
            results.extend((0..*n).map(|_| Ok(name.to_string())));
        }
        results.extend((0..failures).map(|i| Err(format!("timeout {i}"))));
        Spread::tally(results)
    }

    #[test]
    fn checks_who_answered_and_how_evenly() {
        let three = names(&["node-1", "node-2", "node-3"]);
        let cases: &[(Spread, &BTreeSet<String>, Result<(), &str>)] = &[
            (
                spread(&[("node-1", 340), ("node-2", 330), ("node-3", 330)], 0),
                &three,
                Ok(()),
            ),
            (
                spread(&[("node-1", 340), ("node-2", 330), ("node-3", 329)], 1),
                &three,
                Err("1 of 1000 requests failed (first: timeout 0)"),
            ),
            (
                spread(&[("node-1", 500), ("node-2", 500)], 0),
                &three,
                Err("answered by node-1, node-2, expected node-1, node-2, node-3"),
            ),
            (
                spread(&[("node-1", 950), ("node-2", 30), ("node-3", 20)], 0),
                &three,
                Err("node-2 got 30 of 1000, under 10%"),
            ),
        ];
        for (spread, expected, want) in cases {
            let got = spread.check(expected, 10);
            assert_eq!(
                got.as_ref().map_err(String::as_str),
                want.as_ref().map_err(|e| *e),
                "{spread:?}"
            );
        }
        let one = spread(&[("node-2", 1000)], 0);
        assert_eq!(one.check(&names(&["node-2"]), 10), Ok(()));
        assert_eq!(one.total(), 1000);
        let both = one.merge(spread(&[("node-1", 5), ("node-2", 1)], 2));
        assert_eq!(
            both.answers,
            [("node-1".to_owned(), 5), ("node-2".to_owned(), 1001)].into()
        );
        assert_eq!(
            (both.failures, both.first_error.as_deref()),
            (2, Some("timeout 0"))
        );
    }

    #[test]
    fn renders_counts_shares_and_failures() {
        let text = spread(&[("node-1", 750), ("node-2", 250)], 0).render();
        assert!(text.contains("node-1               750   75%"), "{text}");
        assert_eq!(text.lines().count(), 2);
        let failed = spread(&[("node-1", 3)], 1).render();
        assert!(
            failed.contains("failed") && failed.contains("timeout 0"),
            "{failed}"
        );
        assert_eq!(join(&BTreeSet::new()), "nobody");
    }
}
