//! The Services as the controller caches them: only what allocation reads.
//!
//! The controller watches every Service of the cluster and keeps each one in
//! memory. A full `k8s_openapi` Service costs about 2 KB even when nearly
//! empty (a 400-byte spec of options, a kilobyte-sized B-tree node for each
//! label or annotation map); with 10,000 Services that is most of the
//! process. [`CachedService`] is deserialized straight from the API
//! server's JSON with the fields allocation needs, so nothing else is ever
//! built: labels and FerroLB's (and MetalLB's) annotations as short sorted
//! vectors, the few spec fields, and the ingress addresses.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use kube::api::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Deserializer};

/// `key=value` pairs sorted by key: a label map or selector that costs a
/// few dozen bytes instead of a B-tree node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn from_map(map: BTreeMap<String, String>) -> Pairs {
        // A BTreeMap iterates in key order: the vector is sorted.
        Pairs(map.into_iter().collect())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        self.0.get(i).map(|(_, v)| v.as_str())
    }

    /// As a map, for the code that matches selectors.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One `spec.ports` entry: what IP sharing compares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CachedPort {
    /// `TCP` (the default), `UDP` or `SCTP`.
    pub protocol: Option<String>,
    /// The Service port.
    pub port: i32,
}

/// The spec fields allocation reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedSpec {
    /// `spec.type`.
    pub type_: Option<String>,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
    /// `spec.loadBalancerIP`.
    pub load_balancer_ip: Option<String>,
    /// `spec.ipFamilies`.
    pub ip_families: Vec<String>,
    /// `spec.ipFamilyPolicy`.
    pub ip_family_policy: Option<String>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: Option<String>,
    /// `spec.selector`.
    pub selector: Option<Pairs>,
    /// `spec.ports`.
    pub ports: Vec<CachedPort>,
}

/// A Service as the controller keeps it (see the module documentation).
/// Its Kubernetes identity is the Service's: it is read with `Api`,
/// watched and cached like one.
#[derive(Debug, Clone, Default, Resource)]
#[resource(inherit = "Service")]
pub struct CachedService {
    /// Name, namespace, uid, resourceVersion and creation time; labels,
    /// annotations and the rest of the metadata are left out.
    pub metadata: ObjectMeta,
    /// `metadata.labels` (pools select Services by them).
    pub labels: Pairs,
    /// The `metadata.annotations` under FerroLB's and MetalLB's prefixes.
    pub annotations: Pairs,
    /// What allocation reads of the spec.
    pub spec: CachedSpec,
    /// `status.loadBalancer.ingress[].ip`, as written (entries without an
    /// `ip` as `None`).
    pub ingress: Vec<Option<String>>,
}

