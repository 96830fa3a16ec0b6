//! `lbctl demo down`: removes the single-machine demo (`scripts/demo.sh`)
//! left up with `--keep`, or what remains of one that was killed. The demo
//! records its process, namespaces and processes in a state file; a live
//! demo is asked to remove itself (SIGTERM), and whatever is still there
//! afterwards is removed here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Subcommand;
use serde::Deserialize;

/// Where the demo keeps its files unless told otherwise.
const DEFAULT_DIR: &str = "/run/ferrolb-demo";
/// The state file's name in that directory.
const STATE_FILE: &str = "state.json";

/// `lbctl demo ...`.
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Removes the demo: its namespaces, processes and files (logs stay).
    Down {
        /// The demo's directory (its `--dir`).
        #[arg(long, default_value = DEFAULT_DIR)]
        dir: PathBuf,
        /// How long a running demo gets to remove itself.
        #[arg(long, default_value = "30s")]
        timeout: ferrolb_api::Duration,
    },
}

/// The part of the demo's state file this command reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoState {
    pid: u32,
    #[serde(default)]
    namespaces: BTreeMap<String, String>,
    #[serde(default)]
    processes: BTreeMap<String, u32>,
}

/// The demo's namespaces that still exist.
fn namespaces_left(state: &DemoState, existing: &BTreeSet<String>) -> Vec<String> {
    state
        .namespaces
        .values()
        .filter(|ns| existing.contains(*ns))
        .cloned()
        .collect()
}

/// The demo's recorded processes still alive (by label).
fn processes_left(state: &DemoState, alive: impl Fn(u32) -> bool) -> Vec<(String, u32)> {
    state
        .processes
        .iter()
        .filter(|(_, pid)| alive(**pid))
        .map(|(label, pid)| (label.clone(), *pid))
        .collect()
}

/// Runs `lbctl demo ...`.
pub fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    let DemoCommand::Down { dir, timeout } = command;
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no demo is running (no {})", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let state: DemoState = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a demo state file", path.display()))?;
    if is_demo(state.pid) {
        println!("asking the demo (pid {}) to remove itself", state.pid);
        signal(state.pid, "TERM")?;
        let deadline = Instant::now() + timeout.as_std();
        while alive(state.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if alive(state.pid) {
            println!("the demo did not exit within {timeout}; removing what it left");
            signal(state.pid, "KILL")?;
        }
    }
    let mut failed = false;
    for ns in namespaces_left(&state, &namespaces()?) {
        if let Err(e) = delete_namespace(&ns) {
            eprintln!("error: {e:#}");
            failed = true;
        }
    }
    // Processes die with their namespace's SIGKILL; any left outlived it.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_left(&state, alive).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (label, pid) in processes_left(&state, alive) {
        match signal(pid, "KILL") {
            Ok(()) => println!("killed {label} (pid {pid})"),
            Err(e) => {
                eprintln!("error: {e:#}");
                failed = true;
            }
        }
    }
    remove_files(&dir);
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    println!("demo removed (logs, if any, stay in {})", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` is a running `ferrolb-demo` (not a reused pid).
fn is_demo(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| {
            cmdline
                .split(|b| *b == 0)
                .next()
                .is_some_and(|argv0| String::from_utf8_lossy(argv0).ends_with("ferrolb-demo"))
        })
        .unwrap_or(false)
}

fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .context("running kill")?;
    anyhow::ensure!(
        status.success() || !alive(pid),
        "kill -{signal} {pid} failed"
    );
    Ok(())
}

/// The network namespaces `ip netns` knows.
fn namespaces() -> anyhow::Result<BTreeSet<String>> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .context("running ip netns list (iproute2)")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

fn delete_namespace(ns: &str) -> anyhow::Result<()> {
    let pids = Command::new("ip").args(["netns", "pids", ns]).output()?;
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        if let Ok(pid) = pid.parse() {
            signal(pid, "KILL")?;
        }
    }
    let status = Command::new("ip").args(["netns", "delete", ns]).status()?;
    anyhow::ensure!(status.success(), "ip netns delete {ns} failed");
    println!("deleted namespace {ns}");
    Ok(())
}

/// Removes the demo's files except its logs.
fn remove_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() || path.extension().is_some_and(|e| e == "sock") {
            if path.extension().is_some_and(|e| e == "log") {
                continue;
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_existing_namespaces_and_live_processes() {
        let state: DemoState = serde_json::from_str(
            r#"{"pid": 10, "dir": "/run/ferrolb-demo", "kubeconfig": "/x",
                "namespaces": {"api": "flb-10-1-api", "client": "flb-10-7-client"},
                "processes": {"controller": 11, "speaker@node-1": 12}, "routers": {}}"#,
        )
        .unwrap();
        let cases: &[(&[&str], Vec<&str>)] = &[
            (&[], vec![]),
            (&["flb-10-1-api", "other"], vec!["flb-10-1-api"]),
            (
                &["flb-10-7-client", "flb-10-1-api"],
                vec!["flb-10-1-api", "flb-10-7-client"],
            ),
        ];
        for (existing, want) in cases {
            let existing: BTreeSet<String> = existing.iter().map(|s| s.to_string()).collect();
            assert_eq!(namespaces_left(&state, &existing), *want, "{existing:?}");
        }
        // live pids; the processes left.
        type Case = (&'static [u32], Vec<(String, u32)>);
        let cases: &[Case] = &[
            (&[], vec![]),
            (&[12, 99], vec![("speaker@node-1".into(), 12)]),
            (
                &[11, 12],
                vec![("controller".into(), 11), ("speaker@node-1".into(), 12)],
            ),
        ];
        for (live, want) in cases {
            assert_eq!(
                processes_left(&state, |pid| live.contains(&pid)),
                *want,
                "{live:?}"
            );
        }
    }

    #[test]
    fn a_missing_state_file_means_nothing_to_do() {
        let dir = std::env::temp_dir().join(format!("lbctl-demo-none-{}", std::process::id()));
        let code = run(DemoCommand::Down {
            dir,
            timeout: "1s".parse().unwrap(),
        })
        .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
    }
}
