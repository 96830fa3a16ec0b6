//! Watch streams: newline-delimited JSON `WatchEvent`s over a chunked response,
//! replayed from history and then live, with bookmarks, timeouts and 410 expiry.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::history::{EventType, HistoryEvent};
use crate::object;
use crate::query::Selection;
use crate::registry::ResourceDef;
use crate::representation::{self, Shape};
use crate::status::ApiError;
use crate::store::{Expired, Store};

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Synthetic `ADDED` events for the current state first; with `end_bookmark`
    /// (streaming lists, `sendInitialEvents=true`) a bookmark annotated
    /// `k8s.io/initial-events-end` follows them.
    InitialEvents {
        /// Send the end-of-initial-events bookmark.
        end_bookmark: bool,
    },
    /// Only changes from now on.
    Now,
    /// Changes after this resourceVersion, replayed from history.
    After(u64),
}

/// A fully validated watch request.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The watched resource.
    pub def: Arc<ResourceDef>,
    /// The version the client speaks.
    pub version: String,
    /// Which objects are watched.
    pub selection: Selection,
    /// Where to start.
    pub start: WatchStart,
    /// Whether `BOOKMARK` events were requested.
    pub bookmarks: bool,
    /// `timeoutSeconds`: when the server ends the stream.
    pub timeout: Duration,
    /// Whole objects or metadata only.
    pub shape: Shape,
}

/// Server-wide watch settings.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// How often bookmarks are sent.
    pub bookmark_interval: Duration,
    /// Ends every stream on server shutdown.
    pub shutdown: CancellationToken,
}

