//! Discovery documents: `/api`, `/apis`, `/apis/{group}`, the per-version
//! `APIResourceList`s, aggregated discovery (`apidiscovery.k8s.io/v2`) and `/version`.

use serde_json::{json, Map, Value};

use crate::registry::{Registry, ResourceDef};

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// The Kubernetes version the server reports.
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "33");

/// Content type of aggregated discovery responses.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the `Accept` header prefers aggregated discovery.
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    accept
        .and_then(|a| a.split(',').next())
        .is_some_and(|first| {
            first
                .split(';')
                .any(|p| p.trim() == "as=APIGroupDiscoveryList")
        })
}

/// `/version`.
pub fn version() -> Value {
    let (major, minor) = KUBERNETES_VERSION;
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": format!("v{major}.{minor}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(group, v), "version": v}))
        .collect();
    let preferred = entries.first().cloned().unwrap_or_else(|| json!({}));
    json!({"name": group, "versions": entries, "preferredVersion": preferred})
}

/// `/apis`.
pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg.groups().iter().map(|(g, v)| api_group(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if served.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let versions = reg.group_versions(name);
    if name.is_empty() || versions.is_empty() {
        return None;
    }
    let mut g = api_group(name, &versions);
    if let Some(m) = g.as_object_mut() {
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
    }
    Some(g)
}

fn resource_entries(def: &ResourceDef, version: &str) -> Vec<Value> {
    let mut main = Map::new();
    main.insert("name".into(), json!(def.plural));
    main.insert("singularName".into(), json!(def.singular));
    main.insert("namespaced".into(), json!(def.namespaced));
    main.insert("kind".into(), json!(def.kind));
    main.insert("verbs".into(), json!(VERBS));
    if !def.short_names.is_empty() {
        main.insert("shortNames".into(), json!(def.short_names));
    }
    let mut out = vec![Value::Object(main)];
    if def.has_status(version) {
        out.push(json!({
            "name": format!("{}/status", def.plural),
            "singularName": "",
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": STATUS_VERBS,
        }));
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`, if served.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs = reg.resources_in(group, version);
    if defs.is_empty() {
        return None;
    }
    let resources: Vec<Value> = defs
        .iter()
        .flat_map(|d| resource_entries(d, version))
        .collect();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

fn aggregated_group(reg: &Registry, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = reg
                .resources_in(group, v)
                .iter()
                .map(|d| {
                    let kind = json!({"group": group, "version": v, "kind": d.kind});
                    let mut r = json!({
                        "resource": d.plural,
                        "responseKind": kind,
                        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": d.singular,
                        "verbs": VERBS,
                    });
                    if !d.short_names.is_empty() {
                        r["shortNames"] = json!(d.short_names);
                    }
                    if d.has_status(v) {
                        r["subresources"] = json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
                    }
                    r
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({})
    } else {
        json!({"name": group})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (`core == true`) or `/apis`.
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(reg, "", &["v1".to_string()])]
    } else {
        reg.groups()
            .iter()
            .map(|(g, v)| aggregated_group(reg, g, v))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let reg = Registry::with_builtins();
        let core = resource_list(&reg, "", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"services") && names.contains(&"services/status"));
        assert!(!names.contains(&"configmaps/status"));
        let leases = resource_list(&reg, "coordination.k8s.io", "v1").unwrap();
        assert_eq!(leases["groupVersion"], "coordination.k8s.io/v1");
        assert!(resource_list(&reg, "coordination.k8s.io", "v2").is_none());
        let g = group(&reg, "discovery.k8s.io").unwrap();
        assert_eq!(g["preferredVersion"]["groupVersion"], "discovery.k8s.io/v1");
        assert!(group(&reg, "nope.io").is_none());
        let agg = aggregated(&reg, false);
        assert!(agg["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["metadata"]["name"] == "coordination.k8s.io"));
        assert!(wants_aggregated(Some(
            crate::discovery::AGGREGATED_CONTENT_TYPE
        )));
        assert!(!wants_aggregated(Some("application/json")));
    }
}
