//! Reading a Kubernetes Service: whether FerroLB handles it, what it asks
//! for, and what its status says it has. Pure functions.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::cached::CachedService;
use ferrolb_api::annotations::IP_ALLOCATED_FROM_POOL;
use ferrolb_api::{AddressFamily, ServiceAnnotations, ServiceReference};

use crate::allocator::{AllocationError, IpFamilyPolicy, PortKey, ServiceRequest, SharingInfo};

/// Whether FerroLB assigns addresses to a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// `type: LoadBalancer` of the handled class.
    Ours,
    /// Not `type: LoadBalancer` (any more).
    NotLoadBalancer,
    /// `type: LoadBalancer` of another `loadBalancerClass`: another
    /// implementation's business.
    OtherClass,
}

/// Whether FerroLB handles `service`, given the handled class (`None`:
/// Services without a class).
pub fn ownership(service: &CachedService, class: Option<&str>) -> Ownership {
    let spec = &service.spec;
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return Ownership::NotLoadBalancer;
    }
    if spec.load_balancer_class.as_deref() == class {
        Ownership::Ours
    } else {
        Ownership::OtherClass
    }
}

/// The Service's namespace and name.
pub fn service_ref(service: &CachedService) -> ServiceReference {
    ServiceReference {
        namespace: service.metadata.namespace.clone().unwrap_or_default(),
        name: service.metadata.name.clone().unwrap_or_default(),
    }
}

/// The addresses in `status.loadBalancer.ingress`, in order; entries
/// without a parsable `ip` are skipped.
pub fn ingress_ips(service: &CachedService) -> Vec<IpAddr> {
    service
        .ingress
        .iter()
        .filter_map(|ip| ip.as_deref()?.parse().ok())
        .collect()
}

/// Whether the status lists exactly `ips`, in order, and nothing else.
pub fn ingress_is(service: &CachedService, ips: &[IpAddr]) -> bool {
    let entries = &service.ingress;
    entries.len() == ips.len()
        && entries
            .iter()
            .zip(ips)
            .all(|(entry, ip)| entry.as_deref().and_then(|e| e.parse().ok()) == Some(*ip))
}

/// The pool FerroLB recorded in `ferrolb.io/ip-allocated-from-pool`.
pub fn recorded_pool(service: &CachedService) -> Option<&str> {
    service.annotations.get(IP_ALLOCATED_FROM_POOL)
}

