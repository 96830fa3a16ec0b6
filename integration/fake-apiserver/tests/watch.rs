//! Watches through kube's raw watch API, kube-runtime's watcher and a reflector.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, lb_service, server};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{reflector, watcher, WatchStreamExt};

type Events = futures::stream::BoxStream<'static, kube::Result<WatchEvent<Service>>>;

async fn next_event(stream: &mut Events) -> WatchEvent<Service> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a watch event within 5 s")
        .expect("the stream is open")
        .expect("a decodable event")
}

/// The next non-bookmark event.
async fn next_change(stream: &mut Events) -> WatchEvent<Service> {
    loop {
        match next_event(stream).await {
            WatchEvent::Bookmark(_) => continue,
            other => return other,
        }
    }
}

fn describe(ev: &WatchEvent<Service>) -> (String, String) {
    let (kind, name) = match ev {
        WatchEvent::Added(s) => ("ADDED", s.metadata.name.clone()),
        WatchEvent::Modified(s) => ("MODIFIED", s.metadata.name.clone()),
        WatchEvent::Deleted(s) => ("DELETED", s.metadata.name.clone()),
        WatchEvent::Bookmark(_) => ("BOOKMARK", None),
        WatchEvent::Error(e) => ("ERROR", Some(e.message.clone())),
    };
    (kind.to_string(), name.unwrap_or_default())
}

#[tokio::test]
async fn raw_watch_replays_and_streams() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let a = api
        .create(&PostParams::default(), &lb_service("a", &[]))
        .await
        .unwrap();
    let rv_after_a = a.metadata.resource_version.clone().unwrap();
    api.create(&PostParams::default(), &lb_service("b", &[]))
        .await
        .unwrap();

    // From "0": synthetic ADDED for the current state, then live changes.
    let mut from_zero: Events = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let mut initial = vec![
        describe(&next_change(&mut from_zero).await),
        describe(&next_change(&mut from_zero).await),
    ];
    initial.sort();
    assert_eq!(
        initial,
        [("ADDED".into(), "a".into()), ("ADDED".into(), "b".into())]
    );

    // From a resourceVersion: the history after it is replayed.
    let mut replay: Events = api
        .watch(&WatchParams::default(), &rv_after_a)
        .await
        .unwrap()
        .boxed();
    assert_eq!(
        describe(&next_change(&mut replay).await),
        ("ADDED".into(), "b".into())
    );

    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    for stream in [&mut from_zero, &mut replay] {
        assert_eq!(
            describe(&next_change(stream).await),
            ("MODIFIED".into(), "a".into())
        );
        let deleted = next_change(stream).await;
        assert_eq!(describe(&deleted), ("DELETED".into(), "b".into()));
        if let WatchEvent::Deleted(s) = deleted {
            let rv: u64 = s.metadata.resource_version.unwrap().parse().unwrap();
            assert_eq!(
                rv,
                srv.store().resource_version(),
                "DELETED carries the deletion's resourceVersion"
            );
        }
    }
}

#[tokio::test]
async fn bookmarks_only_when_requested() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("a", &[]))
        .await
        .unwrap();
    let current = srv.store().resource_version();

    let mut with: Events = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    assert!(matches!(next_event(&mut with).await, WatchEvent::Added(_)));
    match next_event(&mut with).await {
        WatchEvent::Bookmark(b) => {
            let rv: u64 = b.metadata.resource_version.parse().unwrap();
            assert!(rv >= current);
            assert_eq!(b.types.kind, "Service");
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }

    let mut without: Events = api
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .unwrap()
        .boxed();
    assert!(matches!(
        next_event(&mut without).await,
        WatchEvent::Added(_)
    ));
    let quiet = tokio::time::timeout(Duration::from_millis(800), without.next()).await;
    assert!(
        quiet.is_err(),
        "no events without allowWatchBookmarks: {quiet:?}"
    );
}

#[tokio::test]
async fn watch_timeout_is_honoured() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let start = tokio::time::Instant::now();
    let mut stream: Events = api
        .watch(&WatchParams::default().disable_bookmarks().timeout(1), "0")
        .await
        .unwrap()
        .boxed();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(end.is_none(), "the stream ends after timeoutSeconds");
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn watch_from_compacted_version_gets_410() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    let a = api
        .create(&PostParams::default(), &lb_service("a", &[]))
        .await
        .unwrap();
    api.create(&PostParams::default(), &lb_service("b", &[]))
        .await
        .unwrap();
    srv.store().compact();
    let mut stream: Events = api
        .watch(
            &WatchParams::default(),
            a.metadata.resource_version.as_deref().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(e) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
            assert!(
                e.message.starts_with("too old resource version"),
                "{}",
                e.message
            );
        }
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test]
async fn selector_watch_sees_objects_enter_and_leave() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("s", &[("app", "web")]))
        .await
        .unwrap();
    let rv = srv.store().resource_version().to_string();
    let mut stream: Events = api
        .watch(&WatchParams::default().labels("app=web"), &rv)
        .await
        .unwrap()
        .boxed();
    let relabel =
        |app: &str| Patch::Merge(serde_json::json!({"metadata": {"labels": {"app": app}}}));
    api.patch("s", &PatchParams::default(), &relabel("db"))
        .await
        .unwrap();
    api.patch("s", &PatchParams::default(), &relabel("db2"))
        .await
        .unwrap();
    api.patch("s", &PatchParams::default(), &relabel("web"))
        .await
        .unwrap();
    match next_change(&mut stream).await {
        WatchEvent::Deleted(s) => assert_eq!(
            s.metadata.labels.unwrap()["app"],
            "web",
            "last state that matched"
        ),
        other => panic!("expected DELETED, got {other:?}"),
    }
    assert_eq!(
        describe(&next_change(&mut stream).await),
        ("ADDED".into(), "s".into())
    );
}

