//! Finalizers, namespace deletion, leases, endpoint slices, events, admission
//! and the write log.

mod common;

use std::sync::Arc;

use common::{lb_service, server, status};
use ferrolb_fake_apiserver::{validator, AdmissionRule, Operation, ResourceRef};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let mut svc = lb_service("held", &[]);
    svc.metadata.finalizers = Some(vec!["ferrolb.io/ip".into(), "ferrolb.io/other".into()]);
    api.create(&PostParams::default(), &svc).await.unwrap();

    let first = api.delete("held", &DeleteParams::default()).await.unwrap();
    let marked = first.left().expect("the object is returned while it waits");
    assert!(marked.metadata.deletion_timestamp.is_some());
    // Deleting again changes nothing.
    let again = api
        .delete("held", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        marked.metadata.resource_version
    );

    // No new finalizers may be added now.
    let add = json!({"metadata": {"finalizers": ["ferrolb.io/ip", "ferrolb.io/other", "x/y"]}});
    let err = status(
        api.patch("held", &PatchParams::default(), &Patch::Merge(&add))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);

    // Removing one keeps it; removing the last deletes it (the way kube-runtime's finalizer helper does).
    let drop_one: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "ferrolb.io/ip"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]))
    .unwrap();
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Json::<()>(drop_one),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_some());
    let drop_last: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "ferrolb.io/other"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]))
    .unwrap();
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Json::<()>(drop_last),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents() {
    let srv = server().await;
    let namespaces: Api<Namespace> = Api::all(srv.client());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let api: Api<Service> = Api::namespaced(srv.client(), "team");
    api.create(&PostParams::default(), &lb_service("plain", &[]))
        .await
        .unwrap();
    let mut held = lb_service("held", &[]);
    held.metadata.finalizers = Some(vec!["ferrolb.io/ip".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();

    let out = namespaces
        .delete("team", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(out.status.unwrap().phase.as_deref(), Some("Terminating"));
    assert!(api.get_opt("plain").await.unwrap().is_none());
    let err = status(
        api.create(&PostParams::default(), &lb_service("late", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));

    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(
        namespaces.get_opt("team").await.unwrap().is_none(),
        "gone once empty"
    );
}

#[tokio::test]
async fn lease_leader_election_conflicts() {
    let srv = server().await;
    let a: Api<Lease> = Api::namespaced(srv.client(), "ferrolb-system");
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "ferrolb-system"}})).unwrap();
    Api::<Namespace>::all(srv.client())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let b: Api<Lease> = Api::namespaced(srv.client(), "ferrolb-system");
    let lease = |holder: &str| -> Lease {
        serde_json::from_value(json!({
            "metadata": {"name": "ferrolb-controller"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                     "renewTime": "2025-01-01T00:00:00.000000Z", "leaseTransitions": 0}
        }))
        .unwrap()
    };
    // Both candidates try to create: exactly one wins.
    let pp = PostParams::default();
    let (lease_a, lease_b) = (lease("a"), lease("b"));
    let (ra, rb) = tokio::join!(a.create(&pp, &lease_a), b.create(&pp, &lease_b));
    let winners = [ra.is_ok(), rb.is_ok()].iter().filter(|w| **w).count();
    assert_eq!(winners, 1);
    let loser_err = status(ra.err().or(rb.err()).unwrap());
    assert_eq!(loser_err.reason, "AlreadyExists");

    // Both read the same version and try to take over: exactly one replace succeeds.
    let current = a.get("ferrolb-controller").await.unwrap();
    let mut take_a = current.clone();
    take_a.spec.as_mut().unwrap().holder_identity = Some("a2".into());
    let mut take_b = current.clone();
    take_b.spec.as_mut().unwrap().holder_identity = Some("b2".into());
    let (ra, rb) = tokio::join!(
        a.replace("ferrolb-controller", &pp, &take_a),
        b.replace("ferrolb-controller", &pp, &take_b)
    );
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|w| **w).count(), 1);
    let err = status(ra.err().or(rb.err()).unwrap());
    assert_eq!(err.code, 409);
    let holder = a
        .get("ferrolb-controller")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    assert!(holder == "a2" || holder == "b2");
    let stored = srv
        .store()
        .get(
            &ResourceRef::of::<Lease>(),
            Some("ferrolb-system"),
            "ferrolb-controller",
        )
        .unwrap();
    assert_eq!(
        stored["spec"]["renewTime"], "2025-01-01T00:00:00.000000Z",
        "MicroTime round-trips"
    );
}

