//! Request paths of the Kubernetes API, parsed into what they address.

use percent_encoding::percent_decode_str;

/// A path under `/api/v1` or `/apis/{group}/{version}` naming resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group (empty for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from `/namespaces/{ns}/...`.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name, for object paths.
    pub name: Option<String>,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub legacy_watch: bool,
}

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    GroupVersion {
        /// API group (empty for core).
        group: String,
        /// API version.
        version: String,
    },
    /// A collection, object or subresource.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

fn resource(group: &str, version: &str, rest: &[String]) -> Target {
    let (legacy_watch, rest) = match rest.split_first() {
        Some((first, tail)) if first == "watch" => (true, tail),
        _ => (false, rest),
    };
    let path = |namespace: Option<&String>,
                plural: &String,
                name: Option<&String>,
                sub: Option<&String>| {
        Target::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.cloned(),
            plural: plural.clone(),
            name: name.cloned(),
            subresource: sub.cloned(),
            legacy_watch,
        })
    };
    match rest {
        [plural] => path(None, plural, None, None),
        [plural, name] => path(None, plural, Some(name), None),
        // `/api/v1/namespaces/{name}/status|finalize` are subresources of a namespace.
        [ns_kw, name, sub]
            if ns_kw == "namespaces"
                && group.is_empty()
                && (sub == "status" || sub == "finalize") =>
        {
            path(None, ns_kw, Some(name), Some(sub))
        }
        [ns_kw, ns, plural, tail @ ..] if ns_kw == "namespaces" => match tail {
            [] => path(Some(ns), plural, None, None),
            [name] => path(Some(ns), plural, Some(name), None),
            [name, sub] => path(Some(ns), plural, Some(name), Some(sub)),
            _ => Target::Unknown,
        },
        [plural, name, sub] => path(None, plural, Some(name), Some(sub)),
        _ => Target::Unknown,
    }
}

/// Parses a request path.
pub fn parse(path: &str) -> Target {
    let mut segs = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        match percent_decode_str(raw).decode_utf8() {
            Ok(s) => segs.push(s.into_owned()),
            Err(_) => return Target::Unknown,
        }
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Target::Version,
        ["healthz" | "livez" | "readyz", ..] => Target::Health,
        ["api"] => Target::CoreVersions,
        ["api", "v1"] => Target::GroupVersion {
            group: String::new(),
            version: "v1".into(),
        },
        ["api", "v1", ..] => resource("", "v1", segs.get(2..).unwrap_or_default()),
        ["apis"] => Target::Groups,
        ["apis", group] => Target::Group(group.to_string()),
        ["apis", group, version] => Target::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["apis", group, version, ..] => resource(group, version, segs.get(3..).unwrap_or_default()),
        _ => Target::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(
        g: &str,
        ns: Option<&str>,
        plural: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Target {
        Target::Resource(ResourcePath {
            group: g.into(),
            version: if g.is_empty() {
                "v1".into()
            } else {
                "v1alpha1".into()
            },
            namespace: ns.map(Into::into),
            plural: plural.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
            legacy_watch: false,
        })
    }

    #[test]
    fn paths() {
        let cases = [
            ("/version", Target::Version),
            ("/readyz", Target::Health),
            ("/api", Target::CoreVersions),
            (
                "/api/v1",
                Target::GroupVersion {
                    group: "".into(),
                    version: "v1".into(),
                },
            ),
            ("/apis", Target::Groups),
            ("/apis/ferrolb.io", Target::Group("ferrolb.io".into())),
            ("/api/v1/services", res("", None, "services", None, None)),
            (
                "/api/v1/namespaces",
                res("", None, "namespaces", None, None),
            ),
            (
                "/api/v1/namespaces/kube-system",
                res("", None, "namespaces", Some("kube-system"), None),
            ),
            (
                "/api/v1/namespaces/x/status",
                res("", None, "namespaces", Some("x"), Some("status")),
            ),
            (
                "/api/v1/namespaces/x/services",
                res("", Some("x"), "services", None, None),
            ),
            (
                "/api/v1/namespaces/x/services/web",
                res("", Some("x"), "services", Some("web"), None),
            ),
            (
                "/api/v1/namespaces/x/services/web/status",
                res("", Some("x"), "services", Some("web"), Some("status")),
            ),
            (
                "/api/v1/nodes/n1/status",
                res("", None, "nodes", Some("n1"), Some("status")),
            ),
            (
                "/apis/ferrolb.io/v1alpha1/pools",
                res("ferrolb.io", None, "pools", None, None),
            ),
            (
                "/apis/ferrolb.io/v1alpha1/namespaces/a/pools/p%3A1",
                res("ferrolb.io", Some("a"), "pools", Some("p:1"), None),
            ),
            (
                "/api/v1/namespaces/x/services/web/status/extra",
                Target::Unknown,
            ),
            ("/api/v2/services", Target::Unknown),
            ("/openapi/v2", Target::Unknown),
            ("/api/v1/services/%FF", Target::Unknown),
        ];
        for (p, want) in cases {
            assert_eq!(parse(p), want, "{p}");
        }
        match parse("/api/v1/watch/namespaces/x/services") {
            Target::Resource(r) => assert!(r.legacy_watch && r.namespace.as_deref() == Some("x")),
            other => panic!("{other:?}"),
        }
    }
}
