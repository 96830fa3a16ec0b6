//! Object storage: every object as JSON under one global, monotonically
//! increasing resourceVersion, with the change history watches are served from.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::cascade::Pending;
use crate::defaults::{self, Allocations, Special};
use crate::history::{EventType, History, HistoryEvent, ObjectKey, TooOld};
use crate::object;
use crate::registry::{Origin, Registry, ResourceDef};
use crate::resource_ref::ResourceRef;
use crate::status::{ApiError, GroupResource};
use crate::writes::{Verb, WriteLog, WriteRecord};

/// Objects with their keys, in key order.
pub(crate) type Listing = Vec<(ObjectKey, Arc<Value>)>;

/// A stored object and its resourceVersion.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub value: Arc<Value>,
    pub rv: u64,
}

/// What a write does to its object.
#[derive(Debug)]
pub(crate) enum Action {
    /// Store this state (create or replace).
    Put(Value),
    /// Remove the object.
    Remove,
}

/// Who made a write, for the write log.
#[derive(Debug, Clone)]
pub(crate) struct Requester {
    pub verb: Verb,
    pub resource: ResourceRef,
    pub subresource: Option<String>,
    pub field_manager: Option<String>,
    pub user_agent: Option<String>,
}

/// A write, conditional on the object's current state.
#[derive(Debug)]
pub(crate) struct Intent {
    pub key: ObjectKey,
    /// `None`: the object must not exist; `Some(rv)`: it must be at `rv`.
    pub expect: Option<u64>,
    pub action: Action,
    pub requester: Option<Requester>,
}

/// The result of a committed write.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The object is stored in this state.
    Stored(Arc<Value>),
    /// The object is gone; this was its last state.
    Removed(Arc<Value>),
}

/// Why a commit did not happen.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// The object changed since the write was prepared; prepare again.
    Changed,
    /// The write is refused.
    Api(ApiError),
}

impl From<ApiError> for CommitError {
    fn from(e: ApiError) -> Self {
        CommitError::Api(e)
    }
}

/// A watch can no longer be served from history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired(pub String);

pub(crate) struct State {
    pub(crate) rv: u64,
    pub(crate) objects: BTreeMap<ObjectKey, Stored>,
    pub(crate) registry: Registry,
    pub(crate) history: History,
    pub(crate) writes: WriteLog,
    /// Bumped by compaction; watches opened in an older epoch are expired.
    pub(crate) epoch: u64,
    require_namespaces: bool,
}

/// Storage settings.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    pub history_capacity: usize,
    pub write_log_capacity: usize,
    pub require_namespaces: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

/// Handle to the server's object store. Cheap to clone; tests use it to seed and
/// inspect objects, force history compaction and read the write log.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource_version", &self.resource_version())
            .finish()
    }
}

pub(crate) fn resource_range<'a>(
    objects: &'a BTreeMap<ObjectKey, Stored>,
    gr: &'a GroupResource,
) -> impl Iterator<Item = (&'a ObjectKey, &'a Stored)> + 'a {
    let start = ObjectKey {
        resource: gr.clone(),
        namespace: String::new(),
        name: String::new(),
    };
    objects
        .range(start..)
        .take_while(move |(k, _)| &k.resource == gr)
}

impl State {
    fn def(&self, gr: &GroupResource) -> Result<Arc<ResourceDef>, ApiError> {
        self.registry
            .get(gr)
            .ok_or_else(|| ApiError::not_found(gr, ""))
    }

    fn record(&mut self, requester: Option<Requester>, key: &ObjectKey, changed: bool) {
        if let Some(r) = requester {
            self.writes.push(WriteRecord {
                verb: r.verb,
                resource: r.resource,
                subresource: r.subresource,
                namespace: (!key.namespace.is_empty()).then(|| key.namespace.clone()),
                name: key.name.clone(),
                field_manager: r.field_manager,
                user_agent: r.user_agent,
                changed,
                resource_version: self.rv,
            });
        }
    }

    pub(crate) fn namespace_key(ns: &str) -> ObjectKey {
        ObjectKey {
            resource: GroupResource::new("", "namespaces"),
            namespace: String::new(),
            name: ns.to_string(),
        }
    }

