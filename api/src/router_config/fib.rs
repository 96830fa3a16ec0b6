//! `fib:` — how routes are installed in the kernel.

use serde::{Deserialize, Serialize};

/// Default `rtm_protocol` of installed routes.
pub const DEFAULT_ROUTE_PROTOCOL: u8 = 200;

/// Kernel forwarding-table settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct FibConfig {
    /// Route protocol number tagging FerroLB's routes (so they can be told
    /// apart and cleaned up), 5 to 255; 0-4 are the kernel's own.
    /// Default: 200.
    pub route_protocol: u8,
    /// Use nexthop objects/groups for ECMP routes. Default: `auto` (when
    /// the kernel supports them).
    pub nexthop_groups: NexthopGroups,
    /// Leave routes installed when the router stops, so forwarding
    /// continues through a restart. Default: false.
    pub keep_routes_on_shutdown: bool,
    /// Enable IPv4/IPv6 forwarding sysctls at startup. Default: true.
    pub set_forwarding_sysctls: bool,
    /// ECMP hash policy to set (`fib_multipath_hash_policy`). Default:
    /// leave the kernel's setting.
    pub multipath_hash_policy: Option<MultipathHashPolicy>,
    /// Value to set for `net.ipv4.nexthop_compat_mode`. With `true` (the
    /// kernel's default) every rewrite of a nexthop group also sends one
    /// route notification per route using it, so a node leaving 10,000
    /// Service routes costs the kernel tens of milliseconds; with `false`
    /// the rewrite alone takes effect at once, and `ip route` shows a
    /// route's `nhid` without its next hops (see `ip nexthop`). Default:
    /// leave the kernel's setting.
    pub nexthop_compat_mode: Option<bool>,
}

impl Default for FibConfig {
    fn default() -> Self {
        FibConfig {
            route_protocol: DEFAULT_ROUTE_PROTOCOL,
            nexthop_groups: NexthopGroups::Auto,
            keep_routes_on_shutdown: false,
            set_forwarding_sysctls: true,
            multipath_hash_policy: None,
            nexthop_compat_mode: None,
        }
    }
}

/// Whether ECMP routes use kernel nexthop groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NexthopGroups {
    /// Use them if the kernel supports them.
    #[default]
    Auto,
    /// Always use them; fail if unsupported.
    On,
    /// Use multipath routes with inline nexthops.
    Off,
}

/// Fields hashed to pick an ECMP path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MultipathHashPolicy {
    /// Source and destination address (policy 0).
    L3,
    /// Addresses, ports and protocol (policy 1); spreads flows of one
    /// client across nodes.
    L4,
    /// Inner headers of encapsulated packets (policy 2).
    L3Inner,
}

impl MultipathHashPolicy {
    /// The value written to `net.ipv4.fib_multipath_hash_policy`.
    pub fn sysctl_value(self) -> u8 {
        match self {
            MultipathHashPolicy::L3 => 0,
            MultipathHashPolicy::L4 => 1,
            MultipathHashPolicy::L3Inner => 2,
        }
    }
}
