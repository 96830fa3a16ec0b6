//! CustomResourceDefinitions: registering a CRD serves its custom resources.

mod common;

use std::time::Duration;

use common::{eventually, server, status};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use serde_json::json;

fn crd(scope: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.ferrolb.io"},
        "spec": {
            "group": "test.ferrolb.io",
            "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
                "selectableFields": [{"jsonPath": ".spec.color"}]
            }]
        }
    }))
    .unwrap()
}

fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("test.ferrolb.io", "v1alpha1", "Widget"),
        "widgets",
    )
}

fn widget(name: &str, color: &str) -> DynamicObject {
    DynamicObject::new(name, &widget_resource()).data(json!({"spec": {"color": color}}))
}

async fn install(srv: &ferrolb_fake_apiserver::FakeApiServer, scope: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(srv.client());
    let created = crds
        .create(&PostParams::default(), &crd(scope))
        .await
        .unwrap();
    let established = created
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established);
}

#[tokio::test]
async fn custom_resources_are_served_after_crd_creation() {
    let srv = server().await;
    let ar = widget_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(srv.client(), "default", &ar);
    let err = status(api.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(err.code, 404, "not served before the CRD exists");

    install(&srv, "Namespaced").await;
    let discovery = kube::Discovery::new(srv.client()).run().await.unwrap();
    let (found, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "test.ferrolb.io",
            "v1alpha1",
            "Widget",
        ))
        .unwrap();
    assert_eq!(found.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let created = api
        .create(&PostParams::default(), &widget("w1", "red"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.types.as_ref().unwrap().api_version,
        "test.ferrolb.io/v1alpha1"
    );
    api.create(&PostParams::default(), &widget("w2", "blue"))
        .await
        .unwrap();

    let reds = api
        .list(&ListParams::default().fields("spec.color=red"))
        .await
        .unwrap();
    assert_eq!(reds.items.len(), 1);
    assert_eq!(
        reds.items[0].types.as_ref().unwrap().kind,
        "Widget",
        "custom resources keep kind in lists"
    );

    // Spec changes bump generation; status goes through /status only.
    let patched = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "green"}, "status": {"ok": true}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    assert!(patched.data.get("status").is_none());
    let with_status = api
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ok": true}})),
        )
        .await
        .unwrap();
    assert_eq!(with_status.data["status"]["ok"], true);
    assert_eq!(with_status.metadata.generation, Some(2));

    // Custom resources require a resourceVersion on update.
    let mut unconditional = with_status.clone();
    unconditional.metadata.resource_version = None;
    let err = status(
        api.replace("w1", &PostParams::default(), &unconditional)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let replaced = api
        .replace("w1", &PostParams::default(), &with_status)
        .await
        .unwrap();
    assert_eq!(replaced.data["spec"]["color"], "green");

    api.delete("w2", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn dynamic_watcher_and_reflector_on_custom_resources() {
    let srv = server().await;
    install(&srv, "Cluster").await;
    let ar = widget_resource();
    let api: Api<DynamicObject> = Api::all_with(srv.client(), &ar);
    api.create(&PostParams::default(), &widget("first", "red"))
        .await
        .unwrap();

    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let reader = writer.as_reader();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .applied_objects()
        .boxed();
    let task = tokio::spawn(stream.try_for_each(|_| futures::future::ready(Ok(()))));
    reader.wait_until_ready().await.unwrap();
    api.create(&PostParams::default(), &widget("second", "blue"))
        .await
        .unwrap();
    api.patch(
        "first",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"color": "pink"}})),
    )
    .await
    .unwrap();
    eventually("the reflector to see both widgets", || {
        let state = reader.state();
        async move {
            state.len() == 2
                && state.iter().any(|w| {
                    w.metadata.name.as_deref() == Some("first") && w.data["spec"]["color"] == "pink"
                })
        }
    })
    .await;
    api.delete("second", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the reflector to drop the deleted widget", || {
        let n = reader.state().len();
        async move { n == 1 }
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn deleting_a_crd_removes_its_resources() {
    let srv = server().await;
    install(&srv, "Namespaced").await;
    let ar = widget_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(srv.client(), "default", &ar);
    api.create(&PostParams::default(), &widget("a", "red"))
        .await
        .unwrap();
    let mut held = widget("held", "red");
    held.metadata.finalizers = Some(vec!["test.ferrolb.io/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();

    let mut events = api.watch(&Default::default(), "0").await.unwrap().boxed();
    let crds: Api<CustomResourceDefinition> = Api::all(srv.client());
    crds.delete("widgets.test.ferrolb.io", &DeleteParams::default())
        .await
        .unwrap();

    // "a" goes at once; "held" waits for its finalizer, and so does the CRD.
    assert!(api.get_opt("a").await.unwrap().is_none());
    let terminating = api.get("held").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert!(crds
        .get("widgets.test.ferrolb.io")
        .await
        .unwrap()
        .metadata
        .deletion_timestamp
        .is_some());
    let err = status(
        api.create(&PostParams::default(), &widget("new", "red"))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 405);

    let mut rest = terminating.clone();
    rest.metadata.finalizers = Some(vec![]);
    api.replace("held", &PostParams::default(), &rest)
        .await
        .unwrap();
    assert!(crds
        .get_opt("widgets.test.ferrolb.io")
        .await
        .unwrap()
        .is_none());
    let err = status(api.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(err.code, 404, "no longer served");

    // Watches on the custom resources saw everything and end with the CRD.
    let mut kinds = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, events.next()).await {
        kinds.push(match ev.unwrap() {
            kube::api::WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.unwrap()),
            kube::api::WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.unwrap()),
            kube::api::WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.unwrap()),
            kube::api::WatchEvent::Bookmark(_) => continue,
            kube::api::WatchEvent::Error(e) => format!("ERROR {}", e.code),
        });
    }
    assert!(
        tokio::time::Instant::now() < deadline,
        "the watch ended when the CRD went away"
    );
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ADDED a",
            "ADDED held",
            "DELETED a",
            "DELETED held",
            "MODIFIED held"
        ]
    );
}

#[tokio::test]
async fn invalid_crds_are_rejected() {
    let srv = server().await;
    let crds: Api<CustomResourceDefinition> = Api::all(srv.client());
    let mut bad = crd("Namespaced");
    bad.metadata.name = Some("wrong.test.ferrolb.io".into());
    let err = status(crds.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("must be spec.names.plural"),
        "{}",
        err.message
    );
}
