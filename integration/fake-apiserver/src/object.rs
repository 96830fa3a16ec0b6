//! Object metadata rules shared by every write: what the server fills in on
//! create, what it preserves on update, and how `generation` moves.

use serde_json::{json, Map, Value};

use crate::registry::ResourceDef;
use crate::status::{ApiError, FieldCause};
use crate::validation::{check_label_key, check_label_value, check_name, MAX_GENERATED_PREFIX};

/// `metadata` of an object, if it is a JSON object.
pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// A string field of `metadata`, empty when absent.
pub fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.name`.
pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

/// `metadata.namespace`.
pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace")
}

/// `metadata.labels`.
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    meta(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<&str> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_terminating(obj: &Value) -> bool {
    meta(obj).is_some_and(|m| m.get("deletionTimestamp").is_some_and(|v| !v.is_null()))
}

/// Mutable `metadata`, created if missing. Callers ensure `obj` is an object.
pub fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let entry = map.entry("metadata").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut()
}

/// Sets `metadata.resourceVersion`.
pub fn set_resource_version(obj: &mut Value, rv: u64) {
    if let Some(m) = meta_mut(obj) {
        m.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

/// Parses a resourceVersion string as the server's integer revision.
pub fn parse_rv(rv: &str) -> Option<u64> {
    rv.parse::<u64>().ok()
}

/// Request-independent inputs to object creation.
pub struct Stamp<'a> {
    /// RFC 3339 timestamp (second precision) for `creationTimestamp`.
    pub now: &'a str,
    /// The new object's UID.
    pub uid: String,
    /// The random suffix used with `generateName`.
    pub name_suffix: String,
}

fn bad_shape(what: &str) -> ApiError {
    ApiError::bad_request(format!("the request body is not a valid object: {what}"))
}

/// Checks the body is an object with well-typed `apiVersion`, `kind` and `metadata`,
/// filling `apiVersion`/`kind` from the URL when absent.
fn normalise_type(def: &ResourceDef, version: &str, obj: &mut Value) -> Result<(), ApiError> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| bad_shape("expected a JSON object"))?;
    let expected_av = def.api_version(version);
    match map.get("apiVersion") {
        None | Some(Value::Null) => {
            map.insert("apiVersion".into(), json!(expected_av));
        }
        Some(Value::String(av)) if def.serves_api_version(av) => {
            map.insert("apiVersion".into(), json!(expected_av));
        }
        Some(Value::String(av)) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({expected_av})"
            )))
        }
        Some(_) => return Err(bad_shape("apiVersion must be a string")),
    }
    match map.get("kind") {
        None | Some(Value::Null) => {
            map.insert("kind".into(), json!(def.kind));
        }
        Some(Value::String(k)) if *k == def.kind => {}
        Some(Value::String(k)) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )))
        }
        Some(_) => return Err(bad_shape("kind must be a string")),
    }
    match map.get("metadata") {
        None | Some(Value::Null) => {
            map.insert("metadata".into(), json!({}));
        }
        Some(Value::Object(m)) => {
            for key in [
                "name",
                "namespace",
                "generateName",
                "resourceVersion",
                "uid",
            ] {
                if m.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
                    return Err(bad_shape(&format!("metadata.{key} must be a string")));
                }
            }
            for key in ["labels", "annotations"] {
                if let Some(v) = m.get(key).filter(|v| !v.is_null()) {
                    let ok = v
                        .as_object()
                        .is_some_and(|o| o.values().all(Value::is_string));
                    if !ok {
                        return Err(bad_shape(&format!(
                            "metadata.{key} must map strings to strings"
                        )));
                    }
                }
            }
            if let Some(v) = m.get("finalizers").filter(|v| !v.is_null()) {
                let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
                if !ok {
                    return Err(bad_shape("metadata.finalizers must be a list of strings"));
                }
            }
        }
        Some(_) => return Err(bad_shape("metadata must be an object")),
    }
    Ok(())
}

fn label_causes(obj: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    for (k, v) in labels(obj).into_iter().flatten() {
        if let Err(e) = check_label_key(k) {
            causes.push(FieldCause::invalid("metadata.labels", &json!(k), &e));
        }
        let value = v.as_str().unwrap_or_default();
        if let Err(e) = check_label_value(value) {
            causes.push(FieldCause::invalid("metadata.labels", &json!(value), &e));
        }
    }
    causes
}

/// Prepares a new object for storage: type and namespace checks, name (or
/// `generateName`), validation, and the server-owned metadata fields.
/// `url_namespace` is the namespace from the request path (namespaced resources).
pub fn prepare_create(
    def: &ResourceDef,
    version: &str,
    url_namespace: Option<&str>,
    mut obj: Value,
    stamp: Stamp<'_>,
) -> Result<Value, ApiError> {
    normalise_type(def, version, &mut obj)?;
    let body_ns = namespace(&obj).to_string();
    let mut name = name(&obj).to_string();
    let generate = meta_str(&obj, "generateName").to_string();
    let has_rv = !meta_str(&obj, "resourceVersion").is_empty();
    if def.namespaced {
        let url_ns = url_namespace.unwrap_or_default();
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let mut causes = Vec::new();
    if name.is_empty() && !generate.is_empty() {
        let prefix: String = generate.chars().take(MAX_GENERATED_PREFIX).collect();
        name = format!("{prefix}{}", stamp.name_suffix);
    }
    if name.is_empty() {
        causes.push(FieldCause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Err(e) = check_name(def.name_rule, &name) {
        causes.push(FieldCause::invalid("metadata.name", &json!(name), &e));
    }
    causes.extend(label_causes(&obj));
    if !causes.is_empty() {
        return Err(ApiError::invalid(&def.group, &def.kind, &name, &causes));
    }
    if has_rv {
        return Err(ApiError {
            code: 500,
            reason: String::new(),
            message: "resourceVersion should not be set on objects to be created".into(),
            details: None,
        });
    }
    let namespaced = def.namespaced;
    let has_generation = def.has_generation;
    let Some(m) = meta_mut(&mut obj) else {
        return Err(bad_shape("expected a JSON object"));
    };
    m.insert("name".into(), json!(name));
    if namespaced {
        m.insert("namespace".into(), json!(url_namespace.unwrap_or_default()));
    } else {
        m.remove("namespace");
    }
    m.insert("uid".into(), json!(stamp.uid));
    m.insert("creationTimestamp".into(), json!(stamp.now));
    for key in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    ] {
        m.remove(key);
    }
    if has_generation {
        m.insert("generation".into(), json!(1));
    } else {
        m.remove("generation");
    }
    if def.has_status(version) {
        if let Some(map) = obj.as_object_mut() {
            map.remove("status");
        }
    }
    Ok(obj)
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource (everything but `.status` when `/status` is a subresource).
    Main,
    /// The `/status` subresource (only `.status`).
    Status,
}

/// Everything except metadata (and status, when it is a subresource): the part
/// whose change bumps `metadata.generation`.
fn generation_relevant(obj: &Value, status_is_subresource: bool) -> Map<String, Value> {
    let mut m = obj.as_object().cloned().unwrap_or_default();
    for key in ["metadata", "apiVersion", "kind"] {
        m.remove(key);
    }
    if status_is_subresource {
        m.remove("status");
    }
    m
}

/// Merges an incoming full object with the stored one for an update of `part`,
/// keeping server-owned metadata and enforcing the finalizer rule.
/// The caller has already checked name, namespace and resourceVersion.
pub fn prepare_update(
    def: &ResourceDef,
    version: &str,
    old: &Value,
    mut new: Value,
    part: Part,
) -> Result<Value, ApiError> {
    let with_status = def.has_status(version);
    if part == Part::Status {
        let mut merged = old.clone();
        if let Some(map) = merged.as_object_mut() {
            match new.as_object_mut().and_then(|n| n.remove("status")) {
                Some(status) => map.insert("status".into(), status),
                None => map.remove("status"),
            };
            map.insert("apiVersion".into(), json!(def.api_version(version)));
        }
        return Ok(merged);
    }
    normalise_type(def, version, &mut new)?;
    if with_status {
        if let Some(map) = new.as_object_mut() {
            match old.get("status") {
                Some(status) => map.insert("status".into(), status.clone()),
                None => map.remove("status"),
            };
        }
    }
    let name = name(old).to_string();
    let mut causes = label_causes(&new);
    if is_terminating(old) {
        let before = finalizers(old);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .map(|f| format!("{f:?}"))
            .collect();
        if !added.is_empty() {
            causes.push(FieldCause::forbidden(
                "metadata.finalizers",
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    added.join(", ")
                ),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(&def.group, &def.kind, &name, &causes));
    }
    let bump = def.has_generation
        && generation_relevant(old, with_status) != generation_relevant(&new, with_status);
    let old_meta = meta(old).cloned().unwrap_or_default();
    let Some(m) = meta_mut(&mut new) else {
        return Err(bad_shape("expected a JSON object"));
    };
    for key in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old_meta.get(key) {
            Some(v) => m.insert(key.into(), v.clone()),
            None => m.remove(key),
        };
    }
    for key in ["managedFields", "selfLink", "generateName"] {
        if let Some(v) = old_meta.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    if bump {
        let next = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .saturating_add(1);
        m.insert("generation".into(), json!(next));
    }
    Ok(new)
}

/// Whether two stored states differ in anything but `metadata.resourceVersion`
/// (the server skips writes that change nothing).
pub fn differs(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) != strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn stamp() -> Stamp<'static> {
        Stamp {
            now: "2024-01-01T00:00:00Z",
            uid: "u-1".into(),
            name_suffix: "x7k2p".into(),
        }
    }

    #[test]
    fn create_fills_server_fields() {
        let reg = Registry::with_builtins();
        let svc = reg.lookup("", "v1", "services").unwrap();
        let obj = json!({"metadata": {"name": "web"}, "spec": {}, "status": {"x": 1}});
        let out = prepare_create(&svc, "v1", Some("default"), obj, stamp()).unwrap();
        assert_eq!(out["apiVersion"], "v1");
        assert_eq!(out["kind"], "Service");
        assert_eq!(out["metadata"]["namespace"], "default");
        assert_eq!(out["metadata"]["uid"], "u-1");
        assert_eq!(out["metadata"]["creationTimestamp"], "2024-01-01T00:00:00Z");
        assert!(out.get("status").is_none(), "status is ignored on create");
    }

    #[test]
    fn create_rejections() {
        let reg = Registry::with_builtins();
        let svc = reg.lookup("", "v1", "services").unwrap();
        let cases: Vec<(Value, u16)> = vec![
            (json!({"metadata": {}}), 422),
            (json!({"metadata": {"name": "Web"}}), 422),
            (
                json!({"metadata": {"name": "web", "namespace": "other"}}),
                400,
            ),
            (json!({"kind": "Pod", "metadata": {"name": "web"}}), 400),
            (
                json!({"apiVersion": "apps/v1", "metadata": {"name": "web"}}),
                400,
            ),
            (
                json!({"metadata": {"name": "web", "resourceVersion": "5"}}),
                500,
            ),
            (
                json!({"metadata": {"name": "web", "labels": {"a b": "c"}}}),
                422,
            ),
            (
                json!({"metadata": {"name": "web", "labels": {"a": 1}}}),
                400,
            ),
            (json!([1, 2]), 400),
            (json!({"metadata": "x"}), 400),
        ];
        for (obj, code) in cases {
            let err =
                prepare_create(&svc, "v1", Some("default"), obj.clone(), stamp()).unwrap_err();
            assert_eq!(err.code, code, "{obj}: {err:?}");
        }
    }

    #[test]
    fn generate_name() {
        let reg = Registry::with_builtins();
        let cm = reg.lookup("", "v1", "configmaps").unwrap();
        let obj = json!({"metadata": {"generateName": "cfg-"}});
        let out = prepare_create(&cm, "v1", Some("ns"), obj, stamp()).unwrap();
        assert_eq!(out["metadata"]["name"], "cfg-x7k2p");
    }

    #[test]
    fn cluster_scoped_drops_namespace() {
        let reg = Registry::with_builtins();
        let nodes = reg.lookup("", "v1", "nodes").unwrap();
        let obj = json!({"metadata": {"name": "n1", "namespace": "x"}});
        let out = prepare_create(&nodes, "v1", None, obj, stamp()).unwrap();
        assert!(out["metadata"].get("namespace").is_none());
    }

    fn crd_def(status: bool) -> ResourceDef {
        let mut v = json!({"name": "v1", "served": true, "storage": true});
        if status {
            v["subresources"] = json!({"status": {}});
        }
        crate::crd::resource_def(&json!({
            "metadata": {"name": "pools.ferrolb.io"},
            "spec": {"group": "ferrolb.io", "scope": "Namespaced",
                     "names": {"plural": "pools", "kind": "Pool"}, "versions": [v]}
        }))
        .unwrap()
    }

    #[test]
    fn update_preserves_server_fields_and_bumps_generation() {
        let def = crd_def(true);
        let old = json!({"apiVersion": "ferrolb.io/v1", "kind": "Pool",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "creationTimestamp": "t", "generation": 3, "resourceVersion": "9"},
            "spec": {"a": 1}, "status": {"ok": true}});
        // spec change bumps; status in the main resource is ignored
        let new = json!({"metadata": {"name": "p", "uid": "evil", "generation": 100},
            "spec": {"a": 2}, "status": {"ok": false}});
        let out = prepare_update(&def, "v1", &old, new, Part::Main).unwrap();
        assert_eq!(out["metadata"]["uid"], "u");
        assert_eq!(out["metadata"]["generation"], 4);
        assert_eq!(out["status"]["ok"], true);
        // label-only change does not bump
        let new = json!({"metadata": {"name": "p", "labels": {"x": "y"}}, "spec": {"a": 1}});
        let out = prepare_update(&def, "v1", &old, new, Part::Main).unwrap();
        assert_eq!(out["metadata"]["generation"], 3);
        // status write changes only status
        let new = json!({"metadata": {"name": "p", "labels": {"x": "y"}}, "spec": {"a": 5}, "status": {"ok": false}});
        let out = prepare_update(&def, "v1", &old, new, Part::Status).unwrap();
        assert_eq!(out["spec"]["a"], 1);
        assert_eq!(out["status"]["ok"], false);
        assert!(out["metadata"].get("labels").is_none());
        assert_eq!(out["metadata"]["generation"], 3);
    }

    #[test]
    fn without_status_subresource_status_counts_for_generation() {
        let def = crd_def(false);
        let old =
            json!({"metadata": {"name": "p", "generation": 1}, "spec": {}, "status": {"a": 1}});
        let new = json!({"metadata": {"name": "p"}, "spec": {}, "status": {"a": 2}});
        let out = prepare_update(&def, "v1", &old, new, Part::Main).unwrap();
        assert_eq!(out["metadata"]["generation"], 2);
        assert_eq!(out["status"]["a"], 2);
    }

    #[test]
    fn no_new_finalizers_while_terminating() {
        let def = crd_def(true);
        let old = json!({"metadata": {"name": "p", "deletionTimestamp": "t", "finalizers": ["a"]}});
        let ok = json!({"metadata": {"name": "p", "finalizers": []}});
        assert!(prepare_update(&def, "v1", &old, ok, Part::Main).is_ok());
        let bad = json!({"metadata": {"name": "p", "finalizers": ["a", "b"]}});
        let err = prepare_update(&def, "v1", &old, bad, Part::Main).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(err.message.contains("no new finalizers"), "{}", err.message);
    }
}
