//! An `IPAddressPool` as the allocator uses it: its addresses per family
//! as interval sets, which Services it serves, and in what order pools are
//! tried for a Service.

use std::net::IpAddr;

use ferrolb_api::crd::pool::InvalidAddress;
use ferrolb_api::{
    selector_matches, AddressFamily, IPAddressPool, IPAddressPoolSpec, LabelSelector,
    ServiceAllocation,
};
use kube::ResourceExt;

use super::interval::IntervalSet;
use super::request::{to_bits, ServiceRequest};

/// Index of a family in per-family arrays.
pub(crate) fn family_index(family: AddressFamily) -> usize {
    match family {
        AddressFamily::V4 => 0,
        AddressFamily::V6 => 1,
    }
}

/// Both families, in index order.
pub(crate) const FAMILIES: [AddressFamily; 2] = [AddressFamily::V4, AddressFamily::V6];

/// A parsed `IPAddressPool`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    name: String,
    /// The pool's addresses per family (merged blocks), by [`family_index`].
    span: [IntervalSet; 2],
    auto_assign: bool,
    avoid_buggy_ips: bool,
    service_allocation: Option<ServiceAllocation>,
}

impl Pool {
    /// Parses a pool's spec; fails on the first unparsable address block.
    pub fn new(name: impl Into<String>, spec: &IPAddressPoolSpec) -> Result<Self, InvalidAddress> {
        let mut span = [IntervalSet::new(), IntervalSet::new()];
        for block in spec.blocks()? {
            let (family, first) = to_bits(block.first());
            let (_, last) = to_bits(block.last());
            span[family_index(family)].insert_range(first, last);
        }
        Ok(Pool {
            name: name.into(),
            span,
            auto_assign: spec.auto_assign,
            avoid_buggy_ips: spec.avoid_buggy_ips,
            service_allocation: spec.service_allocation.clone(),
        })
    }

    /// Parses an `IPAddressPool` object, named after the object.
    pub fn from_resource(pool: &IPAddressPool) -> Result<Self, InvalidAddress> {
        Self::new(pool.name_any(), &pool.spec)
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the pool may be picked for Services that do not name it.
    pub fn auto_assign(&self) -> bool {
        self.auto_assign
    }

    /// The pool's addresses of `family`.
    pub(crate) fn span(&self, family: AddressFamily) -> &IntervalSet {
        &self.span[family_index(family)]
    }

    /// Whether the pool has any address of `family`.
    pub fn has_family(&self, family: AddressFamily) -> bool {
        !self.span(family).is_empty()
    }

    /// Whether `ip` is in one of the pool's blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, bits) = to_bits(ip);
        self.span(family).contains(bits)
    }

    /// Whether the pool refuses `ip` because of `avoidBuggyIPs`: IPv4
    /// addresses whose last octet is 0 or 255.
    pub fn avoids(&self, ip: IpAddr) -> bool {
        self.avoid_buggy_ips && is_buggy(ip)
    }

    /// Whether the pool can assign `ip`: it contains it and does not avoid it.
    pub fn offers(&self, ip: IpAddr) -> bool {
        self.contains(ip) && !self.avoids(ip)
    }

    /// How many addresses of `family` the pool can assign (its size minus
    /// avoided addresses); saturates at `u128::MAX`.
    pub fn size(&self, family: AddressFamily) -> u128 {
        let avoid = self.avoid_buggy_ips && family == AddressFamily::V4;
        self.span(family).iter().fold(0u128, |acc, (lo, hi)| {
            let all = (hi - lo).saturating_add(1);
            let usable = if avoid {
                all - count_residue(lo, hi, 0) - count_residue(lo, hi, 255)
            } else {
                all
            };
            acc.saturating_add(usable)
        })
    }

    /// Whether the pool's `serviceAllocation` lets it serve the Service:
    /// its namespace is listed or its labels match a namespace selector (if
    /// either is given), and its labels match a service selector (if any is
    /// given). Defective selectors match nothing.
    pub fn admits(&self, request: &ServiceRequest) -> bool {
        let Some(allocation) = &self.service_allocation else {
            return true;
        };
        let any = |selectors: &[LabelSelector], labels| {
            selectors
                .iter()
                .any(|s| selector_matches(s, labels).unwrap_or(false))
        };
        let namespace_restricted =
            !allocation.namespaces.is_empty() || !allocation.namespace_selectors.is_empty();
        let namespace_ok = !namespace_restricted
            || allocation.namespaces.contains(&request.service.namespace)
            || any(&allocation.namespace_selectors, &request.namespace_labels);
        let service_ok = allocation.service_selectors.is_empty()
            || any(&allocation.service_selectors, &request.labels);
        namespace_ok && service_ok
    }

