//! The set of resource types the server serves: the built-in ones and those
//! registered by `CustomResourceDefinition` objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::crd;
use crate::status::GroupResource;

/// How object names of a resource are validated (as the real API server does per type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 DNS subdomain (most resources).
    Subdomain,
    /// RFC 1123 DNS label (namespaces).
    Label1123,
    /// RFC 1035 DNS label (services).
    Label1035,
    /// Any name usable as a URL path segment (custom resources).
    PathSegment,
}

/// A field label usable in `fieldSelector`, and where its value lives in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLabel {
    /// The label as written in selectors, e.g. `spec.nodeName`.
    pub label: String,
    /// The JSON path segments of the value.
    pub path: Vec<String>,
}

impl FieldLabel {
    /// A label whose JSON path is the label itself split on dots.
    pub fn dotted(label: &str) -> Self {
        Self {
            label: label.to_string(),
            path: label.split('.').map(str::to_string).collect(),
        }
    }
}

/// One served version of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedVersion {
    /// The version name, e.g. `v1alpha1`.
    pub name: String,
    /// Whether `/status` is a subresource in this version.
    pub status_subresource: bool,
}

/// Where a resource type comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the server.
    Builtin,
    /// Registered by the named CustomResourceDefinition.
    CustomResource {
        /// The CRD's metadata.name (`<plural>.<group>`).
        crd: String,
    },
}

/// Everything the server needs to know to serve one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, empty for core.
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<ServedVersion>,
    /// Plural name used in URLs.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind of single objects.
    pub kind: String,
    /// Kind of list responses.
    pub list_kind: String,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Whether `metadata.generation` is maintained.
    pub has_generation: bool,
    /// Whether PUT without `metadata.resourceVersion` is accepted.
    pub unconditional_update: bool,
    /// Whether PUT of a missing object creates it.
    pub create_on_update: bool,
    /// Object name validation rule.
    pub name_rule: NameRule,
    /// Extra field labels beyond `metadata.name`/`metadata.namespace`.
    pub field_labels: Vec<FieldLabel>,
    /// Short names advertised by discovery.
    pub short_names: Vec<String>,
    /// Built-in or from a CRD.
    pub origin: Origin,
}

impl ResourceDef {
    /// The group-qualified resource name.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group.clone(), self.plural.clone())
    }

    /// `group/version` (or just `version` for core).
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// The served version with this name.
    pub fn version(&self, name: &str) -> Option<&ServedVersion> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// Whether the named version serves `/status`.
    pub fn has_status(&self, version: &str) -> bool {
        self.version(version).is_some_and(|v| v.status_subresource)
    }

    /// Whether `apiVersion` names one of this resource's served group/versions.
    pub fn serves_api_version(&self, api_version: &str) -> bool {
        self.versions
            .iter()
            .any(|v| self.api_version(&v.name) == api_version)
    }

    /// The JSON path for a field selector label, if the label is supported.
    pub fn field_path(&self, label: &str) -> Option<Vec<String>> {
        match label {
            "metadata.name" | "metadata.namespace" => Some(FieldLabel::dotted(label).path),
            _ => self
                .field_labels
                .iter()
                .find(|f| f.label == label)
                .map(|f| f.path.clone()),
        }
    }
}

/// The table of served resource types, keyed by group and plural.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    defs: BTreeMap<GroupResource, Arc<ResourceDef>>,
    /// Built-in groups in discovery order.
    builtin_groups: Vec<String>,
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    status: bool,
    generation: bool,
    create_on_update: bool,
    name_rule: NameRule,
    fields: &'static [&'static str],
    short_names: &'static [&'static str],
}

const fn builtin(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        status: false,
        generation: false,
        create_on_update: false,
        name_rule: NameRule::Subdomain,
        fields: &[],
        short_names: &[],
    }
}

