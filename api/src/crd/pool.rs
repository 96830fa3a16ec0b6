//! `IPAddressPool`: the addresses the controller may assign to
//! `LoadBalancer` Services.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selector::LabelSelector;
use crate::address::{AddressBlock, AddressBlockError, AddressFamily};

/// Addresses the FerroLB controller may assign to `LoadBalancer` Services.
///
/// Compatible with MetalLB's `IPAddressPool`: the same field names and
/// semantics, so existing pools can be moved over by changing the API group.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "IPAddressPool",
    doc = "IPAddressPool is a set of addresses FerroLB may assign to LoadBalancer Services.",
    namespaced,
    status = "IPAddressPoolStatus",
    derive = "PartialEq",
    category = "ferrolb",
    shortname = "ippool",
    printcolumn = r#"{"name":"Auto Assign","type":"boolean","jsonPath":".spec.autoAssign"}"#,
    printcolumn = r#"{"name":"Avoid Buggy IPs","type":"boolean","jsonPath":".spec.avoidBuggyIPs"}"#,
    printcolumn = r#"{"name":"Addresses","type":"string","jsonPath":".spec.addresses"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressPoolSpec {
    /// Address blocks in the pool: CIDRs (`192.0.2.0/24`, `2001:db8::/120`)
    /// and inclusive ranges (`192.0.2.10-192.0.2.20`). IPv4 and IPv6 may be
    /// mixed. Blocks must not overlap, within this pool or with any other.
    pub addresses: Vec<String>,

    /// Whether the controller may pick addresses from this pool for Services
    /// that do not ask for a pool by name. Default: true.
    #[serde(default = "default_true")]
    pub auto_assign: bool,

    /// Skip IPv4 addresses ending in `.0` and `.255`, which some old
    /// client stacks mistake for network or broadcast addresses. Default: false.
    #[serde(default, rename = "avoidBuggyIPs")]
    pub avoid_buggy_ips: bool,

    /// Restricts which Services may be given addresses from this pool, and
    /// orders pools when several match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_allocation: Option<ServiceAllocation>,
}

fn default_true() -> bool {
    true
}

/// Which Services a pool serves, and its priority among matching pools.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    /// Pools with a lower number are tried first; pools without a priority
    /// come after all pools that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,

    /// Namespaces whose Services may use this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,

    /// Namespaces, by label, whose Services may use this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,

    /// Services, by label, that may use this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// Address usage of a pool, maintained by the controller.
///
/// Counts saturate at 2^63-1, the API server's largest integer, which only
/// IPv6 pools of a /65 or wider reach; see [`IPAddressPoolStatus::count`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct IPAddressPoolStatus {
    /// IPv4 addresses assigned to Services.
    #[serde(default, rename = "assignedIPv4")]
    pub assigned_ipv4: u64,
    /// IPv6 addresses assigned to Services.
    #[serde(default, rename = "assignedIPv6")]
    pub assigned_ipv6: u64,
    /// IPv4 addresses still free.
    #[serde(default, rename = "availableIPv4")]
    pub available_ipv4: u64,
    /// IPv6 addresses still free.
    #[serde(default, rename = "availableIPv6")]
    pub available_ipv6: u64,
}

/// Largest count the status can hold: the API server's integers are int64.
pub const MAX_STATUS_COUNT: u64 = i64::MAX as u64;

impl IPAddressPoolStatus {
    /// An address count as stored in the status, saturated at
    /// [`MAX_STATUS_COUNT`].
    pub fn count(addresses: u128) -> u64 {
        u64::try_from(addresses).map_or(MAX_STATUS_COUNT, |n| n.min(MAX_STATUS_COUNT))
    }
}

/// An entry of `spec.addresses` that failed to parse, with its index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec.addresses[{index}]: {error}")]
pub struct InvalidAddress {
    /// Index into `spec.addresses`.
    pub index: usize,
    /// Why it was rejected.
    pub error: AddressBlockError,
}

impl IPAddressPoolSpec {
    /// Parses every entry of `addresses`, failing on the first invalid one.
    pub fn blocks(&self) -> Result<Vec<AddressBlock>, InvalidAddress> {
        self.addresses
            .iter()
            .enumerate()
            .map(|(index, s)| s.parse().map_err(|error| InvalidAddress { index, error }))
            .collect()
    }

    /// Number of addresses of `family` in the pool, before any exclusions
    /// such as `avoidBuggyIPs`; saturates at `u128::MAX`.
    pub fn size(&self, family: AddressFamily) -> Result<u128, InvalidAddress> {
        Ok(self
            .blocks()?
            .iter()
            .filter(|b| b.family() == family)
            .fold(0u128, |acc, b| acc.saturating_add(b.size())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_metallb() {
        let spec: IPAddressPoolSpec = serde_yaml::from_str("addresses: [192.0.2.0/28]").unwrap();
        assert!(spec.auto_assign);
        assert!(!spec.avoid_buggy_ips);
        assert_eq!(spec.service_allocation, None);
        assert_eq!(spec.size(AddressFamily::V4), Ok(16));
        assert_eq!(spec.size(AddressFamily::V6), Ok(0));
    }

    #[test]
    fn status_counts_saturate_at_the_api_limit() {
        let spec: IPAddressPoolSpec =
            serde_yaml::from_str("addresses: [\"2001:db8::/64\", \"2001:db8:1::/120\"]").unwrap();
        let v6 = spec.size(AddressFamily::V6).unwrap();
        assert_eq!(v6, (1 << 64) + 256);
        assert_eq!(IPAddressPoolStatus::count(v6), i64::MAX as u64);
        assert_eq!(IPAddressPoolStatus::count(256), 256);
    }

    #[test]
    fn field_names_match_metallb() {
        let yaml = "addresses: [192.0.2.0/28]\nautoAssign: false\navoidBuggyIPs: true\n\
                    serviceAllocation: {priority: 5, namespaces: [web]}\n";
        let spec: IPAddressPoolSpec = serde_yaml::from_str(yaml).unwrap();
        assert!(!spec.auto_assign);
        assert!(spec.avoid_buggy_ips);
        let alloc = spec.service_allocation.unwrap();
        assert_eq!(alloc.priority, Some(5));
        assert_eq!(alloc.namespaces, vec!["web"]);
    }

    #[test]
    fn blocks_report_the_failing_index() {
        let spec: IPAddressPoolSpec =
            serde_yaml::from_str("addresses: [192.0.2.0/28, 10.0.0.9-10.0.0.1]").unwrap();
        let err = spec.blocks().unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(
            err.to_string(),
            "spec.addresses[1]: range start 10.0.0.9 is after end 10.0.0.1"
        );
    }
}
