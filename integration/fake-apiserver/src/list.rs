//! Paginated lists: `limit`, `continue` tokens and `remainingItemCount`.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::history::ObjectKey;
use crate::status::ApiError;

/// A decoded `continue` token: where the previous page ended, and the
/// resourceVersion the whole paginated list is consistent at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueToken {
    /// The list's resourceVersion.
    pub rv: u64,
    /// Namespace of the last returned object.
    pub namespace: String,
    /// Name of the last returned object.
    pub name: String,
}

fn invalid_token(why: &str) -> ApiError {
    ApiError::bad_request(format!("continue key is not valid: {why}"))
}

impl ContinueToken {
    /// The opaque string sent to clients (the same shape the real server uses).
    pub fn encode(&self) -> String {
        let start = if self.namespace.is_empty() {
            format!("{}\u{0}", self.name)
        } else {
            format!("{}/{}\u{0}", self.namespace, self.name)
        };
        let body = json!({"v": "meta.k8s.io/v1", "rv": self.rv, "start": start});
        URL_SAFE_NO_PAD.encode(body.to_string())
    }

    /// Parses a token; `namespaced` says whether keys carry a namespace.
    pub fn decode(token: &str, namespaced: bool) -> Result<Self, ApiError> {
        let raw = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|e| invalid_token(&e.to_string()))?;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| invalid_token(&e.to_string()))?;
        if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
            return Err(invalid_token(
                "server does not recognize this encoded version",
            ));
        }
        let rv = v
            .get("rv")
            .and_then(Value::as_u64)
            .filter(|rv| *rv > 0)
            .ok_or_else(|| {
                invalid_token("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            })?;
        let start = v
            .get("start")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_suffix('\u{0}'))
            .ok_or_else(|| invalid_token("encoded start key is missing"))?;
        let (namespace, name) = match (namespaced, start.split_once('/')) {
            (true, Some((ns, n))) => (ns.to_string(), n.to_string()),
            (false, None) => (String::new(), start.to_string()),
            _ => {
                return Err(invalid_token(
                    "encoded start key does not match the resource",
                ))
            }
        };
        Ok(Self {
            rv,
            namespace,
            name,
        })
    }
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// Objects on this page.
    pub items: Vec<Arc<Value>>,
    /// Token for the next page.
    pub next: Option<ContinueToken>,
    /// How many selected objects follow this page (only when not filtering by selector).
    pub remaining: Option<usize>,
}

/// Cuts the page after `after` holding at most `limit` objects (0 = unlimited)
/// from `items`, which are sorted by key and already filtered.
pub fn paginate(
    items: Vec<(ObjectKey, Arc<Value>)>,
    after: Option<(&str, &str)>,
    limit: usize,
    rv: u64,
    count_remaining: bool,
) -> Page {
    let mut rest: Vec<(ObjectKey, Arc<Value>)> = items
        .into_iter()
        .filter(|(k, _)| {
            after.is_none_or(|(ns, n)| (k.namespace.as_str(), k.name.as_str()) > (ns, n))
        })
        .collect();
    if limit == 0 || rest.len() <= limit {
        return Page {
            items: rest.into_iter().map(|(_, v)| v).collect(),
            next: None,
            remaining: None,
        };
    }
    let tail = rest.split_off(limit);
    let next = rest.last().map(|(k, _)| ContinueToken {
        rv,
        namespace: k.namespace.clone(),
        name: k.name.clone(),
    });
    Page {
        items: rest.into_iter().map(|(_, v)| v).collect(),
        next,
        remaining: count_remaining.then_some(tail.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::GroupResource;

    fn items(names: &[(&str, &str)]) -> Vec<(ObjectKey, Arc<Value>)> {
        names
            .iter()
            .map(|(ns, n)| {
                (
                    ObjectKey {
                        resource: GroupResource::new("", "services"),
                        namespace: ns.to_string(),
                        name: n.to_string(),
                    },
                    Arc::new(json!({"metadata": {"name": n}})),
                )
            })
            .collect()
    }

    #[test]
    fn pages_through_everything_once() {
        let all = [("a", "x"), ("a", "y"), ("b", "a"), ("b", "b"), ("c", "z")];
        let mut after: Option<ContinueToken> = None;
        let mut seen = Vec::new();
        loop {
            let page = paginate(
                items(&all),
                after
                    .as_ref()
                    .map(|t| (t.namespace.as_str(), t.name.as_str())),
                2,
                9,
                true,
            );
            seen.extend(
                page.items
                    .iter()
                    .map(|v| v["metadata"]["name"].as_str().unwrap().to_string()),
            );
            match page.next {
                Some(t) => {
                    assert_eq!(page.remaining, Some(5 - seen.len()));
                    let round = ContinueToken::decode(&t.encode(), true).unwrap();
                    assert_eq!(round, t);
                    after = Some(round);
                }
                None => break,
            }
        }
        assert_eq!(seen, ["x", "y", "a", "b", "z"]);
    }

    #[test]
    fn tokens() {
        let t = ContinueToken {
            rv: 5,
            namespace: String::new(),
            name: "n1".into(),
        };
        assert_eq!(ContinueToken::decode(&t.encode(), false).unwrap(), t);
        assert!(ContinueToken::decode(&t.encode(), true).is_err());
        for bad in [
            "",
            "!!!",
            "e30",
            &URL_SAFE_NO_PAD.encode(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a\u0000"}"#),
        ] {
            assert_eq!(
                ContinueToken::decode(bad, false).unwrap_err().code,
                400,
                "{bad}"
            );
        }
    }
}
