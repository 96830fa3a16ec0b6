//! Table tests of the allocator: [`rules`] of assignment, and how the
//! [`state`] evolves (stability, restore, pool changes).

mod rules;
mod state;

use std::collections::BTreeMap;

use ferrolb_api::{AddressFamily, IPAddressPoolSpec, ServiceReference};

use super::*;

pub(super) fn pool(name: &str, yaml: &str) -> Pool {
    let spec: IPAddressPoolSpec =
        serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    Pool::new(name, &spec).unwrap()
}

pub(super) fn allocator(pools: &[(&str, &str)]) -> Allocator {
    let mut a = Allocator::new();
    let lost = a.set_pools(pools.iter().map(|(n, y)| pool(n, y)));
    assert!(lost.is_empty());
    a
}

/// A request builder.
#[derive(Clone)]
pub(super) struct Svc(pub(super) ServiceRequest);

pub(super) fn svc(name: &str) -> Svc {
    let (namespace, name) = name.split_once('/').unwrap_or(("default", name));
    Svc(ServiceRequest {
        service: ServiceReference {
            namespace: namespace.into(),
            name: name.into(),
        },
        sharing: SharingInfo {
            ports: vec![PortKey {
                protocol: "TCP".into(),
                port: 80,
            }],
            ..SharingInfo::default()
        },
        ..ServiceRequest::default()
    })
}

impl Svc {
    pub(super) fn ips(mut self, ips: &[&str]) -> Self {
        self.0.requested_ips = ips.iter().map(|s| s.parse().unwrap()).collect();
        self
    }
    pub(super) fn pool(mut self, pool: &str) -> Self {
        self.0.pool = Some(pool.into());
        self
    }
    pub(super) fn family(mut self, primary: AddressFamily, policy: IpFamilyPolicy) -> Self {
        self.0.primary_family = primary;
        self.0.family_policy = policy;
        self
    }
    pub(super) fn v6(self) -> Self {
        self.family(AddressFamily::V6, IpFamilyPolicy::SingleStack)
    }
    pub(super) fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.0.labels = map(pairs);
        self
    }
    pub(super) fn ns_labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.0.namespace_labels = map(pairs);
        self
    }
    pub(super) fn share(mut self, key: &str, ports: &[(&str, i32)]) -> Self {
        self.0.sharing.key = Some(key.into());
        self.0.sharing.ports = ports
            .iter()
            .map(|(p, n)| PortKey {
                protocol: p.to_string(),
                port: *n,
            })
            .collect();
        self
    }
    pub(super) fn local(mut self, selector: &[(&str, &str)]) -> Self {
        self.0.sharing.local_selector = Some(map(selector));
        self
    }
    pub(super) fn key(&self) -> &ServiceReference {
        &self.0.service
    }
}

pub(super) fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `pool: ip,ip` or the error message.
pub(super) fn assign(a: &mut Allocator, s: &Svc) -> String {
    match a.assign(&s.0) {
        Ok(alloc) => show(&alloc),
        Err(e) => format!("error: {e}"),
    }
}

pub(super) fn show(alloc: &Allocation) -> String {
    let ips: Vec<String> = alloc.ips.iter().map(ToString::to_string).collect();
    format!("{}: {}", alloc.pool, ips.join(","))
}

/// Runs assignments in order and checks each outcome.
pub(super) fn run(a: &mut Allocator, steps: &[(Svc, &str)]) {
    for (i, (s, want)) in steps.iter().enumerate() {
        assert_eq!(assign(a, s), *want, "step {i}: {:?}", s.0);
    }
    check_invariants(a);
}

/// No address is held by two Services unless they share it, and every
/// held address is outside its pools' free sets.
pub(super) fn check_invariants(a: &Allocator) {
    for (ip, _) in a.releasing() {
        let (family, bits) = request::to_bits(*ip);
        assert!(a.holders(*ip).is_empty(), "{ip} both held and releasing");
        for state in a.pools.values() {
            assert!(
                !state.free[pool::family_index(family)].contains(bits),
                "{ip} releasing but free"
            );
        }
    }
    for (service, alloc) in a.allocations() {
        for ip in &alloc.ips {
            let holders = a.holders(*ip);
            assert!(
                holders.contains(&service),
                "{ip} not recorded for {service:?}"
            );
            let (family, bits) = request::to_bits(*ip);
            for state in a.pools.values() {
                assert!(
                    !state.free[pool::family_index(family)].contains(bits),
                    "{ip} held but free in {}",
                    state.pool.name()
                );
            }
        }
    }
}