#[tokio::test]
async fn endpoint_slices_and_events() {
    let srv = server().await;
    let slices: Api<EndpointSlice> = Api::namespaced(srv.client(), "default");
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"generateName": "web-", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": true}, "nodeName": "node-a"}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
    }))
    .unwrap();
    let made = slices.create(&PostParams::default(), &slice).await.unwrap();
    assert!(made.metadata.name.unwrap().starts_with("web-"));
    let listed = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap();
    assert_eq!(
        listed.items[0].endpoints[0].node_name.as_deref(),
        Some("node-a")
    );

    let events: Api<Event> = Api::namespaced(srv.client(), "default");
    let ev: Event = serde_json::from_value(json!({
        "metadata": {"name": "web.1"},
        "eventTime": "2025-01-01T00:00:00.000000Z",
        "reason": "IPAllocated", "note": "allocated 192.0.2.10", "type": "Normal", "action": "Allocate",
        "reportingController": "ferrolb.io/controller", "reportingInstance": "controller-0",
        "regarding": {"kind": "Service", "name": "web", "namespace": "default", "apiVersion": "v1"}
    }))
    .unwrap();
    events.create(&PostParams::default(), &ev).await.unwrap();
    let found = events
        .list(&ListParams::default().fields("regarding.name=web,reason=IPAllocated"))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);

    let core: Api<CoreEvent> = Api::namespaced(srv.client(), "default");
    let ce: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "web.2"}, "reason": "Announced", "message": "via BGP", "type": "Normal",
        "involvedObject": {"kind": "Service", "name": "web", "namespace": "default"}
    }))
    .unwrap();
    core.create(&PostParams::default(), &ce).await.unwrap();
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=web"))
        .await
        .unwrap();
    assert_eq!(found.items[0].reason.as_deref(), Some("Announced"));
}

#[tokio::test]
async fn kube_runtime_event_recorder() {
    use kube::runtime::events::{Event as RecEvent, EventType, Recorder, Reporter};
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let svc = api
        .create(&PostParams::default(), &lb_service("web", &[]))
        .await
        .unwrap();
    let recorder = Recorder::new(srv.client(), Reporter::from("ferrolb-controller"));
    let event = RecEvent {
        type_: EventType::Normal,
        reason: "IPAllocated".into(),
        note: Some("allocated".into()),
        action: "Allocate".into(),
        secondary: None,
    };
    let reference = kube::Resource::object_ref(&svc, &());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events: Api<Event> = Api::namespaced(srv.client(), "default");
    let list = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1, "a repeat updates the series");
}

#[tokio::test]
async fn admission_hook_denies_like_a_webhook() {
    let srv = server().await;
    srv.admission().register(
        "vservice.ferrolb.io",
        AdmissionRule::new("", "services").operations([Operation::Create, Operation::Update]),
        validator(|req| {
            let class = req
                .object
                .as_ref()
                .and_then(|o| o.pointer("/spec/loadBalancerClass"))
                .and_then(|v| v.as_str());
            match class {
                Some("forbidden") => Err("loadBalancerClass \"forbidden\" is not allowed".into()),
                _ => Ok(()),
            }
        }),
    );
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let mut bad = lb_service("bad", &[]);
    bad.spec.as_mut().unwrap().load_balancer_class = Some("forbidden".into());
    let err = status(api.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "admission webhook \"vservice.ferrolb.io\" denied the request: loadBalancerClass \"forbidden\" is not allowed"
    );
    assert!(api.get_opt("bad").await.unwrap().is_none());
    api.create(&PostParams::default(), &lb_service("good", &[]))
        .await
        .unwrap();
    // Status writes are a different resource for the rule ("services/status").
    api.patch_status(
        "good",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {}})),
    )
    .await
    .unwrap();
    srv.admission().unregister("vservice.ferrolb.io");
    api.create(&PostParams::default(), &bad).await.unwrap();
}

