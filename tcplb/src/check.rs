//! Active health probes: a TCP connect, or TLS plus `GET <path>` expecting `200`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrolb_api::router_config::{HealthCheck, HealthCheckKind};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::Error;

/// Most bytes read of a check's response: the status line is all that matters.
const MAX_RESPONSE: usize = 4096;
/// Default path of `https` checks.
pub const DEFAULT_PATH: &str = "/healthz";

/// A ready-to-run probe for the backends of one frontend.
#[derive(Clone)]
pub struct Probe {
    kind: ProbeKind,
    timeout: Duration,
}

#[derive(Clone)]
enum ProbeKind {
    Tcp,
    Https { tls: TlsConnector, path: String },
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            ProbeKind::Tcp => "tcp".to_owned(),
            ProbeKind::Https { path, .. } => format!("https {path}"),
        };
        f.debug_struct("Probe")
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Probe {
    /// Builds the probe a health-check configuration describes (reads its CA bundle).
    pub fn new(check: &HealthCheck) -> Result<Probe, Error> {
        let kind = match check.kind {
            HealthCheckKind::Tcp => ProbeKind::Tcp,
            HealthCheckKind::Https => ProbeKind::Https {
                tls: TlsConnector::from(Arc::new(tls_config(check)?)),
                path: check
                    .path
                    .clone()
                    .unwrap_or_else(|| DEFAULT_PATH.to_owned()),
            },
        };
        Ok(Probe {
            kind,
            timeout: check.timeout.as_std(),
        })
    }

    /// Checks `backend` once; `Err` says why it failed.
    pub async fn check(&self, backend: SocketAddr) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.attempt(backend)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    async fn attempt(&self, backend: SocketAddr) -> Result<(), String> {
        let tcp = TcpStream::connect(backend)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let ProbeKind::Https { tls, path } = &self.kind else {
            return Ok(());
        };
        let _ = tcp.set_nodelay(true);
        let name = ServerName::IpAddress(backend.ip().into());
        let mut stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let host = match backend {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ferrolb-router\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending request: {e}"))?;
        let mut response = Vec::with_capacity(256);
        let mut buf = [0u8; 512];
        while !response.windows(2).any(|w| w == b"\r\n") && response.len() < MAX_RESPONSE {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("reading response: {e}"))?;
            if n == 0 {
                break;
            }
            response.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        match status_code(&response) {
            Some(200) => Ok(()),
            Some(code) => Err(format!("{path} answered {code}")),
            None => Err(format!("{path}: no HTTP status line")),
        }
    }
}

/// The status code of an HTTP/1.x response's first line.
fn status_code(response: &[u8]) -> Option<u16> {
    let line_end = response.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(response.get(..line_end)?).ok()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

fn tls_config(check: &HealthCheck) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let config = if check.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        if let Some(path) = &check.ca_file {
            for cert in read_certificates(path)? {
                roots
                    .add(cert)
                    .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("reading CA bundle {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{}: no certificates", path.display())));
    }
    Ok(certs)
}

/// `insecureSkipVerify`: any certificate is accepted, but the handshake signatures are still
/// checked so the session itself is sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let cases: [(&[u8], Option<u16>); 6] = [
            (b"HTTP/1.1 200 OK\r\n", Some(200)),
            (b"HTTP/1.0 500 Internal Server Error\r\nx", Some(500)),
            (b"HTTP/1.1 200 OK", None),
            (b"SSH-2.0-OpenSSH\r\n", None),
            (b"HTTP/1.1 abc\r\n", None),
            (b"\xff\xfe\r\n", None),
        ];
        for (input, expected) in cases {
            assert_eq!(status_code(input), expected, "{input:?}");
        }
    }
}
