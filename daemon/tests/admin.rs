//! The admin server over real sockets: loopback TCP and unix sockets.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use ferrolb_daemon::testing::{self, TempDir};
use ferrolb_daemon::{AdminAddr, AdminError, AdminServer, MetricsRegistry, Readiness, Shutdown};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn server(readiness: &Readiness) -> AdminServer {
    let metrics = MetricsRegistry::new();
    metrics.register_build_info("ferrolb-test", "9.9.9");
    let api = Router::new().route("/api/v1/status", get(|| async { r#"{"peers":0}"# }));
    AdminServer::new(metrics, readiness.clone()).merge(api)
}

/// Exercises every endpoint on a started server, then stops it.
async fn exercise(listen: AdminAddr) -> AdminAddr {
    let readiness = Readiness::new("starting");
    let shutdown = Shutdown::new();
    let running = server(&readiness)
        .start(&listen, shutdown.clone())
        .await
        .unwrap();
    let addr = running.local_addr().clone();

    let health = testing::get(&addr, "/healthz").await.unwrap();
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    let not_ready = testing::get(&addr, "/readyz").await.unwrap();
    assert_eq!(
        (not_ready.status, not_ready.body.as_str()),
        (503, "not ready: starting")
    );
    readiness.set_ready();
    let ready = testing::get(&addr, "/readyz").await.unwrap();
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));
    readiness.set_not_ready("no BGP session established");
    let degraded = testing::get(&addr, "/readyz").await.unwrap();
    assert_eq!(
        (degraded.status, degraded.body.as_str()),
        (503, "not ready: no BGP session established")
    );

    let metrics = testing::get(&addr, "/metrics").await.unwrap();
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("Content-Type"), Some(OPENMETRICS));
    assert!(
        metrics
            .body
            .contains("ferrolb_build_info{program=\"ferrolb-test\",version=\"9.9.9\"} 1\n"),
        "{}",
        metrics.body
    );

    let api = testing::get(&addr, "/api/v1/status").await.unwrap();
    assert_eq!((api.status, api.body.as_str()), (200, r#"{"peers":0}"#));
    assert_eq!(testing::get(&addr, "/nope").await.unwrap().status, 404);

    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(5), running.join())
        .await
        .expect("admin server stops on shutdown")
        .unwrap();
    assert!(testing::get(&addr, "/healthz").await.is_err());
    addr
}

#[tokio::test]
async fn tcp_loopback() {
    let addr = exercise("127.0.0.1:0".parse().unwrap()).await;
    match addr {
        AdminAddr::Tcp(a) => {
            assert!(a.ip().is_loopback());
            assert_ne!(a.port(), 0, "the bound port is reported");
        }
        AdminAddr::Unix(_) => panic!("{addr}"),
    }
}

#[tokio::test]
async fn unix_socket() {
    let dir = TempDir::new("admin");
    let path = dir.join("admin.sock");
    let addr = exercise(AdminAddr::Unix(path.clone())).await;
    assert_eq!(addr, AdminAddr::Unix(path.clone()));
    assert!(!path.exists(), "socket file removed on shutdown");
}

#[tokio::test]
async fn stale_unix_socket_is_replaced() {
    let dir = TempDir::new("admin-stale");
    let path = dir.join("admin.sock");
    // A socket file nobody accepts on, as a crashed daemon leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    exercise(AdminAddr::Unix(path)).await;
}

#[tokio::test]
async fn live_unix_socket_is_not_stolen() {
    let dir = TempDir::new("admin-live");
    let path = dir.join("admin.sock");
    let _other = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let readiness = Readiness::new("starting");
    let err = server(&readiness)
        .start(&AdminAddr::Unix(path.clone()), Shutdown::new())
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::PathInUse { .. }), "{err}");
    assert!(path.exists());
}

#[tokio::test]
async fn regular_file_is_not_removed() {
    let dir = TempDir::new("admin-file");
    let path = dir.join("admin.sock");
    std::fs::write(&path, "keep me").unwrap();
    let readiness = Readiness::new("starting");
    let err = server(&readiness)
        .start(&AdminAddr::Unix(path.clone()), Shutdown::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[tokio::test]
async fn busy_tcp_port_is_a_bind_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = AdminAddr::Tcp(taken.local_addr().unwrap());
    let readiness = Readiness::new("starting");
    let err = server(&readiness)
        .start(&addr, Shutdown::new())
        .await
        .unwrap_err();
    match &err {
        AdminError::Bind { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse)
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn open_request_finishes_during_graceful_shutdown() {
    let readiness = Readiness::new("starting");
    let shutdown = Shutdown::new();
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let slow = Router::new().route(
        "/slow",
        get(move || {
            if let Some(tx) = entered_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }),
    );
    let running = AdminServer::new(MetricsRegistry::new(), readiness)
        .merge(slow)
        .start(&"127.0.0.1:0".parse().unwrap(), shutdown.clone())
        .await
        .unwrap();
    let addr = running.local_addr().clone();
    let request = tokio::spawn(async move { testing::get(&addr, "/slow").await });
    entered_rx.await.unwrap();
    shutdown.trigger();
    let response = request.await.unwrap().unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "done"));
    tokio::time::timeout(Duration::from_secs(5), running.join())
        .await
        .unwrap()
        .unwrap();
}
