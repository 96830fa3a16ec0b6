//! `bgp-bench`: how fast FerroLB, BIRD 2, FRR 8.4 and GoBGP 3 pass N prefixes from injecting
//! peers to a monitoring peer on this machine, and how much memory they take doing it.
//!
//! ```text
//! bgp-bench                                   # every scenario, every DUT
//! bgp-bench --quick                           # 1x10k and 10x10k /24s, every DUT
//! bgp-bench --scenario 10x100k --dut ferrolb --dut bird
//! ```
//!
//! Must run as root. The markdown table goes to stdout, progress to stderr.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use ferrolb_bench::dut::DutKind;
use ferrolb_bench::report;
use ferrolb_bench::run::{median, run, Outcome, RunConfig};
use ferrolb_bench::scenario::Scenario;

#[derive(Debug, Parser)]
#[command(
    name = "bgp-bench",
    about = "BGP speed benchmark: FerroLB against BIRD, FRR and GoBGP"
)]
struct Cli {
    /// A fast check of everything: 1x10k and 10x10k /24s against every DUT (unless narrowed).
    #[arg(long)]
    quick: bool,
    /// A scenario, INJECTORSxCOUNT[/LENGTH], e.g. 1x100k, 10x100k/24, 1x100k/32; repeatable.
    /// Default: 1x100k, 1x1m, 10x100k, 1x100k/32.
    #[arg(long = "scenario")]
    scenarios: Vec<Scenario>,
    /// A device under test; repeatable. Default: all.
    #[arg(long = "dut", value_enum)]
    duts: Vec<DutKind>,
    /// Run each (scenario, DUT) this many times and report the median (by time).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=99))]
    repeat: u32,
    /// Seconds a DUT gets to deliver every prefix before the run counts as a timeout.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// FRR: run zebra with `bgpd -n` instead of `bgpd -Z` alone.
    #[arg(long)]
    frr_zebra: bool,
    /// FerroLB: transparent route server (RFC 7947) instead of plain eBGP re-advertisement.
    #[arg(long)]
    transparent: bool,
    /// The ferrolb-routeserver executable. Default: next to this one.
    #[arg(long)]
    routeserver: Option<PathBuf>,
}

/// A line describing the machine, for the record.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB", kb / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "? GiB".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!("{cpus} CPUs, {memory} RAM, Linux {kernel}")
}

fn main() -> anyhow::Result<()> {
    ferrolb_bench::cli::init_logging();
    let cli = Cli::parse();
    ferrolb_bench::cli::require_root("bgp-bench")?;
    let routeserver = match cli.routeserver {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating bgp-bench")?
            .with_file_name("ferrolb-routeserver"),
    };
    if !routeserver.is_file() {
        bail!(
            "{} not found: build it (cargo build --release -p ferrolb-bench) or pass --routeserver",
            routeserver.display()
        );
    }
    let scenarios = match (cli.scenarios.is_empty(), cli.quick) {
        (false, _) => cli.scenarios,
        (true, true) => Scenario::quick(),
        (true, false) => Scenario::full(),
    };
    let mut duts = if cli.duts.is_empty() {
        DutKind::ALL.to_vec()
    } else {
        cli.duts
    };
    duts.sort();
    duts.dedup();

    let mut results = Vec::new();
    for scenario in &scenarios {
        for &dut in &duts {
            let mut runs = Vec::new();
            for attempt in 1..=cli.repeat {
                tracing::info!(%scenario, %dut, attempt, "running");
                let result = run(&RunConfig {
                    scenario: *scenario,
                    dut,
                    routeserver: routeserver.clone(),
                    timeout: Duration::from_secs(cli.timeout),
                    frr_zebra: cli.frr_zebra,
                    transparent: cli.transparent,
                });
                tracing::info!(
                    %scenario,
                    %dut,
                    attempt,
                    outcome = ?result.outcome,
                    rate = ?result.rate().map(|r| r.round()),
                    baseline_mib = ?result.memory.map(|m| m.baseline.now >> 20),
                    peak_mib = ?result.memory.map(|m| m.end.peak >> 20),
                    end_mib = ?result.memory.map(|m| m.end.now >> 20),
                    "done"
                );
                runs.push(result);
            }
            let Some(result) = median(runs) else { continue };
            results.push(result);
        }
    }
    let command: Vec<String> = std::env::args().collect();
    println!("Machine: {}", machine());
    println!("Command: `{}`", command.join(" "));
    if cli.repeat > 1 {
        println!("Each row: the median of {} runs (by time).", cli.repeat);
    }
    println!();
    print!("{}", report::render(&results));
    let failed = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    if failed > 0 {
        bail!("{failed} run(s) failed");
    }
    Ok(())
}
