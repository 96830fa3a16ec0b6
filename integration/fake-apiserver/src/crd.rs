//! CustomResourceDefinition handling: turning a CRD object into a served
//! resource type, validating it, and the status the CRD controllers would set.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::registry::{FieldLabel, NameRule, Origin, ResourceDef, ServedVersion};
use crate::status::FieldCause;

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |cur, key| cur.get(key))
        .and_then(Value::as_str)
}

/// Validates a CRD object and derives the resource type it registers.
pub fn resource_def(crd: &Value) -> Result<ResourceDef, Vec<FieldCause>> {
    let mut causes = Vec::new();
    let group = str_at(crd, &["spec", "group"]).unwrap_or_default();
    let plural = str_at(crd, &["spec", "names", "plural"]).unwrap_or_default();
    let kind = str_at(crd, &["spec", "names", "kind"]).unwrap_or_default();
    if group.is_empty() {
        causes.push(FieldCause::required("spec.group", ""));
    } else if !group.contains('.') {
        causes.push(FieldCause::invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    if plural.is_empty() {
        causes.push(FieldCause::required("spec.names.plural", ""));
    }
    if kind.is_empty() {
        causes.push(FieldCause::required("spec.names.kind", ""));
    }
    let name = str_at(crd, &["metadata", "name"]).unwrap_or_default();
    let expected = format!("{plural}.{group}");
    if !plural.is_empty() && !group.is_empty() && name != expected {
        causes.push(FieldCause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let namespaced = match str_at(crd, &["spec", "scope"]) {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        Some(other) => {
            causes.push(FieldCause {
                reason: "FieldValueNotSupported",
                field: "spec.scope".into(),
                message: format!(
                    "Unsupported value: {}: supported values: \"Cluster\", \"Namespaced\"",
                    json!(other)
                ),
            });
            true
        }
        None => {
            causes.push(FieldCause::required("spec.scope", ""));
            true
        }
    };
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(FieldCause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    }
    let storage_count = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage_count != 1 {
        causes.push(FieldCause::invalid(
            "spec.versions",
            &json!(storage_count),
            "must have exactly one version marked as storage version",
        ));
    }
    let mut served = Vec::new();
    let mut field_labels: Vec<FieldLabel> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let Some(vname) = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            causes.push(FieldCause::required(format!("spec.versions[{i}].name"), ""));
            continue;
        };
        for sf in v
            .get("selectableFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(jp) = sf.get("jsonPath").and_then(Value::as_str) {
                let label = jp.trim_start_matches('.').to_string();
                if !field_labels.iter().any(|f| f.label == label) {
                    field_labels.push(FieldLabel::dotted(&label));
                }
            }
        }
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        served.push(ServedVersion {
            name: vname.to_string(),
            status_subresource: v.pointer("/subresources/status").is_some(),
        });
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let mut names: Vec<String> = served.iter().map(|v| v.name.clone()).collect();
    sort_by_version_priority(&mut names);
    let versions = names
        .iter()
        .filter_map(|n| served.iter().find(|v| &v.name == n).cloned())
        .collect();
    let short_names = crd
        .pointer("/spec/names/shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ResourceDef {
        group: group.to_string(),
        versions,
        plural: plural.to_string(),
        singular: str_at(crd, &["spec", "names", "singular"])
            .map_or_else(|| kind.to_lowercase(), str::to_string),
        kind: kind.to_string(),
        list_kind: str_at(crd, &["spec", "names", "listKind"])
            .map_or_else(|| format!("{kind}List"), str::to_string),
        namespaced,
        has_generation: true,
        unconditional_update: false,
        create_on_update: false,
        name_rule: NameRule::PathSegment,
        field_labels,
        short_names,
        origin: Origin::CustomResource {
            crd: name.to_string(),
        },
    })
}

/// The status the apiextensions controllers publish for an accepted CRD.
pub fn accepted_status(crd: &Value, now: &str) -> Value {
    let storage: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let condition = |ty: &str, reason: &str, message: &str| {
        json!({
            "type": ty,
            "status": "True",
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })
    };
    json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": storage,
    })
}

/// A version name parsed the way Kubernetes orders API versions.
#[derive(Debug, PartialEq, Eq)]
enum VersionPriority {
    /// `v<major>`, `v<major>beta<minor>`, `v<major>alpha<minor>`: stability rank (2 GA,
    /// 1 beta, 0 alpha), major, minor.
    KubeLike(u8, u64, u64),
    Other(String),
}