/// How a watch sees one change, given its selection: objects entering the selection
/// are `ADDED`, objects leaving it are `DELETED` (with their previous state at the
/// change's resourceVersion), as the real server's watch cache reports them.
pub fn translate(selection: &Selection, ev: &HistoryEvent) -> Option<(EventType, Value)> {
    let now = ev.kind != EventType::Deleted && selection.matches(&ev.object);
    let before = ev.prev.as_ref().is_some_and(|p| selection.matches(p));
    match ev.kind {
        EventType::Added if now => Some((EventType::Added, ev.object.as_ref().clone())),
        EventType::Modified => match (before, now) {
            (true, true) => Some((EventType::Modified, ev.object.as_ref().clone())),
            (false, true) => Some((EventType::Added, ev.object.as_ref().clone())),
            (true, false) => {
                let mut gone = ev
                    .prev
                    .as_ref()
                    .map(|p| p.as_ref().clone())
                    .unwrap_or_default();
                object::set_resource_version(&mut gone, ev.rv);
                Some((EventType::Deleted, gone))
            }
            (false, false) => None,
        },
        EventType::Deleted if selection.matches(&ev.object) => {
            Some((EventType::Deleted, ev.object.as_ref().clone()))
        }
        _ => None,
    }
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

struct Stream {
    tx: mpsc::Sender<Bytes>,
    shutdown: CancellationToken,
}

impl Stream {
    /// Sends one event; `false` when the client is gone or the server is stopping.
    async fn send(&self, bytes: Bytes) -> bool {
        tokio::select! {
            r = self.tx.send(bytes) => r.is_ok(),
            _ = self.shutdown.cancelled() => false,
        }
    }

    async fn expired(&self, Expired(message): Expired) {
        self.send(line("ERROR", ApiError::expired(message).to_status()))
            .await;
    }
}

/// Starts a watch and returns the streaming response.
pub fn serve(store: Store, spec: WatchSpec, settings: WatchSettings) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        tx,
        shutdown: settings.shutdown.clone(),
    };
    tokio::spawn(run(store, spec, settings.bookmark_interval, stream));
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn run(store: Store, spec: WatchSpec, bookmark_interval: Duration, out: Stream) {
    let def = spec.def.clone();
    let gr = def.group_resource();
    let render = |obj: &Value| representation::shaped(&def, &spec.version, obj, spec.shape);
    let bookmark = |rv: u64, annotations: Option<Value>| {
        line(
            "BOOKMARK",
            representation::bookmark(&def, &spec.version, rv, annotations, spec.shape),
        )
    };
    let mut changes = store.subscribe();
    let (mut cursor, epoch) = match spec.start {
        WatchStart::InitialEvents { end_bookmark } => {
            let (objects, rv, epoch) = store.watch_start(&gr, spec.selection.namespace());
            for obj in objects.iter().filter(|o| spec.selection.matches(o)) {
                if !out.send(line("ADDED", render(obj))).await {
                    return;
                }
            }
            if end_bookmark && spec.bookmarks {
                let end = json!({"k8s.io/initial-events-end": "true"});
                if !out.send(bookmark(rv, Some(end))).await {
                    return;
                }
            }
            (rv, epoch)
        }
        WatchStart::Now => {
            let rv = store.resource_version();
            match store.watch_resume(rv) {
                Ok(epoch) => (rv, epoch),
                Err(e) => return out.expired(e).await,
            }
        }
        WatchStart::After(rv) => match store.watch_resume(rv) {
            Ok(epoch) => (rv, epoch),
            Err(e) => return out.expired(e).await,
        },
    };
    let deadline = Instant::now() + spec.timeout;
    let mut ticker =
        tokio::time::interval_at(Instant::now() + bookmark_interval, bookmark_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        match store.watch_since(&gr, cursor, epoch) {
            Ok(batch) => {
                for ev in &batch.events {
                    if let Some((kind, obj)) = translate(&spec.selection, ev) {
                        if !out.send(line(kind.as_str(), render(&obj))).await {
                            return;
                        }
                    }
                }
                if !batch.served {
                    return;
                }
                cursor = batch.reached;
            }
            Err(e) => return out.expired(e).await,
        }
        tokio::select! {
            _ = out.shutdown.cancelled() => return,
            _ = out.tx.closed() => return,
            _ = tokio::time::sleep_until(deadline) => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = ticker.tick(), if spec.bookmarks => {
                if !out.send(bookmark(cursor, None)).await {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::ObjectKey;
    use crate::query::Params;
    use crate::registry::Registry;
    use crate::status::GroupResource;

    fn ev(kind: EventType, prev: Option<Value>, object: Value) -> HistoryEvent {
        HistoryEvent {
            rv: 42,
            key: ObjectKey {
                resource: GroupResource::new("", "services"),
                namespace: "ns".into(),
                name: "web".into(),
            },
            kind,
            object: Arc::new(object),
            prev: prev.map(Arc::new),
        }
    }

    fn svc(app: &str) -> Value {
        json!({"metadata": {"name": "web", "namespace": "ns", "resourceVersion": "41", "labels": {"app": app}}})
    }

    #[test]
    fn selection_transitions() {
        let reg = Registry::with_builtins();
        let def = reg.lookup("", "v1", "services").unwrap();
        let sel = Selection::new(
            &def,
            None,
            &Params::parse(Some("labelSelector=app%3Dweb")),
            None,
        )
        .unwrap();
        let cases = [
            (
                ev(EventType::Added, None, svc("web")),
                Some(EventType::Added),
            ),
            (ev(EventType::Added, None, svc("db")), None),
            (
                ev(EventType::Modified, Some(svc("web")), svc("web")),
                Some(EventType::Modified),
            ),
            (
                ev(EventType::Modified, Some(svc("db")), svc("web")),
                Some(EventType::Added),
            ),
            (
                ev(EventType::Modified, Some(svc("web")), svc("db")),
                Some(EventType::Deleted),
            ),
            (ev(EventType::Modified, Some(svc("db")), svc("db")), None),
            (
                ev(EventType::Deleted, Some(svc("web")), svc("web")),
                Some(EventType::Deleted),
            ),
            (ev(EventType::Deleted, Some(svc("db")), svc("db")), None),
        ];
        for (e, want) in cases {
            let got = translate(&sel, &e);
            assert_eq!(
                got.as_ref().map(|(k, _)| *k),
                want,
                "{:?} {:?}",
                e.kind,
                e.object
            );
            if want == Some(EventType::Deleted) && e.kind == EventType::Modified {
                let (_, obj) = got.unwrap();
                assert_eq!(obj["metadata"]["labels"]["app"], "web", "previous state");
                assert_eq!(
                    obj["metadata"]["resourceVersion"], "42",
                    "at the change's rv"
                );
            }
        }
    }
}
