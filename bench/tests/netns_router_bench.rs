//! `router-bench`'s runs end to end at a tiny size: ferrolb-router and BIRD as the router under
//! test in real namespaces, real workers' BGP sessions and BFD, the real kernel FIB read over
//! rtnetlink. Not a timing test: it asserts that every row produced a measurement, and that
//! the FIB it stopped on held every prefix through exactly the right next hops.
//!
//! Needs root and `ferrolb-router` built into the same target directory as this test (CI's
//! `cargo nextest run --workspace` builds it; else `cargo build -p ferrolb-router`).

use std::path::PathBuf;
use std::time::Duration;

use ferrolb_bench::router::dut::{BfdTimers, RouterKind};
use ferrolb_bench::router::run::{bfd_run, install_run, BenchConfig};

const WORKERS: usize = 3;
const PREFIXES: u32 = 200;
const VIPS: u32 = 50;

/// `ferrolb-router` of the same profile, next to this test's `deps` directory.
fn ferrolb_router() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let router = dir.join("ferrolb-router");
    assert!(
        router.is_file(),
        "{} not found: this test runs it; `cargo build -p ferrolb-router`",
        router.display()
    );
    router
}

fn config() -> BenchConfig {
    BenchConfig {
        workers: WORKERS,
        ferrolb_router: ferrolb_router(),
        timeout: Duration::from_secs(60),
        // Slower than the benchmark's 50 ms x 3, so a loaded CI machine does not flap them.
        bfd: BfdTimers {
            interval_ms: 200,
            multiplier: 5,
        },
    }
}

fn check_install(kind: RouterKind) {
    let r = install_run(&config(), kind, PREFIXES);
    assert_eq!(r.error, None, "{kind}");
    let install = r.install.expect("an install measurement");
    assert!(
        install.seconds.is_some_and(|s| s > 0.0),
        "{kind}: {install:?}"
    );
    assert_eq!(install.next_hops, WORKERS);
    assert_eq!(install.tally.present, PREFIXES, "{kind}: {install:?}");
    assert_eq!(install.tally.complete, PREFIXES, "{kind}: {install:?}");
    // The first worker went away: every prefix is left with exactly the two others.
    let removal = r.removal.expect("a removal measurement");
    assert!(removal.seconds.is_some(), "{kind}: {removal:?}");
    assert_eq!(removal.next_hops, WORKERS - 1);
    assert_eq!(removal.tally.complete, PREFIXES, "{kind}: {removal:?}");
    assert_eq!(removal.tally.referencing, 0, "{kind}: {removal:?}");
    assert!(
        r.peak_rss.is_some_and(|b| b > 1 << 20),
        "{kind}: {:?}",
        r.peak_rss
    );
}

fn check_worker_death(kind: RouterKind) {
    let r = bfd_run(&config(), kind, VIPS, 1);
    assert_eq!(r.error, None, "{kind}");
    assert_eq!(r.trials.len(), 1, "{kind}");
    let trial = r.trials[0];
    assert!(trial.seconds.is_some(), "{kind}: {trial:?}");
    assert_eq!(trial.next_hops, WORKERS - 1);
    assert_eq!(trial.tally.complete, VIPS, "{kind}: {trial:?}");
    assert_eq!(trial.tally.referencing, 0, "{kind}: {trial:?}");
}

#[test]
fn netns_ferrolb_router_installs_and_removes_ecmp_routes() {
    check_install(RouterKind::Ferrolb);
}

#[test]
fn netns_bird_installs_and_removes_ecmp_routes() {
    check_install(RouterKind::Bird);
}

#[test]
fn netns_ferrolb_router_drops_a_dead_worker_with_bfd() {
    check_worker_death(RouterKind::Ferrolb);
}

#[test]
fn netns_bird_drops_a_dead_worker_with_bfd() {
    check_worker_death(RouterKind::Bird);
}
