//! Starting, addressing and stopping the server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;
use crate::handlers::{self, App};
use crate::resource_ref::ResourceRef;
use crate::store::{Store, StoreConfig};
use crate::watch::WatchSettings;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free port. Keep it on loopback.
    pub listen: SocketAddr,
    /// Interval between `BOOKMARK` events on watches that asked for them.
    pub bookmark_interval: Duration,
    /// How many changes the watch history keeps; watches and consistent lists from
    /// older resourceVersions get 410 Expired.
    pub history_capacity: usize,
    /// How many write records the write log keeps.
    pub write_log_capacity: usize,
    /// Refuse creating namespaced objects in namespaces that do not exist (as the
    /// real server's NamespaceLifecycle admission does). `default`, `kube-system`,
    /// `kube-public` and `kube-node-lease` exist from the start.
    pub require_namespaces: bool,
    /// Largest accepted request body (the real server accepts 3 MiB).
    pub max_body_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bookmark_interval: Duration::from_secs(1),
            history_capacity: 10_000,
            write_log_capacity: 100_000,
            require_namespaces: true,
            max_body_bytes: 3 * 1024 * 1024,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Building a kube client for the server failed.
    #[error("cannot build a kube client: {0}")]
    Client(#[from] kube::Error),
    /// Seeding the initial namespaces failed.
    #[error("cannot seed namespace {0}: {1}")]
    Seed(String, crate::status::ApiError),
}

/// The namespaces every cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// A running fake API server. Dropping it stops serving (open watches end).
pub struct FakeApiServer {
    addr: SocketAddr,
    store: Store,
    admission: Arc<Admission>,
    client: kube::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeApiServer {
    /// Starts a server with default [`Options`] on a free loopback port.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Options::default()).await
    }

    /// Starts a server with the given options.
    pub async fn start_with(opts: Options) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: opts.listen,
            source,
        })?;
        let store = Store::new(&StoreConfig {
            history_capacity: opts.history_capacity,
            write_log_capacity: opts.write_log_capacity,
            require_namespaces: opts.require_namespaces,
        });
        for ns in INITIAL_NAMESPACES {
            store
                .seed(
                    &ResourceRef::core("namespaces"),
                    json!({"metadata": {"name": ns}}),
                )
                .map_err(|e| StartError::Seed(ns.to_string(), e))?;
        }
        let admission = Arc::new(Admission::default());
        let shutdown = CancellationToken::new();
        let app = Arc::new(App {
            store: store.clone(),
            admission: admission.clone(),
            watch: WatchSettings {
                // A zero period would make the bookmark timer spin.
                bookmark_interval: opts.bookmark_interval.max(Duration::from_millis(1)),
                shutdown: shutdown.clone(),
            },
            addr,
            max_body_bytes: opts.max_body_bytes,
        });
        let router = Router::new().fallback(handlers::handle).with_state(app);
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "fake API server stopped with an error");
            }
        });
        let client = kube::Client::try_from(config_for(addr))?;
        tracing::info!(%addr, "fake API server listening");
        Ok(Self {
            addr,
            store,
            admission,
            client,
            shutdown,
            task: Some(task),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client configuration for this server (default namespace `default`).
    pub fn config(&self) -> kube::Config {
        config_for(self.addr)
    }

    /// A kube client talking to this server.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The kubeconfig YAML for this server (context `ferrolb-fake`, namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        crate::kubeconfig::render(&self.url(), "default")
    }

    /// Writes the kubeconfig to `path`, for programs started with `KUBECONFIG=path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Direct access to stored objects, compaction and the write log.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The validating admission hooks (register and unregister them here).
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Stops serving: open watches end, and the call returns once the listener is closed.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn config_for(addr: SocketAddr) -> kube::Config {
    let uri = format!("http://{addr}")
        .parse::<axum::http::Uri>()
        .unwrap_or_else(|_| axum::http::Uri::from_static("http://127.0.0.1"));
    kube::Config::new(uri)
}
