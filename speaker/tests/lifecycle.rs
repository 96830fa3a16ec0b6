//! `ferrolb-speaker` as a process: admin endpoints, logs, signals, exit status.

use ferrolb_daemon::testing::{
    check_admin_bind_failure, check_json_logs, check_lifecycle, DaemonUnderTest,
};

fn speaker() -> DaemonUnderTest<'static> {
    DaemonUnderTest {
        bin: env!("CARGO_BIN_EXE_ferrolb-speaker"),
        program: "ferrolb-speaker",
        version: env!("CARGO_PKG_VERSION"),
        args: Vec::new(),
    }
}

#[tokio::test]
async fn serves_admin_endpoints_and_exits_0_on_sigterm() {
    check_lifecycle(&speaker(), "127.0.0.1:0").await;
}

#[tokio::test]
async fn json_log_format_prints_only_json() {
    check_json_logs(&speaker()).await;
}

#[tokio::test]
async fn busy_admin_port_fails_start() {
    check_admin_bind_failure(&speaker()).await;
}
