//! What to do about one Service — which addresses it should have, and which
//! writes and Event bring the cluster there — and rebuilding the
//! allocation state from Service statuses. Pure functions over the
//! allocator and plain objects.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::cached::CachedService;
use ferrolb_api::ServiceReference;

use super::service::{
    ingress_ips, ingress_is, ownership, recorded_pool, service_ref, service_request, Ownership,
};
use crate::allocator::{Allocation, AllocationError, Allocator, Pool, ServiceRequest};

/// The allocator's verdict for one Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Another implementation's Service: leave it alone.
    Ignore,
    /// The Service should have these addresses.
    Assigned(Allocation),
    /// The Service gets no address, for this reason.
    Failed(AllocationError),
    /// The Service no longer wants addresses; it held these, if any.
    Released(Option<Allocation>),
}

/// Decides `service`'s addresses, updating the allocator.
/// `namespace_labels` are the labels of the Service's namespace.
pub fn decide(
    allocator: &mut Allocator,
    service: &CachedService,
    namespace_labels: BTreeMap<String, String>,
    class: Option<&str>,
) -> Decision {
    let key = service_ref(service);
    match ownership(service, class) {
        Ownership::OtherClass => {
            // The class cannot change on a LoadBalancer Service, so this
            // holds nothing; release defensively all the same.
            allocator.release(&key);
            Decision::Ignore
        }
        Ownership::NotLoadBalancer => Decision::Released(allocator.release(&key)),
        Ownership::Ours => {
            match service_request(service, namespace_labels).and_then(|r| allocator.assign(&r)) {
                Ok(allocation) => Decision::Assigned(allocation),
                Err(error) => {
                    allocator.release(&key);
                    Decision::Failed(error)
                }
            }
        }
    }
}

/// The kinds of Event the controller emits on Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Addresses assigned (Normal).
    IpAllocated,
    /// No address could be assigned (Warning).
    AllocationFailed,
    /// Addresses taken back (Normal).
    IpReleased,
}

impl EventKind {
    /// The Event's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            EventKind::IpAllocated => "IPAllocated",
            EventKind::AllocationFailed => "AllocationFailed",
            EventKind::IpReleased => "IPReleased",
        }
    }

    /// Whether the Event is a Warning rather than Normal.
    pub fn is_warning(self) -> bool {
        self == EventKind::AllocationFailed
    }
}

/// An Event to emit on the Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Which Event.
    pub kind: EventKind,
    /// Its message.
    pub note: String,
}

/// The writes that bring a Service in line with a [`Decision`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New `status.loadBalancer.ingress` addresses (empty: clear it).
    pub ingress: Option<Vec<IpAddr>>,
    /// New `ferrolb.io/ip-allocated-from-pool` value (`None`: remove it).
    pub recorded_pool: Option<Option<String>>,
    /// The Event to emit.
    pub event: Option<PlannedEvent>,
}

impl Plan {
    /// Whether nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.ingress.is_none() && self.recorded_pool.is_none() && self.event.is_none()
    }
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The writes for `decision` on `service` as it is now. `last_event` is
/// the last Event emitted for it: the same Event is not emitted twice in a
/// row (a failure is reported once, not on every pass; a cache that has not
/// seen the last write yet does not cause a second `IPAllocated`).
pub fn plan(
    service: &CachedService,
    decision: &Decision,
    last_event: Option<&PlannedEvent>,
) -> Plan {
    let mut plan = plan_writes(service, decision);
    if plan.event.is_some() && plan.event.as_ref() == last_event {
        plan.event = None;
    }
    plan
}

