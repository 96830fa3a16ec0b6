//! The Service itself: type, class, annotations, pool, allocation and
//! endpoints.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_api::{any_selector_matches, IPAddressPool, ServiceAnnotations};

use super::name;
use crate::explain::facts::ExplainFacts;
use crate::explain::verdict::{Check, Verdict};

pub(super) fn service_type(f: &ExplainFacts) -> Check {
    let svc = &f.service;
    if svc.is_load_balancer() {
        return Check::ok("type", "LoadBalancer");
    }
    Check::fail(
        "type",
        format!(
            "the Service is of type {}, not LoadBalancer, so it gets no external address",
            svc.type_
        ),
        format!(
            "kubectl patch service -n {} {} -p '{{\"spec\":{{\"type\":\"LoadBalancer\"}}}}'",
            svc.namespace, svc.name
        ),
    )
}

pub(super) fn class(f: &ExplainFacts) -> Check {
    let svc = &f.service;
    match (&svc.class, &f.expected_class) {
        (None, None) => Check::ok("class", "no loadBalancerClass: FerroLB handles it"),
        (Some(c), Some(e)) if c == e => Check::ok("class", format!("loadBalancerClass {c}: FerroLB handles it")),
        (Some(c), None) => Check::fail(
            "class",
            format!("loadBalancerClass is {c:?}, but FerroLB handles only Services without a class; another controller owns it"),
            "recreate the Service without spec.loadBalancerClass (it cannot be changed), or run ferrolb-controller with --lb-class (and pass --lb-class to lbctl)",
        ),
        (c, Some(e)) => Check::fail(
            "class",
            format!(
                "loadBalancerClass is {}, but FerroLB handles class {e:?}",
                c.as_deref().map_or("unset".to_owned(), |c| format!("{c:?}"))
            ),
            format!("recreate the Service with spec.loadBalancerClass: {e} (it cannot be changed in place)"),
        ),
    }
}

fn pool_names(f: &ExplainFacts) -> String {
    let names: Vec<&str> = f.objects.pools.iter().map(name).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

pub(super) fn annotation_check(f: &ExplainFacts, a: &ServiceAnnotations) -> Check {
    let mut said = Vec::new();
    if let Some(pool) = &a.address_pool {
        if !f.objects.pools.iter().any(|p| name(p) == pool) {
            return Check::fail(
                "annotations",
                format!("address-pool asks for pool {pool:?}, which does not exist (pools: {})", pool_names(f)),
                "set ferrolb.io/address-pool to an existing pool (lbctl pools list) or create it (lbctl pools create)",
            );
        }
        said.push(format!("address-pool={pool}"));
    }
    for ip in &a.load_balancer_ips {
        let in_pool = f.objects.pools.iter().find(|p| {
            p.spec
                .blocks()
                .unwrap_or_default()
                .iter()
                .any(|b| b.contains(*ip))
        });
        match in_pool {
            None => {
                return Check::fail(
                    "annotations",
                    format!("loadBalancerIPs asks for {ip}, which is in no pool"),
                    "ask for an address inside a pool (lbctl pools list), or add it: lbctl pools add-range POOL ...",
                )
            }
            Some(p) => said.push(format!("loadBalancerIPs={ip} (pool {})", name(p))),
        }
    }
    if let Some(key) = &a.allow_shared_ip {
        said.push(format!("allow-shared-ip={key}"));
    }
    if said.is_empty() {
        Check::ok("annotations", "none: FerroLB picks an auto-assign pool")
    } else {
        Check::ok("annotations", said.join(", "))
    }
}

/// Why `pool` may not serve the Service, if it may not.
fn pool_refuses(f: &ExplainFacts, pool: &IPAddressPool) -> Option<String> {
    let svc = &f.service;
    let alloc = pool.spec.service_allocation.clone().unwrap_or_default();
    if !alloc.namespaces.is_empty() || !alloc.namespace_selectors.is_empty() {
        let listed = alloc.namespaces.contains(&svc.namespace);
        let selected = !alloc.namespace_selectors.is_empty()
            && any_selector_matches(&alloc.namespace_selectors, &f.namespace_labels)
                .unwrap_or(false);
        if !listed && !selected {
            return Some(format!("{} serves other namespaces", name(pool)));
        }
    }
    if !any_selector_matches(&alloc.service_selectors, &svc.labels).unwrap_or(false) {
        return Some(format!(
            "{}'s serviceSelectors do not match the Service's labels",
            name(pool)
        ));
    }
    None
}

/// The pool check, and the pool the Service's addresses come from (or
/// would come from first).
pub(super) fn pool_match<'a>(
    f: &'a ExplainFacts,
    a: &ServiceAnnotations,
) -> (Check, Option<&'a IPAddressPool>) {
    let find = |n: &str| f.objects.pools.iter().find(|p| name(p) == n);
    if let Some(allocated) = f.service.allocated_pool() {
        return match find(&allocated) {
            Some(p) => (Check::ok("pool", format!("addresses come from pool {allocated}")), Some(p)),
            None => (
                Check::fail(
                    "pool",
                    format!("the Service's addresses came from pool {allocated:?}, which no longer exists"),
                    "the controller will move it to another pool; recreate the pool to keep the address",
                ),
                None,
            ),
        };
    }
    if let Some(wanted) = &a.address_pool {
        let Some(p) = find(wanted) else {
            return (
                Check::new(
                    "pool",
                    Verdict::Skip,
                    "the requested pool does not exist",
                    None,
                ),
                None,
            );
        };
        return match pool_refuses(f, p) {
            None => (
                Check::ok(
                    "pool",
                    format!("pool {wanted} was asked for and allows this Service"),
                ),
                Some(p),
            ),
            Some(why) => (
                Check::fail(
                    "pool",
                    format!("pool {wanted} was asked for but refuses it: {why}"),
                    "change the pool's serviceAllocation or ask for another pool",
                ),
                None,
            ),
        };
    }
    let mut candidates: Vec<&IPAddressPool> = Vec::new();
    let mut refusals = Vec::new();
    for p in &f.objects.pools {
        if !p.spec.auto_assign {
            refusals.push(format!("{} is not auto-assign", name(p)));
        } else if let Some(why) = pool_refuses(f, p) {
            refusals.push(why);
        } else {
            candidates.push(p);
        }
    }
    candidates.sort_by_key(|p| {
        let priority = p.spec.service_allocation.as_ref().and_then(|s| s.priority);
        (priority.is_none(), priority, name(p).to_owned())
    });
    match candidates.first() {
        Some(first) => (
            Check::ok(
                "pool",
                format!("matching pools, in order: {}", candidates.iter().map(|p| name(p)).collect::<Vec<_>>().join(", ")),
            ),
            Some(*first),
        ),
        None if f.objects.pools.is_empty() => (
            Check::fail("pool", "there are no IPAddressPools", "create one: lbctl pools create NAME --addresses 192.0.2.0/28"),
            None,
        ),
        None => (
            Check::fail(
                "pool",
                format!("no pool may serve this Service: {}", refusals.join("; ")),
                "ask for a pool with the ferrolb.io/address-pool annotation, or widen a pool's serviceAllocation",
            ),
            None,
        ),
    }
}

