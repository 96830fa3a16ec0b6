//! Health checks over TLS against the test CA, and backends failing under load.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

const INTERVAL_MS: u64 = 200;

/// When a client connection started, and the backend that answered or the error.
type Attempt = (Instant, Result<String, String>);

fn https_frontend(fe: std::net::SocketAddr, backends: &str, tls: &str) -> String {
    https_frontend_every(fe, backends, tls, INTERVAL_MS)
}

fn https_frontend_every(
    fe: std::net::SocketAddr,
    backends: &str,
    tls: &str,
    interval_ms: u64,
) -> String {
    format!(
        "frontends: [{{name: api, listen: ['{fe}'], backends: {backends}, \
         healthCheck: {{kind: https, path: /readyz, {tls}, interval: {interval_ms}ms, timeout: 150ms, rise: 2, fall: 3}}}}]"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_500_leaves_rotation_after_fall_checks_and_returns_after_rise() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.2").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.3").await;
    let fe = free_port("127.0.0.1");
    let ca = format!("caFile: '{}'", pki.ca_file.display());
    let lb = load_balancer(&https_frontend(fe, &backends_yaml(&[&b0, &b1]), &ca));
    // Checks pass: both stay in.
    tokio::time::sleep(Duration::from_millis(3 * INTERVAL_MS)).await;
    assert!(
        in_rotation(&lb, "api", b0.address) && in_rotation(&lb, "api", b1.address),
        "{:?}",
        lb.status()
    );

    // Counted in checks, not time: b1 leaves once the fall-th (3rd) check in a row fails,
    // and comes back once the rise-th (2nd) in a row passes.
    let failed_before = b1.served.readyz_failed.load(Ordering::SeqCst);
    b1.set_ready(false);
    wait_until(Duration::from_secs(30), || {
        !in_rotation(&lb, "api", b1.address)
    })
    .await
    .expect("b1 leaves rotation");
    let failed = b1.served.readyz_failed.load(Ordering::SeqCst) - failed_before;
    assert!(failed >= 3, "left after {failed} failed checks, fall is 3");
    let status = lb.status();
    let b1_status = status[0]
        .backends
        .iter()
        .find(|b| b.address == b1.address)
        .unwrap();
    assert!(
        b1_status
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("500"),
        "{b1_status:?}"
    );
    for _ in 0..6 {
        assert_eq!(which(fe, None).await.unwrap(), "b0");
    }

    let ok_before = b1.served.readyz_ok.load(Ordering::SeqCst);
    b1.set_ready(true);
    wait_until(Duration::from_secs(30), || {
        in_rotation(&lb, "api", b1.address)
    })
    .await
    .expect("b1 returns");
    let passed = b1.served.readyz_ok.load(Ordering::SeqCst) - ok_before;
    assert!(passed >= 2, "back after {passed} passed checks, rise is 2");
    let names: Vec<String> = futures::future::join_all((0..4).map(|_| which(fe, None)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(names.iter().any(|n| n == "b1"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_verification_against_the_ca_or_skipped() {
    let pki = Pki::new();
    let other = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.4").await;
    let cases = [
        (format!("caFile: '{}'", pki.ca_file.display()), true),
        ("insecureSkipVerify: true".to_owned(), true),
        (format!("caFile: '{}'", other.ca_file.display()), false),
    ];
    for (tls, up) in cases {
        let fe = free_port("127.0.0.1");
        let lb = load_balancer(&https_frontend(fe, &backends_yaml(&[&b0]), &tls));
        tokio::time::sleep(Duration::from_millis(3 * INTERVAL_MS)).await;
        assert_eq!(
            in_rotation(&lb, "api", b0.address),
            up,
            "{tls}: {:?}",
            lb.status()
        );
    }
}

/// Clients open short connections in a loop while one backend is killed: the load balancer
/// notices from refused connections alone (active checks run only once a minute here), nothing
/// goes to the backend afterwards, and the only failed client connections are those that were
/// open on it when it died.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_backend_under_load() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.5").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.6").await;
    let mut b2 = Server::start(&pki, "b2", "127.0.0.7").await;
    let fe = free_port("127.0.0.1");
    let ca = format!("caFile: '{}'", pki.ca_file.display());
    let lb = Arc::new(load_balancer(&https_frontend_every(
        fe,
        &backends_yaml(&[&b0, &b1, &b2]),
        &ca,
        60_000,
    )));
    const CLIENTS: usize = 4;
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (stop, log) = (stop.clone(), log.clone());
        clients.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = async {
                    let (name, mut conn) = hello(fe, None).await?;
                    // Stay a little while, as a request does.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    conn.get_mut().write_all(b"ping!").await?;
                    let mut back = [0u8; 5];
                    conn.read_exact(&mut back).await?;
                    Ok::<_, std::io::Error>(name)
                }
                .await;
                log.lock()
                    .unwrap()
                    .push((started, result.map_err(|e| e.to_string())));
            }
        }));
    }
    // Counted by what happened rather than by time, so a busy machine only makes it slower.
    let ok_since = |since: Instant| {
        log.lock()
            .unwrap()
            .iter()
            .filter(|(started, r)| *started > since && r.is_ok())
            .count()
    };
    let begin = Instant::now();
    let summary = || {
        let log = log.lock().unwrap();
        let failed: Vec<_> = log.iter().filter(|(_, r)| r.is_err()).collect();
        format!("{} attempts, failures: {failed:?}", log.len())
    };
    assert!(
        wait_until(Duration::from_secs(30), || ok_since(begin) >= 100)
            .await
            .is_some(),
        "load before the kill: {}",
        summary()
    );
    b2.kill().await;
    let detected = wait_until(Duration::from_secs(10), || {
        !in_rotation(&lb, "api", b2.address)
    })
    .await;
    assert!(
        detected.is_some(),
        "refused connections take b2 out: {:?}",
        lb.status()
    );
    let detected_at = Instant::now();
    assert!(
        wait_until(Duration::from_secs(30), || ok_since(detected_at) >= 100)
            .await
            .is_some(),
        "load after detection: {}",
        summary()
    );
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let log = log.lock().unwrap();
    let failed: Vec<_> = log.iter().filter(|(_, r)| r.is_err()).collect();
    for (started, r) in log.iter() {
        if let Ok(name) = r {
            assert!(
                !(name == "b2" && *started > detected_at),
                "a connection started {:?} after detection went to b2",
                *started - detected_at
            );
        }
    }
    // A refused connection is retried on another backend: only those open on b2 when it
    // died fail.
    assert!(failed.len() <= CLIENTS, "failed: {failed:?}");
    for (started, _) in &failed {
        assert!(*started <= detected_at, "a failure started after detection");
    }
    let b2_status = lb.status()[0]
        .backends
        .iter()
        .find(|b| b.address == b2.address)
        .cloned();
    assert!(
        b2_status
            .as_ref()
            .and_then(|b| b.last_error.as_deref())
            .is_some_and(|e| !e.is_empty()),
        "the refusal is recorded: {b2_status:?}"
    );
}
