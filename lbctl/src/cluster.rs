//! Reading FerroLB's objects, Services, Events, endpoints and nodes from
//! the API server.

use std::collections::BTreeMap;

use anyhow::Context as _;
use ferrolb_api::{
    BFDProfile, BGPAdvertisement, BGPPeer, BGPSessionState, ClusterObjects, IPAddressPool,
    L2Advertisement, ServiceAnnouncement,
};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::facts::{EventFacts, NodeFacts, ServiceFacts};
use crate::kube_client::Kube;

/// Lists every object of a namespaced kind in `namespace` (all namespaces
/// with `None`).
pub async fn list<K>(kube: &Kube, namespace: Option<&str>) -> anyhow::Result<Vec<K>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(kube.client.clone(), ns),
        None => Api::all(kube.client.clone()),
    };
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let list = api.list(&ListParams::default()).await.map_err(|e| {
        let hint = hint(&kind, &e);
        anyhow::Error::new(e).context(match namespace {
            Some(ns) => format!("cannot list {kind} objects in namespace {ns}: {hint}"),
            None => format!("cannot list {kind} objects: {hint}"),
        })
    })?;
    Ok(list.items)
}

/// What to do about a failed list, by the kind of failure.
fn hint(kind: &str, error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.code == 404 => format!(
            "the API server does not know {kind}; is FerroLB installed? (kubectl apply -f deploy/crds/)"
        ),
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => format!(
            "your kubeconfig user may not list {kind}; check its RBAC permissions"
        ),
        kube::Error::Api(_) => "the API server refused the request".to_owned(),
        _ => "cannot reach the API server; check the kubeconfig (--kubeconfig, --context)".to_owned(),
    }
}

/// Every FerroLB configuration object in FerroLB's namespace.
pub async fn config_objects(kube: &Kube) -> anyhow::Result<ClusterObjects> {
    let ns = Some(kube.ferrolb_namespace.as_str());
    Ok(ClusterObjects {
        pools: list::<IPAddressPool>(kube, ns).await?,
        peers: list::<BGPPeer>(kube, ns).await?,
        bgp_advertisements: list::<BGPAdvertisement>(kube, ns).await?,
        l2_advertisements: list::<L2Advertisement>(kube, ns).await?,
        bfd_profiles: list::<BFDProfile>(kube, ns).await?,
    })
}

/// FerroLB's pools.
pub async fn pools(kube: &Kube) -> anyhow::Result<Vec<IPAddressPool>> {
    list(kube, Some(&kube.ferrolb_namespace)).await
}

/// Services in `namespace` (all with `None`), as facts.
pub async fn services(kube: &Kube, namespace: Option<&str>) -> anyhow::Result<Vec<ServiceFacts>> {
    let mut services: Vec<ServiceFacts> = list::<Service>(kube, namespace)
        .await?
        .iter()
        .map(ServiceFacts::from_service)
        .collect();
    services.sort_by_key(ServiceFacts::key);
    Ok(services)
}

/// The speakers' announcements.
pub async fn announcements(kube: &Kube) -> anyhow::Result<Vec<ServiceAnnouncement>> {
    list(kube, Some(&kube.ferrolb_namespace)).await
}

/// The speakers' BGP sessions.
pub async fn sessions(kube: &Kube) -> anyhow::Result<Vec<BGPSessionState>> {
    list(kube, Some(&kube.ferrolb_namespace)).await
}

/// Events (events.k8s.io/v1) in `namespace` (all with `None`), oldest first.
pub async fn events(kube: &Kube, namespace: Option<&str>) -> anyhow::Result<Vec<EventFacts>> {
    let mut events: Vec<EventFacts> = list::<Event>(kube, namespace)
        .await?
        .iter()
        .map(event_facts)
        .collect();
    events.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(events)
}

fn event_facts(e: &Event) -> EventFacts {
    let regarding = e.regarding.clone().unwrap_or_default();
    let time = e
        .series
        .as_ref()
        .map(|s| s.last_observed_time.0.to_string())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| {
            e.deprecated_last_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
        })
        .or_else(|| {
            e.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
        })
        .unwrap_or_default();
    EventFacts {
        kind: regarding.kind.unwrap_or_default(),
        namespace: regarding.namespace.unwrap_or_default(),
        name: regarding.name.unwrap_or_default(),
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        note: e.note.clone().unwrap_or_default(),
        time,
        reporter: e
            .reporting_instance
            .clone()
            .or_else(|| e.reporting_controller.clone())
            .unwrap_or_default(),
    }
}

/// The EndpointSlices of one Service.
pub async fn endpoint_slices(
    kube: &Kube,
    namespace: &str,
    service: &str,
) -> anyhow::Result<Vec<EndpointSlice>> {
    let api: Api<EndpointSlice> = Api::namespaced(kube.client.clone(), namespace);
    let params = ListParams::default().labels(&format!("kubernetes.io/service-name={service}"));
    Ok(api
        .list(&params)
        .await
        .with_context(|| {
            format!("cannot list the EndpointSlices of Service {namespace}/{service}")
        })?
        .items)
}

/// Every node, by name.
pub async fn nodes(kube: &Kube) -> anyhow::Result<BTreeMap<String, NodeFacts>> {
    let api: Api<Node> = Api::all(kube.client.clone());
    Ok(api
        .list(&ListParams::default())
        .await
        .context("cannot list Nodes")?
        .items
        .iter()
        .filter_map(|n| Some((n.metadata.name.clone()?, NodeFacts::from_node(n))))
        .collect())
}

/// A namespace's labels (empty if it cannot be read).
pub async fn namespace_labels(kube: &Kube, namespace: &str) -> BTreeMap<String, String> {
    let api: Api<Namespace> = Api::all(kube.client.clone());
    match api.get_opt(namespace).await {
        Ok(Some(ns)) => ns.metadata.labels.unwrap_or_default(),
        _ => BTreeMap::new(),
    }
}