    /// Refuses creates in missing or terminating namespaces, and custom resources
    /// of a terminating CRD.
    fn check_create_scope(&self, def: &ResourceDef, key: &ObjectKey) -> Result<(), ApiError> {
        if def.namespaced && self.require_namespaces {
            match self.objects.get(&Self::namespace_key(&key.namespace)) {
                None => {
                    return Err(ApiError::not_found(
                        &GroupResource::new("", "namespaces"),
                        &key.namespace,
                    ))
                }
                Some(ns) if object::is_terminating(&ns.value) => {
                    return Err(ApiError::forbidden(
                        &key.resource,
                        &key.name,
                        &format!(
                            "unable to create new content in namespace {} because it is being terminated",
                            key.namespace
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Origin::CustomResource { crd } = &def.origin {
            let crd_key = ObjectKey {
                resource: GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
                namespace: String::new(),
                name: crd.clone(),
            };
            if self
                .objects
                .get(&crd_key)
                .is_some_and(|c| object::is_terminating(&c.value))
            {
                return Err(ApiError::method_not_supported(
                    &key.resource,
                    "create not allowed while custom resource definition is terminating; create",
                ));
            }
        }
        Ok(())
    }

    fn push_event(
        &mut self,
        key: &ObjectKey,
        kind: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        self.history.push(HistoryEvent {
            rv: self.rv,
            key: key.clone(),
            kind,
            object,
            prev,
        });
    }

    /// Stores a state, or removes the object if it is terminating with nothing left to
    /// wait for. Returns the outcome and the containers to re-examine.
    pub(crate) fn put(
        &mut self,
        key: &ObjectKey,
        mut value: Value,
        pending: &mut Pending,
    ) -> Result<Outcome, ApiError> {
        let def = self.def(&key.resource)?;
        let special = Special::of(&def);
        let prev = self.objects.get(key).map(|s| s.value.clone());
        if defaults::needs_allocation(special, &value) {
            let mut taken = Allocations::of(
                resource_range(&self.objects, &key.resource)
                    .filter(|(k, _)| *k != key)
                    .map(|(_, s)| s.value.as_ref()),
            );
            defaults::allocate(special, &mut value, &mut taken)
                .map_err(|e| ApiError::internal(&e))?;
        }
        let terminating = object::is_terminating(&value);
        if terminating && object::finalizers(&value).is_empty() && self.contents(key).is_empty() {
            return self.remove(key, Some(value), pending);
        }
        self.rv += 1;
        object::set_resource_version(&mut value, self.rv);
        let value = Arc::new(value);
        self.objects.insert(
            key.clone(),
            Stored {
                value: value.clone(),
                rv: self.rv,
            },
        );
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.push_event(key, kind, value.clone(), prev);
        if special == Special::Crd {
            if let Err(e) = self.registry.register_crd(&value) {
                tracing::warn!(crd = %key.name, error = %e, "stored CRD not served");
            }
        }
        if terminating && matches!(special, Special::Namespace | Special::Crd) {
            pending.container(key.clone());
        }
        Ok(Outcome::Stored(value))
    }

    /// Removes an object (its last state is `last`, or the stored state).
    pub(crate) fn remove(
        &mut self,
        key: &ObjectKey,
        last: Option<Value>,
        pending: &mut Pending,
    ) -> Result<Outcome, ApiError> {
        let Some(stored) = self.objects.remove(key) else {
            return Err(ApiError::not_found(&key.resource, &key.name));
        };
        self.rv += 1;
        let mut last = last.unwrap_or_else(|| stored.value.as_ref().clone());
        object::set_resource_version(&mut last, self.rv);
        let last = Arc::new(last);
        self.push_event(key, EventType::Deleted, last.clone(), Some(stored.value));
        if self
            .registry
            .get(&key.resource)
            .is_some_and(|d| Special::of(&d) == Special::Crd)
        {
            let gone = self.registry.get_crd_resource(&key.name);
            if let Some(gr) = gone {
                // Anything left behind (only possible via the test API) goes with it.
                let orphans: Vec<ObjectKey> = resource_range(&self.objects, &gr)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in orphans {
                    self.remove(&k, None, pending)?;
                }
            }
            self.registry.unregister_crd(&key.name);
        }
        for c in self.container_of(key) {
            pending.container(c);
        }
        let uid = object::meta_str(&last, "uid");
        if !uid.is_empty() {
            pending.owner(uid.to_string());
        }
        Ok(Outcome::Removed(last))
    }

    fn commit(&mut self, intent: Intent) -> Result<Outcome, CommitError> {
        let def = self.def(&intent.key.resource)?;
        let current = self.objects.get(&intent.key).map(|s| s.rv);
        if current != intent.expect {
            return Err(CommitError::Changed);
        }
        let mut pending = Pending::default();
        let outcome = match intent.action {
            Action::Put(value) => {
                if current.is_none() {
                    self.check_create_scope(&def, &intent.key)?;
                }
                self.put(&intent.key, value, &mut pending)?
            }
            Action::Remove => self.remove(&intent.key, None, &mut pending)?,
        };
        self.record(intent.requester, &intent.key, true);
        self.settle(pending);
        Ok(outcome)
    }
}

impl Store {
    pub(crate) fn new(cfg: &StoreConfig) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    rv: 0,
                    objects: BTreeMap::new(),
                    registry: Registry::with_builtins(),
                    history: History::new(cfg.history_capacity),
                    writes: WriteLog::new(cfg.write_log_capacity),
                    epoch: 0,
                    require_namespaces: cfg.require_namespaces,
                }),
                changed,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn notify(&self) {
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver woken on every change (and compaction).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// The resource served at group/version/plural.
    pub(crate) fn lookup(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceDef>> {
        self.lock().registry.lookup(group, version, plural)
    }

    /// A copy of the current resource table (for discovery).
    pub(crate) fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }

    pub(crate) fn get_stored(&self, key: &ObjectKey) -> Option<Stored> {
        self.lock().objects.get(key).cloned()
    }

    /// Commits a write and wakes watchers.
    pub(crate) fn commit(&self, intent: Intent) -> Result<Outcome, CommitError> {
        let result = self.lock().commit(intent);
        if result.is_ok() {
            self.notify();
        }
        result
    }

    /// Records a write request that changed nothing.
    pub(crate) fn record_unchanged(&self, requester: Requester, key: &ObjectKey) {
        self.lock().record(Some(requester), key, false);
    }

    /// Waits until the store has reached `rv`; `Err(current)` after `timeout`.
    pub(crate) async fn wait_for(&self, rv: u64, timeout: Duration) -> Result<(), u64> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = self.resource_version();
            if current >= rv {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(self.resource_version()),
            }
        }
    }

    /// The objects of one resource (optionally one namespace) as of `at`
    /// (`None`: now), with the resourceVersion they are consistent at.
    pub(crate) fn list_at(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        at: Option<u64>,
    ) -> Result<(Listing, u64), TooOld> {
        let st = self.lock();
        let in_ns = |k: &ObjectKey| namespace.is_none_or(|ns| k.namespace == ns);
        let mut objects: BTreeMap<ObjectKey, Arc<Value>> = resource_range(&st.objects, gr)
            .filter(|(k, _)| in_ns(k))
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        let at = match at {
            Some(at) if at < st.rv => at,
            _ => return Ok((objects.into_iter().collect(), st.rv)),
        };
        let undo: Vec<&HistoryEvent> = st
            .history
            .since(at)?
            .filter(|e| &e.key.resource == gr && in_ns(&e.key))
            .collect();
        for e in undo.into_iter().rev() {
            match (e.kind, &e.prev) {
                (EventType::Added, _) | (_, None) => {
                    objects.remove(&e.key);
                }
                (_, Some(prev)) => {
                    objects.insert(e.key.clone(), prev.clone());
                }
            }
        }
        Ok((objects.into_iter().collect(), at))
    }

    /// Current objects of a resource for a new watch, with the resourceVersion and
    /// compaction epoch the watch starts at.
    pub(crate) fn watch_start(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
    ) -> (Vec<Arc<Value>>, u64, u64) {
        let st = self.lock();
        let objects = resource_range(&st.objects, gr)
            .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, s)| s.value.clone())
            .collect();
        (objects, st.rv, st.epoch)
    }

    /// The epoch a watch resuming from `rv` runs in, or why it cannot.
    pub(crate) fn watch_resume(&self, rv: u64) -> Result<u64, Expired> {
        let st = self.lock();
        st.history.covers(rv).map_err(too_old)?;
        Ok(st.epoch)
    }

    /// Changes to a resource after `cursor`, oldest first; `Expired` if history no
    /// longer covers `cursor` or was compacted since the watch began.
    pub(crate) fn watch_since(
        &self,
        gr: &GroupResource,
        cursor: u64,
        epoch: u64,
    ) -> Result<WatchBatch, Expired> {
        let st = self.lock();
        if epoch != st.epoch {
            return Err(Expired(format!(
                "too old resource version: {cursor} ({})",
                st.rv
            )));
        }
        let events = st
            .history
            .since(cursor)
            .map_err(too_old)?
            .filter(|e| &e.key.resource == gr)
            .cloned()
            .collect();
        Ok(WatchBatch {
            events,
            reached: st.rv,
            served: st.registry.get(gr).is_some(),
        })
    }
}

/// What a watch has to send next.
#[derive(Debug)]
pub(crate) struct WatchBatch {
    /// Changes to the watched resource, oldest first.
    pub events: Vec<HistoryEvent>,
    /// The resourceVersion the watch is now up to date with.
    pub reached: u64,
    /// Whether the resource is still served (a deleted CRD ends its watches).
    pub served: bool,
}

fn too_old(t: TooOld) -> Expired {
    Expired(format!(
        "too old resource version: {} ({})",
        t.requested, t.oldest
    ))
}
