//! Test backends: tiny servers that answer TLS `GET /readyz` and echo plain TCP on the same
//! port (the first byte tells them apart), with their own CA and certificates.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_api::router_config::LoadBalancerConfig;
use ferrolb_tcplb::{LoadBalancer, Metrics};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A CA and a directory holding its certificate.
pub struct Pki {
    ca_key: KeyPair,
    ca: rcgen::Certificate,
    pub ca_file: PathBuf,
    dir: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferrolb-tcplb-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ferrolb test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let ca_file = dir.join("ca.crt");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Pki {
            ca_key,
            ca,
            ca_file,
            dir,
        }
    }

    /// A server certificate for `ip`, signed by the CA.
    fn server_config(&self, ip: IpAddr) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![ip.to_string()]).unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One backend server.
pub struct Server {
    pub name: String,
    pub address: SocketAddr,
    ready: Arc<AtomicBool>,
    /// What the server has answered so far.
    pub served: Arc<Served>,
    tasks: JoinSet<()>,
}

/// Counts of what a [`Server`] answered.
#[derive(Debug, Default)]
pub struct Served {
    /// Plain (echo) connections.
    pub echo_connections: AtomicU64,
    /// `/readyz` checks answered 200.
    pub readyz_ok: AtomicU64,
    /// `/readyz` checks answered 500.
    pub readyz_failed: AtomicU64,
}

impl Server {
    /// Starts a server on `ip` (port chosen by the kernel).
    pub async fn start(pki: &Pki, name: &str, ip: &str) -> Server {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        Self::serve(pki, name, listener, address)
    }

    fn serve(pki: &Pki, name: &str, listener: TcpListener, address: SocketAddr) -> Server {
        let tls = tokio_rustls::TlsAcceptor::from(pki.server_config(address.ip()));
        let ready = Arc::new(AtomicBool::new(true));
        let served = Arc::new(Served::default());
        let mut tasks = JoinSet::new();
        let (r, e, n) = (ready.clone(), served.clone(), name.to_owned());
        // Connections run inside this accept task's own set, so killing the server ends all.
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (tls, r, e, n) = (tls.clone(), r.clone(), e.clone(), n.clone());
                conns.spawn(async move {
                    let _ = handle(stream, tls, r, e, n).await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Server {
            name: name.to_owned(),
            address,
            ready,
            served,
            tasks,
        }
    }

    /// Makes `/readyz` answer 200 (`true`) or 500.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Stops the server: once this returns, its port refuses connections and its
    /// connections are reset.
    pub async fn kill(&mut self) {
        // Waiting for the aborted tasks makes sure the listening socket is closed, not
        // merely scheduled to close.
        self.tasks.shutdown().await;
    }
}

async fn handle(
    stream: TcpStream,
    tls: tokio_rustls::TlsAcceptor,
    ready: Arc<AtomicBool>,
    served: Arc<Served>,
    name: String,
) -> std::io::Result<()> {
    let mut first = [0u8; 1];
    stream.peek(&mut first).await?;
    if first[0] == 0x16 {
        let mut s = BufReader::new(tls.accept(stream).await?);
        let mut line = String::new();
        s.read_line(&mut line).await?;
        let status = if line.starts_with("GET /readyz ") && ready.load(Ordering::SeqCst) {
            served.readyz_ok.fetch_add(1, Ordering::SeqCst);
            "200 OK"
        } else {
            served.readyz_failed.fetch_add(1, Ordering::SeqCst);
            "500 Internal Server Error"
        };
        s.get_mut()
            .write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        s.get_mut().shutdown().await?;
        return Ok(());
    }
    served.echo_connections.fetch_add(1, Ordering::SeqCst);
    let (mut r, mut w) = stream.into_split();
    w.write_all(format!("{name}\n").as_bytes()).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        total += n as u64;
        w.write_all(&buf[..n]).await?;
    }
    // The client half-closed: answer after its end, then close ours.
    w.write_all(format!("END {total}\n").as_bytes()).await?;
    w.shutdown().await?;
    Ok(())
}

/// A free port on `ip` (bound and released).
pub fn free_port(ip: &str) -> SocketAddr {
    let l = std::net::TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0)).unwrap();
    l.local_addr().unwrap()
}

/// A load balancer running `yaml` (the `loadBalancer:` section's content).
pub fn load_balancer(yaml: &str) -> LoadBalancer {
    let lb = LoadBalancer::new(Metrics::default());
    lb.apply(&config(yaml)).unwrap();
    lb
}

pub fn config(yaml: &str) -> LoadBalancerConfig {
    serde_yaml::from_str(yaml).unwrap()
}

/// A client connection through the proxy, from `source` (any when `None`).
pub async fn connect(frontend: SocketAddr, source: Option<&str>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind((ip.parse::<IpAddr>().unwrap(), 0).into())?;
    }
    tokio::time::timeout(TIMEOUT, socket.connect(frontend))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Connects, says hello and returns which backend answered (the connection stays open).
pub async fn hello(
    frontend: SocketAddr,
    source: Option<&str>,
) -> std::io::Result<(String, BufReader<TcpStream>)> {
    let mut s = connect(frontend, source).await?;
    s.write_all(b"hello").await?;
    let mut r = BufReader::new(s);
    let mut name = String::new();
    tokio::time::timeout(TIMEOUT, r.read_line(&mut name))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    if name.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut echo = [0u8; 5];
    tokio::time::timeout(TIMEOUT, r.read_exact(&mut echo))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    assert_eq!(&echo, b"hello");
    Ok((name.trim().to_owned(), r))
}

/// Which backend one short connection lands on.
pub async fn which(frontend: SocketAddr, source: Option<&str>) -> std::io::Result<String> {
    Ok(hello(frontend, source).await?.0)
}

/// Waits until `f` is true, up to `limit`; returns how long it took.
pub async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Whether the load balancer has `backend` of `frontend` in rotation.
pub fn in_rotation(lb: &LoadBalancer, frontend: &str, backend: SocketAddr) -> bool {
    lb.status()
        .iter()
        .filter(|f| f.name == frontend)
        .flat_map(|f| f.backends.iter())
        .any(|b| b.address == backend && b.in_rotation)
}

/// The `backends:` YAML list for `servers`.
pub fn backends_yaml(servers: &[&Server]) -> String {
    let list: Vec<String> = servers
        .iter()
        .map(|s| format!("{{address: '{}'}}", s.address))
        .collect();
    format!("[{}]", list.join(", "))
}
