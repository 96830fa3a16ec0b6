//! What `pools list` and `pools get` show, computed from plain data.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrolb_api::{AddressBlock, AddressFamily, IPAddressPool};
use serde::Serialize;

use crate::facts::{EventFacts, ServiceFacts};
use crate::output::{usage_bar, Cell, Table};

/// Used and total addresses of one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Addresses held by Services.
    pub used: u128,
    /// Addresses the pool can give out.
    pub total: u128,
}

/// One row of `pools list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSummary {
    /// Pool name.
    pub name: String,
    /// `spec.addresses`.
    pub addresses: Vec<String>,
    /// `IPv4`, `IPv6` or both.
    pub families: Vec<String>,
    /// `spec.autoAssign`.
    pub auto_assign: bool,
    /// `spec.avoidBuggyIPs`.
    pub avoid_buggy_ips: bool,
    /// IPv4 usage.
    pub ipv4: Usage,
    /// IPv6 usage.
    pub ipv6: Usage,
    /// Services holding an address from it.
    pub services: usize,
    /// `serviceAllocation.priority`.
    pub priority: Option<i32>,
    /// `serviceAllocation.namespaces`.
    pub namespaces: Vec<String>,
}

/// Addresses a pool can give out in `family`: its size, less the `.0` and
/// `.255` addresses when it avoids buggy IPs.
pub fn assignable(blocks: &[AddressBlock], family: AddressFamily, avoid_buggy: bool) -> u128 {
    blocks
        .iter()
        .filter(|b| b.family() == family)
        .map(|b| {
            let size = b.size();
            if avoid_buggy && family == AddressFamily::V4 {
                size - buggy_in(b.first(), b.last())
            } else {
                size
            }
        })
        .fold(0u128, u128::saturating_add)
}

/// IPv4 addresses ending in `.0` or `.255` between `first` and `last`.
fn buggy_in(first: IpAddr, last: IpAddr) -> u128 {
    let (IpAddr::V4(first), IpAddr::V4(last)) = (first, last) else {
        return 0;
    };
    let (a, b) = (u32::from(first) as u128, u32::from(last) as u128);
    // Multiples of 256 (x.0) and of 256 plus 255 (x.255) in [a, b].
    let multiples = |offset: u128| -> u128 {
        let count_le = |n: u128| {
            if n < offset {
                0
            } else {
                (n - offset) / 256 + 1
            }
        };
        count_le(b) - if a == 0 { 0 } else { count_le(a - 1) }
    };
    multiples(0) + multiples(255)
}

