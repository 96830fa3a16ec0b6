//! The results as a markdown table, one row per (scenario, DUT), with FerroLB's rate compared to
//! each DUT's in the same scenario, and notes for anything a reader should not miss.

use std::fmt::Write as _;

use crate::dut::DutKind;
use crate::run::{Outcome, RunResult};

const MIB: f64 = 1024.0 * 1024.0;

/// The table header and its alignment row.
const HEADER: &str = "| Scenario | DUT | Time (s) [range] | Prefixes/s | Peak RSS (MiB) | Bytes/prefix-path | FerroLB rate ÷ DUT rate | Injected (s) | First route (s) |\n\
|---|---|--:|--:|--:|--:|--:|--:|--:|\n";

fn seconds(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"))
}

/// A count with thousands separators.
/// `n` with thousands separated by commas (`1,234,567`).
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// FerroLB's converged rate in the same scenario, if there is one.
fn ferrolb_rate(results: &[RunResult], of: &RunResult) -> Option<f64> {
    results
        .iter()
        .find(|r| r.dut == DutKind::Ferrolb && r.scenario == of.scenario)
        .and_then(RunResult::rate)
}

/// The ratio cell: FerroLB's rate over this DUT's (a lower bound when the DUT timed out).
fn ratio(ferrolb: Option<f64>, r: &RunResult) -> String {
    let Some(ours) = ferrolb else {
        return "-".into();
    };
    match (&r.outcome, r.rate()) {
        (_, Some(theirs)) => format!("{:.2}", ours / theirs),
        (Outcome::Timeout { limit, .. }, None) if *limit > 0.0 => {
            format!("> {:.2}", ours / (f64::from(r.scenario.prefixes) / limit))
        }
        _ => "-".into(),
    }
}

/// The markdown table, followed by notes (packing, failures, leaks).
pub fn render(results: &[RunResult]) -> String {
    let mut out = String::from(HEADER);
    let mut notes = Vec::new();
    for r in results {
        let time = match &r.outcome {
            Outcome::Converged { seconds } => match r.time_range {
                Some((fastest, slowest)) => format!("{seconds:.3} ({fastest:.3}-{slowest:.3})"),
                None => format!("{seconds:.3}"),
            },
            Outcome::Timeout { limit, held } => format!(
                "timeout ({limit:.0} s, {} of {})",
                grouped(u64::from(*held)),
                grouped(u64::from(r.scenario.prefixes))
            ),
            Outcome::Failed(why) => {
                notes.push(format!("{} / {}: failed: {why}", r.scenario, r.dut));
                "failed".into()
            }
        };
        let rate = r
            .rate()
            .map_or_else(|| "-".into(), |v| grouped(v.round() as u64));
        let peak = r
            .memory
            .map_or_else(|| "-".into(), |m| format!("{:.1}", m.end.peak as f64 / MIB));
        let per_path = r
            .bytes_per_path()
            .map_or_else(|| "-".into(), |b| format!("{b:.0}"));
        let _ = writeln!(
            out,
            "| {} | {} | {time} | {rate} | {peak} | {per_path} | {} | {} | {} |",
            r.scenario,
            r.dut,
            ratio(ferrolb_rate(results, r), r),
            seconds(r.injected_seconds),
            seconds(r.first_route_seconds),
        );
        if r.injectors_received > 0 {
            notes.push(format!(
                "{} / {}: the injectors were sent {} prefixes (they should be sent none)",
                r.scenario,
                r.dut,
                grouped(r.injectors_received)
            ));
        }
        if r.monitor_foreign > 0 {
            notes.push(format!(
                "{} / {}: the monitor was sent {} prefixes outside the set",
                r.scenario,
                r.dut,
                grouped(r.monitor_foreign)
            ));
        }
    }
    let mut packing: Vec<String> = Vec::new();
    for r in results.iter().filter(|r| r.updates_per_injector > 0) {
        let (min, max) = r.prefixes_per_update;
        let line = format!(
            "{}: {} UPDATEs of 4096 octets at most per injector, {max} prefixes in a full one \
             ({min} in the smallest)",
            r.scenario,
            grouped(r.updates_per_injector as u64)
        );
        if !packing.contains(&line) {
            packing.push(line);
        }
    }
    out.push('\n');
    for line in packing.iter().chain(&notes) {
        let _ = writeln!(out, "- {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Resident;
    use crate::run::{MemoryUse, RunConfig};
    use crate::scenario::Scenario;

    fn result(dut: DutKind, outcome: Outcome) -> RunResult {
        let config = RunConfig {
            scenario: Scenario::new(1, 100_000, 24),
            dut,
            routeserver: "/x".into(),
            timeout: std::time::Duration::from_secs(300),
            frr_zebra: false,
            transparent: false,
        };
        let mut r = RunResult::failed(&config, String::new());
        r.outcome = outcome;
        r.memory = Some(MemoryUse {
            baseline: Resident {
                now: 10 << 20,
                peak: 10 << 20,
            },
            end: Resident {
                now: 40 << 20,
                peak: 50 << 20,
            },
        });
        r.updates_per_injector = 102;
        r.prefixes_per_update = (40, 1017);
        r
    }

    #[test]
    fn rows_show_rates_memory_and_ratios_to_ferrolb() {
        let results = vec![
            result(DutKind::Ferrolb, Outcome::Converged { seconds: 0.5 }),
            result(DutKind::Bird, Outcome::Converged { seconds: 1.0 }),
            result(
                DutKind::Gobgp,
                Outcome::Timeout {
                    limit: 300.0,
                    held: 12_345,
                },
            ),
            result(DutKind::Frr, Outcome::Failed("bgpd exited".into())),
        ];
        let text = render(&results);
        let expected = [
            "| 1x100k/24 | FerroLB | 0.500 | 200,000 | 50.0 | 419 | 1.00 | - | - |",
            "| 1x100k/24 | BIRD 2 | 1.000 | 100,000 | 50.0 | 419 | 2.00 | - | - |",
            "| 1x100k/24 | GoBGP 3 | timeout (300 s, 12,345 of 100,000) | - | 50.0 | 419 | > 600.00 | - | - |",
            "| 1x100k/24 | FRR 8.4 | failed | - | 50.0 | 419 | - | - | - |",
            "- 1x100k/24: 102 UPDATEs of 4096 octets at most per injector, 1017 prefixes in a full one (40 in the smallest)\n",
            "- 1x100k/24 / FRR 8.4: failed: bgpd exited",
        ];
        for line in expected {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        // The packing note appears once although four runs share the scenario.
        assert_eq!(text.matches("UPDATEs of 4096 octets").count(), 1);
    }

    #[test]
    fn leaks_are_noted_and_missing_ferrolb_leaves_ratios_empty() {
        let mut r = result(DutKind::Bird, Outcome::Converged { seconds: 2.0 });
        r.injectors_received = 5;
        r.monitor_foreign = 1_000;
        let text = render(&[r]);
        assert!(text.contains("| 1x100k/24 | BIRD 2 | 2.000 | 50,000 | 50.0 | 419 | - |"));
        let mut repeated = result(DutKind::Bird, Outcome::Converged { seconds: 2.0 });
        repeated.time_range = Some((1.5, 4.25));
        assert!(render(&[repeated]).contains("| BIRD 2 | 2.000 (1.500-4.250) | 50,000 |"));
        assert!(text.contains("the injectors were sent 5 prefixes"));
        assert!(text.contains("the monitor was sent 1,000 prefixes outside the set"));
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
        ];
        for (n, want) in cases {
            assert_eq!(grouped(n), want);
        }
    }
}
