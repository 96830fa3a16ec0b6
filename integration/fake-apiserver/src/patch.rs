//! The four PATCH flavours of the Kubernetes API, applied to JSON objects.
//!
//! Simplifications (documented for test authors):
//! - `application/strategic-merge-patch+json` is applied like a JSON merge patch,
//!   honouring the `$patch: replace|delete` directives on maps and dropping the
//!   other `$` directives; lists are replaced wholesale rather than merged by key.
//! - `application/apply-patch+yaml` (server-side apply) deep-merges the applied
//!   configuration into the live object: maps merge recursively, lists and scalars
//!   are replaced, `null` removes a field. Field ownership is not tracked, so
//!   fields a manager stops applying are not removed and conflicts are never
//!   reported (`force` is accepted and has no effect).

use serde_json::{Map, Value};

use crate::status::ApiError;

/// The real server's limit on JSON-patch operations per request.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// A PATCH body type, selected by the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json` (RFC 6902)
    Json,
    /// `application/merge-patch+json` (RFC 7386)
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchKind {
    /// The patch type named by a Content-Type header value (parameters ignored).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        match mime {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Parses a merge-style patch body: it must be a JSON object.
fn parse_object_patch(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "error decoding patch: a merge patch must be a JSON object",
        ));
    }
    Ok(v)
}

/// Parses a server-side apply body (YAML or JSON) into an object.
pub fn parse_apply(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration must be an object",
        ));
    }
    Ok(v)
}

/// Applies a patch body of the given kind to `current`, returning the patched object.
pub fn apply(kind: PatchKind, current: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let mut doc = current.clone();
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if ops.0.len() > MAX_JSON_PATCH_OPERATIONS {
                return Err(ApiError::too_large(&format!(
                    "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                    ops.0.len()
                )));
            }
            json_patch::patch(&mut doc, &ops.0).map_err(|_| ApiError::unprocessable())?;
        }
        PatchKind::Merge => json_patch::merge(&mut doc, &parse_object_patch(body)?),
        PatchKind::Strategic => strategic_merge(&mut doc, &parse_object_patch(body)?),
        PatchKind::Apply => deep_merge(&mut doc, &parse_apply(body)?),
    }
    Ok(doc)
}

/// Whether a map key is a strategic-merge directive other than `$patch`.
fn is_directive(key: &str) -> bool {
    key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
        || key == "$retainKeys"
}

/// Removes every strategic-merge directive from a value that is taken as-is.
fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_directive(k) && k.as_str() != "$patch")
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(pm) = patch else {
        *target = strip_directives(patch);
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tm) = target else { return };
    for (k, v) in pm {
        if is_directive(k) || k == "$patch" {
            continue;
        }
        let delete = v.is_null() || v.get("$patch").and_then(Value::as_str) == Some("delete");
        if delete {
            tm.remove(k);
        } else if v.is_object() {
            strategic_merge(tm.entry(k.clone()).or_insert(Value::Null), v);
        } else {
            tm.insert(k.clone(), strip_directives(v));
        }
    }
}

fn deep_merge(target: &mut Value, applied: &Value) {
    match (target, applied) {
        (Value::Object(tm), Value::Object(am)) => {
            for (k, v) in am {
                match v {
                    Value::Null => {
                        tm.remove(k);
                    }
                    Value::Object(_) => {
                        let slot = tm
                            .entry(k.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if !slot.is_object() {
                            *slot = Value::Object(Map::new());
                        }
                        deep_merge(slot, v);
                    }
                    _ => {
                        tm.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, a) => *t = a.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}, "finalizers": ["f1"]},
               "spec": {"ports": [{"port": 80}], "type": "ClusterIP"}})
    }

    #[test]
    fn content_types() {
        let cases = [
            ("application/json-patch+json", Some(PatchKind::Json)),
            (
                "application/merge-patch+json; charset=utf-8",
                Some(PatchKind::Merge),
            ),
            (
                "application/strategic-merge-patch+json",
                Some(PatchKind::Strategic),
            ),
            ("application/apply-patch+yaml", Some(PatchKind::Apply)),
            ("application/json", None),
        ];
        for (ct, want) in cases {
            assert_eq!(PatchKind::from_content_type(ct), want, "{ct}");
        }
    }

    #[test]
    fn merge_patch() {
        let out = apply(
            PatchKind::Merge,
            &base(),
            br#"{"metadata":{"labels":{"x":null,"z":"3"}},"spec":{"ports":[{"port":81}]}}"#,
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"y": "2", "z": "3"}));
        assert_eq!(out["spec"]["ports"], json!([{"port": 81}]));
        assert_eq!(out["spec"]["type"], "ClusterIP");
    }

    #[test]
    fn json_patch_with_test() {
        let ok = br#"[{"op":"test","path":"/metadata/finalizers/0","value":"f1"},
                      {"op":"remove","path":"/metadata/finalizers/0"}]"#;
        let out = apply(PatchKind::Json, &base(), ok).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!([]));
        let failed = br#"[{"op":"test","path":"/metadata/finalizers/0","value":"nope"}]"#;
        assert_eq!(
            apply(PatchKind::Json, &base(), failed).unwrap_err().code,
            422
        );
        let missing = br#"[{"op":"replace","path":"/spec/missing/x","value":1}]"#;
        assert_eq!(
            apply(PatchKind::Json, &base(), missing).unwrap_err().code,
            422
        );
        assert_eq!(apply(PatchKind::Json, &base(), b"{").unwrap_err().code, 400);
        assert_eq!(
            apply(PatchKind::Json, &base(), br#"[{"op":"bogus"}]"#)
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn strategic_merge_directives() {
        let patch = br#"{"metadata":{"labels":{"$patch":"replace","only":"me"}},
                         "spec":{"$setElementOrder/ports":[{"port":80}],"ports":[{"port":90}]}}"#;
        let out = apply(PatchKind::Strategic, &base(), patch).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"only": "me"}));
        assert_eq!(out["spec"]["ports"], json!([{"port": 90}]));
        assert!(out["spec"].get("$setElementOrder/ports").is_none());
        let del = br#"{"spec":{"$patch":"delete"}}"#;
        let out = apply(PatchKind::Strategic, &base(), del).unwrap();
        assert!(out.get("spec").is_none());
        let del = br#"{"metadata":{"labels":{"$patch":"delete"}}}"#;
        let out = apply(PatchKind::Strategic, &base(), del).unwrap();
        assert!(out["metadata"].get("labels").is_none());
    }

    #[test]
    fn apply_deep_merges() {
        let yaml = b"metadata:\n  labels:\n    z: \"3\"\nspec:\n  type: LoadBalancer\n";
        let out = apply(PatchKind::Apply, &base(), yaml).unwrap();
        assert_eq!(
            out["metadata"]["labels"],
            json!({"x": "1", "y": "2", "z": "3"})
        );
        assert_eq!(out["spec"]["type"], "LoadBalancer");
        assert_eq!(out["spec"]["ports"], json!([{"port": 80}]));
        assert_eq!(
            apply(PatchKind::Apply, &base(), b"- a\n").unwrap_err().code,
            400
        );
        assert_eq!(
            apply(PatchKind::Apply, &base(), b": : :").unwrap_err().code,
            400
        );
    }

    #[test]
    fn merge_patch_must_be_object() {
        for body in [&b"[1]"[..], b"\"x\"", b"{bad"] {
            assert_eq!(
                apply(PatchKind::Merge, &base(), body).unwrap_err().code,
                400
            );
        }
    }
}
