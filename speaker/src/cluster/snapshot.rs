//! Kubernetes objects turned into the decision's plain inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::annotations::ServiceAnnotations;
use ferrolb_api::crd::peer::PASSWORD_SECRET_KEY;
use ferrolb_api::{BFDProfile, BGPPeer, IPAddressPool, ServiceReference};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

use crate::bfd::PeerBfd;
use crate::bgp::PeerSession;
use crate::decision::{Endpoint, Labels, Named, NodeInfo, Pool, ServiceInfo, TrafficPolicy};

/// Label linking an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

fn labels_of(meta: &impl ResourceExt) -> Labels {
    meta.labels().clone()
}

/// A FerroLB object as the decision sees it.
pub fn named<K: ResourceExt, T: Clone>(object: &K, spec: &T) -> Named<T> {
    Named {
        name: object.name_any(),
        labels: labels_of(object),
        spec: spec.clone(),
    }
}

/// A Node's labels and conditions.
pub fn node_info(node: &Node) -> NodeInfo {
    let condition = |kind: &str| {
        node.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == kind))
            .map(|c| c.status == "True")
    };
    NodeInfo {
        labels: labels_of(node),
        ready: condition("Ready").unwrap_or(false),
        network_unavailable: condition("NetworkUnavailable").unwrap_or(false),
    }
}

/// The first InternalIP of `node` in each family.
pub fn internal_ips(node: &Node) -> Vec<IpAddr> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect()
}

/// A pool with the blocks that parse (the controller reports the others).
pub fn pool(pool: &IPAddressPool) -> Pool {
    Pool {
        name: pool.name_any(),
        labels: labels_of(pool),
        blocks: pool
            .spec
            .addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect(),
    }
}

/// A `LoadBalancer` Service with addresses and its endpoints, or `None` for
/// any other Service.
pub fn service_info<'a>(
    service: &Service,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> Option<ServiceInfo> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return None;
    }
    let ips: Vec<IpAddr> = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse().ok())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ips.is_empty() {
        return None;
    }
    let traffic_policy = match spec.external_traffic_policy.as_deref() {
        Some("Local") => TrafficPolicy::Local,
        _ => TrafficPolicy::Cluster,
    };
    // An unparsable annotation is the controller's to report; the pool is
    // then found by address.
    let pool = ServiceAnnotations::parse(service.annotations())
        .ok()
        .and_then(|a| a.ip_allocated_from_pool);
    let endpoints = slices
        .into_iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e| {
            let conditions = e.conditions.as_ref();
            // Unset `ready` means ready; unset `serving` follows `ready`.
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
            let serving = conditions.and_then(|c| c.serving).unwrap_or(ready);
            Endpoint {
                node: e.node_name.clone(),
                ready,
                serving,
            }
        })
        .collect();
    Some(ServiceInfo {
        id: ServiceReference {
            namespace: service.namespace().unwrap_or_default(),
            name: service.name_any(),
        },
        ips,
        traffic_policy,
        labels: labels_of(service),
        pool,
        endpoints,
    })
}

/// Groups EndpointSlices by the Service they belong to.
pub fn slices_by_service<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> BTreeMap<ServiceReference, Vec<&'a EndpointSlice>> {
    let mut by_service: BTreeMap<ServiceReference, Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in slices {
        if let Some(name) = slice.labels().get(SERVICE_NAME_LABEL) {
            let id = ServiceReference {
                namespace: slice.namespace().unwrap_or_default(),
                name: name.clone(),
            };
            by_service.entry(id).or_default().push(slice);
        }
    }
    by_service
}