impl Builtin {
    const fn status(mut self) -> Self {
        self.status = true;
        self
    }
    const fn generation(mut self) -> Self {
        self.generation = true;
        self
    }
    const fn create_on_update(mut self) -> Self {
        self.create_on_update = true;
        self
    }
    const fn names(mut self, rule: NameRule) -> Self {
        self.name_rule = rule;
        self
    }
    const fn fields(mut self, fields: &'static [&'static str]) -> Self {
        self.fields = fields;
        self
    }
    const fn short(mut self, short_names: &'static [&'static str]) -> Self {
        self.short_names = short_names;
        self
    }
}

const CORE_EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source.component",
    "type",
];

const EVENTS_V1_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "reason",
    "reportingController",
    "type",
];

fn builtins() -> Vec<Builtin> {
    use NameRule::*;
    vec![
        builtin("", "v1", "namespaces", "Namespace", false)
            .status()
            .names(Label1123)
            .fields(&["status.phase"])
            .short(&["ns"]),
        builtin("", "v1", "nodes", "Node", false)
            .status()
            .fields(&["spec.unschedulable"])
            .short(&["no"]),
        builtin("", "v1", "services", "Service", true)
            .status()
            .names(Label1035)
            .fields(&["spec.clusterIP", "spec.type"])
            .short(&["svc"]),
        builtin("", "v1", "endpoints", "Endpoints", true)
            .create_on_update()
            .short(&["ep"]),
        builtin("", "v1", "pods", "Pod", true)
            .status()
            .fields(&[
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ])
            .short(&["po"]),
        builtin("", "v1", "secrets", "Secret", true).fields(&["type"]),
        builtin("", "v1", "configmaps", "ConfigMap", true).short(&["cm"]),
        builtin("", "v1", "serviceaccounts", "ServiceAccount", true).short(&["sa"]),
        builtin("", "v1", "events", "Event", true)
            .create_on_update()
            .fields(CORE_EVENT_FIELDS)
            .short(&["ev"]),
        builtin("apps", "v1", "deployments", "Deployment", true)
            .status()
            .generation()
            .short(&["deploy"]),
        builtin("apps", "v1", "daemonsets", "DaemonSet", true)
            .status()
            .generation()
            .short(&["ds"]),
        builtin("events.k8s.io", "v1", "events", "Event", true)
            .create_on_update()
            .fields(EVENTS_V1_FIELDS)
            .short(&["ev"]),
        builtin("coordination.k8s.io", "v1", "leases", "Lease", true).create_on_update(),
        builtin(
            "discovery.k8s.io",
            "v1",
            "endpointslices",
            "EndpointSlice",
            true,
        )
        .generation(),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        )
        .status()
        .generation()
        .short(&["crd", "crds"]),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
        )
        .generation(),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
        )
        .generation(),
    ]
}

/// Whether a group/plural names a built-in resource (CRDs may not shadow one).
pub fn is_builtin_resource(gr: &GroupResource) -> bool {
    builtins()
        .iter()
        .any(|b| b.group == gr.group && b.plural == gr.resource)
}

impl Registry {
    /// The registry of built-in resource types.
    pub fn with_builtins() -> Self {
        let mut reg = Registry::default();
        for b in builtins() {
            if !b.group.is_empty() && !reg.builtin_groups.iter().any(|g| g == b.group) {
                reg.builtin_groups.push(b.group.to_string());
            }
            let def = ResourceDef {
                group: b.group.into(),
                versions: vec![ServedVersion {
                    name: b.version.into(),
                    status_subresource: b.status,
                }],
                plural: b.plural.into(),
                singular: b.kind.to_lowercase(),
                kind: b.kind.into(),
                list_kind: format!("{}List", b.kind),
                namespaced: b.namespaced,
                has_generation: b.generation,
                unconditional_update: true,
                create_on_update: b.create_on_update,
                name_rule: b.name_rule,
                field_labels: b.fields.iter().map(|f| FieldLabel::dotted(f)).collect(),
                short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
                origin: Origin::Builtin,
            };
            reg.defs.insert(def.group_resource(), Arc::new(def));
        }
        reg
    }