pub(super) fn allocation(f: &ExplainFacts) -> Check {
    let svc = &f.service;
    let last = |reason: &str| f.events.iter().rev().find(|e| e.reason == reason);
    if !svc.ingress.is_empty() {
        let ips: Vec<String> = svc.ingress.iter().map(IpAddr::to_string).collect();
        return Check::ok("allocation", format!("assigned {}", ips.join(", ")));
    }
    match last("AllocationFailed") {
        Some(e) => Check::fail(
            "allocation",
            format!("no address: the controller reports AllocationFailed: {}", e.note),
            "fix what the Event says (lbctl pools list shows free addresses), then the controller retries",
        ),
        None => Check::fail(
            "allocation",
            "no address, and no Event from the controller about this Service",
            format!("is ferrolb-controller running? kubectl -n {} get pods; kubectl -n {} logs deploy/ferrolb-controller", f.ferrolb_namespace, f.ferrolb_namespace),
        ),
    }
}

pub(super) fn endpoints(f: &ExplainFacts) -> Check {
    let svc = &f.service;
    let ready: Vec<_> = f.endpoints.iter().filter(|e| e.ready).collect();
    let nodes: BTreeSet<&str> = ready.iter().filter_map(|e| e.node.as_deref()).collect();
    let hint = format!(
        "kubectl get pods -n {} -o wide (do they match the Service's selector and pass readiness?); kubectl get endpointslices -n {} -l kubernetes.io/service-name={}",
        svc.namespace, svc.namespace, svc.name
    );
    if ready.is_empty() {
        return Check::fail(
            "endpoints",
            format!(
                "no ready endpoints ({} not ready): traffic reaching the address has nowhere to go",
                f.endpoints.len()
            ),
            hint,
        );
    }
    let reason = format!(
        "{} ready on {}",
        ready.len(),
        if nodes.is_empty() {
            "unknown nodes".to_owned()
        } else {
            nodes.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    if ready.len() < f.endpoints.len() {
        Check::warn(
            "endpoints",
            format!("{reason}; {} not ready", f.endpoints.len() - ready.len()),
            hint,
        )
    } else {
        Check::ok("endpoints", reason)
    }
}
