//! `import:` — which prefixes the router accepts from the speakers.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Which prefixes learned from peer groups are installed and re-announced.
/// A prefix is accepted when it lies inside a service pool, matches an
/// allowed prefix, or lies inside an IPAddressPool read from Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ImportConfig {
    /// Service address pools (CIDRs, IPv4 or IPv6); any prefix inside one
    /// is accepted. Pools must not overlap.
    pub service_pools: Vec<IpNet>,
    /// Prefix-list entries, matched like BIRD/FRR prefix lists.
    pub allowed_prefixes: Vec<PrefixFilter>,
    /// Also accept prefixes inside IPAddressPool objects read from a cluster.
    pub kubernetes: Option<KubernetesImport>,
}

/// One prefix-list entry: prefixes inside `prefix` whose length is within
/// `ge..=le`. Without `ge`/`le` only `prefix` itself matches; with only
/// `le` the range starts at the prefix's own length; with only `ge` it
/// ends at the family's maximum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrefixFilter {
    /// The covering prefix.
    pub prefix: IpNet,
    /// Shortest matching length.
    #[serde(default)]
    pub ge: Option<u8>,
    /// Longest matching length.
    #[serde(default)]
    pub le: Option<u8>,
}

impl PrefixFilter {
    /// The inclusive range of prefix lengths this entry matches.
    pub fn length_range(&self) -> (u8, u8) {
        let own = self.prefix.prefix_len();
        match (self.ge, self.le) {
            (None, None) => (own, own),
            (None, Some(le)) => (own, le),
            (Some(ge), None) => (ge, self.prefix.max_prefix_len()),
            (Some(ge), Some(le)) => (ge, le),
        }
    }

    /// Whether `net` matches this entry.
    pub fn matches(&self, net: &IpNet) -> bool {
        let (ge, le) = self.length_range();
        self.prefix.contains(net) && (ge..=le).contains(&net.prefix_len())
    }
}

/// Reading IPAddressPool objects from a Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesImport {
    /// Switch without removing the section. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Kubeconfig file. Default: in-cluster config, then `$KUBECONFIG`.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace holding the pools. Default: all namespaces.
    #[serde(default)]
    pub namespace: Option<String>,
}

fn default_true() -> bool {
    true
}
