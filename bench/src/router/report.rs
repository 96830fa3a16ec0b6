//! The results as one markdown table: a row per measurement, a column per router, and FerroLB's
//! figure divided by each other router's. Every figure is lower-is-better (seconds, MiB), so a
//! ratio below 1 means FerroLB did better.

use std::fmt::Write as _;

use super::dut::RouterKind;
use super::run::{median, BfdResult, InstallResult, Measured};
use crate::report::grouped;

const MIB: f64 = 1024.0 * 1024.0;

/// One cell: a figure, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A figure (seconds or MiB).
    Value(f64),
    /// The measurement did not finish in time.
    Timeout,
    /// The run failed.
    Failed,
    /// Not run.
    Missing,
}

impl Cell {
    fn render(&self, decimals: usize) -> String {
        match self {
            Cell::Value(v) => format!("{v:.decimals$}"),
            Cell::Timeout => "timeout".into(),
            Cell::Failed => "failed".into(),
            Cell::Missing => "-".into(),
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Cell::Value(v) => Some(*v),
            _ => None,
        }
    }
}

fn timed(m: Option<&Measured>, failed: bool) -> Cell {
    match m {
        Some(Measured {
            seconds: Some(s), ..
        }) => Cell::Value(*s),
        Some(_) => Cell::Timeout,
        None if failed => Cell::Failed,
        None => Cell::Missing,
    }
}

/// Everything one full or quick run produced.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// How many workers announced every prefix.
    pub workers: usize,
    /// BFD interval and multiplier, for the row label.
    pub bfd: Option<(u32, u8)>,
    /// Rows 1-4, per router and size.
    pub installs: Vec<InstallResult>,
    /// Row 5, per router.
    pub bfd_runs: Vec<BfdResult>,
}

/// A row label and a cell per router.
type Row = (String, Vec<(RouterKind, Cell)>, usize);

impl Results {
    fn routers(&self) -> Vec<RouterKind> {
        let mut r: Vec<RouterKind> = self
            .installs
            .iter()
            .map(|i| i.router)
            .chain(self.bfd_runs.iter().map(|b| b.router))
            .collect();
        r.sort();
        r.dedup();
        r
    }

    fn sizes(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self.installs.iter().map(|i| i.prefixes).collect();
        s.sort();
        s.dedup();
        s
    }

    fn install_row(&self, label: String, size: u32, cell: impl Fn(&InstallResult) -> Cell) -> Row {
        let cells = self
            .routers()
            .into_iter()
            .map(|r| {
                let c = self
                    .installs
                    .iter()
                    .find(|i| i.router == r && i.prefixes == size)
                    .map_or(Cell::Missing, &cell);
                (r, c)
            })
            .collect();
        (label, cells, 3)
    }

    fn rows(&self) -> Vec<Row> {
        let w = self.workers;
        let mut rows = Vec::new();
        for size in self.sizes() {
            rows.push(self.install_row(
                format!(
                    "Install {} prefixes x {w} next hops (s)",
                    grouped(size.into())
                ),
                size,
                |i| timed(i.install.as_ref(), i.error.is_some()),
            ));
        }
        for size in self.sizes() {
            rows.push(self.install_row(
                format!("Dead peer removal, {} prefixes (s)", grouped(size.into())),
                size,
                |i| timed(i.removal.as_ref(), i.error.is_some()),
            ));
        }
        if let Some(&largest) = self.sizes().last() {
            let mut row = self.install_row(
                format!("Peak RSS with {} prefixes (MiB)", grouped(largest.into())),
                largest,
                |i| match i.peak_rss {
                    Some(b) => Cell::Value(b as f64 / MIB),
                    None if i.error.is_some() => Cell::Failed,
                    None => Cell::Missing,
                },
            );
            row.2 = 1;
            rows.push(row);
        }
        if !self.bfd_runs.is_empty() {
            let (interval, mult) = self.bfd.unwrap_or_default();
            let trials = self
                .bfd_runs
                .iter()
                .map(|b| b.trials.len())
                .max()
                .unwrap_or(0);
            let vips = self.bfd_runs.first().map_or(0, |b| b.vips);
            let label = |what: &str| {
                format!(
                    "Worker death, BFD {interval} ms x {mult}, {} VIPs: {what} of {trials} (s)",
                    grouped(vips.into())
                )
            };
            let stat = |f: fn(&[f64]) -> Option<f64>| {
                move |b: &BfdResult| match f(&b.times()) {
                    Some(v) if b.error.is_none() => Cell::Value(v),
                    _ if b.error.is_some() => Cell::Failed,
                    _ => Cell::Timeout,
                }
            };
            for (what, f) in [
                ("median", median as fn(&[f64]) -> Option<f64>),
                ("max", |t: &[f64]| t.last().copied()),
            ] {
                let cell = stat(f);
                let cells = self
                    .routers()
                    .into_iter()
                    .map(|r| {
                        let c = self
                            .bfd_runs
                            .iter()
                            .find(|b| b.router == r)
                            .map_or(Cell::Missing, &cell);
                        (r, c)
                    })
                    .collect();
                rows.push((label(what), cells, 3));
            }
        }
        rows
    }

