//! A fake cluster with FerroLB's CRDs, controller replicas running the real
//! reconciler in-process, and helpers to look at what a user would see.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_api::{IPAddressPool, ServiceReference};
use ferrolb_controller::{ControllerConfig, LeaseSettings, Metrics};
use ferrolb_daemon::{MetricsRegistry, Readiness};
use ferrolb_fake_apiserver::{FakeApiServer, Options, ResourceRef};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// FerroLB's namespace in these tests.
pub const NAMESPACE: &str = "ferrolb-system";

/// How long [`eventually`] waits.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A fake API server with the CRDs installed and FerroLB's namespace.
pub struct Cluster {
    pub server: FakeApiServer,
}

impl Cluster {
    pub async fn start() -> Self {
        let server = FakeApiServer::start_with(Options {
            bookmark_interval: Duration::from_millis(200),
            ..Options::default()
        })
        .await
        .unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(server.client());
        for crd in ferrolb_api::crd::all_crds() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let cluster = Cluster { server };
        cluster.namespace(NAMESPACE, &[]).await;
        cluster
    }

    /// A client whose writes are attributed (by User-Agent) to `agent`.
    pub fn client_as(&self, agent: &str) -> Client {
        let mut config = self.server.config();
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_str(&format!("{agent}/test")).unwrap(),
        ));
        Client::try_from(config).unwrap()
    }

    /// The test's own client.
    pub fn client(&self) -> Client {
        self.client_as("test")
    }

    pub async fn namespace(&self, name: &str, labels: &[(&str, &str)]) {
        let api: Api<Namespace> = Api::all(self.client());
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels_json(labels)}
        }))
        .unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
    }

    pub async fn label_namespace(&self, name: &str, labels: &[(&str, &str)]) {
        let api: Api<Namespace> = Api::all(self.client());
        let patch = json!({"metadata": {"labels": labels_json(labels)}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    fn pools(&self) -> Api<IPAddressPool> {
        Api::namespaced(self.client(), NAMESPACE)
    }

    /// Creates or replaces pool `name` with `spec` (YAML).
    pub async fn pool(&self, name: &str, spec: &str) {
        let spec: Value = serde_yaml::from_str(spec).unwrap();
        let pool: IPAddressPool = serde_json::from_value(json!({
            "apiVersion": "ferrolb.io/v1alpha1", "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec,
        }))
        .unwrap();
        let api = self.pools();
        match api.get_opt(name).await.unwrap() {
            Some(old) => {
                let mut new = pool;
                new.metadata.resource_version = old.metadata.resource_version;
                api.replace(name, &PostParams::default(), &new)
                    .await
                    .unwrap();
            }
            None => {
                api.create(&PostParams::default(), &pool).await.unwrap();
            }
        }
    }

    pub async fn delete_pool(&self, name: &str) {
        self.pools()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub async fn pool_status(&self, name: &str) -> Option<ferrolb_api::IPAddressPoolStatus> {
        self.pools().get(name).await.unwrap().status
    }

    fn services(&self, namespace: &str) -> Api<Service> {
        Api::namespaced(self.client(), namespace)
    }

    /// Creates a Service from a JSON object (`metadata` needs only `name`;
    /// `spec` defaults to a TCP/80 LoadBalancer). `name` may be `ns/name`.
    pub async fn service(&self, name: &str, manifest: Value) {
        let (namespace, name) = split(name);
        let mut manifest = manifest;
        let meta = manifest
            .as_object_mut()
            .unwrap()
            .entry("metadata")
            .or_insert_with(|| json!({}));
        meta["name"] = json!(name);
        let spec = manifest
            .as_object_mut()
            .unwrap()
            .entry("spec")
            .or_insert_with(|| json!({}));
        for (k, v) in [
            ("type", json!("LoadBalancer")),
            ("ports", json!([{"port": 80}])),
        ] {
            if spec.get(k).is_none() {
                spec[k] = v;
            }
        }
        let svc: Service = serde_json::from_value(manifest).unwrap();
        self.services(namespace)
            .create(&PostParams::default(), &svc)
            .await
            .unwrap();
    }

    /// Merge-patches a Service's spec/metadata.
    pub async fn patch_service(&self, name: &str, patch: Value) {
        let (namespace, name) = split(name);
        self.services(namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    pub async fn delete_service(&self, name: &str) {
        let (namespace, name) = split(name);
        self.services(namespace)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub async fn get_service(&self, name: &str) -> Service {
        let (namespace, name) = split(name);
        self.services(namespace).get(name).await.unwrap()
    }

    /// The addresses in a Service's status, as strings.
    pub async fn ips(&self, name: &str) -> Vec<String> {
        status_ips(&self.get_service(name).await)
    }

    /// Every Service's status addresses, by `namespace/name`.
    pub async fn all_ips(&self) -> BTreeMap<String, Vec<String>> {
        let api: Api<Service> = Api::all(self.client());
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|s| {
                let ns = s.metadata.namespace.clone().unwrap_or_default();
                let name = s.metadata.name.clone().unwrap_or_default();
                (format!("{ns}/{name}"), status_ips(s))
            })
            .collect()
    }

    /// The recorded pool annotation.
    pub async fn recorded_pool(&self, name: &str) -> Option<String> {
        self.get_service(name)
            .await
            .metadata
            .annotations
            .and_then(|a| a.get("ferrolb.io/ip-allocated-from-pool").cloned())
    }

    /// `(reason, note)` of the Events about a Service, oldest first.
    pub async fn events(&self, name: &str) -> Vec<(String, String)> {
        let (namespace, name) = split(name);
        let api: Api<Event> = Api::namespaced(self.client(), namespace);
        let mut events: Vec<Event> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect();
        events.sort_by_key(|e| e.event_time.as_ref().map(|t| t.0));
        events
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }

    /// Waits until the Service's status lists addresses; returns them.
    pub async fn wait_ips(&self, name: &str) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ips = self.ips(name).await;
            if !ips.is_empty() {
                return ips;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} got no address"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the Service's status lists exactly `want`.
    pub async fn wait_ips_are(&self, name: &str, want: &[&str]) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ips = self.ips(name).await;
            if ips == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: status lists {ips:?}, want {want:?}; events: {:?}",
                self.events(name).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for an Event with `reason` about the Service; returns its note.
    pub async fn wait_event(&self, name: &str, reason: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let events = self.events(name).await;
            if let Some((_, note)) = events.iter().rev().find(|(r, _)| r == reason) {
                return note.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {reason} Event for {name}; events: {events:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes that changed something, to `resource`, by `actor`.
    pub fn writes_by(&self, resource: &ResourceRef, actor: &str) -> usize {
        self.server.store().count_writes(resource, actor)
    }

    /// Writes by `actor` to Services, Events, pools and Leases.
    pub fn all_writes_by(&self, actor: &str) -> [usize; 4] {
        [
            self.writes_by(&ResourceRef::core("services"), actor),
            self.writes_by(&ResourceRef::new("events.k8s.io", "v1", "events"), actor),
            self.writes_by(
                &ResourceRef::new("ferrolb.io", "v1alpha1", "ipaddresspools"),
                actor,
            ),
            self.writes_by(
                &ResourceRef::new("coordination.k8s.io", "v1", "leases"),
                actor,
            ),
        ]
    }
}

/// `ns/name` or `name` (in `default`).
pub fn split(name: &str) -> (&str, &str) {
    name.split_once('/').unwrap_or(("default", name))
}

pub fn key(name: &str) -> ServiceReference {
    let (namespace, name) = split(name);
    ServiceReference {
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn labels_json(labels: &[(&str, &str)]) -> Value {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub fn status_ips(service: &Service) -> Vec<String> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|i| i.iter().filter_map(|e| e.ip.clone()).collect())
        .unwrap_or_default()
}

pub fn parse_ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub async fn poll<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` until it holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    assert!(poll(PATIENCE, check).await, "timed out waiting for {what}");
}

/// A controller replica running in this process.
pub struct Replica {
    pub identity: String,
    pub metrics: MetricsRegistry,
    pub readiness: Readiness,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// `ferrolb-controller`'s flags to run as replica `identity` of the
/// cluster behind `kubeconfig`, with the 2 s lease of [`config`].
pub fn process_args(kubeconfig: &std::path::Path, identity: &str) -> Vec<String> {
    [
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
        "--identity",
        identity,
        "--lease-duration",
        "2s",
        "--renew-deadline",
        "1s",
        "--retry-period",
        "200ms",
    ]
    .map(String::from)
    .to_vec()
}

/// Settings for replica `identity`: a 2 s lease, fast pool status updates.
pub fn config(identity: &str) -> ControllerConfig {
    ControllerConfig {
        field_manager: identity.to_owned(),
        lease: LeaseSettings::scaled("ferrolb-controller", Duration::from_secs(2)),
        pool_status_interval: Duration::from_millis(100),
        ..ControllerConfig::new(NAMESPACE, identity)
    }
}

impl Replica {
    /// Starts replica `identity` with the default test settings.
    pub fn start(cluster: &Cluster, identity: &str) -> Self {
        Self::start_with(cluster, config(identity))
    }

    pub fn start_with(cluster: &Cluster, config: ControllerConfig) -> Self {
        let identity = config.identity.clone();
        let client = cluster.client_as(&config.field_manager);
        let registry = MetricsRegistry::new();
        let metrics = Metrics::register(&registry);
        let readiness = Readiness::new("starting");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let readiness = readiness.clone();
            async move {
                ferrolb_controller::run(client, config, metrics, readiness, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            }
        });
        Replica {
            identity,
            metrics: registry,
            readiness,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Kills the replica mid-flight: no clean-up, no Lease release.
    pub async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the replica gracefully (it releases the Lease).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("replica did not stop")
                .unwrap();
        }
    }

    pub fn metrics_text(&self) -> String {
        self.metrics.encode().unwrap()
    }

    pub fn is_leader(&self) -> bool {
        self.metrics_text()
            .contains("ferrolb_controller_leader 1\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
