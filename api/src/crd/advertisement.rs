//! `BGPAdvertisement` and `L2Advertisement`: how and where addresses from
//! pools are announced.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selector::LabelSelector;
use crate::community::{BgpCommunity, CommunityParseError};

/// Announces Service addresses from the selected pools over BGP.
///
/// An advertisement that names no pools and has no pool selectors applies to
/// every pool.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "BGPAdvertisement",
    doc = "BGPAdvertisement announces addresses from IPAddressPools over BGP.",
    namespaced,
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"IPAddressPools","type":"string","jsonPath":".spec.ipAddressPools"}"#,
    printcolumn = r#"{"name":"Peers","type":"string","jsonPath":".spec.peers"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BGPAdvertisementSpec {
    /// IPAddressPools (by name) whose addresses this advertisement announces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pools: Vec<String>,

    /// IPAddressPools (by label) whose addresses this advertisement announces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Prefix length IPv4 Service addresses are announced with, 0 to 32.
    /// Shorter values aggregate; must not be shorter than the widest block of
    /// any selected pool. Default: 32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 32))]
    pub aggregation_length: Option<u8>,

    /// Prefix length IPv6 Service addresses are announced with, 0 to 128.
    /// Default: 128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 128))]
    pub aggregation_length_v6: Option<u8>,

    /// LOCAL_PREF attached to the announcements (iBGP sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = u32::MAX))]
    pub local_pref: Option<u32>,

    /// Communities attached to the announcements: `65000:100`, well-known
    /// names (`no-export`, `no-advertise`, `blackhole`, ...) or large
    /// communities `large:4200000000:1:2`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,

    /// BGPPeers (by name) to announce to; empty means all peers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,

    /// Nodes that announce; empty means all nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,

    /// Services (by label) this advertisement applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// Default IPv4 announcement prefix length: one route per Service address.
pub const DEFAULT_AGGREGATION_LENGTH: u8 = 32;

/// Default IPv6 announcement prefix length.
pub const DEFAULT_AGGREGATION_LENGTH_V6: u8 = 128;

impl BGPAdvertisementSpec {
    /// IPv4 aggregation length in effect.
    pub fn effective_aggregation_length(&self) -> u8 {
        self.aggregation_length
            .unwrap_or(DEFAULT_AGGREGATION_LENGTH)
    }

    /// IPv6 aggregation length in effect.
    pub fn effective_aggregation_length_v6(&self) -> u8 {
        self.aggregation_length_v6
            .unwrap_or(DEFAULT_AGGREGATION_LENGTH_V6)
    }

    /// Parses every community, failing on the first invalid one.
    pub fn parsed_communities(&self) -> Result<Vec<BgpCommunity>, CommunityParseError> {
        self.communities.iter().map(|c| c.parse()).collect()
    }
}

/// Announces Service addresses from the selected pools on the local
/// network segment with ARP (IPv4) and NDP (IPv6).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "L2Advertisement",
    doc = "L2Advertisement answers ARP/NDP for addresses from IPAddressPools.",
    namespaced,
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"IPAddressPools","type":"string","jsonPath":".spec.ipAddressPools"}"#,
    printcolumn = r#"{"name":"Interfaces","type":"string","jsonPath":".spec.interfaces"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct L2AdvertisementSpec {
    /// IPAddressPools (by name) whose addresses this advertisement announces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pools: Vec<String>,

    /// IPAddressPools (by label) whose addresses this advertisement announces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Nodes that may answer for the addresses; empty means all nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,

    /// Network interfaces to answer on; empty means all interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,

    /// Services (by label) this advertisement applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}
