//! The four patch types and the status subresource.

mod common;

use common::{lb_service, server, status};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

async fn web(api: &Api<Service>) -> Service {
    api.create(
        &PostParams::default(),
        &lb_service("web", &[("app", "web"), ("tier", "front")]),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn merge_patch() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    web(&api).await;
    let patch = json!({"metadata": {"labels": {"tier": null, "env": "prod"}}, "spec": {"externalTrafficPolicy": "Local"}});
    let out = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let labels = out.metadata.labels.unwrap();
    assert_eq!(labels.get("env").map(String::as_str), Some("prod"));
    assert!(!labels.contains_key("tier"));
    let spec = out.spec.unwrap();
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
    assert!(
        spec.health_check_node_port.is_some(),
        "Local LoadBalancer gets a health check port"
    );
}

#[tokio::test]
async fn json_patch_including_test() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    web(&api).await;
    let ok: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["ferrolb.io/ip"]},
        {"op": "replace", "path": "/metadata/labels/app", "value": "site"}
    ]))
    .unwrap();
    let out = api
        .patch("web", &PatchParams::default(), &Patch::Json::<()>(ok))
        .await
        .unwrap();
    assert_eq!(out.metadata.finalizers.unwrap(), ["ferrolb.io/ip"]);
    assert_eq!(out.metadata.labels.unwrap()["app"], "site");

    let failing: json_patch::Patch = serde_json::from_value(
        json!([{"op": "test", "path": "/metadata/labels/app", "value": "web"}]),
    )
    .unwrap();
    let err = status(
        api.patch("web", &PatchParams::default(), &Patch::Json::<()>(failing))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
}

#[tokio::test]
async fn strategic_merge_patch_acts_like_merge() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    web(&api).await;
    let patch = json!({"metadata": {"annotations": {"ferrolb.io/pool": "public"}}});
    let out = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
    assert_eq!(
        out.metadata.annotations.unwrap()["ferrolb.io/pool"],
        "public"
    );
    assert_eq!(out.metadata.labels.unwrap()["app"], "web");
}

#[tokio::test]
async fn server_side_apply_creates_then_merges() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let applied = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "applied", "labels": {"a": "1"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}
    });
    let pp = PatchParams::apply("ferrolb-test").force();
    let created = api
        .patch("applied", &pp, &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(
        created.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port,
        443
    );
    let more = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "applied", "labels": {"b": "2"}}});
    let merged = api
        .patch("applied", &pp, &Patch::Apply(&more))
        .await
        .unwrap();
    let labels = merged.metadata.labels.unwrap();
    assert_eq!((labels["a"].as_str(), labels["b"].as_str()), ("1", "2"));
    assert_eq!(merged.metadata.uid, created.metadata.uid);

    let err = status(
        api.patch("applied", &PatchParams::default(), &Patch::Apply(&more))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        err.code, 422,
        "apply needs a field manager: {}",
        err.message
    );
    let writes = srv.store().writes();
    assert!(writes
        .iter()
        .any(|w| w.field_manager.as_deref() == Some("ferrolb-test")));
}

#[tokio::test]
async fn patch_with_stale_resource_version_conflicts() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let first = web(&api).await;
    let rv = first.metadata.resource_version.clone().unwrap();
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await
    .unwrap();
    let stale = json!({"metadata": {"resourceVersion": rv, "labels": {"x": "2"}}});
    let err = status(
        api.patch("web", &PatchParams::default(), &Patch::Merge(&stale))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    let missing = status(
        api.patch("absent", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(missing.code, 404);
}

#[tokio::test]
async fn status_subresource_is_separate_from_the_main_resource() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    web(&api).await;
    let ingress = json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}});

    // A write to the main resource ignores .status.
    let ignored = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&ingress))
        .await
        .unwrap();
    assert!(ignored
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .is_none());

    // A write to /status changes only .status.
    let with_spec = json!({
        "metadata": {"labels": {"sneaky": "yes"}},
        "spec": {"type": "ClusterIP"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    });
    let out = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&with_spec))
        .await
        .unwrap();
    assert_eq!(
        out.spec.as_ref().unwrap().type_.as_deref(),
        Some("LoadBalancer")
    );
    assert!(!out.metadata.labels.as_ref().unwrap().contains_key("sneaky"));
    let ip = out
        .status
        .as_ref()
        .unwrap()
        .load_balancer
        .as_ref()
        .unwrap()
        .ingress
        .as_ref()
        .unwrap()[0]
        .ip
        .clone();
    assert_eq!(ip.as_deref(), Some("192.0.2.10"));

    let got = api.get_status("web").await.unwrap();
    assert_eq!(got.status, out.status);

    // PUT /status with a stale resourceVersion conflicts; a fresh one succeeds.
    let mut replaced = got.clone();
    replaced.status.as_mut().unwrap().load_balancer = Some(Default::default());
    let fresh = api
        .replace_status("web", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert!(fresh
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .is_none());
    let err = status(
        api.replace_status("web", &PostParams::default(), &replaced)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);

    // The write log tells status writes apart.
    let status_writes = srv
        .store()
        .writes()
        .into_iter()
        .filter(|w| w.subresource.as_deref() == Some("status") && w.changed)
        .count();
    assert_eq!(status_writes, 2);
}