    /// The markdown table, then a line per failure.
    pub fn render(&self) -> String {
        let routers = self.routers();
        let others: Vec<RouterKind> = routers
            .iter()
            .copied()
            .filter(|r| *r != RouterKind::Ferrolb)
            .collect();
        let ours = routers.contains(&RouterKind::Ferrolb);
        let mut out = String::from("| Measurement |");
        for r in &routers {
            let _ = write!(out, " {r} |");
        }
        if ours {
            for r in &others {
                let _ = write!(out, " FerroLB ÷ {r} |");
            }
        }
        out.push_str("\n|---|");
        let columns = routers.len() + if ours { others.len() } else { 0 };
        out.push_str(&"--:|".repeat(columns));
        out.push('\n');
        for (label, cells, decimals) in self.rows() {
            let _ = write!(out, "| {label} |");
            for (_, c) in &cells {
                let _ = write!(out, " {} |", c.render(decimals));
            }
            let ferrolb = cells
                .iter()
                .find(|(r, _)| *r == RouterKind::Ferrolb)
                .and_then(|(_, c)| c.value());
            if ours {
                for (_, c) in cells.iter().filter(|(r, _)| *r != RouterKind::Ferrolb) {
                    let ratio = match (ferrolb, c.value()) {
                        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                        _ => "-".into(),
                    };
                    let _ = write!(out, " {ratio} |");
                }
            }
            out.push('\n');
        }
        out.push_str(
            "\nEvery figure is lower-is-better: a ratio below 1 means FerroLB took less time or \
             memory than the other router.\n",
        );
        for i in &self.installs {
            if let Some(e) = &i.error {
                let _ = writeln!(
                    out,
                    "- {} / {} prefixes: {e}",
                    i.router,
                    grouped(i.prefixes.into())
                );
            }
        }
        for b in &self.bfd_runs {
            if let Some(e) = &b.error {
                let _ = writeln!(out, "- {} / worker death: {e}", b.router);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::fib::Tally;

    fn m(seconds: Option<f64>) -> Option<Measured> {
        Some(Measured {
            seconds,
            tally: Tally::default(),
            next_hops: 10,
        })
    }

    fn install(router: RouterKind, prefixes: u32, t: Option<f64>, rss_mib: u64) -> InstallResult {
        InstallResult {
            router,
            prefixes,
            install: m(t),
            removal: m(t.map(|t| t / 10.0)),
            peak_rss: Some(rss_mib << 20),
            error: None,
        }
    }

    #[test]
    fn the_table_has_a_row_per_measurement_and_ratios_to_ferrolb() {
        let bfd = |router, times: &[f64]| BfdResult {
            router,
            vips: 1000,
            trials: times.iter().map(|t| m(Some(*t)).unwrap()).collect(),
            error: None,
        };
        let results = Results {
            workers: 10,
            bfd: Some((50, 3)),
            installs: vec![
                install(RouterKind::Ferrolb, 10_000, Some(0.5), 20),
                install(RouterKind::Bird, 10_000, Some(1.0), 40),
                install(RouterKind::Frr, 10_000, None, 80),
                InstallResult {
                    error: Some("bgpd exited".into()),
                    install: None,
                    removal: None,
                    peak_rss: None,
                    ..install(RouterKind::Frr, 100_000, None, 0)
                },
                install(RouterKind::Ferrolb, 100_000, Some(4.0), 30),
                install(RouterKind::Bird, 100_000, Some(2.0), 60),
            ],
            bfd_runs: vec![
                bfd(RouterKind::Ferrolb, &[0.3, 0.1, 0.2]),
                bfd(RouterKind::Bird, &[0.4, 0.2, 0.6]),
            ],
        };
        let text = results.render();
        let expected = [
            "| Measurement | FerroLB | BIRD 2 | FRR 8.4 | FerroLB ÷ BIRD 2 | FerroLB ÷ FRR 8.4 |",
            "| Install 10,000 prefixes x 10 next hops (s) | 0.500 | 1.000 | timeout | 0.50 | - |",
            "| Install 100,000 prefixes x 10 next hops (s) | 4.000 | 2.000 | failed | 2.00 | - |",
            "| Dead peer removal, 10,000 prefixes (s) | 0.050 | 0.100 | timeout | 0.50 | - |",
            "| Peak RSS with 100,000 prefixes (MiB) | 30.0 | 60.0 | failed | 0.50 | - |",
            "| Worker death, BFD 50 ms x 3, 1,000 VIPs: median of 3 (s) | 0.200 | 0.400 | - | 0.50 | - |",
            "| Worker death, BFD 50 ms x 3, 1,000 VIPs: max of 3 (s) | 0.300 | 0.600 | - | 0.50 | - |",
            "- FRR 8.4 / 100,000 prefixes: bgpd exited",
        ];
        for line in expected {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
