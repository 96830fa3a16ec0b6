//! `router-bench`: FerroLB's router against BIRD 2 and FRR 8.4 installing ECMP routes learned
//! from N workers into the kernel, dropping a departed worker, and dropping a dead one with BFD.
//!
//! ```text
//! router-bench                                  # 10k and 100k prefixes, 20 BFD trials
//! router-bench --quick                          # 1k prefixes, 3 BFD trials
//! router-bench --router ferrolb --router bird --markdown results.md
//! ```
//!
//! Must run as root. The table goes to stdout (and to `--markdown`), progress to stderr.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use ferrolb_bench::router::dut::{BfdTimers, RouterKind};
use ferrolb_bench::router::report::Results;
use ferrolb_bench::router::run::{bfd_run, install_run, BenchConfig};

#[derive(Debug, Parser)]
#[command(
    name = "router-bench",
    about = "Router benchmark: ferrolb-router against BIRD 2 and FRR installing ECMP routes"
)]
struct Cli {
    /// A fast check: 1,000 prefixes and 3 worker-death trials.
    #[arg(long)]
    quick: bool,
    /// A router under test; repeatable. Default: all three.
    #[arg(long = "router", value_enum)]
    routers: Vec<RouterKind>,
    /// Workers announcing every prefix (next hops per route).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(2..=200))]
    workers: u16,
    /// Prefix counts of the install and removal rows; repeatable. Default: 10000 and 100000
    /// (1000 with --quick).
    #[arg(long = "prefixes")]
    sizes: Vec<u32>,
    /// VIPs (/32s) of the worker-death rows.
    #[arg(long, default_value_t = 1000)]
    vips: u32,
    /// Worker-death trials per router. Default: 20 (3 with --quick).
    #[arg(long)]
    trials: Option<u32>,
    /// BFD transmit/receive interval of the worker-death rows, in milliseconds.
    #[arg(long, default_value_t = 50)]
    bfd_interval: u32,
    /// BFD detection multiplier.
    #[arg(long, default_value_t = 3)]
    bfd_multiplier: u8,
    /// Seconds one measurement may take before it counts as a timeout.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Skip the worker-death (BFD) rows.
    #[arg(long)]
    no_bfd: bool,
    /// Skip the install, removal and memory rows.
    #[arg(long)]
    no_install: bool,
    /// The ferrolb-router executable. Default: next to this one, else
    /// $CARGO_TARGET_DIR/release or target/release.
    #[arg(long)]
    ferrolb_router: Option<PathBuf>,
    /// Also write the table (markdown) to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

/// Where `ferrolb-router` is when not given.
fn find_router() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("ferrolb-router"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    beside
        .into_iter()
        .chain([target.join("release").join("ferrolb-router")])
        .find(|p| p.is_file())
}

/// A line describing the machine and its load, for the record.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!("{cpus} CPUs, Linux {kernel}, load average {}", load())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn main() -> anyhow::Result<()> {
    ferrolb_bench::cli::init_logging();
    let cli = Cli::parse();
    ferrolb_bench::cli::require_root("router-bench")?;
    let ferrolb_router = match cli.ferrolb_router.clone().or_else(find_router) {
        Some(p) if p.is_file() => p,
        _ => bail!(
            "ferrolb-router not found: build it (cargo build --release -p ferrolb-router) or pass --ferrolb-router"
        ),
    };
    let mut routers = if cli.routers.is_empty() {
        RouterKind::ALL.to_vec()
    } else {
        cli.routers.clone()
    };
    routers.sort();
    routers.dedup();
    let sizes = match (cli.sizes.is_empty(), cli.quick) {
        (false, _) => cli.sizes.clone(),
        (true, true) => vec![1_000],
        (true, false) => vec![10_000, 100_000],
    };
    let trials = cli.trials.unwrap_or(if cli.quick { 3 } else { 20 });
    let bfd = BfdTimers {
        interval_ms: cli.bfd_interval,
        multiplier: cli.bfd_multiplier,
    };
    let config = BenchConfig {
        workers: usize::from(cli.workers),
        ferrolb_router: ferrolb_router.clone(),
        timeout: Duration::from_secs(cli.timeout),
        bfd,
    };
    let started = machine();
    tracing::info!(router = %ferrolb_router.display(), machine = %started, "starting");
    let mut results = Results {
        workers: config.workers,
        bfd: Some((bfd.interval_ms, bfd.multiplier)),
        ..Results::default()
    };
    if !cli.no_install {
        for &size in &sizes {
            for &router in &routers {
                tracing::info!(%router, prefixes = size, "install and removal");
                let r = install_run(&config, router, size);
                tracing::info!(
                    %router,
                    prefixes = size,
                    install = ?r.install.and_then(|m| m.seconds),
                    removal = ?r.removal.and_then(|m| m.seconds),
                    peak_mib = ?r.peak_rss.map(|b| b >> 20),
                    error = ?r.error,
                    "done"
                );
                results.installs.push(r);
            }
        }
    }
    if !cli.no_bfd && trials > 0 {
        for &router in &routers {
            tracing::info!(%router, vips = cli.vips, trials, "worker death with BFD");
            let r = bfd_run(&config, router, cli.vips, trials);
            tracing::info!(%router, times = ?r.times(), error = ?r.error, "done");
            results.bfd_runs.push(r);
        }
    }
    let command: Vec<String> = std::env::args().collect();
    let text = format!(
        "Machine: {started} at the start, load average {} at the end\nCommand: `{}`\n\n{}",
        load(),
        command.join(" "),
        results.render()
    );
    print!("{text}");
    if let Some(path) = &cli.markdown {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    let failed = results
        .installs
        .iter()
        .filter(|r| r.error.is_some())
        .count()
        + results
            .bfd_runs
            .iter()
            .filter(|r| r.error.is_some())
            .count();
    if failed > 0 {
        bail!("{failed} run(s) failed");
    }
    Ok(())
}
