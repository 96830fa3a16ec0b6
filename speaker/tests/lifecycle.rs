//! `ferrolb-speaker` as a process: admin endpoints, logs, signals, exit status.

mod common;

use ferrolb_daemon::testing::{
    check_admin_bind_failure, check_json_logs, check_lifecycle, DaemonUnderTest, TempDir,
};
use ferrolb_fake_apiserver::FakeApiServer;

/// The binary pointed at `server` through a kubeconfig in `dir`.
fn speaker(server: &FakeApiServer, dir: &TempDir) -> DaemonUnderTest<'static> {
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    DaemonUnderTest {
        bin: env!("CARGO_BIN_EXE_ferrolb-speaker"),
        program: "ferrolb-speaker",
        version: env!("CARGO_PKG_VERSION"),
        args: [
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--node-name",
            "n1",
            "--namespace",
            common::NAMESPACE,
            "--bgp-router-id",
            "192.0.2.1",
            "--drain-period",
            "100ms",
        ]
        .map(String::from)
        .to_vec(),
    }
}

async fn server() -> FakeApiServer {
    common::start_cluster("127.0.0.1:0".parse().unwrap()).await
}

#[tokio::test]
async fn serves_admin_endpoints_and_exits_0_on_sigterm() {
    let server = server().await;
    let dir = TempDir::new("speaker");
    check_lifecycle(&speaker(&server, &dir), "127.0.0.1:0").await;
}

#[tokio::test]
async fn json_log_format_prints_only_json() {
    let server = server().await;
    let dir = TempDir::new("speaker");
    check_json_logs(&speaker(&server, &dir)).await;
}

#[tokio::test]
async fn busy_admin_port_fails_start() {
    let server = server().await;
    let dir = TempDir::new("speaker");
    check_admin_bind_failure(&speaker(&server, &dir)).await;
}