fn plan_writes(service: &CachedService, decision: &Decision) -> Plan {
    let current = ingress_ips(service);
    let recorded = recorded_pool(service);
    match decision {
        Decision::Ignore => Plan::default(),
        Decision::Assigned(allocation) => {
            let moved = !ingress_is(service, &allocation.ips);
            let event = moved.then(|| {
                let mut note = format!(
                    "Assigned {} from IPAddressPool {:?}",
                    list(&allocation.ips),
                    allocation.pool
                );
                if !current.is_empty() {
                    note.push_str(&format!(" (was {})", list(&current)));
                }
                PlannedEvent {
                    kind: EventKind::IpAllocated,
                    note,
                }
            });
            Plan {
                ingress: moved.then(|| allocation.ips.clone()),
                recorded_pool: (recorded != Some(allocation.pool.as_str()))
                    .then(|| Some(allocation.pool.clone())),
                event,
            }
        }
        Decision::Failed(error) => {
            let note = error.to_string();
            Plan {
                ingress: (!ingress_is(service, &[])).then(Vec::new),
                recorded_pool: recorded.is_some().then_some(None),
                event: Some(PlannedEvent {
                    kind: EventKind::AllocationFailed,
                    note,
                }),
            }
        }
        Decision::Released(released) => {
            // Clear only what FerroLB wrote: addresses it held, or marked
            // with its annotation.
            if released.is_none() && recorded.is_none() {
                return Plan::default();
            }
            let ips = released.as_ref().map_or(current.clone(), |a| a.ips.clone());
            Plan {
                ingress: (!ingress_is(service, &[])).then(Vec::new),
                recorded_pool: recorded.is_some().then_some(None),
                event: (!ips.is_empty()).then(|| PlannedEvent {
                    kind: EventKind::IpReleased,
                    note: format!(
                        "Released {}: the Service is no longer of type LoadBalancer",
                        list(&ips)
                    ),
                }),
            }
        }
    }
}

/// A Service whose recorded addresses could not be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreConflict {
    /// The Service.
    pub service: ServiceReference,
    /// Its recorded addresses.
    pub ips: Vec<IpAddr>,
    /// Why they could not be restored.
    pub error: AllocationError,
}

/// Rebuilds the allocation state from what the cluster records: sets the
/// pools, then gives every handled Service the addresses its status lists,
/// oldest Service first (so if two claim an address without being allowed
/// to share it, the older keeps it). Returns how many Services were
/// restored, and the conflicts.
pub fn rebuild(
    allocator: &mut Allocator,
    pools: Vec<Pool>,
    services: &[Arc<CachedService>],
    namespace_labels: impl Fn(&str) -> BTreeMap<String, String>,
    class: Option<&str>,
) -> (usize, Vec<RestoreConflict>) {
    allocator.set_pools(pools);
    let mut holders: Vec<(&CachedService, Vec<IpAddr>)> = services
        .iter()
        .filter(|s| ownership(s, class) == Ownership::Ours)
        .map(|s| (s.as_ref(), ingress_ips(s)))
        .filter(|(_, ips)| !ips.is_empty())
        .collect();
    holders.sort_by(|(a, _), (b, _)| oldest_first(a, b));
    let mut restored = 0;
    let mut conflicts = Vec::new();
    for (service, ips) in holders {
        let key = service_ref(service);
        let labels = namespace_labels(&key.namespace);
        // A Service whose annotations became unusable still holds its
        // addresses until its reconcile says otherwise.
        let request = service_request(service, labels).unwrap_or_else(|_| ServiceRequest {
            service: key.clone(),
            ..ServiceRequest::default()
        });
        match allocator.restore(&request, &ips) {
            Ok(_) => restored += 1,
            Err(error) => conflicts.push(RestoreConflict {
                service: key,
                ips,
                error,
            }),
        }
    }
    (restored, conflicts)
}

/// Decides, oldest first, for the handled Services among `services` that
/// hold no addresses, so that Services competing for addresses (after a
/// restart, or when a pool changes or addresses free up) get them in a fixed
/// order rather than in the order their reconciles happen to run. Services
/// whose namespace labels are unknown are left to their reconcile. Returns
/// how many got addresses.
pub fn assign_waiting(
    allocator: &mut Allocator,
    services: &[Arc<CachedService>],
    namespace_labels: impl Fn(&str) -> Option<BTreeMap<String, String>>,
    class: Option<&str>,
) -> usize {
    let mut waiting: Vec<&CachedService> = services
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| ownership(s, class) == Ownership::Ours)
        .filter(|s| allocator.allocation(&service_ref(s)).is_none())
        .collect();
    waiting.sort_by(|a, b| oldest_first(a, b));
    let mut assigned = 0;
    for service in waiting {
        let Some(labels) = namespace_labels(&service_ref(service).namespace) else {
            continue;
        };
        if matches!(
            decide(allocator, service, labels, class),
            Decision::Assigned(_)
        ) {
            assigned += 1;
        }
    }
    assigned
}

/// Creation time, then namespace and name. `None` (never in practice)
/// sorts first.
fn oldest_first(a: &CachedService, b: &CachedService) -> Ordering {
    age_key(a).cmp(&age_key(b))
}

