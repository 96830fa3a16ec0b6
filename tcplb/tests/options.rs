//! Per-frontend options: PROXY protocol v2, idle timeout and connection limits; and how a
//! connection's end is passed on (a reset stays a reset).

mod support;

use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A frontend `api` whose one backend is a plain listener the test accepts on; `options` are
/// more frontend fields, each followed by ", ".
async fn one_plain_backend(
    options: &str,
) -> (
    TcpListener,
    std::net::SocketAddr,
    ferrolb_tcplb::LoadBalancer,
) {
    let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fe = free_port("127.0.0.1");
    let lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], {options}backends: [{{address: '{}'}}]}}]",
        backend.local_addr().unwrap()
    ));
    (backend, fe, lb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_protocol_v2_header_reaches_the_backend() {
    let (backend, fe, _lb) = one_plain_backend("proxyProtocol: true, ").await;
    let mut client = connect(fe, Some("127.0.0.77")).await.unwrap();
    let client_addr = client.local_addr().unwrap();
    client.write_all(b"payload").await.unwrap();
    // Health checks connect too; the proxied connection is the one that sends bytes.
    let mut got = Vec::new();
    while got.is_empty() {
        let (mut s, _) = backend.accept().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(500), s.read_to_end(&mut got)).await;
        if got.is_empty() {
            continue;
        }
        let expected = ferrolb_tcplb::proxy_protocol::encode(client_addr, fe);
        assert!(got.len() >= expected.len() + 7, "{got:?}");
        assert_eq!(&got[..expected.len()], &expected[..]);
        assert_eq!(&got[expected.len()..], b"payload");
        assert_eq!(
            &got[16..20],
            &[127, 0, 0, 77],
            "source address is the client's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.13").await;
    let fe = free_port("127.0.0.1");
    let _lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], timeouts: {{idle: 300ms}}, backends: {}}}]",
        backends_yaml(&[&b0])
    ));
    let (_, mut conn) = hello(fe, None).await.unwrap();
    // Activity keeps it open past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        conn.get_mut().write_all(b"tick").await.unwrap();
        let mut b = [0u8; 4];
        conn.read_exact(&mut b).await.unwrap();
    }
    let quiet = Instant::now();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(TIMEOUT, conn.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);
    let after = quiet.elapsed();
    assert!(
        after >= Duration::from_millis(280) && after < Duration::from_secs(2),
        "closed after {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limits_per_frontend_and_backend() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.14").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.15").await;
    let fe = free_port("127.0.0.1");
    let _lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], maxConnections: 3, backendMaxConnections: 2, \
         algorithm: sourceHash, backends: {}}}]",
        backends_yaml(&[&b0, &b1])
    ));
    // One client address would hash to one backend; the per-backend cap spills it over.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(hello(fe, None).await.unwrap());
    }
    let on = |n: &str| held.iter().filter(|(h, _)| h == n).count();
    assert_eq!((on("b0") + on("b1"), on("b0").max(on("b1"))), (3, 2));
    // The fourth waits in the accept queue until one of the three closes.
    let fourth = tokio::spawn(hello(fe, None));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !fourth.is_finished(),
        "frontend limit holds the fourth back"
    );
    held.pop();
    let (_, _conn) = tokio::time::timeout(TIMEOUT, fourth)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Accepts the proxied connection (the one that sends `payload`; health checks connect too).
async fn proxied(backend: &TcpListener, payload: &[u8]) -> tokio::net::TcpStream {
    loop {
        let (mut s, _) = backend.accept().await.unwrap();
        let mut got = vec![0u8; payload.len()];
        let read = tokio::time::timeout(Duration::from_millis(500), s.read_exact(&mut got)).await;
        if matches!(read, Ok(Ok(_))) && got == payload {
            return s;
        }
    }
}

/// Closes `s` with a reset (SO_LINGER 0) instead of a FIN.
fn reset(s: tokio::net::TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

/// What reading `s` to its end gives: `Ok(bytes)` after a FIN, or the error (a reset).
async fn read_end(s: &mut tokio::net::TcpStream) -> std::io::Result<usize> {
    let mut rest = Vec::new();
    tokio::time::timeout(TIMEOUT, s.read_to_end(&mut rest))
        .await
        .expect("the connection ends")
}

/// Opens a proxied connection sending `hello`: the client and the backend's ends.
async fn pair(
    fe: std::net::SocketAddr,
    backend: &TcpListener,
    hello: &[u8],
) -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let mut client = connect(fe, None).await.unwrap();
    client.write_all(hello).await.unwrap();
    let server = proxied(backend, hello).await;
    (client, server)
}

/// Asserts that `s` ends with a reset, not an orderly end of stream.
async fn assert_reset(s: &mut tokio::net::TcpStream) {
    let end = read_end(s).await;
    assert_eq!(
        end.as_ref().map_err(std::io::Error::kind).err(),
        Some(std::io::ErrorKind::ConnectionReset),
        "{end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_is_passed_on_as_a_reset_and_a_close_as_a_close() {
    let (backend, fe, _lb) = one_plain_backend("").await;

    // The client aborts: the backend sees a reset, not an orderly end of stream.
    let (client, mut server) = pair(fe, &backend, b"one").await;
    reset(client);
    assert_reset(&mut server).await;

    // The backend aborts: the client sees a reset.
    let (mut client, server) = pair(fe, &backend, b"two").await;
    reset(server);
    assert_reset(&mut client).await;

    // An orderly close stays one, both ways.
    let (mut client, mut server) = pair(fe, &backend, b"three").await;
    client.shutdown().await.unwrap();
    assert_eq!(read_end(&mut server).await.unwrap(), 0);
    server.write_all(b"bye").await.unwrap();
    drop(server);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"bye");
}
