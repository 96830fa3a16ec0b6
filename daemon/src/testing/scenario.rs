//! Checks every FerroLB daemon binary must pass, shared by the program
//! crates' tests.

use super::{get, DaemonChild, TIMEOUT};
use crate::admin::AdminAddr;
use crate::metrics::OPENMETRICS_CONTENT_TYPE;

/// A daemon binary and how to run it.
#[derive(Debug, Clone)]
pub struct DaemonUnderTest<'a> {
    /// Path of the binary (`env!("CARGO_BIN_EXE_...")`).
    pub bin: &'a str,
    /// Program name expected in `ferrolb_build_info`.
    pub program: &'a str,
    /// Version expected in `ferrolb_build_info`.
    pub version: &'a str,
    /// Arguments besides `--admin-listen` (e.g. `--config`).
    pub args: Vec<String>,
}

impl DaemonUnderTest<'_> {
    /// Spawns the daemon with its admin server on `admin_listen` plus `extra`
    /// arguments.
    pub fn spawn(&self, admin_listen: &str, extra: &[&str]) -> DaemonChild {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend(["--admin-listen", admin_listen]);
        args.extend(extra);
        DaemonChild::spawn(self.bin, &args)
    }
}

/// Starts the daemon with its admin server on `admin_listen` (e.g.
/// `127.0.0.1:0` or `unix:/tmp/x.sock`), checks `/healthz`, `/readyz` and
/// `/metrics`, stops it with SIGTERM and checks it exits 0 and releases the
/// admin address.
pub async fn check_lifecycle(daemon: &DaemonUnderTest<'_>, admin_listen: &str) {
    let mut child = daemon.spawn(admin_listen, &[]);
    let addr = child.admin_addr().await;

    let health = get(&addr, "/healthz").await.expect("GET /healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    let ready = wait_ready(&addr).await;
    assert_eq!(ready.body, "ready");

    let metrics = get(&addr, "/metrics").await.expect("GET /metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    let build_info = format!(
        "ferrolb_build_info{{program=\"{}\",version=\"{}\"}} 1\n",
        daemon.program, daemon.version
    );
    assert!(metrics.body.contains(&build_info), "{}", metrics.body);
    assert!(metrics.body.ends_with("# EOF\n"), "{}", metrics.body);

    child.signal(libc::SIGTERM);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "output:\n{}", child.transcript());
    assert!(
        child.lines().iter().any(|l| l.text.contains("SIGTERM")),
        "shutdown cause not logged:\n{}",
        child.transcript()
    );
    assert!(
        get(&addr, "/healthz").await.is_err(),
        "admin server still answers on {addr} after exit"
    );
}

/// Runs the daemon with `--log-format json` through start-up and SIGTERM and
/// checks that every line it printed is a JSON log record.
pub async fn check_json_logs(daemon: &DaemonUnderTest<'_>) {
    let mut child = daemon.spawn("127.0.0.1:0", &["--log-format", "json"]);
    let addr = child.admin_addr().await;
    wait_ready(&addr).await;
    child.signal(libc::SIGTERM);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "output:\n{}", child.transcript());

    let lines = child.lines();
    assert!(
        lines.len() >= 3,
        "too few log lines:\n{}",
        child.transcript()
    );
    for line in &lines {
        let record: serde_json::Value =
            serde_json::from_str(&line.text).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        for field in ["timestamp", "level", "message"] {
            assert!(record.get(field).is_some(), "no {field:?} in {line:?}");
        }
    }
}

/// Starts the daemon with its admin address already taken and checks that
/// it fails at once with status 1 and says why.
pub async fn check_admin_bind_failure(daemon: &DaemonUnderTest<'_>) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = taken.local_addr().expect("local address").to_string();
    let mut child = daemon.spawn(&addr, &[]);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(1), "output:\n{}", child.transcript());
    for complaint in [
        format!("cannot listen on {addr}"),
        "Address already in use".into(),
    ] {
        assert!(
            child.lines().iter().any(|l| l.text.contains(&complaint)),
            "no {complaint:?} in output:\n{}",
            child.transcript()
        );
    }
}

/// Polls `/readyz` until it answers 200 (readiness is set just after the
/// admin server starts).
pub async fn wait_ready(addr: &AdminAddr) -> super::HttpResponse {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let response = get(addr, "/readyz").await.expect("GET /readyz");
        if response.status == 200 {
            return response;
        }
        assert_eq!(response.status, 503, "{response:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "not ready in time: {response:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