    /// `(no priority, priority)`: lower sorts first, pools without a
    /// priority after all pools with one.
    fn priority_key(&self) -> (bool, i32) {
        let priority = self.service_allocation.as_ref().and_then(|a| a.priority);
        (priority.is_none(), priority.unwrap_or(0))
    }
}

/// IPv4 addresses some old client stacks mistake for network or broadcast
/// addresses.
fn is_buggy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => matches!(a.octets()[3], 0 | 255),
        IpAddr::V6(_) => false,
    }
}

/// How many `x` in `lo..=hi` have `x % 256 == residue`.
fn count_residue(lo: u128, hi: u128, residue: u128) -> u128 {
    // Members of 0..=n with that residue.
    let upto = |n: u128| {
        if n < residue {
            0
        } else {
            (n - residue) / 256 + 1
        }
    };
    upto(hi) - if lo == 0 { 0 } else { upto(lo - 1) }
}

/// The pools tried, in order, for a Service that neither requests addresses
/// nor names a pool: first the `autoAssign` pools whose `serviceAllocation`
/// selects it, by priority (lower first, pools without a priority last)
/// then name; then the `autoAssign` pools without a `serviceAllocation`, by
/// name. `pools` must be sorted by name.
pub fn automatic_order<'a>(
    pools: impl IntoIterator<Item = &'a Pool>,
    request: &ServiceRequest,
) -> Vec<&'a Pool> {
    let (mut selective, general): (Vec<&Pool>, Vec<&Pool>) = pools
        .into_iter()
        .filter(|p| p.auto_assign)
        .partition(|p| p.service_allocation.is_some());
    selective.retain(|p| p.admits(request));
    // Stable: equal priorities stay in name order.
    selective.sort_by_key(|p| p.priority_key());
    selective.extend(general);
    selective
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrolb_api::ServiceReference;
    use std::collections::BTreeMap;

    fn pool(name: &str, yaml: &str) -> Pool {
        let spec: IPAddressPoolSpec = serde_yaml::from_str(yaml).unwrap();
        Pool::new(name, &spec).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn request(
        namespace: &str,
        ns_labels: &[(&str, &str)],
        svc_labels: &[(&str, &str)],
    ) -> ServiceRequest {
        ServiceRequest {
            service: ServiceReference {
                namespace: namespace.into(),
                name: "web".into(),
            },
            labels: labels(svc_labels),
            namespace_labels: labels(ns_labels),
            ..ServiceRequest::default()
        }
    }

    #[test]
    fn sizes_count_usable_addresses() {
        let table: &[(&str, u128, u128)] = &[
            ("addresses: [192.0.2.0/24]", 256, 0),
            ("{addresses: [192.0.2.0/24], avoidBuggyIPs: true}", 254, 0),
            ("{addresses: [192.0.2.0/23], avoidBuggyIPs: true}", 508, 0),
            (
                "{addresses: [192.0.2.250-192.0.3.5], avoidBuggyIPs: true}",
                10,
                0,
            ),
            ("{addresses: [192.0.2.255/32], avoidBuggyIPs: true}", 0, 0),
            (
                "{addresses: [0.0.0.0/0], avoidBuggyIPs: true}",
                (1 << 32) - (1 << 25),
                0,
            ),
            (
                "{addresses: [\"2001:db8::/120\", 10.0.0.0/30], avoidBuggyIPs: true}",
                3,
                256,
            ),
            // Overlapping blocks count once.
            ("addresses: [10.0.0.0/24, 10.0.0.128/25]", 256, 0),
            ("addresses: [\"::/0\"]", 0, u128::MAX),
        ];
        for (yaml, v4, v6) in table {
            let p = pool("p", yaml);
            assert_eq!(p.size(AddressFamily::V4), *v4, "{yaml}");
            assert_eq!(p.size(AddressFamily::V6), *v6, "{yaml}");
        }
    }

    #[test]
    fn offers_respects_avoid_buggy_ips() {
        let p = pool(
            "p",
            "{addresses: [192.0.2.0/24, \"2001:db8::/126\"], avoidBuggyIPs: true}",
        );
        let table: &[(&str, bool, bool)] = &[
            ("192.0.2.0", true, false),
            ("192.0.2.1", true, true),
            ("192.0.2.255", true, false),
            ("192.0.3.1", false, false),
            ("2001:db8::", true, true),
            ("2001:db8::4", false, false),
        ];
        for (ip, contains, offers) in table {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(p.contains(ip), *contains, "{ip}");
            assert_eq!(p.offers(ip), *offers, "{ip}");
        }
    }

    #[test]
    fn service_allocation_selects_namespaces_or_their_labels_and_services() {
        let p = pool(
            "p",
            "addresses: [192.0.2.0/24]\nserviceAllocation:\n  namespaces: [a]\n  \
             namespaceSelectors: [{matchLabels: {team: x}}]\n  \
             serviceSelectors: [{matchExpressions: [{key: app, operator: In, values: [web]}]}]\n",
        );
        type Labels = &'static [(&'static str, &'static str)];
        let table: &[(&str, Labels, Labels, bool)] = &[
            ("a", &[], &[("app", "web")], true),
            ("b", &[("team", "x")], &[("app", "web")], true),
            ("b", &[("team", "y")], &[("app", "web")], false),
            ("a", &[], &[("app", "db")], false),
            ("a", &[], &[], false),
        ];
        for (ns, ns_labels, svc_labels, want) in table {
            assert_eq!(
                p.admits(&request(ns, ns_labels, svc_labels)),
                *want,
                "{ns} {ns_labels:?} {svc_labels:?}"
            );
        }
        let only_services = pool(
            "p",
            "{addresses: [192.0.2.0/24], serviceAllocation: {serviceSelectors: [{matchLabels: {a: b}}]}}",
        );
        assert!(only_services.admits(&request("any", &[], &[("a", "b")])));
        assert!(!only_services.admits(&request("any", &[], &[])));
        let priority_only = pool(
            "p",
            "{addresses: [192.0.2.0/24], serviceAllocation: {priority: 1}}",
        );
        assert!(priority_only.admits(&request("any", &[], &[])));
        let bad_selector = pool(
            "p",
            "{addresses: [192.0.2.0/24], serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: a, operator: Bogus}]}]}}",
        );
        assert!(!bad_selector.admits(&request("any", &[], &[("a", "b")])));
    }

    #[test]
    fn automatic_order_is_priority_then_name_then_general_pools() {
        let pools = [
            pool("a-general", "addresses: [10.0.0.0/24]"),
            pool(
                "b-prio-none",
                "{addresses: [10.0.1.0/24], serviceAllocation: {namespaces: [web]}}",
            ),
            pool(
                "c-prio-5",
                "{addresses: [10.0.2.0/24], serviceAllocation: {priority: 5, namespaces: [web]}}",
            ),
            pool(
                "d-prio-1",
                "{addresses: [10.0.3.0/24], serviceAllocation: {priority: 1}}",
            ),
            pool(
                "e-prio-5",
                "{addresses: [10.0.4.0/24], serviceAllocation: {priority: 5}}",
            ),
            pool("f-manual", "{addresses: [10.0.5.0/24], autoAssign: false}"),
            pool(
                "g-other-ns",
                "{addresses: [10.0.6.0/24], serviceAllocation: {priority: 0, namespaces: [db]}}",
            ),
            pool("h-general", "addresses: [10.0.7.0/24]"),
            pool(
                "i-manual-selective",
                "{addresses: [10.0.8.0/24], autoAssign: false, serviceAllocation: {priority: 0}}",
            ),
        ];
        let names = |ns: &str| -> Vec<&str> {
            automatic_order(&pools, &request(ns, &[], &[]))
                .iter()
                .map(|p| p.name())
                .collect()
        };
        assert_eq!(
            names("web"),
            [
                "d-prio-1",
                "c-prio-5",
                "e-prio-5",
                "b-prio-none",
                "a-general",
                "h-general"
            ]
        );
        assert_eq!(
            names("db"),
            [
                "g-other-ns",
                "d-prio-1",
                "e-prio-5",
                "a-general",
                "h-general"
            ]
        );
    }
}
