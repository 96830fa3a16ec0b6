//! Create/get/list/replace/delete through a real kube client.

mod common;

use common::{lb_service, server, status};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn service_crud_round_trip() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");

    let created = api
        .create(
            &PostParams::default(),
            &lb_service("web", &[("app", "web")]),
        )
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    let spec = created.spec.as_ref().unwrap();
    assert!(
        spec.cluster_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.")),
        "{spec:?}"
    );
    assert!(
        spec.ports.as_ref().unwrap()[0].node_port.is_some(),
        "LoadBalancer gets a NodePort"
    );
    assert_eq!(
        spec.ports.as_ref().unwrap()[0].protocol.as_deref(),
        Some("TCP")
    );

    let fetched = api.get("web").await.unwrap();
    assert_eq!(fetched.metadata.uid, created.metadata.uid);

    // Like the real server, loadBalancerClass cannot change on a LoadBalancer Service.
    let mut reclassed = fetched.clone();
    reclassed.spec.as_mut().unwrap().load_balancer_class = Some("ferrolb.io/lb".into());
    let err = status(
        api.replace("web", &PostParams::default(), &reclassed)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("spec.loadBalancerClass"),
        "{}",
        err.message
    );

    let mut changed = fetched.clone();
    changed.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    let replaced = api
        .replace("web", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2: u64 = replaced
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    assert_eq!(
        replaced.spec.as_ref().unwrap().cluster_ip,
        spec.cluster_ip,
        "ClusterIP is kept"
    );

    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    let list_rv: u64 = list
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(list_rv >= rv2);

    let all: Api<Service> = Api::all(srv.client());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );

    let deleted = api.delete("web", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_left(), "the deleted object is returned");
    let err = status(api.get("web").await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "services \"web\" not found");
    let err = status(
        api.delete("web", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn conflicts_on_duplicate_create_and_stale_replace() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let first = api
        .create(&PostParams::default(), &lb_service("dup", &[]))
        .await
        .unwrap();

    let err = status(
        api.create(&PostParams::default(), &lb_service("dup", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(err.message, "services \"dup\" already exists");

    let mut a = first.clone();
    a.metadata.labels = Some([("x".to_string(), "1".to_string())].into());
    api.replace("dup", &PostParams::default(), &a)
        .await
        .unwrap();
    let mut stale = first.clone();
    stale.metadata.labels = Some([("x".to_string(), "2".to_string())].into());
    let err = status(
        api.replace("dup", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Operation cannot be fulfilled on services \"dup\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let details = err.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("dup", "services")
    );

    // Without a resourceVersion, built-in resources accept the update unconditionally.
    let mut unconditional = first.clone();
    unconditional.metadata.resource_version = None;
    unconditional.metadata.labels = Some([("x".to_string(), "3".to_string())].into());
    let out = api
        .replace("dup", &PostParams::default(), &unconditional)
        .await
        .unwrap();
    assert_eq!(out.metadata.labels.unwrap()["x"], "3");
}

#[tokio::test]
async fn no_op_update_does_not_bump_resource_version() {
    let srv = server().await;
    let api: Api<ConfigMap> = Api::namespaced(srv.client(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"k": "v"}})).unwrap();
    let created = api.create(&PostParams::default(), &cm).await.unwrap();
    let before = srv.store().resource_version();
    let same = api
        .replace("c", &PostParams::default(), &created)
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(srv.store().resource_version(), before);
}

#[tokio::test]
async fn nodes_and_namespaces_are_cluster_scoped() {
    let srv = server().await;
    let nodes: Api<Node> = Api::all(srv.client());
    let node: Node =
        serde_json::from_value(json!({"metadata": {"name": "node-a", "labels": {"zone": "a"}}}))
            .unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let got = nodes.get("node-a").await.unwrap();
    assert_eq!(got.metadata.namespace, None);
    let mut upd = got.clone();
    upd.spec = Some(serde_json::from_value(json!({"podCIDR": "10.244.0.0/24"})).unwrap());
    let upd = nodes
        .replace("node-a", &PostParams::default(), &upd)
        .await
        .unwrap();
    assert_eq!(upd.spec.unwrap().pod_cidr.as_deref(), Some("10.244.0.0/24"));
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let namespaces: Api<Namespace> = Api::all(srv.client());
    let initial: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(
        initial,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "ferrolb-system"}})).unwrap();
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    assert_eq!(
        created.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
        "ferrolb-system"
    );
    nodes
        .delete("node-a", &DeleteParams::default())
        .await
        .unwrap();
    assert!(nodes.get_opt("node-a").await.unwrap().is_none());
}

#[tokio::test]
async fn creating_in_a_missing_namespace_fails() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "nope");
    let err = status(
        api.create(&PostParams::default(), &lb_service("web", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );
}

#[tokio::test]
async fn validation_errors() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let err = status(
        api.create(&PostParams::default(), &lb_service("Bad_Name", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(
        err.message
            .starts_with("Service \"Bad_Name\" is invalid: metadata.name: Invalid value"),
        "{}",
        err.message
    );

    let mut nameless = lb_service("", &[]);
    nameless.metadata.name = None;
    let err = status(
        api.create(&PostParams::default(), &nameless)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("name or generateName is required"),
        "{}",
        err.message
    );

    nameless.metadata.generate_name = Some("web-".into());
    let made = api.create(&PostParams::default(), &nameless).await.unwrap();
    let name = made.metadata.name.unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");

    let mut no_ports = lb_service("noports", &[]);
    no_ports.spec.as_mut().unwrap().ports = None;
    let err = status(
        api.create(&PostParams::default(), &no_ports)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("spec.ports: Required value"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn discovery_through_kube() {
    let srv = server().await;
    let discovery = kube::Discovery::new(srv.client()).run().await.unwrap();
    for group in [
        "",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "apiextensions.k8s.io",
        "events.k8s.io",
    ] {
        assert!(discovery.has_group(group), "missing group {group:?}");
    }
    let gvk = kube::api::GroupVersionKind::gvk("", "v1", "Service");
    let (ar, caps) = discovery.resolve_gvk(&gvk).unwrap();
    assert_eq!(ar.plural, "services");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));

    let aggregated = kube::Discovery::new(srv.client())
        .run_aggregated()
        .await
        .unwrap();
    assert!(aggregated.has_group("coordination.k8s.io"));
    let version = srv.client().apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "33")
    );
}

#[tokio::test]
async fn kubeconfig_points_a_client_at_the_server() {
    let srv = server().await;
    let path = std::env::temp_dir().join(format!("ferrolb-fake-kubeconfig-{}", std::process::id()));
    srv.write_kubeconfig(&path).unwrap();
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    assert_eq!(cfg.default_namespace, "default");
    let client = kube::Client::try_from(cfg).unwrap();
    let ns: Api<Namespace> = Api::all(client);
    assert!(ns.get("kube-system").await.is_ok());
}
