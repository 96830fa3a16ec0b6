//! Label and field selectors, pagination and resourceVersion semantics of lists.

mod common;

use common::{lb_service, server, status};
use ferrolb_fake_apiserver::ResourceRef;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, ListParams, PostParams, VersionMatch};
use serde_json::json;

async fn names(api: &Api<Service>, lp: &ListParams) -> Vec<String> {
    api.list(lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect()
}

#[tokio::test]
async fn label_and_field_selectors() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    for (name, labels) in [
        ("a", vec![("app", "web"), ("tier", "front")]),
        ("b", vec![("app", "db")]),
        ("c", vec![("app", "web"), ("tier", "back")]),
        ("d", vec![]),
    ] {
        api.create(&PostParams::default(), &lb_service(name, &labels))
            .await
            .unwrap();
    }
    let cases = [
        ("app=web", vec!["a", "c"]),
        ("app==web", vec!["a", "c"]),
        ("app!=web", vec!["b", "d"]),
        ("app in (web, db)", vec!["a", "b", "c"]),
        ("app notin (web)", vec!["b", "d"]),
        ("tier", vec!["a", "c"]),
        ("!tier", vec!["b", "d"]),
        ("app=web,tier=back", vec!["c"]),
    ];
    for (sel, want) in cases {
        assert_eq!(
            names(&api, &ListParams::default().labels(sel)).await,
            want,
            "{sel}"
        );
    }
    let fields = [
        ("metadata.name=b", vec!["b"]),
        ("metadata.name!=b", vec!["a", "c", "d"]),
        (
            "metadata.namespace=default,metadata.name!=a",
            vec!["b", "c", "d"],
        ),
        ("spec.type=LoadBalancer", vec!["a", "b", "c", "d"]),
    ];
    for (sel, want) in fields {
        assert_eq!(
            names(&api, &ListParams::default().fields(sel)).await,
            want,
            "{sel}"
        );
    }
    let err = status(
        api.list(&ListParams::default().fields("spec.bogus=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "field label not supported: spec.bogus")
    );
    let err = status(
        api.list(&ListParams::default().labels("app in web"))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 400);
}

async fn seed_configmaps(srv: &ferrolb_fake_apiserver::FakeApiServer, n: usize) {
    for i in 0..n {
        srv.store()
            .seed(
                &ResourceRef::core("configmaps"),
                json!({"metadata": {"name": format!("cm-{i:02}"), "namespace": "default"}, "data": {"i": i.to_string()}}),
            )
            .unwrap();
    }
}

#[tokio::test]
async fn pagination_is_consistent() {
    let srv = server().await;
    seed_configmaps(&srv, 7).await;
    let api: Api<ConfigMap> = Api::namespaced(srv.client(), "default");
    let first = api.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.metadata.remaining_item_count, Some(4));
    let list_rv = first.metadata.resource_version.clone().unwrap();
    let token = first.metadata.continue_.clone().unwrap();

    // Changes after the first page do not leak into later pages.
    api.delete("cm-05", &Default::default()).await.unwrap();
    let extra: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "cm-99"}})).unwrap();
    api.create(&PostParams::default(), &extra).await.unwrap();

    let mut seen: Vec<String> = first
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = api
            .list(&ListParams::default().limit(3).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version.as_deref(),
            Some(list_rv.as_str())
        );
        seen.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    let want: Vec<String> = (0..7).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(seen, want);

    // kube's own paging helper sees the current state.
    let now: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(now.contains(&"cm-99".to_string()) && !now.contains(&"cm-05".to_string()));
}

#[tokio::test]
async fn continue_token_expires_after_compaction() {
    let srv = server().await;
    seed_configmaps(&srv, 4).await;
    let api: Api<ConfigMap> = Api::namespaced(srv.client(), "default");
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    let extra: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "later"}})).unwrap();
    api.create(&PostParams::default(), &extra).await.unwrap();
    srv.store().compact();
    let err = status(
        api.list(
            &ListParams::default()
                .limit(2)
                .continue_token(first.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
    let err = status(
        api.list(&ListParams::default().continue_token("garbage!"))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 400);
}

#[tokio::test]
async fn exact_resource_version_lists_history() {
    let srv = server().await;
    let api: Api<ConfigMap> = Api::namespaced(srv.client(), "default");
    let one: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "one"}, "data": {"v": "1"}})).unwrap();
    let created = api.create(&PostParams::default(), &one).await.unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    let mut changed = created.clone();
    changed.data = Some([("v".to_string(), "2".to_string())].into());
    api.replace("one", &PostParams::default(), &changed)
        .await
        .unwrap();
    let two: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "two"}})).unwrap();
    api.create(&PostParams::default(), &two).await.unwrap();

    let lp = ListParams::default().at(&rv).matching(VersionMatch::Exact);
    let then = api.list(&lp).await.unwrap();
    assert_eq!(then.metadata.resource_version.as_deref(), Some(rv.as_str()));
    assert_eq!(then.items.len(), 1);
    assert_eq!(then.items[0].data.as_ref().unwrap()["v"], "1");

    let not_older = api
        .list(
            &ListParams::default()
                .at(&rv)
                .matching(VersionMatch::NotOlderThan),
        )
        .await
        .unwrap();
    assert_eq!(not_older.items.len(), 2);

    srv.store().compact();
    let err = status(api.list(&lp).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));

    // A resourceVersion from the future times out (kube would retry; this client does not).
    let mut cfg = srv.config();
    cfg.default_retry = false;
    let no_retry: Api<ConfigMap> = Api::namespaced(kube::Client::try_from(cfg).unwrap(), "default");
    let future = (srv.store().resource_version() + 100).to_string();
    let err = status(
        no_retry
            .list(&ListParams::default().at(&future))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (504, "Timeout"));
}

#[tokio::test]
async fn metadata_only_lists() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("m", &[("k", "v")]))
        .await
        .unwrap();
    let list = api
        .list_metadata(&ListParams::default().labels("k=v"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].metadata.name.as_deref(), Some("m"));
    let one = api.get_metadata("m").await.unwrap();
    assert_eq!(one.metadata.labels.unwrap()["k"], "v");
}
