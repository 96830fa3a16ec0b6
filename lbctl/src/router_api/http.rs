//! A minimal HTTP/1 GET client for the admin API, over TCP (`http://`)
//! or a Unix socket (`unix:/path`), with a timeout and a size limit.

use std::time::Duration;

use anyhow::{bail, Context as _};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use super::endpoints::{target, AdminTarget, RouterEndpoint};

/// Largest admin API response read.
const MAX_BODY: usize = 64 << 20;
/// Time allowed for one request, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches and decodes `path` (e.g. `/api/v1/peers`) from a router.
pub async fn get<T: DeserializeOwned>(router: &RouterEndpoint, path: &str) -> anyhow::Result<T> {
    let url = format!("{}{path}", router.url);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, "ferrolb-router");
    if let Some(file) = &router.token_file {
        let token = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the token file {}", file.display()))?;
        request = request.header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", token.trim()),
        );
    }
    let request = request.body(Empty::<Bytes>::new())?;
    let exchange = async {
        match target(&router.url)? {
            AdminTarget::Tcp(authority) => {
                let stream = tokio::net::TcpStream::connect(&authority).await?;
                send(stream, request).await
            }
            AdminTarget::Unix(socket) => {
                let stream = tokio::net::UnixStream::connect(&socket).await?;
                send(stream, request).await
            }
        }
    };
    let (status, body) = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .with_context(|| {
            format!(
                "router {}: no answer from {url} within {TIMEOUT:?}",
                router.name
            )
        })?
        .with_context(|| format!("router {}: cannot reach {url}", router.name))?;
    if status == hyper::StatusCode::UNAUTHORIZED {
        bail!(
            "router {}: {url} requires a bearer token: pass --router-token-file or set tokenFile in the config",
            router.name
        );
    }
    if !status.is_success() {
        bail!(
            "router {}: {url} answered {status}: {}",
            router.name,
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    serde_json::from_slice(&body)
        .with_context(|| format!("router {}: {url} returned unexpected JSON", router.name))
}

/// One request on a fresh connection; the status and the (bounded) body.
async fn send<S>(
    stream: S,
    request: hyper::Request<Empty<Bytes>>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading the response: {e}"))?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}
