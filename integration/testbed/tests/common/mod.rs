//! Helpers shared by the self-tests.

#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// Generous per-step timeout; the steps themselves take a second or two.
pub const T: Duration = Duration::from_secs(20);

/// The names `ip netns list` shows.
pub fn netns_names() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Whether `pid` is a live (non-zombie) process.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Asserts that the namespaces are gone from `ip netns list` and the processes have exited
/// (allowing a moment for the kernel to finish).
pub fn assert_cleaned_up(namespaces: &[String], pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let names = netns_names();
        let left_ns: Vec<_> = namespaces.iter().filter(|n| names.contains(n)).collect();
        let left_pids: Vec<_> = pids.iter().filter(|p| pid_alive(**p)).collect();
        if left_ns.is_empty() && left_pids.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: namespaces {left_ns:?}, processes {left_pids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
