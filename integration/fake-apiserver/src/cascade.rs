//! Deletions that follow from other deletions, done synchronously where the real
//! cluster has controllers do them: emptying terminating namespaces and CRDs,
//! and garbage-collecting objects whose owners (`metadata.ownerReferences`) are gone.

use std::collections::HashSet;

use serde_json::Value;

use crate::defaults::{self, Special};
use crate::history::ObjectKey;
use crate::object;
use crate::registry::Origin;
use crate::status::GroupResource;
use crate::store::{resource_range, State};

/// Upper bound on follow-up deletions handled for one write.
const MAX_FOLLOW_UPS: usize = 100_000;

/// Follow-up work collected while writing.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Namespaces/CRDs to re-examine.
    containers: Vec<ObjectKey>,
    /// UIDs of removed objects whose dependents may now be orphaned.
    owners: Vec<String>,
}

impl Pending {
    /// Queues a namespace or CRD for re-examination.
    pub fn container(&mut self, key: ObjectKey) {
        if !self.containers.contains(&key) {
            self.containers.push(key);
        }
    }

    /// Queues the UID of a removed object.
    pub fn owner(&mut self, uid: String) {
        self.owners.push(uid);
    }

    fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.owners.is_empty()
    }
}

fn crd_key(name: &str) -> ObjectKey {
    ObjectKey {
        resource: GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
        namespace: String::new(),
        name: name.to_string(),
    }
}

fn owner_uids(obj: &Value) -> Vec<&str> {
    object::meta(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

impl State {
    /// The objects a namespace or CRD holds (what must go before it can).
    pub(crate) fn contents(&self, container: &ObjectKey) -> Vec<ObjectKey> {
        match self
            .registry
            .get(&container.resource)
            .map(|d| Special::of(&d))
        {
            Some(Special::Namespace) => self
                .objects
                .keys()
                .filter(|k| k.namespace == container.name)
                .cloned()
                .collect(),
            Some(Special::Crd) => self
                .registry
                .get_crd_resource(&container.name)
                .map(|gr| {
                    resource_range(&self.objects, &gr)
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The namespace and CRD that hold an object.
    pub(crate) fn container_of(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let mut out = Vec::new();
        if !key.namespace.is_empty() {
            out.push(Self::namespace_key(&key.namespace));
        }
        if let Some(Origin::CustomResource { crd }) =
            self.registry.get(&key.resource).map(|d| d.origin.clone())
        {
            out.push(crd_key(&crd));
        }
        out
    }

    /// Deletes an object the way DELETE would: marked while finalizers remain,
    /// removed otherwise.
    fn delete_follow_up(&mut self, key: &ObjectKey, now: &str, pending: &mut Pending) {
        let Some(obj) = self.objects.get(key).cloned() else {
            return;
        };
        let result = if object::finalizers(&obj.value).is_empty() {
            self.remove(key, None, pending)
        } else if !object::is_terminating(&obj.value) {
            let mut v = obj.value.as_ref().clone();
            defaults::mark_terminating(Special::None, &mut v, now);
            self.put(key, v, pending)
        } else {
            return;
        };
        if let Err(e) = result {
            tracing::warn!(object = %key.name, error = %e, "follow-up delete failed");
        }
    }

    /// Empties a terminating namespace or CRD, and removes it once empty.
    fn finish_container(&mut self, container: &ObjectKey, now: &str, pending: &mut Pending) {
        let Some(stored) = self.objects.get(container).cloned() else {
            return;
        };
        if !object::is_terminating(&stored.value) {
            return;
        }
        for k in self.contents(container) {
            self.delete_follow_up(&k, now, pending);
        }
        if self.contents(container).is_empty() && object::finalizers(&stored.value).is_empty() {
            if let Err(e) = self.remove(container, None, pending) {
                tracing::warn!(object = %container.name, error = %e, "removing terminated object failed");
            }
        }
    }

    /// Deletes objects all of whose owners are gone (background propagation).
    fn collect_garbage(&mut self, gone: &str, now: &str, pending: &mut Pending) {
        let live: HashSet<String> = self
            .objects
            .values()
            .map(|s| object::meta_str(&s.value, "uid").to_string())
            .collect();
        let orphans: Vec<ObjectKey> = self
            .objects
            .iter()
            .filter(|(_, s)| {
                let owners = owner_uids(&s.value);
                owners.contains(&gone) && owners.iter().all(|u| !live.contains(*u))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in orphans {
            self.delete_follow_up(&k, now, pending);
        }
    }

    /// Runs follow-up deletions until nothing is left to do.
    pub(crate) fn settle(&mut self, mut pending: Pending) {
        let now = crate::ids::now();
        let mut rounds = 0usize;
        while !pending.is_empty() {
            rounds += 1;
            if rounds > MAX_FOLLOW_UPS {
                tracing::warn!("giving up on follow-up deletions");
                break;
            }
            if let Some(container) = pending.containers.pop() {
                self.finish_container(&container, &now, &mut pending);
            } else if let Some(uid) = pending.owners.pop() {
                self.collect_garbage(&uid, &now, &mut pending);
            }
        }
    }
}
