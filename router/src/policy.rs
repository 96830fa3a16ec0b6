//! The import policy in force: the configuration file's `import:` section plus the cluster's
//! `IPAddressPool`s (see [`crate::kube_pools`]). Either part may change at any time (a reload,
//! a pool added to the cluster); every change is applied to the forwarding task and published
//! to the other users of the policy (the upstream aggregates) in one serialised step, so the
//! two sources never overwrite each other with a stale half.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrolb_api::router_config::ImportConfig;
use ipnet::IpNet;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::forwarder::{ForwarderHandle, Stopped};
use crate::import::ImportPolicy;

/// Both sources of the policy.
#[derive(Debug)]
struct Sources {
    file: ImportConfig,
    cluster: BTreeSet<IpNet>,
}

/// The policy in force and where it goes. Cheap to clone.
#[derive(Clone)]
pub struct PolicyInForce {
    sources: Arc<Mutex<Sources>>,
    forwarder: Option<ForwarderHandle>,
    published: Arc<watch::Sender<ImportPolicy>>,
}

impl PolicyInForce {
    /// The policy of `file` and `cluster`, applied by `forwarder` (if the router forwards),
    /// which already runs with it.
    pub fn new(
        file: &ImportConfig,
        cluster: BTreeSet<IpNet>,
        forwarder: Option<ForwarderHandle>,
    ) -> PolicyInForce {
        let (published, _) = watch::channel(ImportPolicy::new(file).with_pools(&cluster));
        PolicyInForce {
            sources: Arc::new(Mutex::new(Sources {
                file: file.clone(),
                cluster,
            })),
            forwarder,
            published: Arc::new(published),
        }
    }

    /// Follows the policy in force.
    pub fn subscribe(&self) -> watch::Receiver<ImportPolicy> {
        self.published.subscribe()
    }

    /// A new `import:` section; returns (routes now accepted, routes now refused).
    pub async fn set_file(&self, file: &ImportConfig) -> Result<(usize, usize), Stopped> {
        let mut sources = self.sources.lock().await;
        sources.file = file.clone();
        self.apply(&sources).await
    }

    /// New cluster pools; returns (routes now accepted, routes now refused).
    pub async fn set_cluster(&self, pools: BTreeSet<IpNet>) -> Result<(usize, usize), Stopped> {
        let mut sources = self.sources.lock().await;
        sources.cluster = pools;
        self.apply(&sources).await
    }

    async fn apply(&self, sources: &Sources) -> Result<(usize, usize), Stopped> {
        let policy = ImportPolicy::new(&sources.file).with_pools(&sources.cluster);
        self.published.send_replace(policy.clone());
        match &self.forwarder {
            Some(f) => f.set_policy(policy).await,
            None => Ok((0, 0)),
        }
    }

    /// Applies every change of the cluster's pools until they stop.
    pub fn follow(&self, mut pools: watch::Receiver<Option<BTreeSet<IpNet>>>) -> JoinHandle<()> {
        let policy = self.clone();
        tokio::spawn(async move {
            loop {
                let current = pools.borrow_and_update().clone();
                if let Some(current) = current {
                    match policy.set_cluster(current).await {
                        Ok((accepted, refused)) => tracing::info!(
                            accepted,
                            refused,
                            "cluster pools applied: routes now accepted and now refused"
                        ),
                        Err(Stopped) => return,
                    }
                }
                if pools.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}
