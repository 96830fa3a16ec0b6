//! The test-facing side of the [`Store`]: seeding and inspecting objects,
//! forcing compaction, and reading the write log.

use std::sync::Arc;

use serde_json::Value;

use crate::cascade::Pending;
use crate::defaults::{self, Special};
use crate::history::ObjectKey;
use crate::object;
use crate::registry::ResourceDef;
use crate::resource_ref::ResourceRef;
use crate::status::{ApiError, GroupResource};
use crate::store::{Action, CommitError, Intent, Outcome, Store};
use crate::writes::WriteRecord;

/// The test-facing API.
impl Store {
    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    fn key_for(
        &self,
        r: &ResourceRef,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<(Arc<ResourceDef>, ObjectKey)> {
        let def = self.lookup(&r.group, &r.version, &r.plural)?;
        let namespace = if def.namespaced {
            namespace.unwrap_or_default()
        } else {
            ""
        };
        let key = ObjectKey {
            resource: def.group_resource(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        Some((def, key))
    }

    /// One object as stored (`apiVersion` as of the requested version), if present.
    pub fn get(&self, r: &ResourceRef, namespace: Option<&str>, name: &str) -> Option<Value> {
        let (def, key) = self.key_for(r, namespace, name)?;
        let stored = self.get_stored(&key)?;
        Some(crate::representation::object(
            &def,
            &r.version,
            &stored.value,
        ))
    }

    /// All objects of a resource (one namespace, or all when `None`), ordered by
    /// namespace and name.
    pub fn list(&self, r: &ResourceRef, namespace: Option<&str>) -> Vec<Value> {
        let Some(def) = self.lookup(&r.group, &r.version, &r.plural) else {
            return Vec::new();
        };
        match self.list_at(&def.group_resource(), namespace, None) {
            Ok((items, _)) => items
                .iter()
                .map(|(_, v)| crate::representation::object(&def, &r.version, v))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Creates or replaces an object directly, bypassing admission. Server-owned metadata
    /// is filled in as for API writes, but `.status` is taken from `obj` (so tests can
    /// seed status). The object's namespace is taken from `metadata.namespace`.
    pub fn seed(&self, r: &ResourceRef, obj: Value) -> Result<Value, ApiError> {
        let def = self
            .lookup(&r.group, &r.version, &r.plural)
            .ok_or_else(|| {
                ApiError::not_found(&GroupResource::new(r.group.clone(), r.plural.clone()), "")
            })?;
        let special = Special::of(&def);
        let ns = object::namespace(&obj).to_string();
        let name = object::name(&obj).to_string();
        let key = ObjectKey {
            resource: def.group_resource(),
            namespace: if def.namespaced {
                ns.clone()
            } else {
                String::new()
            },
            name: name.clone(),
        };
        let status = obj.get("status").cloned();
        for _ in 0..16 {
            let current = self.get_stored(&key);
            let mut input = obj.clone();
            if let Some(m) = object::meta_mut(&mut input) {
                m.remove("resourceVersion");
            }
            let mut value = match &current {
                Some(cur) => {
                    defaults::carry_allocations(special, &cur.value, &mut input);
                    object::prepare_update(&def, &r.version, &cur.value, input, object::Part::Main)?
                }
                None => {
                    let stamp = object::Stamp {
                        now: &crate::ids::now(),
                        uid: crate::ids::uid(),
                        name_suffix: crate::ids::name_suffix(),
                    };
                    let mut v = object::prepare_create(
                        &def,
                        &r.version,
                        def.namespaced.then_some(ns.as_str()),
                        input,
                        stamp,
                    )?;
                    if let Some(st) = defaults::initial_status(special, &v, &crate::ids::now()) {
                        if let Some(m) = v.as_object_mut() {
                            m.insert("status".into(), st);
                        }
                    }
                    v
                }
            };
            defaults::apply_defaults(special, &mut value);
            if let (Some(st), Some(m)) = (&status, value.as_object_mut()) {
                m.insert("status".into(), st.clone());
            }
            let intent = Intent {
                key: key.clone(),
                expect: current.map(|c| c.rv),
                action: Action::Put(value),
                requester: None,
            };
            match self.commit(intent) {
                Ok(Outcome::Stored(v) | Outcome::Removed(v)) => {
                    return Ok(crate::representation::object(&def, &r.version, &v))
                }
                Err(CommitError::Changed) => continue,
                Err(CommitError::Api(e)) => return Err(e),
            }
        }
        Err(ApiError::stale(&def.group_resource(), &name))
    }

    /// Removes an object immediately, ignoring finalizers. Returns its last state.
    pub fn remove(&self, r: &ResourceRef, namespace: Option<&str>, name: &str) -> Option<Value> {
        let (def, key) = self.key_for(r, namespace, name)?;
        let result = {
            let mut st = self.lock();
            let mut pending = Pending::default();
            let out = st.remove(&key, None, &mut pending);
            st.settle(pending);
            out
        };
        self.notify();
        match result {
            Ok(Outcome::Removed(v) | Outcome::Stored(v)) => {
                Some(crate::representation::object(&def, &r.version, &v))
            }
            Err(_) => None,
        }
    }

    /// Forces compaction: forgets all history up to now and expires every open watch
    /// (each receives an `ERROR` event with a 410 `Expired` Status, so clients such as
    /// kube-runtime's watcher re-list). Lists and watches from older resourceVersions
    /// then fail with 410 as well.
    pub fn compact(&self) {
        {
            let mut st = self.lock();
            let rv = st.rv;
            st.history.compact(rv);
            st.epoch += 1;
        }
        self.notify();
    }

    /// Every retained write record, oldest first.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.lock().writes.records()
    }

    /// How many writes that changed something were made to a resource by an actor
    /// (field manager, else User-Agent prefix; see [`WriteRecord::actor`]).
    pub fn count_writes(&self, r: &ResourceRef, actor: &str) -> usize {
        self.lock()
            .writes
            .records()
            .iter()
            .filter(|w| {
                w.changed
                    && w.resource.group == r.group
                    && w.resource.plural == r.plural
                    && w.actor() == actor
            })
            .count()
    }

    /// Forgets the write log.
    pub fn clear_writes(&self) {
        self.lock().writes.clear();
    }
}
