//! The demo's scenario end to end, as `sudo ./scripts/demo.sh` runs it:
//! the real controller, speakers and routers in namespaces around the
//! in-process API server. Asserts what the demo shows a user, and that
//! nothing is left behind, also when it is interrupted.
//!
//! Needs root and the daemons built into the same target directory as
//! this test (CI's `cargo nextest run --workspace` builds them all).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ferrolb_demo::summary::{render, Outcome};
use ferrolb_demo::{Cancel, Options, Report};

fn options(tag: &str) -> Options {
    common::options(tag, 1000)
}

/// Nothing of the demo remains but its logs.
fn assert_removed(report: &Report, dir: &Path) {
    for ns in &report.namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "namespace {ns} left behind"
        );
    }
    let left: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "files left in {}: {left:?}", dir.display());
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn netns_demo_every_step_ok_and_everything_removed() {
    let options = options("full");
    let report = ferrolb_demo::run(&options, &Cancel::new());
    let table = render(&report.steps);
    println!("{table}");
    assert!(report.all_ok(), "{table}");
    assert_eq!(report.steps.len(), ferrolb_demo::scenario::PLAN.len());

    // The controller gave the BGP Services addresses from demo-bgp and the
    // L2 one from demo-l2.
    assert!(
        report.addresses["web"].starts_with("198.51.100."),
        "{:?}",
        report.addresses
    );
    assert!(
        report.addresses["shop"].starts_with("198.51.100."),
        "{:?}",
        report.addresses
    );
    assert!(
        report.addresses["printer"].starts_with("198.18.0.20"),
        "{:?}",
        report.addresses
    );

    // 1,000 requests each, none failed: Cluster over all three nodes,
    // Local only over the nodes with endpoints, L2 all on the owner.
    let web = &report.spreads["web"];
    assert_eq!((web.total(), web.failures), (1000, 0));
    assert_eq!(web.servers(), names(&["node-1", "node-2", "node-3"]));
    let shop = &report.spreads["shop"];
    assert_eq!((shop.total(), shop.failures), (1000, 0));
    assert_eq!(shop.servers(), names(&["node-1", "node-2"]));
    let owner = report.l2_owner.clone().unwrap();
    let printer = &report.spreads["printer"];
    assert_eq!(printer.answers.get(&owner), Some(&1000), "{printer:?}");

    // The TCP LB: round robin over three API servers, then over two.
    let before = report.apiserver_before.as_ref().unwrap();
    assert_eq!(before.servers().len(), 3, "{before:?}");
    let after = report.apiserver_after.as_ref().unwrap();
    assert_eq!(after.failures, 0);
    assert!(!after.servers().contains("apiserver@node-3"), "{after:?}");

    // The L2 owner died: BGP traffic left it once the routers' hold timers
    // expired (3 s), the L2 address moved to another node.
    let node = report.node_failover.as_ref().unwrap();
    assert_eq!(node.victim, owner);
    assert_eq!(node.fib.len(), 2, "{node:?}");
    for took in node.fib.values() {
        assert!(*took < Duration::from_secs(15), "{node:?}");
    }
    assert!(node.bgp.settled_after < Duration::from_secs(15), "{node:?}");
    let new_owner = node.new_l2_owner.clone().unwrap();
    assert_ne!(new_owner, owner);
    assert!(node.l2.is_some(), "{node:?}");

    // Router-1 died: router-2 took the API server VIP over.
    let vip = report.vip_failover.as_ref().unwrap();
    assert!(vip.settled_after < Duration::from_secs(15), "{vip:?}");

    // Every metric the Grafana dashboard queries is exported by the daemons.
    let dashboard: serde_json::Value =
        serde_json::from_str(ferrolb_demo::dashboard::DASHBOARD).unwrap();
    let queried = ferrolb_demo::dashboard::queried_metrics(&dashboard);
    let missing: Vec<&String> = queried.difference(&report.metrics).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries {missing:?}, which no daemon exports"
    );

    assert_removed(&report, &options.dir);
    let _ = std::fs::remove_dir_all(&options.dir);
}

#[test]
fn netns_demo_interrupted_removes_everything() {
    let options = options("interrupted");
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    // As Ctrl-C would, while the daemons are starting.
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        trigger.cancel();
    });
    let report = ferrolb_demo::run(&options, &cancel);
    interrupter.join().unwrap();
    println!("{}", render(&report.steps));
    assert!(!report.all_ok());
    let interrupted = report
        .steps
        .iter()
        .position(|s| s.outcome == Outcome::Failed("interrupted".into()))
        .unwrap_or_else(|| panic!("no step says interrupted: {:?}", report.steps));
    assert!(
        report.steps[interrupted + 1..]
            .iter()
            .all(|s| s.outcome == Outcome::Skipped),
        "{:?}",
        report.steps
    );
    assert!(!report.namespaces.is_empty());
    assert_removed(&report, &options.dir);
    let _ = std::fs::remove_dir_all(&options.dir);
}
