//! Query parameters of list and watch requests (`ListOptions`): selectors and
//! resourceVersion semantics.

use std::collections::HashMap;

use serde_json::Value;

use crate::object;
use crate::registry::ResourceDef;
use crate::selector::{field_string, FieldSelector, LabelSelector};
use crate::status::ApiError;

/// Decoded query parameters (the last occurrence of a name wins).
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses a raw (percent-encoded) query string.
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// A parameter's value; empty values read as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A boolean parameter (`true` or `1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    /// A boolean parameter that distinguishes "absent" from "false".
    pub fn tristate(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| matches!(v, "true" | "1"))
    }
}

/// Which objects a list or watch selects.
#[derive(Debug, Clone)]
pub struct Selection {
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    field_paths: HashMap<String, Vec<String>>,
}

impl Selection {
    /// Builds the selection from `labelSelector`/`fieldSelector`, checking that every
    /// field label is supported by the resource. `name` pins one object (object-path watches).
    pub fn new(
        def: &ResourceDef,
        namespace: Option<&str>,
        params: &Params,
        name: Option<&str>,
    ) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(params.get("labelSelector").unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        let mut fields = FieldSelector::parse(params.get("fieldSelector").unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        if let Some(n) = name {
            fields.requirements.push(crate::selector::FieldRequirement {
                field: "metadata.name".into(),
                negated: false,
                value: n.to_string(),
            });
        }
        let mut field_paths = HashMap::new();
        for f in fields.fields() {
            let path = def
                .field_path(f)
                .ok_or_else(|| ApiError::bad_request(format!("field label not supported: {f}")))?;
            field_paths.insert(f.to_string(), path);
        }
        Ok(Self {
            namespace: namespace.map(str::to_string),
            labels,
            fields,
            field_paths,
        })
    }

    /// Whether label or field selectors were given (the namespace alone does not count).
    pub fn is_selective(&self) -> bool {
        !self.labels.is_empty() || !self.fields.is_empty()
    }

    /// The namespace the selection is confined to.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Whether an object is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace {
            if object::namespace(obj) != ns {
                return false;
            }
        }
        self.labels.matches(object::labels(obj))
            && self.fields.matches(|f| {
                self.field_paths
                    .get(f)
                    .map(|p| field_string(obj, p))
                    .unwrap_or_default()
            })
    }
}

/// Which state a read must reflect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// The latest state (`resourceVersion` unset, empty or `0`).
    Latest,
    /// Any state at least this new.
    NotOlderThan(u64),
    /// Exactly the state at this resourceVersion.
    Exact(u64),
}

impl ReadAt {
    /// The resourceVersion the server must have reached to serve the read.
    pub fn minimum(self) -> u64 {
        match self {
            ReadAt::Latest => 0,
            ReadAt::NotOlderThan(rv) | ReadAt::Exact(rv) => rv,
        }
    }
}

/// Parses `resourceVersion` + `resourceVersionMatch` as the real server does.
pub fn read_at(params: &Params) -> Result<ReadAt, ApiError> {
    let rv = params.get("resourceVersion");
    let matching = params.get("resourceVersionMatch");
    let Some(rv) = rv else {
        if matching.is_some() {
            return Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        return Ok(ReadAt::Latest);
    };
    let n = object::parse_rv(rv).ok_or_else(|| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: {rv:?}: must be an integer"
        ))
    })?;
    match (matching, n) {
        (Some("Exact"), 0) => Err(ApiError::bad_request(
            "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"",
        )),
        (Some("Exact"), n) => Ok(ReadAt::Exact(n)),
        (None | Some("NotOlderThan"), 0) => Ok(ReadAt::Latest),
        (None | Some("NotOlderThan"), n) => Ok(ReadAt::NotOlderThan(n)),
        (Some(other), _) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    fn params(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn resource_version_semantics() {
        let cases = [
            ("", Ok(ReadAt::Latest)),
            ("resourceVersion=0", Ok(ReadAt::Latest)),
            ("resourceVersion=12", Ok(ReadAt::NotOlderThan(12))),
            (
                "resourceVersion=12&resourceVersionMatch=NotOlderThan",
                Ok(ReadAt::NotOlderThan(12)),
            ),
            (
                "resourceVersion=12&resourceVersionMatch=Exact",
                Ok(ReadAt::Exact(12)),
            ),
            ("resourceVersion=0&resourceVersionMatch=Exact", Err(400)),
            ("resourceVersionMatch=Exact", Err(400)),
            ("resourceVersion=abc", Err(400)),
            ("resourceVersion=1&resourceVersionMatch=Sometimes", Err(400)),
        ];
        for (q, want) in cases {
            assert_eq!(read_at(&params(q)).map_err(|e| e.code), want, "{q}");
        }
    }

    #[test]
    fn selection() {
        let reg = Registry::with_builtins();
        let svc = reg.lookup("", "v1", "services").unwrap();
        let obj = json!({"metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}}, "spec": {"type": "LoadBalancer"}});
        let cases = [
            ("labelSelector=app%3Dweb", Some("a"), true),
            ("labelSelector=app%3Ddb", Some("a"), false),
            ("fieldSelector=spec.type%3DLoadBalancer", None, true),
            ("fieldSelector=metadata.name!%3Dweb", None, false),
            ("", Some("b"), false),
        ];
        for (q, ns, want) in cases {
            let s = Selection::new(&svc, ns, &params(q), None).unwrap();
            assert_eq!(s.matches(&obj), want, "{q}");
        }
        let err =
            Selection::new(&svc, None, &params("fieldSelector=spec.nope%3Dx"), None).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(err.message, "field label not supported: spec.nope");
        assert_eq!(
            Selection::new(&svc, None, &params("labelSelector=a%20in"), None)
                .unwrap_err()
                .code,
            400
        );
        let pinned = Selection::new(&svc, None, &params(""), Some("other")).unwrap();
        assert!(!pinned.matches(&obj));
    }
}
