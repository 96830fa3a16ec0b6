//! IPAddressPools: parsing the cluster's pools for the allocator, and the
//! usage the controller writes back to each pool's status.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrolb_api::{IPAddressPool, IPAddressPoolStatus};
use kube::ResourceExt;

use crate::allocator::{Pool, PoolUsage};

/// A pool the allocator cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPool {
    /// The pool's name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The usable pools among `objects`, by name, and the unusable ones.
/// Pools being deleted are left out: their addresses are going away.
pub fn parse_pools(objects: &[Arc<IPAddressPool>]) -> (Vec<Pool>, Vec<InvalidPool>) {
    let mut pools = Vec::new();
    let mut invalid = Vec::new();
    for object in objects {
        if object.metadata.deletion_timestamp.is_some() {
            continue;
        }
        match Pool::from_resource(object) {
            Ok(pool) => pools.push(pool),
            Err(e) => invalid.push(InvalidPool {
                name: object.name_any(),
                reason: e.to_string(),
            }),
        }
    }
    pools.sort_by(|a, b| a.name().cmp(b.name()));
    (pools, invalid)
}

/// What the shared validator finds wrong with each pool, by pool name (one
/// line per problem): the same verdict the admission webhook gives, so pools
/// created before the webhook was registered are reported too, overlaps
/// between pools included. Of two overlapping pools, the one created later
/// is reported.
pub fn pool_problems(objects: &[Arc<IPAddressPool>]) -> BTreeMap<String, String> {
    let mut pools: Vec<IPAddressPool> = objects.iter().map(|p| (**p).clone()).collect();
    pools.sort_by(|a, b| {
        let created = |p: &IPAddressPool| p.metadata.creation_timestamp.clone().map(|t| t.0);
        created(a)
            .cmp(&created(b))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    let cluster = ferrolb_api::ClusterObjects {
        pools,
        ..ferrolb_api::ClusterObjects::default()
    };
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in ferrolb_api::validate_objects(&cluster) {
        if e.kind == ferrolb_api::ObjectKind::IPAddressPool {
            problems
                .entry(e.name.clone())
                .or_default()
                .push(format!("{}: {}", e.field, e.reason));
        }
    }
    problems
        .into_iter()
        .map(|(name, lines)| (name, lines.join("\n")))
        .collect()
}

/// The status recording `usage`.
pub fn pool_status(usage: &PoolUsage) -> IPAddressPoolStatus {
    IPAddressPoolStatus {
        assigned_ipv4: usage.ipv4.in_use,
        assigned_ipv6: usage.ipv6.in_use,
        available_ipv4: IPAddressPoolStatus::count(usage.ipv4.available()),
        available_ipv6: IPAddressPoolStatus::count(usage.ipv6.available()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::FamilyUsage;
    use serde_json::json;

    fn object(name: &str, addresses: &[&str], deleting: bool) -> Arc<IPAddressPool> {
        let mut meta = json!({"name": name, "namespace": "ferrolb-system"});
        if deleting {
            meta["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        }
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "ferrolb.io/v1alpha1", "kind": "IPAddressPool",
                "metadata": meta, "spec": {"addresses": addresses},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn parses_valid_pools_in_name_order() {
        let (pools, invalid) = parse_pools(&[
            object("b", &["192.0.2.0/24"], false),
            object("bad", &["192.0.2.1/24"], false),
            object("a", &["2001:db8::/64"], false),
            object("leaving", &["198.51.100.0/24"], true),
        ]);
        let names: Vec<&str> = pools.iter().map(Pool::name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            invalid,
            [InvalidPool {
                name: "bad".into(),
                reason: "spec.addresses[0]: 192.0.2.1/24 has host bits set (the network is 192.0.2.0/24)".into()
            }]
        );
    }

    #[test]
    fn status_counts_saturate() {
        let usage = PoolUsage {
            ipv4: FamilyUsage {
                size: 256,
                in_use: 3,
            },
            ipv6: FamilyUsage {
                size: u128::MAX,
                in_use: 1,
            },
        };
        assert_eq!(
            pool_status(&usage),
            IPAddressPoolStatus {
                assigned_ipv4: 3,
                assigned_ipv6: 1,
                available_ipv4: 253,
                available_ipv6: i64::MAX as u64,
            }
        );
    }
}
