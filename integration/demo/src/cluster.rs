//! The Kubernetes side: the fake API server running in this process on a
//! thread inside the `api` namespace (so every node namespace reaches it on
//! the segment), the demo's objects from `configs/demo/`, and the reads the
//! demo narrates (assigned IPs, L2 owners).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use ferrolb_api::{AnnouncementProtocol, IPAddressPool, IPAddressPoolStatus, ServiceAnnouncement};
use ferrolb_fake_apiserver::{FakeApiServer, Options};
use ferrolb_testbed::{Netns, NsThread};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams,
};
use kube::{Api, Client};
use serde_json::Value;

use crate::error::{Error, Result};

/// FerroLB's namespace in the demo cluster.
pub const NAMESPACE: &str = "ferrolb-system";
/// The namespace of the demo's Services.
pub const SERVICE_NAMESPACE: &str = "default";
/// Field manager of the demo's writes.
const FIELD_MANAGER: &str = "ferrolb-demo";

/// The fake API server; stopped on drop.
pub struct Cluster {
    runtime: tokio::runtime::Handle,
    client: Client,
    kubeconfig: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

/// What the server thread hands back once it serves.
type Started = std::result::Result<(tokio::runtime::Handle, Client, String), String>;

impl Cluster {
    /// Starts the server in `ns` on `listen`, with FerroLB's CRDs and namespace.
    pub fn start(ns: &Netns, listen: SocketAddr) -> Result<Cluster> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<Started>();
        let thread = ns.spawn_thread_in(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("apiserver")
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = started_tx.send(Err(format!("runtime: {e}")));
                    return;
                }
            };
            let handle = runtime.handle().clone();
            runtime.block_on(async move {
                let server = match serve(listen).await {
                    Ok(server) => server,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok((handle, server.client(), server.kubeconfig_yaml())));
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                server.shutdown().await;
            });
        })?;
        let started = started_rx
            .recv()
            .map_err(|_| Error::Check("the API server thread ended".into()))
            .and_then(|s| s.map_err(Error::Check));
        let (runtime, client, kubeconfig) = match started {
            Ok(s) => s,
            Err(e) => {
                drop(stop_tx);
                let _ = thread.join();
                return Err(e);
            }
        };
        Ok(Cluster {
            runtime,
            client,
            kubeconfig,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// A kubeconfig for the server.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// Runs `f` with a client on the server's runtime (inside the `api`
    /// namespace, where its sockets must be opened).
    pub fn call<F, Fut, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.runtime.spawn(f(self.client.clone()));
        self.runtime
            .block_on(task)
            .map_err(|e| Error::Check(format!("API task: {e}")))?
    }

    /// Creates or updates every object in the YAML documents (server-side
    /// apply), then sets the `status` of those that carry one. Returns how
    /// many objects were applied.
    pub fn apply_yaml(&self, yaml: &str) -> Result<usize> {
        let objects = documents(yaml)?;
        self.call(|client| async move {
            for object in &objects {
                apply(&client, object).await?;
            }
            Ok(objects.len())
        })
    }

    /// Deletes every object named in the YAML documents; objects already
    /// gone are no error. Returns how many were deleted.
    pub fn delete_yaml(&self, yaml: &str) -> Result<usize> {
        let objects = documents(yaml)?;
        self.call(|client| async move {
            let mut deleted = 0;
            for doc in &objects {
                match api_for(&client, doc)
                    .delete(&doc.name, &DeleteParams::default())
                    .await
                {
                    Ok(_) => deleted += 1,
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(deleted)
        })
    }

    /// The status of IPAddressPool `name` (empty until the controller
    /// writes one).
    pub fn pool_status(&self, name: &str) -> Result<IPAddressPoolStatus> {
        let name = name.to_owned();
        self.call(|client| async move {
            let pools: Api<IPAddressPool> = Api::namespaced(client, NAMESPACE);
            Ok(pools.get(&name).await?.status.unwrap_or_default())
        })
    }

    /// Every LoadBalancer Service's assigned addresses, by Service name.
    pub fn service_ips(&self) -> Result<BTreeMap<String, Vec<String>>> {
        self.call(|client| async move {
            let services: Api<Service> = Api::namespaced(client, SERVICE_NAMESPACE);
            let list = services.list(&ListParams::default()).await?;
            Ok(list
                .items
                .into_iter()
                .map(|s| {
                    let ips = s
                        .status
                        .and_then(|st| st.load_balancer)
                        .and_then(|lb| lb.ingress)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|i| i.ip)
                        .collect();
                    (s.metadata.name.unwrap_or_default(), ips)
                })
                .collect())
        })
    }

    /// The nodes whose speakers report answering ARP for `ip`.
    pub fn l2_owners(&self, ip: &str) -> Result<Vec<String>> {
        let ip = ip.to_owned();
        self.call(|client| async move {
            let api: Api<ServiceAnnouncement> = Api::namespaced(client, NAMESPACE);
            let list = api.list(&ListParams::default()).await?;
            Ok(list
                .items
                .into_iter()
                .filter(|a| a.spec.protocol == AnnouncementProtocol::L2)
                .filter(|a| a.status.as_ref().is_some_and(|s| s.ips.contains(&ip)))
                .map(|a| a.spec.node)
                .collect())
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listen: SocketAddr) -> std::result::Result<FakeApiServer, String> {
    let server = FakeApiServer::start_with(Options {
        listen,
        bookmark_interval: Duration::from_secs(1),
        ..Options::default()
    })
    .await
    .map_err(|e| format!("starting the API server on {listen}: {e}"))?;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in ferrolb_api::crd::all_crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .map_err(|e| format!("creating CRDs: {e}"))?;
    }
    let namespace: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": NAMESPACE}
    }))
    .map_err(|e| e.to_string())?;
    Api::<Namespace>::all(server.client())
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(|e| format!("creating namespace {NAMESPACE}: {e}"))?;
    Ok(server)
}

