//! `ferrolb-controller` as a process: admin endpoints, logs, signals, exit
//! status, and allocation through a kubeconfig.

mod common;

use std::time::Duration;

use common::Cluster;
use ferrolb_daemon::testing::{
    check_admin_bind_failure, check_json_logs, check_lifecycle, wait_ready, DaemonUnderTest,
    TempDir,
};
use serde_json::json;

/// The binary pointed at `cluster` through a kubeconfig in `dir`, serving
/// its admission webhook on a free loopback port.
fn controller(cluster: &Cluster, dir: &TempDir) -> DaemonUnderTest<'static> {
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.server.write_kubeconfig(&kubeconfig).unwrap();
    let webhook_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    DaemonUnderTest {
        bin: env!("CARGO_BIN_EXE_ferrolb-controller"),
        program: "ferrolb-controller",
        version: env!("CARGO_PKG_VERSION"),
        args: [
            common::process_args(&kubeconfig, "process"),
            vec![
                "--webhook-listen".into(),
                format!("127.0.0.1:{webhook_port}"),
                "--webhook-url".into(),
                format!("https://127.0.0.1:{webhook_port}/validate"),
            ],
        ]
        .concat(),
    }
}

#[tokio::test]
async fn serves_admin_endpoints_and_exits_0_on_sigterm() {
    let cluster = Cluster::start().await;
    let dir = TempDir::new("controller");
    check_lifecycle(&controller(&cluster, &dir), "127.0.0.1:0").await;
    // It led, and handed the Lease back on the way out.
    let lease: k8s_openapi::api::coordination::v1::Lease =
        kube::Api::namespaced(cluster.client(), common::NAMESPACE)
            .get("ferrolb-controller")
            .await
            .unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity, None);
}

#[tokio::test]
async fn json_log_format_prints_only_json() {
    let cluster = Cluster::start().await;
    let dir = TempDir::new("controller");
    check_json_logs(&controller(&cluster, &dir)).await;
}

#[tokio::test]
async fn busy_admin_port_fails_start() {
    let cluster = Cluster::start().await;
    let dir = TempDir::new("controller");
    check_admin_bind_failure(&controller(&cluster, &dir)).await;
}

#[tokio::test]
async fn busy_webhook_port_fails_start() {
    let cluster = Cluster::start().await;
    let dir = TempDir::new("controller");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let mut daemon = controller(&cluster, &dir);
    let at = daemon
        .args
        .iter()
        .position(|a| a == "--webhook-listen")
        .unwrap();
    daemon.args[at + 1] = busy_addr.clone();
    let mut child = daemon.spawn("127.0.0.1:0", &[]);
    let status = child.wait_exit(Duration::from_secs(20)).await;
    assert_ne!(status.code(), Some(0), "{}", child.transcript());
    let transcript = child.transcript();
    assert!(
        transcript.contains(&format!("webhook cannot listen on {busy_addr}")),
        "{transcript}"
    );
}

#[tokio::test]
async fn allocates_as_a_process() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [192.0.2.0/30]").await;
    let dir = TempDir::new("controller");
    let mut child = controller(&cluster, &dir).spawn("127.0.0.1:0", &[]);
    let addr = child.admin_addr().await;
    wait_ready(&addr).await;
    cluster.service("web", json!({})).await;
    cluster.wait_ips_are("web", &["192.0.2.0"]).await;
    common::eventually("the annotation", || async {
        cluster.recorded_pool("web").await.as_deref() == Some("p")
    })
    .await;
    // Writes carry the default field manager.
    assert!(
        cluster.writes_by(
            &ferrolb_fake_apiserver::ResourceRef::core("services"),
            "ferrolb-controller"
        ) >= 2
    );
    let metrics = ferrolb_daemon::testing::get(&addr, "/metrics")
        .await
        .unwrap()
        .body;
    assert!(
        metrics.contains("ferrolb_controller_leader 1\n"),
        "{metrics}"
    );
    // The process registers its webhook, and the API server then calls it.
    let configurations: kube::Api<
        k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    > = kube::Api::all(cluster.client());
    common::eventually("the webhook registration", || async {
        configurations
            .get_opt("ferrolb-validating-webhook")
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let pools: kube::Api<ferrolb_api::IPAddressPool> =
        kube::Api::namespaced(cluster.client(), common::NAMESPACE);
    let pool = serde_json::from_value(json!({
        "metadata": {"name": "overlap"}, "spec": {"addresses": ["192.0.2.2/31"]}
    }))
    .unwrap();
    match pools.create(&Default::default(), &pool).await {
        Err(kube::Error::Api(e)) => {
            assert!(e.message.contains("denied the request"), "{}", e.message);
            assert!(e.message.contains("IPAddressPool \"p\""), "{}", e.message);
        }
        other => panic!("an overlapping pool was not refused: {other:?}"),
    }
    child.signal(libc::SIGTERM);
    let status = child.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{}", child.transcript());
}