/// What a Service asks the allocator for. `namespace_labels` are its
/// namespace's labels. Unusable annotations or spec fields are an
/// [`AllocationError::InvalidRequest`] naming them.
pub fn service_request(
    service: &CachedService,
    namespace_labels: BTreeMap<String, String>,
) -> Result<ServiceRequest, AllocationError> {
    let invalid = AllocationError::InvalidRequest;
    let spec = &service.spec;
    let annotations = ServiceAnnotations::parse(&service.annotations.to_map())
        .map_err(|e| invalid(e.to_string()))?;

    let primary_family = match spec.ip_families.first() {
        None => AddressFamily::V4,
        Some(f) if f == "IPv4" => AddressFamily::V4,
        Some(f) if f == "IPv6" => AddressFamily::V6,
        Some(other) => {
            return Err(invalid(format!(
                "spec.ipFamilies[0]: unknown family {other:?}"
            )))
        }
    };
    let family_policy = match spec.ip_family_policy.as_deref() {
        None | Some("SingleStack") => IpFamilyPolicy::SingleStack,
        Some("PreferDualStack") => IpFamilyPolicy::PreferDualStack,
        Some("RequireDualStack") => IpFamilyPolicy::RequireDualStack,
        Some(other) => {
            return Err(invalid(format!(
                "spec.ipFamilyPolicy: unknown policy {other:?}"
            )))
        }
    };

    let mut requested_ips = annotations.load_balancer_ips;
    if let Some(field) = spec.load_balancer_ip.as_deref().filter(|s| !s.is_empty()) {
        let ip: IpAddr = field.parse().map_err(|_| {
            invalid(format!(
                "spec.loadBalancerIP: {field:?} is not an IP address"
            ))
        })?;
        if requested_ips.is_empty() {
            requested_ips.push(ip);
        } else if !requested_ips.contains(&ip) {
            return Err(invalid(format!(
                "spec.loadBalancerIP {ip} is not among the addresses of the loadBalancerIPs annotation"
            )));
        }
    }

    let local_selector = (spec.external_traffic_policy.as_deref() == Some("Local")).then(|| {
        spec.selector
            .as_ref()
            .map(|s| s.to_map())
            .unwrap_or_default()
    });
    let ports = spec
        .ports
        .iter()
        .map(|p| PortKey {
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
            port: p.port,
        })
        .collect();

    Ok(ServiceRequest {
        service: service_ref(service),
        labels: service.labels.to_map(),
        namespace_labels,
        primary_family,
        family_policy,
        requested_ips,
        pool: annotations.address_pool,
        allocated_from_pool: annotations.ip_allocated_from_pool,
        sharing: SharingInfo {
            key: annotations.allow_shared_ip,
            local_selector,
            ports,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(value: serde_json::Value) -> CachedService {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ownership_follows_type_and_class() {
        let table = [
            (json!({"type": "LoadBalancer"}), None, Ownership::Ours),
            (
                json!({"type": "ClusterIP"}),
                None,
                Ownership::NotLoadBalancer,
            ),
            (json!({}), None, Ownership::NotLoadBalancer),
            (
                json!({"type": "LoadBalancer", "loadBalancerClass": "other.io/lb"}),
                None,
                Ownership::OtherClass,
            ),
            (
                json!({"type": "LoadBalancer", "loadBalancerClass": "ferrolb.io/ferrolb"}),
                Some("ferrolb.io/ferrolb"),
                Ownership::Ours,
            ),
            (
                json!({"type": "LoadBalancer"}),
                Some("ferrolb.io/ferrolb"),
                Ownership::OtherClass,
            ),
        ];
        for (spec, class, want) in table {
            let svc = service(json!({"metadata": {"name": "s"}, "spec": spec}));
            assert_eq!(ownership(&svc, class), want, "{spec} {class:?}");
        }
    }

    #[test]
    fn request_reads_spec_and_annotations() {
        let svc = service(json!({
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                "annotations": {
                    "metallb.universe.tf/address-pool": "public",
                    "ferrolb.io/allow-shared-ip": "k",
                    "ferrolb.io/loadBalancerIPs": "2001:db8::5, 192.0.2.5",
                }},
            "spec": {"type": "LoadBalancer", "ipFamilies": ["IPv6", "IPv4"],
                "ipFamilyPolicy": "RequireDualStack", "loadBalancerIP": "192.0.2.5",
                "externalTrafficPolicy": "Local", "selector": {"app": "web"},
                "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}, {"port": 443}]},
        }));
        let ns_labels: BTreeMap<String, String> = [("team".to_owned(), "a".to_owned())].into();
        let req = service_request(&svc, ns_labels.clone()).unwrap();
        assert_eq!(
            req.service,
            ServiceReference {
                namespace: "shop".into(),
                name: "web".into()
            }
        );
        assert_eq!(req.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(req.namespace_labels, ns_labels);
        assert_eq!(req.primary_family, AddressFamily::V6);
        assert_eq!(req.family_policy, IpFamilyPolicy::RequireDualStack);
        assert_eq!(
            req.requested_ips,
            vec![
                "2001:db8::5".parse::<IpAddr>().unwrap(),
                "192.0.2.5".parse().unwrap()
            ]
        );
        assert_eq!(req.pool.as_deref(), Some("public"));
        assert_eq!(req.sharing.key.as_deref(), Some("k"));
        assert_eq!(
            req.sharing.local_selector,
            Some([("app".to_owned(), "web".to_owned())].into())
        );
        let ports: Vec<String> = req.sharing.ports.iter().map(ToString::to_string).collect();
        assert_eq!(ports, ["TCP/80", "UDP/53", "TCP/443"]);

        let plain = service(json!({"metadata": {"name": "p", "namespace": "d"},
            "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.0.2.7"}}));
        let req = service_request(&plain, BTreeMap::new()).unwrap();
        assert_eq!(req.primary_family, AddressFamily::V4);
        assert_eq!(req.family_policy, IpFamilyPolicy::SingleStack);
        assert_eq!(
            req.requested_ips,
            vec!["192.0.2.7".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(req.sharing.local_selector, None);
    }

    #[test]
    fn unusable_requests_name_the_field() {
        let table = [
            (
                json!({"annotations": {"ferrolb.io/loadBalancerIPs": "banana"}}),
                json!({}),
                "annotation ferrolb.io/loadBalancerIPs: \"banana\" is not an IP address",
            ),
            (
                json!({}),
                json!({"loadBalancerIP": "nope"}),
                "spec.loadBalancerIP: \"nope\" is not an IP address",
            ),
            (
                json!({"annotations": {"ferrolb.io/loadBalancerIPs": "192.0.2.1"}}),
                json!({"loadBalancerIP": "192.0.2.2"}),
                "spec.loadBalancerIP 192.0.2.2 is not among the addresses of the loadBalancerIPs annotation",
            ),
            (
                json!({}),
                json!({"ipFamilyPolicy": "Sometimes"}),
                "spec.ipFamilyPolicy: unknown policy \"Sometimes\"",
            ),
        ];
        for (meta, spec, want) in table {
            let mut meta = meta;
            meta["name"] = json!("s");
            let mut spec = spec;
            spec["type"] = json!("LoadBalancer");
            let svc = service(json!({"metadata": meta, "spec": spec}));
            let err = service_request(&svc, BTreeMap::new()).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn status_and_recorded_pool() {
        let svc = service(json!({
            "metadata": {"name": "s", "annotations": {"ferrolb.io/ip-allocated-from-pool": "p"}},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example"}, {"ip": "2001:db8::1"}]}},
        }));
        let ips = ingress_ips(&svc);
        assert_eq!(ips.len(), 2);
        assert_eq!(recorded_pool(&svc), Some("p"));
        assert!(!ingress_is(&svc, &ips), "the hostname entry is not ours");
        let clean = service(json!({"metadata": {"name": "s"},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}));
        assert!(ingress_is(&clean, &["192.0.2.1".parse().unwrap()]));
        assert!(!ingress_is(&clean, &[]));
        assert!(ingress_is(
            &service(json!({"metadata": {"name": "s"}})),
            &[]
        ));
        assert_eq!(recorded_pool(&clean), None);
    }
}