/// Summarizes each pool; Services are attributed by the address they hold.
pub fn summarize(pools: &[IPAddressPool], services: &[ServiceFacts]) -> Vec<PoolSummary> {
    let mut out: Vec<PoolSummary> = pools
        .iter()
        .map(|pool| {
            let blocks = pool.spec.blocks().unwrap_or_default();
            let holders: Vec<Vec<IpAddr>> = services
                .iter()
                .map(|s| s.ips_in(&blocks))
                .filter(|ips| !ips.is_empty())
                .collect();
            let used = |family| {
                holders
                    .iter()
                    .flatten()
                    .filter(|ip| AddressFamily::of(**ip) == family)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as u128
            };
            let usage = |family| Usage {
                used: used(family),
                total: assignable(&blocks, family, pool.spec.avoid_buggy_ips),
            };
            let ipv4 = usage(AddressFamily::V4);
            let ipv6 = usage(AddressFamily::V6);
            let families = [("IPv4", AddressFamily::V4), ("IPv6", AddressFamily::V6)]
                .iter()
                .filter(|(_, f)| blocks.iter().any(|b| b.family() == *f))
                .map(|(n, _)| n.to_string())
                .collect();
            let alloc = pool.spec.service_allocation.clone().unwrap_or_default();
            PoolSummary {
                name: pool.metadata.name.clone().unwrap_or_default(),
                addresses: pool.spec.addresses.clone(),
                families,
                auto_assign: pool.spec.auto_assign,
                avoid_buggy_ips: pool.spec.avoid_buggy_ips,
                ipv4,
                ipv6,
                services: holders.len(),
                priority: alloc.priority,
                namespaces: alloc.namespaces,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn dash_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// The `pools list` table.
pub fn list_table(pools: &[PoolSummary]) -> Table {
    let mut t = Table::new(&[
        "NAME",
        "ADDRESSES",
        "FAMILIES",
        "AUTO-ASSIGN",
        "IPV4 USED",
        "IPV6 USED",
        "SERVICES",
    ])
    .wide(&["AVOID-BUGGY-IPS", "PRIORITY", "NAMESPACES"]);
    for p in pools {
        t.row(vec![
            p.name.clone().into(),
            p.addresses.join(",").into(),
            p.families.join(",").into(),
            yes_no(p.auto_assign).into(),
            usage_bar(p.ipv4.used, p.ipv4.total).into(),
            usage_bar(p.ipv6.used, p.ipv6.total).into(),
            Cell::plain(p.services.to_string()),
            yes_no(p.avoid_buggy_ips).into(),
            p.priority.map_or("-".to_owned(), |n| n.to_string()).into(),
            dash_if_empty(&p.namespaces).into(),
        ]);
    }
    t
}

/// One address given out from a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    /// The address.
    pub ip: IpAddr,
    /// `namespace/name` of the Service holding it.
    pub service: String,
    /// When it was allocated: the last `IPAllocated` Event, else the
    /// Service's creation (RFC 3339).
    pub since: Option<String>,
}

/// `pools get`: the pool and every allocation from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolDetail {
    /// The summary line.
    #[serde(flatten)]
    pub summary: PoolSummary,
    /// Allocations, by address.
    pub allocations: Vec<Allocation>,
}

/// Every allocation from `pool`.
pub fn allocations(
    pool: &IPAddressPool,
    services: &[ServiceFacts],
    events: &[EventFacts],
) -> Vec<Allocation> {
    let blocks = pool.spec.blocks().unwrap_or_default();
    // The newest IPAllocated Event per Service (events are oldest first).
    let allocated_at: BTreeMap<(String, String), String> = events
        .iter()
        .filter(|e| e.reason == "IPAllocated" && e.kind == "Service")
        .map(|e| ((e.namespace.clone(), e.name.clone()), e.time.clone()))
        .collect();
    let mut out: Vec<Allocation> = services
        .iter()
        .flat_map(|s| {
            let since = allocated_at
                .get(&(s.namespace.clone(), s.name.clone()))
                .cloned()
                .or_else(|| s.created.clone());
            s.ips_in(&blocks).into_iter().map(move |ip| Allocation {
                ip,
                service: s.key(),
                since: since.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.ip.cmp(&b.ip).then(a.service.cmp(&b.service)));
    out
}

/// The allocations table of `pools get`; `now` gives ages.
pub fn allocations_table(allocations: &[Allocation], now: &str) -> Table {
    let mut t = Table::new(&["IP", "SERVICE", "AGE"]).wide(&["SINCE"]);
    for a in allocations {
        let since = a.since.clone().unwrap_or_else(|| "-".to_owned());
        t.row(vec![
            a.ip.to_string().into(),
            a.service.clone().into(),
            crate::age::age(a.since.as_deref(), now).into(),
            since.into(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, yaml: &str) -> IPAddressPool {
        IPAddressPool::new(name, serde_yaml::from_str(yaml).unwrap())
    }

    fn svc(ns: &str, name: &str, ips: &[&str]) -> ServiceFacts {
        ServiceFacts {
            namespace: ns.into(),
            name: name.into(),
            type_: "LoadBalancer".into(),
            ingress: ips.iter().map(|i| i.parse().unwrap()).collect(),
            created: Some("2026-11-22T05:00:00Z".into()),
            ..ServiceFacts::default()
        }
    }

    #[test]
    fn assignable_counts_skip_buggy_ips() {
        let table: &[(&str, bool, u128)] = &[
            ("192.0.2.0/24", false, 256),
            ("192.0.2.0/24", true, 254),
            ("192.0.2.0/23", true, 508),
            ("192.0.2.10-192.0.2.20", true, 11),
            ("192.0.2.250-192.0.3.5", true, 10),
            ("0.0.0.0/30", true, 3),
        ];
        for &(block, avoid, want) in table {
            let blocks = vec![block.parse().unwrap()];
            assert_eq!(
                assignable(&blocks, AddressFamily::V4, avoid),
                want,
                "{block} {avoid}"
            );
        }
    }

    #[test]
    fn summaries_count_usage_per_family() {
        let pools = [
            pool(
                "public",
                "addresses: [192.0.2.0/28, '2001:db8::/124']\navoidBuggyIPs: true",
            ),
            pool(
                "private",
                "addresses: [10.0.0.1-10.0.0.4]\nautoAssign: false",
            ),
        ];
        let services = [
            svc("web", "front", &["192.0.2.1", "2001:db8::1"]),
            svc("web", "api", &["192.0.2.2"]),
            svc("db", "pg", &["10.0.0.1"]),
            svc("x", "other", &["198.51.100.1"]),
        ];
        let s = summarize(&pools, &services);
        assert_eq!(s[0].name, "private");
        assert_eq!(s[0].ipv4, Usage { used: 1, total: 4 });
        assert_eq!(s[0].services, 1);
        assert!(!s[0].auto_assign);
        assert_eq!(s[1].families, vec!["IPv4", "IPv6"]);
        assert_eq!(s[1].ipv4, Usage { used: 2, total: 15 });
        assert_eq!(s[1].ipv6, Usage { used: 1, total: 16 });
        assert_eq!(s[1].services, 2);
        let text = list_table(&s).render(false, false);
        assert_eq!(
            text.lines().nth(2).unwrap(),
            "public    192.0.2.0/28,2001:db8::/124   IPv4,IPv6   yes           \
             2/15 ██░░░░░░░░ 13%   1/16 █░░░░░░░░░ 6%   2"
        );
    }

    #[test]
    fn allocations_take_time_from_the_last_allocation_event() {
        let p = pool("public", "addresses: [192.0.2.0/28]");
        let services = [
            svc("web", "front", &["192.0.2.3"]),
            svc("web", "api", &["192.0.2.1"]),
        ];
        let events = [
            EventFacts {
                kind: "Service".into(),
                namespace: "web".into(),
                name: "front".into(),
                reason: "IPAllocated".into(),
                time: "2026-11-22T06:00:00Z".into(),
                ..EventFacts::default()
            },
            EventFacts {
                kind: "Service".into(),
                namespace: "web".into(),
                name: "front".into(),
                reason: "IPAllocated".into(),
                time: "2026-11-22T06:30:00Z".into(),
                ..EventFacts::default()
            },
        ];
        let a = allocations(&p, &services, &events);
        assert_eq!(a[0].service, "web/api");
        assert_eq!(a[0].since.as_deref(), Some("2026-11-22T05:00:00Z"));
        assert_eq!(a[1].since.as_deref(), Some("2026-11-22T06:30:00Z"));
        let text = allocations_table(&a, "2026-11-22T07:00:00Z").render(false, false);
        assert_eq!(
            text,
            "IP          SERVICE     AGE\n192.0.2.1   web/api     2h\n192.0.2.3   web/front   30m\n"
        );
    }
}