/// One object to apply: where it goes, the object without its status, and
/// the status.
#[derive(Debug, Clone)]
struct Document {
    resource: ApiResource,
    namespace: Option<String>,
    name: String,
    object: Value,
    status: Option<Value>,
}

/// Splits YAML documents into objects to apply.
fn documents(yaml: &str) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let mut object: Value = serde::Deserialize::deserialize(de)
            .map_err(|e| Error::Format(format!("document {i}: {e}")))?;
        if object.is_null() {
            continue;
        }
        let field = |key: &str| object[key].as_str().map(str::to_owned);
        let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
            return Err(Error::Format(format!(
                "document {i}: no apiVersion or kind"
            )));
        };
        let name = object["metadata"]["name"]
            .as_str()
            .ok_or_else(|| Error::Format(format!("document {i} ({kind}): no name")))?
            .to_owned();
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let gvk = GroupVersionKind::gvk(group, version, &kind);
        let status = object.as_object_mut().and_then(|o| o.remove("status"));
        out.push(Document {
            resource: ApiResource::from_gvk(&gvk),
            namespace,
            name,
            object,
            status,
        });
    }
    Ok(out)
}

/// The API of `doc`'s resource, in its namespace if it has one.
fn api_for(client: &Client, doc: &Document) -> Api<DynamicObject> {
    match &doc.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &doc.resource),
        None => Api::all_with(client.clone(), &doc.resource),
    }
}

async fn apply(client: &Client, doc: &Document) -> Result<()> {
    let api = api_for(client, doc);
    api.patch(
        &doc.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&doc.object),
    )
    .await?;
    if let Some(status) = &doc.status {
        api.patch_status(
            &doc.name,
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "status": status })),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_their_resource_namespace_and_status() {
        let docs = documents(crate::manifests::NODES).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].resource.plural, "nodes");
        assert_eq!(docs[0].namespace, None);
        assert_eq!(docs[0].name, "node-1");
        assert!(docs[0].object.get("status").is_none());
        assert_eq!(
            docs[0].status.as_ref().unwrap()["addresses"][0]["address"],
            "198.18.0.2"
        );

        let docs = documents(crate::manifests::SERVICES).unwrap();
        let kinds: Vec<(&str, &str, Option<&str>)> = docs
            .iter()
            .map(|d| {
                (
                    d.resource.plural.as_str(),
                    d.name.as_str(),
                    d.namespace.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("services", "web", Some("default")),
                ("endpointslices", "web-1", Some("default")),
                ("services", "shop", Some("default")),
                ("endpointslices", "shop-1", Some("default")),
                ("services", "printer", Some("default")),
                ("endpointslices", "printer-1", Some("default")),
            ]
        );
        assert_eq!(docs[1].resource.group, "discovery.k8s.io");

        let cluster = documents(crate::manifests::CLUSTER).unwrap();
        assert!(cluster.iter().any(|d| d.resource.plural == "bgppeers"));
        assert!(documents("kind: Node\n").is_err());
        assert!(documents("apiVersion: v1\nkind: Node\nmetadata: {}\n").is_err());
    }
}