fn parse_version(v: &str) -> VersionPriority {
    let other = || VersionPriority::Other(v.to_string());
    let Some(rest) = v.strip_prefix('v') else {
        return other();
    };
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let Ok(major) = rest[..digits_end].parse::<u64>() else {
        return other();
    };
    let tail = &rest[digits_end..];
    if tail.is_empty() {
        return VersionPriority::KubeLike(2, major, 0);
    }
    for (prefix, rank) in [("beta", 1), ("alpha", 0)] {
        if let Some(minor) = tail.strip_prefix(prefix) {
            return match minor.parse::<u64>() {
                Ok(m) if !minor.starts_with('0') => VersionPriority::KubeLike(rank, major, m),
                _ => other(),
            };
        }
    }
    other()
}

fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (VersionPriority::KubeLike(ra, ma, na), VersionPriority::KubeLike(rb, mb, nb)) => {
            (rb, mb, nb).cmp(&(ra, ma, na))
        }
        (VersionPriority::KubeLike(..), VersionPriority::Other(_)) => Ordering::Less,
        (VersionPriority::Other(_), VersionPriority::KubeLike(..)) => Ordering::Greater,
        (VersionPriority::Other(x), VersionPriority::Other(y)) => x.cmp(&y),
    }
}

/// Sorts version names by Kubernetes version priority (GA, then beta, then alpha,
/// higher numbers first; non-Kubernetes-like names last, alphabetically).
pub fn sort_by_version_priority(versions: &mut [String]) {
    versions.sort_by(|a, b| compare_versions(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "pools.ferrolb.io"},
            "spec": {
                "group": "ferrolb.io",
                "scope": "Cluster",
                "names": {"plural": "pools", "kind": "Pool", "shortNames": ["lbp"]},
                "versions": [
                    {"name": "v1alpha1", "served": true, "storage": false},
                    {"name": "v1beta1", "served": true, "storage": true,
                     "subresources": {"status": {}},
                     "selectableFields": [{"jsonPath": ".spec.color"}]},
                    {"name": "v1alpha2", "served": false, "storage": false}
                ]
            }
        })
    }

    #[test]
    fn derives_resource_def() {
        let def = resource_def(&sample()).unwrap();
        assert_eq!(def.kind, "Pool");
        assert_eq!(def.list_kind, "PoolList");
        assert_eq!(def.singular, "pool");
        assert!(!def.namespaced);
        let names: Vec<&str> = def.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["v1beta1", "v1alpha1"]);
        assert!(def.has_status("v1beta1"));
        assert!(!def.has_status("v1alpha1"));
        assert_eq!(
            def.field_path("spec.color"),
            Some(vec!["spec".into(), "color".into()])
        );
        assert_eq!(def.short_names, ["lbp"]);
    }

    #[test]
    fn rejects_inconsistent_crds() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/metadata/name", json!("wrong"), "metadata.name"),
            ("/spec/scope", json!("Global"), "spec.scope"),
            ("/spec/group", json!("nodots"), "spec.group"),
            ("/spec/versions", json!([]), "spec.versions"),
            (
                "/spec/versions",
                json!([{"name": "v1", "served": true, "storage": false}]),
                "spec.versions",
            ),
        ];
        for (pointer, value, field) in cases {
            let mut crd = sample();
            *crd.pointer_mut(pointer).unwrap() = value;
            let causes = resource_def(&crd).unwrap_err();
            assert!(
                causes.iter().any(|c| c.field == field),
                "{pointer}: {causes:?}"
            );
        }
    }

    #[test]
    fn version_priority() {
        let mut v: Vec<String> = [
            "v1alpha1",
            "foo",
            "v2",
            "v1",
            "v1beta2",
            "v1beta1",
            "v10alpha3",
            "bar",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_by_version_priority(&mut v);
        assert_eq!(
            v,
            [
                "v2",
                "v1",
                "v1beta2",
                "v1beta1",
                "v10alpha3",
                "v1alpha1",
                "bar",
                "foo"
            ]
        );
    }

    #[test]
    fn accepted_status_is_established() {
        let st = accepted_status(&sample(), "2024-01-01T00:00:00Z");
        assert_eq!(st["storedVersions"], json!(["v1beta1"]));
        assert_eq!(st["conditions"][1]["type"], "Established");
        assert_eq!(st["conditions"][1]["status"], "True");
    }
}
