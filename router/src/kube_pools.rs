//! `import.kubernetes`: the cluster's `IPAddressPool` objects as service pools, read (list and
//! watch, nothing else) through a kubeconfig, so that a pool added to the cluster is accepted
//! by every router at once, without touching its configuration file. They add to the pools of
//! the file (`import.servicePools`).
//!
//! Pools are followed with a kube-runtime watcher, which re-lists after a lost watch; until the
//! first list has arrived no cluster pool counts. A pool whose address block does not parse is
//! skipped with a warning (the controller's webhook refuses such pools, but the router does
//! not rely on it).

use std::collections::{BTreeMap, BTreeSet};

use ferrolb_api::router_config::KubernetesImport;
use ferrolb_api::{AddressBlock, IPAddressPool};
use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The CIDRs of one pool's address blocks, with the blocks that do not parse.
pub fn pool_prefixes(pool: &IPAddressPool) -> (Vec<IpNet>, Vec<String>) {
    let mut prefixes = Vec::new();
    let mut invalid = Vec::new();
    for block in &pool.spec.addresses {
        match block.parse::<AddressBlock>() {
            Ok(b) => prefixes.extend(b.cidrs()),
            Err(e) => invalid.push(format!("{block:?}: {e}")),
        }
    }
    (prefixes, invalid)
}

/// The pools currently known, by namespace and name.
#[derive(Debug, Default)]
struct Pools {
    by_name: BTreeMap<(String, String), Vec<IpNet>>,
}

impl Pools {
    fn key(pool: &IPAddressPool) -> (String, String) {
        (pool.namespace().unwrap_or_default(), pool.name_any())
    }

    fn apply(&mut self, pool: &IPAddressPool) {
        let (prefixes, invalid) = pool_prefixes(pool);
        if !invalid.is_empty() {
            tracing::warn!(pool = %pool.name_any(), ?invalid, "skipping address blocks that do not parse");
        }
        self.by_name.insert(Pools::key(pool), prefixes);
    }

    fn delete(&mut self, pool: &IPAddressPool) {
        self.by_name.remove(&Pools::key(pool));
    }

    fn prefixes(&self) -> BTreeSet<IpNet> {
        self.by_name.values().flatten().copied().collect()
    }
}

/// The prefixes of the cluster's pools; `None` until they have been listed once.
pub type ClusterPools = Option<BTreeSet<IpNet>>;

/// Follows the cluster's pools; their prefixes are published on a watch channel.
pub struct KubePools {
    prefixes: watch::Receiver<ClusterPools>,
    task: JoinHandle<()>,
}

impl KubePools {
    /// Connects with the configured kubeconfig (or the inferred one) and starts watching.
    pub async fn start(config: &KubernetesImport) -> anyhow::Result<KubePools> {
        let client_config =
            ferrolb_api::kubeconfig::client_config(config.kubeconfig.as_deref()).await?;
        let client = Client::try_from(client_config)?;
        Ok(KubePools::watch(client, config.namespace.as_deref()))
    }