    /// The resource served at `group/version/plural`, if any.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.defs
            .get(&GroupResource::new(group, plural))
            .filter(|d| d.version(version).is_some())
            .cloned()
    }

    /// The resource with this group and plural, whatever its versions.
    pub fn get(&self, gr: &GroupResource) -> Option<Arc<ResourceDef>> {
        self.defs.get(gr).cloned()
    }

    /// Registers (or re-registers) the resource described by a CRD object.
    pub fn register_crd(&mut self, crd_obj: &Value) -> Result<Arc<ResourceDef>, String> {
        let def = crd::resource_def(crd_obj).map_err(|causes| {
            causes
                .iter()
                .map(|c| c.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let gr = def.group_resource();
        if let Some(existing) = self.defs.get(&gr) {
            if existing.origin == Origin::Builtin {
                return Err(format!("{gr} is a built-in resource"));
            }
        }
        let def = Arc::new(def);
        self.defs.insert(gr, def.clone());
        Ok(def)
    }

    /// Removes the resource registered by the named CRD, if any.
    pub fn unregister_crd(&mut self, crd_name: &str) -> Option<Arc<ResourceDef>> {
        let gr = self.get_crd_resource(crd_name)?;
        self.defs.remove(&gr)
    }

    /// The resource registered by the named CRD, if it is served.
    pub fn get_crd_resource(&self, crd_name: &str) -> Option<GroupResource> {
        self.defs
            .iter()
            .find(|(_, d)| matches!(&d.origin, Origin::CustomResource { crd } if crd == crd_name))
            .map(|(gr, _)| gr.clone())
    }

    /// All resources of one group/version, in a stable order.
    pub fn resources_in(&self, group: &str, version: &str) -> Vec<Arc<ResourceDef>> {
        self.defs
            .values()
            .filter(|d| d.group == group && d.version(version).is_some())
            .cloned()
            .collect()
    }

    /// All served API groups (excluding core) in discovery order, each with its versions
    /// (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut names: Vec<String> = self.builtin_groups.clone();
        let mut custom: Vec<String> = self
            .defs
            .values()
            .filter(|d| !d.group.is_empty() && !names.contains(&d.group))
            .map(|d| d.group.clone())
            .collect();
        custom.sort();
        custom.dedup();
        names.extend(custom);
        names
            .into_iter()
            .filter_map(|g| {
                let versions = self.group_versions(&g);
                (!versions.is_empty()).then_some((g, versions))
            })
            .collect()
    }

    /// The versions served in a group, preferred first.
    pub fn group_versions(&self, group: &str) -> Vec<String> {
        let mut versions: Vec<String> = Vec::new();
        for d in self.defs.values().filter(|d| d.group == group) {
            for v in &d.versions {
                if !versions.contains(&v.name) {
                    versions.push(v.name.clone());
                }
            }
        }
        crate::crd::sort_by_version_priority(&mut versions);
        versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_served_at_their_group_versions() {
        let reg = Registry::with_builtins();
        let cases = [
            ("", "v1", "services", Some(("Service", true))),
            ("", "v1", "nodes", Some(("Node", false))),
            ("coordination.k8s.io", "v1", "leases", Some(("Lease", true))),
            (
                "discovery.k8s.io",
                "v1",
                "endpointslices",
                Some(("EndpointSlice", true)),
            ),
            ("", "v2", "services", None),
            ("apps", "v1", "services", None),
        ];
        for (g, v, p, want) in cases {
            let got = reg.lookup(g, v, p).map(|d| (d.kind.clone(), d.namespaced));
            assert_eq!(got, want.map(|(k, n)| (k.to_string(), n)), "{g}/{v}/{p}");
        }
        let groups: Vec<String> = reg.groups().into_iter().map(|(g, _)| g).collect();
        assert_eq!(groups.first().map(String::as_str), Some("apps"));
        assert!(groups.contains(&"apiextensions.k8s.io".to_string()));
    }

    #[test]
    fn field_paths() {
        let reg = Registry::with_builtins();
        let pods = reg.lookup("", "v1", "pods").unwrap();
        assert_eq!(
            pods.field_path("spec.nodeName"),
            Some(vec!["spec".to_string(), "nodeName".to_string()])
        );
        assert!(pods.field_path("metadata.name").is_some());
        assert!(pods.field_path("spec.bogus").is_none());
    }
}
