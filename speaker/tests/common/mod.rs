//! A fake API server with FerroLB's CRDs, and helpers to write the objects
//! a speaker reads.
#![allow(dead_code)]

pub mod l2;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ferrolb_fake_apiserver::{FakeApiServer, Options};
use ferrolb_testbed::{Lan, Netns, NsThread, Process};
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// FerroLB's namespace in these tests.
pub const NAMESPACE: &str = "ferrolb-system";

/// Starts the server on `listen` with the CRDs and FerroLB's namespace.
pub async fn start_cluster(listen: SocketAddr) -> FakeApiServer {
    let server = FakeApiServer::start_with(Options {
        listen,
        bookmark_interval: Duration::from_millis(200),
        ..Options::default()
    })
    .await
    .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in ferrolb_api::crd::all_crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let ns: Namespace = serde_yaml::from_str(&format!("metadata: {{name: {NAMESPACE}}}")).unwrap();
    Api::<Namespace>::all(server.client())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    server
}

/// Creates or replaces (by server-side apply) the object written as YAML.
pub async fn apply<K>(client: &Client, yaml: &str) -> K
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let object: K = serde_yaml::from_str(yaml).unwrap();
    let api = dynamic_api::<K>(client, object.namespace().as_deref());
    let name = object.name_any();
    let mut value = serde_json::to_value(&object).unwrap();
    value["apiVersion"] = K::api_version(&()).into();
    value["kind"] = K::kind(&()).into();
    let applied = api
        .patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&value),
        )
        .await
        .unwrap();
    serde_json::from_value(serde_json::to_value(applied).unwrap()).unwrap()
}

/// An API for `K` objects in `namespace` (or cluster-wide).
fn dynamic_api<K: Resource<DynamicType = ()>>(
    client: &Client,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Sets an object's status from YAML.
pub async fn set_status<K>(client: &Client, namespace: Option<&str>, name: &str, status: &str)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let api = dynamic_api::<K>(client, namespace);
    let status: serde_json::Value = serde_yaml::from_str(status).unwrap();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({ "status": status })),
    )
    .await
    .unwrap();
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("ferrolb-speaker-netns-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on a runtime inside `ns`, where the API server is reachable.
pub fn block_in<T: Send>(ns: &Netns, f: impl std::future::Future<Output = T> + Send) -> T {
    ns.run_in(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .unwrap()
}

/// The fake API server on its own thread in the LAN's first namespace,
/// reachable from every node namespace; stopped on drop.
pub struct ApiServerOnLan {
    config: kube::Config,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl ApiServerOnLan {
    /// Starts it and writes a kubeconfig for it into `scratch`.
    pub fn start(lan: &Lan, scratch: &Scratch) -> ApiServerOnLan {
        let listen = SocketAddr::new(IpAddr::V4(lan.nodes[0].v4), 0);
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (config_tx, config_rx) = std::sync::mpsc::channel();
        let thread = lan.nodes[0]
            .ns
            .spawn_thread_in(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let server = start_cluster(listen).await;
                    config_tx.send(server.config()).unwrap();
                    tokio::task::spawn_blocking(move || stop_rx.recv())
                        .await
                        .unwrap()
                        .ok();
                    server.shutdown().await;
                });
            })
            .unwrap();
        let config: kube::Config = config_rx.recv().unwrap();
        let url = config.cluster_url.to_string();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\n\
             users: [{{name: fake, user: {{}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: fake, namespace: default}}}}]\n\
             current-context: fake\n"
        );
        std::fs::write(scratch.0.join("kubeconfig"), kubeconfig).unwrap();
        ApiServerOnLan {
            config,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// A client (use it inside the API server's namespace, see [`block_in`]).
    pub fn client(&self) -> Client {
        Client::try_from(self.config.clone()).unwrap()
    }
}

impl Drop for ApiServerOnLan {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Name of the Kubernetes node on LAN node `i + 1`.
pub fn node_name(i: usize) -> String {
    format!("n{}", i + 1)
}

/// Creates `count` Ready Nodes `n1..` whose InternalIPs are LAN nodes 1.. .
pub async fn seed_nodes(client: &Client, lan: &Lan, count: usize) {
    for i in 0..count {
        let name = node_name(i);
        apply::<Node>(
            client,
            &format!("{{metadata: {{name: {name}, labels: {{kubernetes.io/hostname: {name}}}}}}}"),
        )
        .await;
        let ip = lan.nodes[i + 1].v4;
        set_status::<Node>(
            client,
            None,
            &name,
            &format!("{{conditions: [{{type: Ready, status: \"True\"}}], addresses: [{{type: InternalIP, address: {ip}}}]}}"),
        )
        .await;
    }
}

/// Starts the speaker of node `i` (LAN node `i + 1`) with `extra` flags.
pub fn start_speaker(lan: &Lan, scratch: &Scratch, i: usize, extra: &[&str]) -> Process {
    let node = &lan.nodes[i + 1];
    let kubeconfig = scratch.0.join("kubeconfig");
    let log = scratch.0.join(format!("speaker-{}.log", node_name(i)));
    let mut args = vec!["--kubeconfig", kubeconfig.to_str().unwrap(), "--node-name"];
    let name = node_name(i);
    args.push(&name);
    args.extend_from_slice(&["--namespace", NAMESPACE]);
    args.extend_from_slice(extra);
    node.ns
        .spawn(
            &format!("speaker {name}"),
            env!("CARGO_BIN_EXE_ferrolb-speaker"),
            &args,
            &log,
        )
        .unwrap()
}

/// A Service of `type: LoadBalancer` as YAML.
pub fn service_yaml(name: &str, policy: &str) -> String {
    format!(
        "{{apiVersion: v1, kind: Service, metadata: {{name: {name}, namespace: default}}, \
          spec: {{type: LoadBalancer, externalTrafficPolicy: {policy}, ports: [{{port: 80}}]}}}}"
    )
}

/// An EndpointSlice of `service` with one ready endpoint on each of `nodes`.
pub fn slice_yaml(service: &str, nodes: &[&str]) -> String {
    let endpoints: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "{{addresses: [10.244.0.{}], nodeName: {n}, conditions: {{ready: true}}}}",
                i + 1
            )
        })
        .collect();
    format!(
        "{{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {{name: {service}-1, namespace: default, \
          labels: {{kubernetes.io/service-name: {service}}}}}, addressType: IPv4, endpoints: [{}]}}",
        endpoints.join(", ")
    )
}

/// Creates a Service with `ip` in its status and, if `nodes` is given, an
/// EndpointSlice with endpoints on those nodes.
pub async fn seed_service(
    client: &Client,
    name: &str,
    policy: &str,
    ip: &str,
    nodes: Option<&[&str]>,
) {
    apply::<k8s_openapi::api::core::v1::Service>(client, &service_yaml(name, policy)).await;
    set_status::<k8s_openapi::api::core::v1::Service>(
        client,
        Some("default"),
        name,
        &format!("{{loadBalancer: {{ingress: [{{ip: \"{ip}\"}}]}}}}"),
    )
    .await;
    if let Some(nodes) = nodes {
        apply::<k8s_openapi::api::discovery::v1::EndpointSlice>(client, &slice_yaml(name, nodes))
            .await;
    }
}
