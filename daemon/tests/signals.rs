//! Signal handling, observed from outside: each test re-runs this test
//! binary as a child process (selected by an environment variable), which
//! reports on stderr (stdout belongs to the test harness). The test signals
//! it with kill(2) and checks what it prints and how it exits.

use std::future::pending;

use ferrolb_daemon::testing::{DaemonChild, TIMEOUT};
use ferrolb_daemon::{ReloadSignal, Shutdown};

const CHILD_ENV: &str = "FERROLB_SIGNAL_TEST_CHILD";

/// Re-runs test `name` in a child process in which `child_mode()` is set.
fn spawn_self(name: &str) -> DaemonChild {
    let exe = std::env::current_exe().unwrap();
    let mut command = DaemonChild::command(exe.to_str().unwrap());
    command
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1");
    DaemonChild::spawn_command(command)
}

fn child_mode() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn is(text: &'static str) -> impl Fn(&str) -> bool {
    move |line| line == text
}

#[tokio::test]
async fn first_signal_shuts_down_gracefully() {
    if child_mode() {
        let shutdown = Shutdown::new();
        shutdown.install_signal_handlers().unwrap();
        eprintln!("handlers installed");
        shutdown.wait().await;
        eprintln!("shutdown triggered");
        return;
    }
    let mut child = spawn_self("first_signal_shuts_down_gracefully");
    child.wait_for_line(TIMEOUT, is("handlers installed")).await;
    child.signal(libc::SIGINT);
    child.wait_for_line(TIMEOUT, is("shutdown triggered")).await;
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", child.transcript());
}

#[tokio::test]
async fn second_signal_forces_exit() {
    if child_mode() {
        let shutdown = Shutdown::new();
        shutdown.install_signal_handlers().unwrap();
        eprintln!("handlers installed");
        shutdown.wait().await;
        eprintln!("shutdown triggered");
        // A shutdown that never completes, like a drain stuck on a peer.
        pending::<()>().await;
    }
    let mut child = spawn_self("second_signal_forces_exit");
    child.wait_for_line(TIMEOUT, is("handlers installed")).await;
    child.signal(libc::SIGTERM);
    child.wait_for_line(TIMEOUT, is("shutdown triggered")).await;
    child.signal(libc::SIGTERM);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        child.transcript()
    );
}

#[tokio::test]
async fn sighup_requests_reload_without_terminating() {
    if child_mode() {
        let shutdown = Shutdown::new();
        shutdown.install_signal_handlers().unwrap();
        let mut reload = ReloadSignal::install().unwrap();
        eprintln!("handlers installed");
        let mut reloads = 0;
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = reload.recv() => {
                    reloads += 1;
                    eprintln!("reload {reloads}");
                }
            }
        }
        eprintln!("stopped after {reloads} reloads");
        return;
    }
    let mut child = spawn_self("sighup_requests_reload_without_terminating");
    child.wait_for_line(TIMEOUT, is("handlers installed")).await;
    child.signal(libc::SIGHUP);
    child.wait_for_line(TIMEOUT, is("reload 1")).await;
    child.signal(libc::SIGHUP);
    child.wait_for_line(TIMEOUT, is("reload 2")).await;
    child.signal(libc::SIGTERM);
    child
        .wait_for_line(TIMEOUT, is("stopped after 2 reloads"))
        .await;
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", child.transcript());
}
