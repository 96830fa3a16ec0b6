//! The router binary runs the TCP load balancer from its config: it serves a frontend, lists
//! frontends and backends on the admin API (behind the token), sets a backend's state, and
//! applies a changed `loadBalancer` section on SIGHUP without closing connections.

use std::net::SocketAddr;
use std::time::Duration;

use ferrolb_daemon::testing::{wait_ready, DaemonChild, TempDir, TIMEOUT};
use ferrolb_daemon::AdminAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolb-router");
const TOKEN: &str = "s3cret-token";

/// An echo server that first names itself.
async fn echo_server(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                // Health checks connect and leave; clients send first.
                let Ok(n) = s.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                let _ = s.write_all(format!("{name}:").as_bytes()).await;
                let _ = s.write_all(&buf[..n]).await;
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn config(frontend: SocketAddr, backends: &[SocketAddr], token_file: &str) -> String {
    let list: Vec<String> = backends
        .iter()
        .map(|b| format!("{{address: '{b}'}}"))
        .collect();
    format!(
        "asn: 64512\nrouterId: 192.0.2.1\nadmin: {{tokenFile: '{token_file}'}}\n\
         loadBalancer:\n  acceptWorkers: 2\n  frontends:\n    - name: api\n      listen: ['{frontend}']\n      \
         backends: [{}]\n      healthCheck: {{interval: 100ms, timeout: 100ms}}\n",
        list.join(", ")
    )
}

/// One HTTP/1.1 request with the bearer token (if any); returns status and body.
async fn request(
    admin: &AdminAddr,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, String) {
    let AdminAddr::Tcp(addr) = admin else {
        panic!("admin on TCP expected")
    };
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(TIMEOUT, s.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn hello(frontend: SocketAddr) -> (String, TcpStream) {
    let mut s = TcpStream::connect(frontend).await.unwrap();
    s.write_all(b"hi").await.unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(TIMEOUT, s.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    (text[..2].to_owned(), s)
}

async fn backends_listed(admin: &AdminAddr) -> serde_json::Value {
    let (status, body) = request(admin, "GET", "/api/v1/loadbalancer", "", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_serves_a_frontend_and_its_admin_api() {
    let dir = TempDir::new("router-lb");
    let token_file = dir.join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let token_file = token_file.to_str().unwrap().to_owned();
    let b1 = echo_server("b1").await;
    let b2 = echo_server("b2").await;
    let fe = free_port();
    let path = dir.join("router.yaml");
    std::fs::write(&path, config(fe, &[b1], &token_file)).unwrap();
    let mut child = DaemonChild::spawn(
        BIN,
        &[
            "--config",
            path.to_str().unwrap(),
            "--admin-listen",
            "127.0.0.1:0",
        ],
    );
    let admin = child.admin_addr().await;
    wait_ready(&admin).await;

    let (name, mut long_lived) = hello(fe).await;
    assert_eq!(name, "b1");

    // The admin API needs the token.
    let (status, _) = request(&admin, "GET", "/api/v1/loadbalancer", "", None).await;
    assert_eq!(status, 401);
    let listed = backends_listed(&admin).await;
    let backend = &listed["frontends"][0]["backends"][0];
    assert_eq!(listed["frontends"][0]["name"], "api");
    assert_eq!(backend["address"], b1.to_string());
    assert_eq!(backend["up"], true);
    assert_eq!(backend["adminState"], "ready");
    assert_eq!(backend["activeConnections"], 1);

    // SIGHUP with a second backend: applied in place, the open connection keeps working.
    std::fs::write(&path, config(fe, &[b1, b2], &token_file)).unwrap();
    child.signal(libc::SIGHUP);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while backends_listed(&admin).await["frontends"][0]["backends"]
        .as_array()
        .unwrap()
        .len()
        < 2
    {
        assert!(tokio::time::Instant::now() < deadline, "reload not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    long_lived.write_all(b"ok").await.unwrap();
    let mut back = [0u8; 2];
    long_lived.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ok");

    // Drain b1: new connections go to b2 only.
    let put = format!("/api/v1/loadbalancer/frontends/api/backends/{b1}");
    let (status, body) = request(&admin, "PUT", &put, r#"{"state":"drain"}"#, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""adminState":"drain""#), "{body}");
    for _ in 0..4 {
        assert_eq!(hello(fe).await.0, "b2");
    }
    let (status, _) = request(&admin, "PUT", &put, r#"{"state":"sleepy"}"#, Some(TOKEN)).await;
    assert_eq!(status, 422);
    let missing = "/api/v1/loadbalancer/frontends/api/backends/127.0.0.1:1";
    let (status, _) = request(&admin, "PUT", missing, r#"{"state":"maint"}"#, Some(TOKEN)).await;
    assert_eq!(status, 404);

    let (_, metrics) = request(&admin, "GET", "/metrics", "", None).await;
    assert!(
        metrics.contains(&format!(
            "ferrolb_router_lb_backend_connections_total{{frontend=\"api\",backend=\"{b2}\"}} 4"
        )),
        "{metrics}"
    );

    child.signal(libc::SIGTERM);
    assert!(child.wait_exit(TIMEOUT).await.success());
}
