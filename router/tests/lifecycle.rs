//! `ferrolb-router` as a process: configuration check, admin endpoints over
//! TCP and a unix socket, logs, SIGHUP, SIGTERM, exit status.

use ferrolb_daemon::testing::{
    check_admin_bind_failure, check_json_logs, check_lifecycle, get, wait_ready, DaemonChild,
    DaemonUnderTest, TempDir, TIMEOUT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolb-router");
const VALID: &str = "asn: 64512\nrouterId: 192.0.2.1\n";

/// A temp dir holding `router.yaml` with `text`.
fn config_dir(text: &str) -> (TempDir, String) {
    let dir = TempDir::new("router");
    let path = dir.join("router.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

fn router(config: &str) -> DaemonUnderTest<'_> {
    DaemonUnderTest {
        bin: BIN,
        program: "ferrolb-router",
        version: env!("CARGO_PKG_VERSION"),
        args: vec!["--config".to_owned(), config.to_owned()],
    }
}

#[tokio::test]
async fn serves_admin_endpoints_over_tcp_and_exits_0_on_sigterm() {
    let (_dir, config) = config_dir(VALID);
    check_lifecycle(&router(&config), "127.0.0.1:0").await;
}

#[tokio::test]
async fn serves_admin_endpoints_over_unix_socket() {
    let (dir, config) = config_dir(VALID);
    let socket = dir.join("admin.sock");
    check_lifecycle(&router(&config), &format!("unix:{}", socket.display())).await;
    assert!(!socket.exists(), "admin socket removed at exit");
}

#[tokio::test]
async fn json_log_format_prints_only_json() {
    let (_dir, config) = config_dir(VALID);
    check_json_logs(&router(&config)).await;
}

#[tokio::test]
async fn busy_admin_port_fails_start() {
    let (_dir, config) = config_dir(VALID);
    check_admin_bind_failure(&router(&config)).await;
}

#[tokio::test]
async fn check_config() {
    let (dir, valid) = config_dir(VALID);
    let not_yaml = dir.join("broken.yaml");
    std::fs::write(&not_yaml, "asn: [64512\n").unwrap();
    let a_list = dir.join("list.yaml");
    std::fs::write(&a_list, "- 64512\n").unwrap();
    let unknown_field = dir.join("unknown.yaml");
    std::fs::write(
        &unknown_field,
        "asn: 64512\nrouterId: 192.0.2.1\nneighbors: []\n",
    )
    .unwrap();
    let zero_asn = dir.join("zero-asn.yaml");
    std::fs::write(&zero_asn, "asn: 0\nrouterId: 192.0.2.1\n").unwrap();
    let missing = dir.join("missing.yaml");

    // (config, exit status, expected output)
    let cases = [
        (valid.clone(), 0, "configuration OK".to_owned()),
        (
            not_yaml.display().to_string(),
            1,
            "invalid configuration file".to_owned(),
        ),
        (
            a_list.display().to_string(),
            1,
            "invalid type: sequence".to_owned(),
        ),
        (
            unknown_field.display().to_string(),
            1,
            "unknown field `neighbors`".to_owned(),
        ),
        (zero_asn.display().to_string(), 1, "asn".to_owned()),
        (
            missing.display().to_string(),
            1,
            format!("cannot open configuration file {}", missing.display()),
        ),
    ];
    for (config, code, says) in cases {
        let mut child = DaemonChild::spawn(BIN, &["--check-config", "--config", &config]);
        let status = child.wait_exit(TIMEOUT).await;
        assert_eq!(
            status.code(),
            Some(code),
            "{config}: {}",
            child.transcript()
        );
        assert!(
            child.lines().iter().any(|l| l.text.contains(&says)),
            "{config}: expected {says:?} in:\n{}",
            child.transcript()
        );
    }
}

#[tokio::test]
async fn invalid_config_prevents_start() {
    let (_dir, config) = config_dir("- not a mapping\n");
    let mut child = router(&config).spawn("127.0.0.1:0", &[]);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(1), "{}", child.transcript());
    assert!(
        !child
            .lines()
            .iter()
            .any(|l| l.text.contains("admin server listening")),
        "{}",
        child.transcript()
    );
}

#[tokio::test]
async fn sighup_rechecks_config_and_keeps_running() {
    let (_dir, config) = config_dir(VALID);
    let mut child = router(&config).spawn("127.0.0.1:0", &[]);
    let addr = child.admin_addr().await;
    wait_ready(&addr).await;

    child.signal(libc::SIGHUP);
    child
        .wait_for_line(TIMEOUT, |l| l.contains("configuration reloaded"))
        .await;

    std::fs::write(&config, "asn: [64512\n").unwrap();
    child.signal(libc::SIGHUP);
    let rejected = child
        .wait_for_line(TIMEOUT, |l| l.contains("configuration rejected"))
        .await;
    assert!(
        rejected.contains("invalid configuration file"),
        "{rejected}"
    );
    assert_eq!(get(&addr, "/readyz").await.unwrap().status, 200);

    child.signal(libc::SIGTERM);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", child.transcript());
}

/// `GET path` over the Unix socket `socket` with an optional bearer token: (status, body).
async fn get_with_token(
    socket: &std::path::Path,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn api_requires_the_configured_bearer_token() {
    let dir = TempDir::new("router-token");
    let token = dir.join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let config = dir.join("router.yaml");
    std::fs::write(
        &config,
        format!("{VALID}admin:\n  tokenFile: {}\n", token.display()),
    )
    .unwrap();
    let socket = dir.join("admin.sock");
    let router = router(config.to_str().unwrap());
    let mut child = router.spawn(&format!("unix:{}", socket.display()), &[]);
    let addr = child.admin_addr().await;
    wait_ready(&addr).await;

    // (path, token, status)
    let cases = [
        ("/api/v1/peers", None, 401),
        ("/api/v1/peers", Some("wrong"), 401),
        ("/api/v1/routes", Some("s3cre"), 401),
        ("/api/v1/peers", Some("s3cret"), 200),
        ("/api/v1/routes", Some("s3cret"), 200),
        ("/api/v1/schema", Some("s3cret"), 200),
        // Without peer groups nothing is routed, so there is no kernel state to show.
        ("/api/v1/fib", Some("s3cret"), 503),
        ("/healthz", None, 200),
        ("/metrics", None, 200),
    ];
    for (path, token, status) in cases {
        let (got, body) = get_with_token(&socket, path, token).await;
        assert_eq!(got, status, "{path} with {token:?}: {body}");
    }
    let (_, body) = get_with_token(&socket, "/api/v1/peers", Some("s3cret")).await;
    assert!(body.contains("\"peers\":[]"), "{body}");

    child.signal(libc::SIGTERM);
    assert_eq!(child.wait_exit(TIMEOUT).await.code(), Some(0));
}

#[tokio::test]
async fn api_reachable_from_the_network_needs_a_token() {
    let (_dir, config) = config_dir(VALID);
    let mut child = router(&config).spawn("0.0.0.0:0", &[]);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(1), "{}", child.transcript());
    assert!(
        child
            .lines()
            .iter()
            .any(|l| l.text.contains("without authentication")),
        "{}",
        child.transcript()
    );
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_listen_serves_metrics_without_the_api() {
    let port = free_port();
    let (_dir, config) = config_dir(&format!("{VALID}metrics:\n  listen: 127.0.0.1:{port}\n"));
    let mut child = router(&config).spawn("127.0.0.1:0", &[]);
    let admin = child.admin_addr().await;
    wait_ready(&admin).await;
    let metrics = ferrolb_daemon::AdminAddr::Tcp(([127, 0, 0, 1], port).into());
    let scraped = get(&metrics, "/metrics").await.unwrap();
    assert_eq!(scraped.status, 200, "{}", child.transcript());
    assert!(
        scraped
            .body
            .contains("ferrolb_build_info{program=\"ferrolb-router\""),
        "{}",
        scraped.body
    );
    assert!(scraped.body.contains("ferrolb_router_routes_installed"));
    // The admin API is not reachable through the metrics address.
    assert_eq!(get(&metrics, "/api/v1/peers").await.unwrap().status, 404);
    assert_eq!(get(&admin, "/api/v1/peers").await.unwrap().status, 200);

    child.signal(libc::SIGTERM);
    assert_eq!(child.wait_exit(TIMEOUT).await.code(), Some(0));
    // Released at exit.
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[tokio::test]
async fn a_busy_metrics_address_fails_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_dir, config) = config_dir(&format!("{VALID}metrics:\n  listen: 127.0.0.1:{port}\n"));
    let mut child = router(&config).spawn("127.0.0.1:0", &[]);
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(1), "{}", child.transcript());
    assert!(
        child
            .lines()
            .iter()
            .any(|l| l.text.contains(&format!("metrics.listen 127.0.0.1:{port}"))),
        "{}",
        child.transcript()
    );
}