/// The JSON shape read; everything else is skipped while parsing.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireSpec>,
    #[serde(default)]
    status: Option<WireStatus>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    deletion_timestamp: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSpec {
    #[serde(rename = "type")]
    type_: Option<String>,
    load_balancer_class: Option<String>,
    #[serde(rename = "loadBalancerIP")]
    load_balancer_ip: Option<String>,
    ip_families: Option<Vec<String>>,
    ip_family_policy: Option<String>,
    external_traffic_policy: Option<String>,
    selector: Option<BTreeMap<String, String>>,
    ports: Option<Vec<CachedPort>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStatus {
    load_balancer: Option<WireLoadBalancer>,
}

#[derive(Deserialize)]
struct WireLoadBalancer {
    ingress: Option<Vec<WireIngress>>,
}

#[derive(Deserialize)]
struct WireIngress {
    ip: Option<String>,
}

impl<'de> Deserialize<'de> for CachedService {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let meta = wire.metadata;
        let annotations = meta
            .annotations
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| {
                ferrolb_api::annotations::PREFIXES
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
            });
        let spec = wire.spec.map(|s| CachedSpec {
            type_: s.type_,
            load_balancer_class: s.load_balancer_class,
            load_balancer_ip: s.load_balancer_ip,
            ip_families: s.ip_families.unwrap_or_default(),
            ip_family_policy: s.ip_family_policy,
            external_traffic_policy: s.external_traffic_policy,
            selector: s.selector.map(Pairs::from_map),
            ports: s.ports.unwrap_or_default(),
        });
        let ingress = wire
            .status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .map(|list| list.into_iter().map(|i| i.ip).collect())
            .unwrap_or_default();
        Ok(CachedService {
            metadata: ObjectMeta {
                name: meta.name,
                namespace: meta.namespace,
                uid: meta.uid,
                resource_version: meta.resource_version,
                creation_timestamp: meta.creation_timestamp,
                deletion_timestamp: meta.deletion_timestamp,
                ..ObjectMeta::default()
            },
            labels: Pairs::from_map(meta.labels.unwrap_or_default()),
            annotations: Pairs::from_map(annotations.collect()),
            spec: spec.unwrap_or_default(),
            ingress,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_allocation_reads_and_nothing_else() {
        let s: CachedService = serde_json::from_value(json!({
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"tier": "front", "app": "web"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"big\": true}",
                    "ferrolb.io/address-pool": "blue",
                    "metallb.io/allow-shared-ip": "k",
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
                "finalizers": ["x"],
            },
            "spec": {
                "type": "LoadBalancer", "loadBalancerIP": "192.0.2.7", "clusterIP": "10.0.0.9",
                "loadBalancerClass": "c", "externalTrafficPolicy": "Local",
                "selector": {"app": "web"}, "ipFamilies": ["IPv4", "IPv6"],
                "ipFamilyPolicy": "PreferDualStack",
                "ports": [{"name": "http", "port": 80, "protocol": "UDP", "nodePort": 30080,
                           "targetPort": 8080}],
            },
            "status": {
                "loadBalancer": {"ingress": [{"ip": "192.0.2.7"}, {"hostname": "x"}]},
                "conditions": [{"type": "x", "status": "True", "reason": "r", "message": "m",
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            },
        }))
        .unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("web"));
        assert_eq!(s.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(s.metadata.uid.as_deref(), Some("u-1"));
        assert_eq!(s.metadata.resource_version.as_deref(), Some("7"));
        assert!(s.metadata.creation_timestamp.is_some());
        assert_eq!(s.metadata.managed_fields, None);
        assert_eq!(s.metadata.finalizers, None);
        assert_eq!(s.labels.get("tier"), Some("front"));
        assert_eq!(s.labels.get("app"), Some("web"));
        assert_eq!(s.labels.get("nope"), None);
        assert_eq!(
            s.annotations.to_map().keys().collect::<Vec<_>>(),
            ["ferrolb.io/address-pool", "metallb.io/allow-shared-ip"]
        );
        assert_eq!(
            s.spec,
            CachedSpec {
                type_: Some("LoadBalancer".into()),
                load_balancer_class: Some("c".into()),
                load_balancer_ip: Some("192.0.2.7".into()),
                ip_families: vec!["IPv4".into(), "IPv6".into()],
                ip_family_policy: Some("PreferDualStack".into()),
                external_traffic_policy: Some("Local".into()),
                selector: Some(Pairs(vec![("app".into(), "web".into())])),
                ports: vec![CachedPort {
                    protocol: Some("UDP".into()),
                    port: 80
                }],
            }
        );
        assert_eq!(s.ingress, [Some("192.0.2.7".to_owned()), None]);
    }

    #[test]
    fn has_the_identity_of_a_service() {
        assert_eq!(CachedService::kind(&()), "Service");
        assert_eq!(CachedService::api_version(&()), "v1");
        assert_eq!(CachedService::plural(&()), "services");
        let empty: CachedService = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty.spec, CachedSpec::default());
        assert!(empty.labels.is_empty() && empty.ingress.is_empty());
    }
}