#[tokio::test]
async fn runtime_watcher_sees_every_change() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("pre", &[]))
        .await
        .unwrap();
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let mut seen = Vec::new();
    let mut step = async || {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match ev {
            watcher::Event::Init => "init".to_string(),
            watcher::Event::InitApply(s) => format!("init-apply {}", s.metadata.name.unwrap()),
            watcher::Event::InitDone => "init-done".to_string(),
            watcher::Event::Apply(s) => format!("apply {}", s.metadata.name.unwrap()),
            watcher::Event::Delete(s) => format!("delete {}", s.metadata.name.unwrap()),
        }
    };
    for _ in 0..3 {
        seen.push(step().await);
    }
    api.create(&PostParams::default(), &lb_service("live", &[]))
        .await
        .unwrap();
    api.patch(
        "live",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}})),
    )
    .await
    .unwrap();
    api.delete("pre", &DeleteParams::default()).await.unwrap();
    for _ in 0..3 {
        seen.push(step().await);
    }
    assert_eq!(
        seen,
        [
            "init",
            "init-apply pre",
            "init-done",
            "apply live",
            "apply live",
            "delete pre"
        ]
    );
}

#[tokio::test]
async fn streaming_list_watcher() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("one", &[]))
        .await
        .unwrap();
    let cfg = watcher::Config::default().streaming_lists();
    let mut events = watcher(api.clone(), cfg).boxed();
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        kinds.push(match ev {
            watcher::Event::Init => "init",
            watcher::Event::InitApply(_) => "init-apply",
            watcher::Event::InitDone => "init-done",
            _ => "other",
        });
    }
    assert_eq!(kinds, ["init", "init-apply", "init-done"]);
}

#[tokio::test]
async fn reflector_recovers_from_compaction_by_relisting() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &lb_service(name, &[]))
            .await
            .unwrap();
    }
    let (reader, writer) = reflector::store::<Service>();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let log_w = log.clone();
    let stream =
        reflector(writer, watcher(api.clone(), watcher::Config::default())).default_backoff();
    let task = tokio::spawn(stream.for_each(move |ev| {
        let entry = match ev {
            Ok(watcher::Event::Init) => "init".to_string(),
            Ok(_) => "event".to_string(),
            Err(watcher::Error::WatchError(s)) => format!("error {}", s.code),
            Err(e) => format!("other error {e}"),
        };
        log_w.lock().unwrap().push(entry);
        futures::future::ready(())
    }));
    reader.wait_until_ready().await.unwrap();
    let names = |r: &reflector::Store<Service>| {
        let mut n: Vec<String> = r
            .state()
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&reader), ["a", "b"]);

    // Make sure the watch (not just the initial list) is running before compacting.
    let mark = Patch::Merge(serde_json::json!({"metadata": {"labels": {"seen": "yes"}}}));
    api.patch("a", &PatchParams::default(), &mark)
        .await
        .unwrap();
    eventually("the watch to deliver a change", || {
        let seen = reader.state().iter().any(|s| {
            s.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key("seen"))
        });
        async move { seen }
    })
    .await;

    srv.store().compact();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    api.create(&PostParams::default(), &lb_service("c", &[]))
        .await
        .unwrap();

    eventually("the reflector to converge", || {
        let n = names(&reader);
        async move { n == ["a", "c"] }
    })
    .await;
    eventually("the 410 and the re-list", || {
        let log = log.lock().unwrap().clone();
        async move {
            let err = log.iter().position(|e| e == "error 410");
            err.is_some_and(|i| log.iter().skip(i).any(|e| e == "init"))
        }
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn metadata_watcher() {
    let srv = server().await;
    let api: Api<Service> = Api::namespaced(srv.client(), "default");
    api.create(&PostParams::default(), &lb_service("m", &[("k", "v")]))
        .await
        .unwrap();
    let meta: Api<kube::core::PartialObjectMeta<Service>> =
        Api::namespaced(srv.client(), "default");
    let mut events = watcher(meta, watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("m"));
    assert_eq!(first.metadata.labels.unwrap()["k"], "v");
}
