//! How stored objects are rendered in responses: the requested version's
//! `apiVersion`, list envelopes, and `PartialObjectMetadata` when asked for.

use serde_json::{json, Map, Value};

use crate::registry::{Origin, ResourceDef};

/// What the client asked to receive (via the `Accept` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Whole objects.
    Full,
    /// `meta.k8s.io/v1` `PartialObjectMetadata` (metadata only).
    Metadata,
}

impl Shape {
    /// Reads the `Accept` header: `as=PartialObjectMetadata[List]` selects metadata only.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let wants_meta = accept.is_some_and(|a| {
            a.split(',').next().is_some_and(|first| {
                first.split(';').any(|p| {
                    let p = p.trim();
                    p == "as=PartialObjectMetadata" || p == "as=PartialObjectMetadataList"
                })
            })
        });
        if wants_meta {
            Shape::Metadata
        } else {
            Shape::Full
        }
    }
}

/// An object as served at `version`.
pub fn object(def: &ResourceDef, version: &str, obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), json!(def.api_version(version)));
        m.insert("kind".into(), json!(def.kind));
    }
    out
}

fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A single object in the requested shape.
pub fn shaped(def: &ResourceDef, version: &str, obj: &Value, shape: Shape) -> Value {
    match shape {
        Shape::Full => object(def, version, obj),
        Shape::Metadata => partial(obj),
    }
}

/// An item of a list response. Like the real server, built-in types are listed
/// without `apiVersion`/`kind` on each item; custom resources keep them.
pub fn list_item(def: &ResourceDef, version: &str, obj: &Value, shape: Shape) -> Value {
    let mut out = shaped(def, version, obj, shape);
    if shape == Shape::Full && def.origin == Origin::Builtin {
        if let Some(m) = out.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
    }
    out
}

/// `ListMeta` of a list response.
#[derive(Debug, Clone, Default)]
pub struct ListMeta {
    /// The resourceVersion the list is consistent at.
    pub resource_version: u64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
    /// Items left after this page, when known.
    pub remaining: Option<usize>,
}

/// A list envelope around already-rendered items.
pub fn list(
    def: &ResourceDef,
    version: &str,
    items: Vec<Value>,
    meta: &ListMeta,
    shape: Shape,
) -> Value {
    let mut m = Map::new();
    m.insert(
        "resourceVersion".into(),
        json!(meta.resource_version.to_string()),
    );
    if let Some(c) = &meta.continue_token {
        m.insert("continue".into(), json!(c));
    }
    if let Some(r) = meta.remaining {
        m.insert("remainingItemCount".into(), json!(r));
    }
    let (kind, api_version) = match shape {
        Shape::Full => (def.list_kind.clone(), def.api_version(version)),
        Shape::Metadata => (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        ),
    };
    json!({"kind": kind, "apiVersion": api_version, "metadata": m, "items": items})
}

/// A `BOOKMARK` event object: only kind, apiVersion and metadata.resourceVersion
/// (plus annotations, e.g. the end-of-initial-events marker).
pub fn bookmark(
    def: &ResourceDef,
    version: &str,
    rv: u64,
    annotations: Option<Value>,
    shape: Shape,
) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some(a) = annotations {
        meta.insert("annotations".into(), a);
    }
    let (kind, api_version) = match shape {
        Shape::Full => (def.kind.clone(), def.api_version(version)),
        Shape::Metadata => (
            "PartialObjectMetadata".to_string(),
            "meta.k8s.io/v1".to_string(),
        ),
    };
    json!({"kind": kind, "apiVersion": api_version, "metadata": meta})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn accept_header() {
        let cases = [
            (None, Shape::Full),
            (Some("application/json"), Shape::Full),
            (
                Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
                Shape::Metadata,
            ),
            (
                Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
                Shape::Metadata,
            ),
            (
                Some("application/json;as=Table;g=meta.k8s.io;v=v1,application/json"),
                Shape::Full,
            ),
        ];
        for (accept, want) in cases {
            assert_eq!(Shape::from_accept(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn builtin_list_items_have_no_type_meta() {
        let reg = Registry::with_builtins();
        let svc = reg.lookup("", "v1", "services").unwrap();
        let obj = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}});
        let item = list_item(&svc, "v1", &obj, Shape::Full);
        assert!(item.get("kind").is_none());
        let l = list(
            &svc,
            "v1",
            vec![item],
            &ListMeta {
                resource_version: 7,
                ..Default::default()
            },
            Shape::Full,
        );
        assert_eq!(l["kind"], "ServiceList");
        assert_eq!(l["metadata"]["resourceVersion"], "7");
        let meta = list_item(&svc, "v1", &obj, Shape::Metadata);
        assert_eq!(meta["kind"], "PartialObjectMetadata");
        assert_eq!(meta["metadata"]["name"], "a");
    }
}
