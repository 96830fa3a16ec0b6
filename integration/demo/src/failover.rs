//! Measuring a failover from the client's side: requests keep going while
//! a server dies, and the failover time is when the last request that
//! failed or reached the dead server was sent.

use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// One request made during a failover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When it was sent, from the failure.
    pub at: Duration,
    /// The answering server's name, or why it failed.
    pub outcome: Result<String, String>,
}

/// What the client saw during a failover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// Time from the failure until requests stopped failing or reaching
    /// the dead server (the first request of the final clean run).
    pub settled_after: Duration,
    /// Requests that failed.
    pub failed: usize,
    /// Requests the dead server still answered (before it died for good).
    pub reached_dead: usize,
    /// Requests sent.
    pub sent: usize,
}

impl Failover {
    /// "after N ms (F of S failed meanwhile)", as the demo narrates it.
    pub fn describe(&self) -> String {
        format!(
            "after {} ms ({} of {} failed meanwhile)",
            self.settled_after.as_millis(),
            self.failed,
            self.sent
        )
    }
}

/// Whether `sample` is a clean answer from a live server.
fn clean(sample: &Sample, dead: &str) -> bool {
    matches!(&sample.outcome, Ok(name) if name != dead)
}

/// The failover seen in `samples`, once their last `run` samples are clean.
pub fn settled(samples: &[Sample], dead: &str, run: usize) -> Option<Failover> {
    let tail_clean = samples.len() >= run && samples.iter().rev().take(run).all(|s| clean(s, dead));
    if !tail_clean {
        return None;
    }
    let first_clean = samples
        .iter()
        .rposition(|s| !clean(s, dead))
        .map_or(0, |last_bad| last_bad + 1);
    Some(Failover {
        settled_after: samples.get(first_clean)?.at,
        failed: samples.iter().filter(|s| s.outcome.is_err()).count(),
        reached_dead: samples
            .iter()
            .filter(|s| matches!(&s.outcome, Ok(n) if n == dead))
            .count(),
        sent: samples.len(),
    })
}

/// Sends requests with `probe` from `start` until `run` in a row are clean
/// (none failed, none answered by `dead`), for at most `timeout`.
pub fn measure(
    cancel: &Cancel,
    start: Instant,
    dead: &str,
    run: usize,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<String, String>,
) -> Result<Failover> {
    let mut samples = Vec::new();
    loop {
        cancel.check()?;
        let at = start.elapsed();
        samples.push(Sample {
            at,
            outcome: probe(),
        });
        if let Some(failover) = settled(&samples, dead, run) {
            return Ok(failover);
        }
        if at > timeout {
            let last = samples.last().map(|s| format!("{:?}", s.outcome));
            return Err(Error::Check(format!(
                "traffic still reaches {dead} or fails after {timeout:?} (last: {})",
                last.unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(outcomes: &[&str]) -> Vec<Sample> {
        outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| Sample {
                at: Duration::from_millis(100 * i as u64),
                outcome: match *o {
                    "x" => Err("timed out".to_owned()),
                    name => Ok(name.to_owned()),
                },
            })
            .collect()
    }

    #[test]
    fn settles_at_the_first_request_after_the_last_bad_one() {
        // outcomes; (settled after ms, failed, reached dead) or not settled.
        type Case = (&'static [&'static str], Option<(u64, usize, usize)>);
        let cases: &[Case] = &[
            // (ms, failed, reached_dead)
            (
                &["a", "n3", "x", "b", "x", "a", "b", "a"],
                Some((500, 2, 1)),
            ),
            (&["a", "b", "a"], Some((0, 0, 0))),
            (&["n3", "n3", "a", "b", "a"], Some((200, 0, 2))),
            (&["a", "b", "x", "a", "b"], None),
            (&["a", "b"], None),
            (&["a", "b", "a", "n3"], None),
        ];
        for (outcomes, want) in cases {
            let got = settled(&samples(outcomes), "n3", 3)
                .map(|f| (f.settled_after.as_millis() as u64, f.failed, f.reached_dead));
            assert_eq!(got, *want, "{outcomes:?}");
        }
    }

    #[test]
    fn a_failover_describes_itself_as_the_demo_prints_it() {
        let f = Failover {
            settled_after: Duration::from_millis(1234),
            failed: 2,
            reached_dead: 1,
            sent: 40,
        };
        assert_eq!(f.describe(), "after 1234 ms (2 of 40 failed meanwhile)");
    }

    #[test]
    fn measure_stops_once_clean_and_gives_up_after_the_timeout() {
        let cancel = Cancel::new();
        let mut answers = ["x", "n3"].into_iter();
        let mut calls = 0;
        let failover = measure(
            &cancel,
            Instant::now(),
            "n3",
            3,
            Duration::from_secs(5),
            || {
                calls += 1;
                match if calls <= 2 {
                    answers.next().unwrap()
                } else {
                    "a"
                } {
                    "x" => Err("refused".into()),
                    name => Ok(name.into()),
                }
            },
        )
        .unwrap();
        assert_eq!(
            (failover.failed, failover.reached_dead, failover.sent),
            (1, 1, 5)
        );
        let stuck = measure(
            &cancel,
            Instant::now(),
            "n3",
            3,
            Duration::from_millis(50),
            || Ok("n3".into()),
        );
        assert!(stuck.unwrap_err().to_string().contains("still reaches n3"));
    }
}