#[tokio::test]
async fn logging_section_sets_format_and_level_unless_flags_do() {
    let (_dir, config) = config_dir(&format!(
        "{VALID}logging:\n  format: json\n  level: debug\n"
    ));
    // (extra flags, JSON lines, debug lines expected)
    let cases: [(&[&str], bool, bool); 3] = [
        (&[], true, true),
        (&["--log-level", "info"], true, false),
        (&["--log-format", "human"], false, true),
    ];
    for (flags, json, debug) in cases {
        let mut child = router(&config).spawn("127.0.0.1:0", flags);
        let admin = child.admin_addr().await;
        wait_ready(&admin).await;
        child.signal(libc::SIGTERM);
        assert_eq!(child.wait_exit(TIMEOUT).await.code(), Some(0));
        let lines = child.lines();
        let parsed: Vec<Option<serde_json::Value>> = lines
            .iter()
            .map(|l| serde_json::from_str(&l.text).ok())
            .collect();
        assert!(
            parsed.iter().all(|p| p.is_some() == json),
            "{flags:?}: JSON lines {json}:\n{}",
            child.transcript()
        );
        let has_debug = lines
            .iter()
            .zip(&parsed)
            .any(|(line, record)| match record {
                Some(r) => r["level"] == "DEBUG",
                None => line.text.contains("DEBUG"),
            });
        assert_eq!(has_debug, debug, "{flags:?}:\n{}", child.transcript());
    }
}