/// The session settings of `peer`, with its MD5 password looked up among
/// `secrets` and its BFDProfile among `profiles` (those of the speaker's
/// namespace). A missing profile is reported in the session's BFD status,
/// not a reason to skip the BGP session.
pub fn peer_session(
    peer: &BGPPeer,
    secrets: &[std::sync::Arc<Secret>],
    profiles: &[std::sync::Arc<BFDProfile>],
) -> Result<PeerSession, String> {
    let password = match &peer.spec.password_secret {
        None => None,
        Some(reference) => {
            let name = reference.name.as_deref().unwrap_or_default();
            let namespace = reference
                .namespace
                .clone()
                .or_else(|| peer.namespace())
                .unwrap_or_default();
            let secret = secrets
                .iter()
                .find(|s| s.name_any() == name && s.namespace().as_deref() == Some(&namespace))
                .ok_or_else(|| format!("password Secret {namespace}/{name} not found"))?;
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(PASSWORD_SECRET_KEY))
                .ok_or_else(|| {
                    format!("Secret {namespace}/{name} has no key {PASSWORD_SECRET_KEY:?}")
                })?;
            let password = String::from_utf8(bytes.0.clone())
                .map_err(|_| format!("Secret {namespace}/{name}: password is not UTF-8"))?;
            Some(password)
        }
    };
    let bfd = peer.spec.bfd_profile.as_ref().map(|name| PeerBfd {
        profile: name.clone(),
        spec: profiles
            .iter()
            .find(|p| p.name_any() == *name)
            .map(|p| p.spec.clone()),
    });
    Ok(PeerSession {
        spec: peer.spec.clone(),
        password,
        bfd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn load_balancer_service_with_endpoints() {
        let svc: Service = yaml(
            "metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {ferrolb.io/ip-allocated-from-pool: p}}\n\
             spec: {type: LoadBalancer, externalTrafficPolicy: Local}\n\
             status: {loadBalancer: {ingress: [{ip: 192.0.2.1}, {ip: \"2001:db8::1\"}, {hostname: x}]}}",
        );
        let slice: EndpointSlice = yaml(
            "metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n\
             addressType: IPv4\n\
             endpoints:\n\
             - {addresses: [10.0.0.1], nodeName: n1}\n\
             - {addresses: [10.0.0.2], nodeName: n2, conditions: {ready: false, serving: true, terminating: true}}\n\
             - {addresses: [10.0.0.3], nodeName: n3, conditions: {ready: false}}",
        );
        let by_service = slices_by_service([&slice]);
        let info = service_info(
            &svc,
            by_service[&ServiceReference {
                namespace: "shop".into(),
                name: "web".into(),
            }]
                .iter()
                .copied(),
        )
        .unwrap();
        assert_eq!(info.ips.len(), 2);
        assert_eq!(info.traffic_policy, TrafficPolicy::Local);
        assert_eq!(info.pool.as_deref(), Some("p"));
        let states: Vec<(bool, bool)> = info
            .endpoints
            .iter()
            .map(|e| (e.ready, e.serving))
            .collect();
        assert_eq!(states, [(true, true), (false, true), (false, false)]);

        let cluster_ip: Service = yaml("metadata: {name: c}\nspec: {type: ClusterIP}");
        assert_eq!(service_info(&cluster_ip, []), None);
        let pending: Service = yaml("metadata: {name: c}\nspec: {type: LoadBalancer}");
        assert_eq!(service_info(&pending, []), None);
    }

    #[test]
    fn node_conditions() {
        let node: Node = yaml(
            "metadata: {name: n1}\nstatus:\n  conditions: [{type: Ready, status: \"True\"}, {type: NetworkUnavailable, status: \"True\"}]\n  addresses: [{type: InternalIP, address: 198.18.0.2}, {type: Hostname, address: n1}]",
        );
        let info = node_info(&node);
        assert!(info.ready && info.network_unavailable && !info.is_eligible());
        assert_eq!(
            internal_ips(&node),
            ["198.18.0.2".parse::<IpAddr>().unwrap()]
        );
        assert!(!node_info(&yaml::<Node>("metadata: {name: n2}")).ready);
    }

    #[test]
    fn peer_password_from_secret() {
        let peer: BGPPeer = yaml(
            "metadata: {name: r, namespace: ferrolb-system}\nspec: {myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, passwordSecret: {name: auth}}",
        );
        assert!(peer_session(&peer, &[], &[])
            .unwrap_err()
            .contains("not found"));
        let secret: Secret = yaml("metadata: {name: auth, namespace: ferrolb-system}\nstringData: {}\ndata: {password: c2VjcmV0}");
        let session = peer_session(&peer, &[std::sync::Arc::new(secret)], &[]).unwrap();
        assert_eq!(session.password.as_deref(), Some("secret"));
        assert_eq!(session.bfd, None);
    }

    #[test]
    fn peer_bfd_profile_is_resolved() {
        let peer: BGPPeer = yaml(
            "metadata: {name: r, namespace: ferrolb-system}\nspec: {myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, bfdProfile: fast}",
        );
        let fast: BFDProfile = yaml(
            "metadata: {name: fast, namespace: ferrolb-system}\nspec: {receiveInterval: 50, transmitInterval: 50}",
        );
        let other: BFDProfile = yaml("metadata: {name: slow, namespace: ferrolb-system}\nspec: {}");
        let profiles = [std::sync::Arc::new(other), std::sync::Arc::new(fast)];
        let bfd = peer_session(&peer, &[], &profiles).unwrap().bfd.unwrap();
        assert_eq!(bfd.profile, "fast");
        assert_eq!(bfd.spec.unwrap().receive_interval, Some(50));
        // A missing profile still yields the BGP session; BFD reports it.
        let missing = peer_session(&peer, &[], &profiles[..1])
            .unwrap()
            .bfd
            .unwrap();
        assert_eq!((missing.profile.as_str(), missing.spec), ("fast", None));
    }
}