#[tokio::test]
async fn write_log_counts_writers() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("web", &[]))
        .await
        .unwrap();
    let writes = Arc::new(srv.store().clone());
    let status_patch =
        Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}));
    api.patch_status("web", &PatchParams::apply("replica-a").force(), &Patch::Apply(json!({
        "apiVersion": "v1", "kind": "Service", "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    })))
    .await
    .unwrap();
    // The same content again from another manager is accepted but changes nothing.
    let pp = PatchParams {
        field_manager: Some("replica-b".into()),
        ..Default::default()
    };
    api.patch_status("web", &pp, &status_patch).await.unwrap();
    let svc = ResourceRef::core("services");
    assert_eq!(writes.count_writes(&svc, "replica-a"), 1);
    assert_eq!(writes.count_writes(&svc, "replica-b"), 0);
    let b_records: Vec<_> = writes
        .writes()
        .into_iter()
        .filter(|w| w.actor() == "replica-b")
        .collect();
    assert_eq!(b_records.len(), 1);
    assert!(!b_records[0].changed);
}

#[tokio::test]
async fn dependents_are_garbage_collected_with_their_owners() {
    let srv = server().await;
    let services: Api<Service> = Api::namespaced(srv.client(), "default");
    let web = services
        .create(&PostParams::default(), &lb_service("web", &[]))
        .await
        .unwrap();
    let other = services
        .create(&PostParams::default(), &lb_service("other", &[]))
        .await
        .unwrap();
    let owner_ref = |s: &Service| json!({"apiVersion": "v1", "kind": "Service", "name": s.metadata.name, "uid": s.metadata.uid, "controller": true});
    let slices: Api<EndpointSlice> = Api::namespaced(srv.client(), "default");
    let slice = |name: &str, owners: Vec<serde_json::Value>| -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": name, "ownerReferences": owners},
            "addressType": "IPv4", "endpoints": []
        }))
        .unwrap()
    };
    slices
        .create(
            &PostParams::default(),
            &slice("only-web", vec![owner_ref(&web)]),
        )
        .await
        .unwrap();
    slices
        .create(
            &PostParams::default(),
            &slice("shared", vec![owner_ref(&web), owner_ref(&other)]),
        )
        .await
        .unwrap();
    slices
        .create(&PostParams::default(), &slice("unowned", vec![]))
        .await
        .unwrap();

    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let left: Vec<String> = slices
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    assert_eq!(
        left,
        ["shared", "unowned"],
        "a dependent goes when its last owner goes"
    );
    services
        .delete("other", &DeleteParams::default())
        .await
        .unwrap();
    assert!(slices.get_opt("shared").await.unwrap().is_none());
}

#[tokio::test]
async fn system_namespaces_cannot_be_deleted() {
    let srv = server().await;
    let namespaces: Api<Namespace> = Api::all(srv.client());
    for ns in ["default", "kube-system", "kube-public"] {
        let err = status(
            namespaces
                .delete(ns, &DeleteParams::default())
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"), "{ns}");
    }
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let before = srv.store().resource_version();
    let out = api
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &lb_service("dry", &[]),
        )
        .await
        .unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert!(api.get_opt("dry").await.unwrap().is_none());
    assert_eq!(srv.store().resource_version(), before);
}
