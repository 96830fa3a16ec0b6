//! Reflectors for everything the decision reads, and the snapshot built
//! from them.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use ferrolb_api::{BFDProfile, BGPAdvertisement, BGPPeer, IPAddressPool, L2Advertisement};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::snapshot;
use crate::bgp::PeerSession;
use crate::decision::ClusterState;

/// Caches of the watched objects.
#[derive(Clone)]
pub struct Stores {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    nodes: Store<Node>,
    pools: Store<IPAddressPool>,
    peers: Store<BGPPeer>,
    bgp_advertisements: Store<BGPAdvertisement>,
    l2_advertisements: Store<L2Advertisement>,
    bfd_profiles: Store<BFDProfile>,
    secrets: Store<Secret>,
}

/// Starts a reflector for `api`; `changed` is notified after every event.
fn reflect<K>(api: Api<K>, changed: Arc<Notify>) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store::<K>();
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            if let Err(e) = event {
                tracing::warn!(kind = %kind, error = %e, "watch failed; retrying");
            }
            changed.notify_one();
        }
    });
    store
}

impl Stores {
    /// Starts watching: cluster-wide Services, EndpointSlices and Nodes;
    /// FerroLB objects and Secrets in `namespace`.
    pub fn start(client: &Client, namespace: &str, changed: &Arc<Notify>) -> Stores {
        let ns = |c: &Client| c.clone();
        Stores {
            services: reflect(Api::all(client.clone()), changed.clone()),
            slices: reflect(Api::all(client.clone()), changed.clone()),
            nodes: reflect(Api::all(client.clone()), changed.clone()),
            pools: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
            peers: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
            bgp_advertisements: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
            l2_advertisements: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
            bfd_profiles: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
            secrets: reflect(Api::namespaced(ns(client), namespace), changed.clone()),
        }
    }

    /// Waits until every cache holds a complete first list.
    pub async fn wait_until_ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.services.wait_until_ready().await?;
        self.slices.wait_until_ready().await?;
        self.nodes.wait_until_ready().await?;
        self.pools.wait_until_ready().await?;
        self.peers.wait_until_ready().await?;
        self.bgp_advertisements.wait_until_ready().await?;
        self.l2_advertisements.wait_until_ready().await?;
        self.bfd_profiles.wait_until_ready().await?;
        self.secrets.wait_until_ready().await
    }

    /// The Node called `name`, if known.
    pub fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes
            .state()
            .into_iter()
            .find(|n| n.name_any() == name)
    }

    /// Every cached Node.
    pub fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.state()
    }

    /// The decision's input, from the caches.
    pub fn cluster_state(&self, node_name: &str) -> ClusterState {
        let slices = self.slices.state();
        let by_service = snapshot::slices_by_service(slices.iter().map(|s| s.as_ref()));
        let services = self
            .services
            .state()
            .iter()
            .filter_map(|svc| {
                let id = ferrolb_api::ServiceReference {
                    namespace: svc.namespace().unwrap_or_default(),
                    name: svc.name_any(),
                };
                let slices = by_service.get(&id).into_iter().flatten().copied();
                snapshot::service_info(svc, slices)
            })
            .collect();
        ClusterState {
            node_name: node_name.to_owned(),
            nodes: self
                .nodes
                .state()
                .iter()
                .map(|n| (n.name_any(), snapshot::node_info(n)))
                .collect(),
            services,
            pools: self
                .pools
                .state()
                .iter()
                .map(|p| snapshot::pool(p))
                .collect(),
            peers: self
                .peers
                .state()
                .iter()
                .map(|p| snapshot::named(p.as_ref(), &p.spec))
                .collect(),
            bgp_advertisements: self
                .bgp_advertisements
                .state()
                .iter()
                .map(|a| snapshot::named(a.as_ref(), &a.spec))
                .collect(),
            l2_advertisements: self
                .l2_advertisements
                .state()
                .iter()
                .map(|a| snapshot::named(a.as_ref(), &a.spec))
                .collect(),
            alive_speakers: None,
        }
    }

    /// Session settings (with passwords and BFD profiles) of the named
    /// BGPPeers; a peer whose password cannot be read maps to the reason.
    pub fn peer_sessions<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> BTreeMap<String, Result<PeerSession, String>> {
        let peers = self.peers.state();
        let secrets = self.secrets.state();
        let profiles = self.bfd_profiles.state();
        names
            .into_iter()
            .filter_map(|name| {
                let peer = peers.iter().find(|p| &p.name_any() == name)?;
                Some((
                    name.clone(),
                    snapshot::peer_session(peer, &secrets, &profiles),
                ))
            })
            .collect()
    }
}