fn age_key(
    s: &CachedService,
) -> (
    Option<k8s_openapi::jiff::Timestamp>,
    Option<&str>,
    Option<&str>,
) {
    let meta = &s.metadata;
    (
        meta.creation_timestamp.as_ref().map(|t| t.0),
        meta.namespace.as_deref(),
        meta.name.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrolb_api::IPAddressPoolSpec;
    use serde_json::json;

    fn service(value: serde_json::Value) -> CachedService {
        serde_json::from_value(value).unwrap()
    }

    fn lb(name: &str, extra_meta: serde_json::Value, status_ips: &[&str]) -> CachedService {
        let mut meta = json!({"name": name, "namespace": "default"});
        if let (Some(m), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
            m.extend(extra.clone());
        }
        let ingress: Vec<_> = status_ips.iter().map(|ip| json!({"ip": ip})).collect();
        service(json!({
            "metadata": meta,
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": ingress}},
        }))
    }

    fn allocator(yaml: &str) -> Allocator {
        let spec: IPAddressPoolSpec = serde_yaml::from_str(yaml).unwrap();
        let mut a = Allocator::new();
        a.set_pools([Pool::new("p", &spec).unwrap()]);
        a
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn new_service_gets_status_annotation_and_event() {
        let mut a = allocator("addresses: [192.0.2.0/30]");
        let svc = lb("web", json!({}), &[]);
        let d = decide(&mut a, &svc, BTreeMap::new(), None);
        assert_eq!(
            d,
            Decision::Assigned(Allocation {
                pool: "p".into(),
                ips: vec![ip("192.0.2.0")]
            })
        );
        assert_eq!(
            plan(&svc, &d, None),
            Plan {
                ingress: Some(vec![ip("192.0.2.0")]),
                recorded_pool: Some(Some("p".into())),
                event: Some(PlannedEvent {
                    kind: EventKind::IpAllocated,
                    note: "Assigned 192.0.2.0 from IPAddressPool \"p\"".into()
                }),
            }
        );
        // A cache that has not caught up: the status is written again (a
        // no-op), but the Event is not repeated.
        let event = plan(&svc, &d, None).event;
        let again = plan(&svc, &d, event.as_ref());
        assert_eq!(again.event, None);
        assert!(again.ingress.is_some());
        // Once written, nothing more to do.
        let done = lb(
            "web",
            json!({"annotations": {"ferrolb.io/ip-allocated-from-pool": "p"}}),
            &["192.0.2.0"],
        );
        assert!(plan(&done, &decide(&mut a, &done, BTreeMap::new(), None), None).is_empty());
    }

    #[test]
    fn failures_clear_the_status_and_are_reported_once() {
        let mut a = allocator("addresses: [192.0.2.0/30]");
        let svc = lb(
            "web",
            json!({"annotations": {"ferrolb.io/address-pool": "gone",
                "ferrolb.io/ip-allocated-from-pool": "p"}}),
            &["192.0.2.3"],
        );
        let d = decide(&mut a, &svc, BTreeMap::new(), None);
        let note = "IPAddressPool \"gone\" does not exist";
        assert_eq!(
            plan(&svc, &d, None),
            Plan {
                ingress: Some(vec![]),
                recorded_pool: Some(None),
                event: Some(PlannedEvent {
                    kind: EventKind::AllocationFailed,
                    note: note.into()
                }),
            }
        );
        let cleared = lb(
            "web",
            json!({"annotations": {"ferrolb.io/address-pool": "gone"}}),
            &[],
        );
        let reported = PlannedEvent {
            kind: EventKind::AllocationFailed,
            note: note.into(),
        };
        assert!(plan(&cleared, &d, Some(&reported)).is_empty());
        let bad = lb(
            "bad",
            json!({"annotations": {"ferrolb.io/loadBalancerIPs": "x"}}),
            &[],
        );
        let d = decide(&mut a, &bad, BTreeMap::new(), None);
        assert_eq!(
            plan(&bad, &d, None).event.unwrap().note,
            "annotation ferrolb.io/loadBalancerIPs: \"x\" is not an IP address"
        );
    }

    #[test]
    fn type_change_releases_and_other_classes_are_ignored() {
        let mut a = allocator("addresses: [192.0.2.0/30]");
        let svc = lb("web", json!({}), &[]);
        decide(&mut a, &svc, BTreeMap::new(), None);
        let now_cluster_ip = service(json!({
            "metadata": {"name": "web", "namespace": "default",
                "annotations": {"ferrolb.io/ip-allocated-from-pool": "p"}},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.0"}]}},
        }));
        let d = decide(&mut a, &now_cluster_ip, BTreeMap::new(), None);
        assert_eq!(
            plan(&now_cluster_ip, &d, None),
            Plan {
                ingress: Some(vec![]),
                recorded_pool: Some(None),
                event: Some(PlannedEvent {
                    kind: EventKind::IpReleased,
                    note: "Released 192.0.2.0: the Service is no longer of type LoadBalancer"
                        .into()
                }),
            }
        );
        assert_eq!(a.allocations().count(), 0);
        // Never ours: untouched.
        let plain = service(json!({"metadata": {"name": "x", "namespace": "default"},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}));
        assert!(plan(&plain, &decide(&mut a, &plain, BTreeMap::new(), None), None).is_empty());
        let foreign = service(json!({"metadata": {"name": "f", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "loadBalancerClass": "other.io/lb", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}));
        let d = decide(&mut a, &foreign, BTreeMap::new(), None);
        assert_eq!(d, Decision::Ignore);
        assert!(plan(&foreign, &d, None).is_empty());
    }

    #[test]
    fn rebuild_restores_statuses_oldest_first() {
        let mut a = allocator("addresses: [192.0.2.0/30]");
        let services = vec![
            Arc::new(lb(
                "young",
                json!({"creationTimestamp": "2025-01-02T00:00:00Z"}),
                &["192.0.2.1"],
            )),
            Arc::new(lb(
                "old",
                json!({"creationTimestamp": "2025-01-01T00:00:00Z"}),
                &["192.0.2.1"],
            )),
            Arc::new(lb(
                "other",
                json!({"creationTimestamp": "2025-01-03T00:00:00Z"}),
                &["192.0.2.2"],
            )),
            Arc::new(lb("outside", json!({}), &["198.51.100.1"])),
            Arc::new(lb("none", json!({}), &[])),
        ];
        let pools: Vec<Pool> = a.pools().cloned().collect();
        let (restored, conflicts) = rebuild(&mut a, pools, &services, |_| BTreeMap::new(), None);
        assert_eq!(restored, 2);
        let names: Vec<&str> = conflicts.iter().map(|c| c.service.name.as_str()).collect();
        assert_eq!(names, ["outside", "young"]);
        let key = |n: &str| ServiceReference {
            namespace: "default".into(),
            name: n.into(),
        };
        assert_eq!(
            a.allocation(&key("old")).unwrap().ips,
            vec![ip("192.0.2.1")]
        );
        assert_eq!(
            a.allocation(&key("other")).unwrap().ips,
            vec![ip("192.0.2.2")]
        );
        // The loser gets a fresh address on its next reconcile.
        let d = decide(&mut a, &services[0], BTreeMap::new(), None);
        assert_eq!(
            plan(&services[0], &d, None).event.unwrap().note,
            "Assigned 192.0.2.0 from IPAddressPool \"p\" (was 192.0.2.1)"
        );
    }

    #[test]
    fn waiting_services_are_served_oldest_first() {
        let mut a = allocator("addresses: [192.0.2.0/31]");
        let services = vec![
            Arc::new(lb(
                "c",
                json!({"creationTimestamp": "2025-01-03T00:00:00Z"}),
                &[],
            )),
            Arc::new(lb(
                "b",
                json!({"creationTimestamp": "2025-01-02T00:00:00Z"}),
                &[],
            )),
            Arc::new(lb(
                "a",
                json!({"creationTimestamp": "2025-01-02T00:00:00Z"}),
                &[],
            )),
            Arc::new(lb(
                "z",
                json!({"creationTimestamp": "2025-01-01T00:00:00Z", "namespace": "unknown"}),
                &[],
            )),
        ];
        let labels = |ns: &str| (ns == "default").then(BTreeMap::new);
        assert_eq!(assign_waiting(&mut a, &services, labels, None), 2);
        let key = |n: &str| ServiceReference {
            namespace: "default".into(),
            name: n.into(),
        };
        assert_eq!(a.allocation(&key("a")).unwrap().ips, vec![ip("192.0.2.0")]);
        assert_eq!(a.allocation(&key("b")).unwrap().ips, vec![ip("192.0.2.1")]);
        assert_eq!(a.allocation(&key("c")), None);
    }
}