    /// Watches the pools of `namespace` (all namespaces when `None`) through `client`.
    pub fn watch(client: Client, namespace: Option<&str>) -> KubePools {
        let api: Api<IPAddressPool> = match namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        };
        let (tx, rx) = watch::channel(None);
        KubePools {
            prefixes: rx,
            task: tokio::spawn(follow(api, tx)),
        }
    }

    /// A receiver of the pools' prefixes, updated on every change.
    pub fn prefixes(&self) -> watch::Receiver<ClusterPools> {
        self.prefixes.clone()
    }

    /// Stops watching.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn follow(api: Api<IPAddressPool>, tx: watch::Sender<ClusterPools>) {
    let mut pools = Pools::default();
    let mut listed = false;
    // A fresh list replaces everything known, so a pool deleted while the watch was lost goes.
    let mut relisting = Pools::default();
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    loop {
        let event = match events.try_next().await {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(e) => {
                // The backoff paces the retries; the known pools stay in force meanwhile.
                tracing::warn!(error = %e, "watching IPAddressPools");
                continue;
            }
        };
        match event {
            Event::Init => relisting = Pools::default(),
            Event::InitApply(pool) => relisting.apply(&pool),
            Event::InitDone => {
                pools = std::mem::take(&mut relisting);
                listed = true;
            }
            Event::Apply(pool) => pools.apply(&pool),
            Event::Delete(pool) => pools.delete(&pool),
        }
        if !listed {
            continue;
        }
        let prefixes = Some(pools.prefixes());
        tx.send_if_modified(|current| {
            if *current == prefixes {
                return false;
            }
            tracing::info!(pools = pools.by_name.len(), prefixes = ?prefixes, "cluster service pools changed");
            *current = prefixes;
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferrolb_api::IPAddressPoolSpec;
    use ferrolb_fake_apiserver::FakeApiServer;
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{DeleteParams, PostParams};

    use super::*;

    fn pool(namespace: &str, name: &str, addresses: &[&str]) -> IPAddressPool {
        let mut pool = IPAddressPool::new(
            name,
            IPAddressPoolSpec {
                addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
                auto_assign: true,
                avoid_buggy_ips: false,
                service_allocation: None,
            },
        );
        pool.metadata.namespace = Some(namespace.to_owned());
        pool
    }

    fn nets(list: &[&str]) -> BTreeSet<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn blocks_become_cidrs_and_bad_ones_are_reported() {
        let p = pool(
            "ferrolb",
            "p",
            &[
                "10.96.0.0/24",
                "10.97.0.10-10.97.0.13",
                "2001:db8::/120",
                "nonsense",
            ],
        );
        let (prefixes, invalid) = pool_prefixes(&p);
        assert_eq!(
            prefixes.into_iter().collect::<BTreeSet<_>>(),
            nets(&[
                "10.96.0.0/24",
                "10.97.0.10/31",
                "10.97.0.12/31",
                "2001:db8::/120"
            ])
        );
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert!(invalid[0].starts_with("\"nonsense\""), "{invalid:?}");
    }

    /// Waits until the published prefixes are `want`.
    async fn wait_for(rx: &mut watch::Receiver<ClusterPools>, want: BTreeSet<IpNet>) {
        let waited = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|p| p.as_ref() == Some(&want)),
        )
        .await;
        let ok = waited.is_ok_and(|r| r.is_ok());
        assert!(ok, "wanted {want:?}, have {:?}", *rx.borrow());
    }

    #[tokio::test]
    async fn pools_added_changed_and_deleted_in_the_cluster_are_followed() {
        let server = FakeApiServer::start().await.unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(server.client());
        for crd in ferrolb_api::crd::all_crds() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let namespaces: Api<Namespace> = Api::all(server.client());
        for name in ["ferrolb", "other"] {
            let mut ns = Namespace::default();
            ns.metadata.name = Some(name.to_owned());
            namespaces
                .create(&PostParams::default(), &ns)
                .await
                .unwrap();
        }
        let pools: Api<IPAddressPool> = Api::namespaced(server.client(), "ferrolb");
        let other: Api<IPAddressPool> = Api::namespaced(server.client(), "other");
        pools
            .create(
                &PostParams::default(),
                &pool("ferrolb", "a", &["10.96.0.0/24"]),
            )
            .await
            .unwrap();
        other
            .create(
                &PostParams::default(),
                &pool("other", "b", &["10.98.0.0/24"]),
            )
            .await
            .unwrap();

        // A real client built from a kubeconfig file, as the router builds it.
        let dir = std::env::temp_dir().join(format!("ferrolb-router-kube-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let all = KubePools::start(&KubernetesImport {
            enabled: true,
            kubeconfig: Some(kubeconfig.clone()),
            namespace: None,
        })
        .await
        .unwrap();
        let one = KubePools::start(&KubernetesImport {
            enabled: true,
            kubeconfig: Some(kubeconfig),
            namespace: Some("ferrolb".into()),
        })
        .await
        .unwrap();
        let (mut all_rx, mut one_rx) = (all.prefixes(), one.prefixes());
        wait_for(&mut all_rx, nets(&["10.96.0.0/24", "10.98.0.0/24"])).await;
        wait_for(&mut one_rx, nets(&["10.96.0.0/24"])).await;

        // A new pool: no reconfiguration, it is followed.
        pools
            .create(
                &PostParams::default(),
                &pool("ferrolb", "c", &["10.97.0.0/28"]),
            )
            .await
            .unwrap();
        wait_for(&mut one_rx, nets(&["10.96.0.0/24", "10.97.0.0/28"])).await;
        // A changed pool.
        let mut a = pools.get("a").await.unwrap();
        a.spec.addresses = vec!["10.96.1.0/24".into()];
        pools
            .replace("a", &PostParams::default(), &a)
            .await
            .unwrap();
        wait_for(&mut one_rx, nets(&["10.96.1.0/24", "10.97.0.0/28"])).await;
        // A deleted pool.
        pools.delete("c", &DeleteParams::default()).await.unwrap();
        wait_for(&mut one_rx, nets(&["10.96.1.0/24"])).await;
        wait_for(&mut all_rx, nets(&["10.96.1.0/24", "10.98.0.0/24"])).await;

        all.stop();
        one.stop();
        server.shutdown().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
