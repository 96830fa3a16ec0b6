//! Bad input gets `Status` errors, never a crash.

mod common;

use axum::http::{Method, Request};
use common::{server, status};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn send(
    client: &kube::Client,
    method: Method,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> kube::core::Status {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.to_vec())
        .unwrap();
    status(client.request_text(req).await.unwrap_err())
}

/// Method, path, content type, body, expected code and reason.
type Case = (
    Method,
    String,
    &'static str,
    &'static [u8],
    u16,
    &'static str,
);

#[tokio::test]
async fn malformed_requests_get_status_errors() {
    let srv = server().await;
    let c = srv.client();
    let services = "/api/v1/namespaces/default/services";
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            services.into(),
            "application/json",
            b"{not json",
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            services.into(),
            "application/json",
            b"[1,2,3]",
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            services.into(),
            "application/json",
            b"\"str\"",
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            services.into(),
            "application/json",
            br#"{"metadata": 5}"#,
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            services.into(),
            "application/json",
            br#"{"metadata": {"name": 5}}"#,
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            services.into(),
            "application/x-protobuf",
            b"\x00\x01",
            415,
            "UnsupportedMediaType",
        ),
        (
            Method::PUT,
            format!("{services}/x"),
            "application/json",
            br#"{"metadata":{"name":"y"}}"#,
            400,
            "BadRequest",
        ),
        (
            Method::PATCH,
            format!("{services}/x"),
            "application/json",
            b"{}",
            415,
            "UnsupportedMediaType",
        ),
        (
            Method::PATCH,
            "/api/v1/namespaces/default".into(),
            "application/merge-patch+json",
            b"{oops",
            400,
            "BadRequest",
        ),
        (
            Method::PATCH,
            "/api/v1/namespaces/default".into(),
            "application/json-patch+json",
            br#"{"op":"x"}"#,
            400,
            "BadRequest",
        ),
        (
            Method::DELETE,
            "/api/v1/namespaces/kube-public".into(),
            "application/json",
            b"{{{{",
            400,
            "BadRequest",
        ),
        (
            Method::GET,
            "/api/v1/nosuchthing".into(),
            "application/json",
            b"",
            404,
            "NotFound",
        ),
        (
            Method::GET,
            "/apis/nope.io/v1/things".into(),
            "application/json",
            b"",
            404,
            "NotFound",
        ),
        (
            Method::GET,
            "/api/v1/namespaces/default/nodes".into(),
            "application/json",
            b"",
            404,
            "NotFound",
        ),
        (
            Method::GET,
            "/api/v1/services/x".into(),
            "application/json",
            b"",
            404,
            "NotFound",
        ),
        (
            Method::GET,
            "/api/v1/namespaces/default/configmaps/x/status".into(),
            "application/json",
            b"",
            404,
            "NotFound",
        ),
        (
            Method::POST,
            "/api/v1/namespaces/default/services/x".into(),
            "application/json",
            b"{}",
            405,
            "MethodNotAllowed",
        ),
        (
            Method::GET,
            format!("{services}?limit=abc"),
            "application/json",
            b"",
            400,
            "BadRequest",
        ),
        (
            Method::GET,
            format!("{services}?watch=1&timeoutSeconds=-1"),
            "application/json",
            b"",
            400,
            "BadRequest",
        ),
        (
            Method::GET,
            format!("{services}?resourceVersion=xyz"),
            "application/json",
            b"",
            400,
            "BadRequest",
        ),
        (
            Method::GET,
            format!("{services}?labelSelector=%28%28%28"),
            "application/json",
            b"",
            400,
            "BadRequest",
        ),
        (
            Method::GET,
            format!("{services}?fieldSelector=nonsense"),
            "application/json",
            b"",
            400,
            "BadRequest",
        ),
        (
            Method::POST,
            "/apis".into(),
            "application/json",
            b"{}",
            405,
            "MethodNotAllowed",
        ),
    ];
    for (method, path, ct, body, code, reason) in cases {
        let s = send(&c, method.clone(), &path, ct, body).await;
        assert_eq!(
            (s.code, s.reason.as_str()),
            (code, reason),
            "{method} {path}: {}",
            s.message
        );
    }
    // Deeply nested JSON is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let s = send(
        &c,
        Method::POST,
        services,
        "application/json",
        deep.as_bytes(),
    )
    .await;
    assert_eq!(s.code, 400);
    // Oversized bodies are refused.
    let huge = vec![b' '; 4 * 1024 * 1024];
    let s = send(&c, Method::POST, services, "application/json", &huge).await;
    assert_eq!(s.code, 413);
    // The server still works.
    let ns: Api<Namespace> = Api::all(c);
    assert!(ns.get("default").await.is_ok());
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_hurt() {
    let srv = server().await;
    for junk in [
        &b"\x00\x01\x02\x03garbage\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /api/v1/namespaces HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{",
    ] {
        let mut sock = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
        sock.write_all(junk).await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            sock.read_to_end(&mut buf),
        )
        .await;
    }
    let ns: Api<Namespace> = Api::all(srv.client());
    assert!(ns.get("default").await.is_ok());
}
