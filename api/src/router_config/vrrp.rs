//! `vrrp:` — VRRPv3 (RFC 5798) virtual addresses shared by the routers,
//! e.g. the API server VIP.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// Default VRRP priority of a backup router.
pub const DEFAULT_PRIORITY: u8 = 100;
/// Default advertisement interval, in centiseconds (1s).
pub const DEFAULT_ADVERT_INTERVAL_CS: u16 = 100;

/// VRRP instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct VrrpConfig {
    /// Virtual routers this router takes part in.
    pub instances: Vec<VrrpInstance>,
}

/// One virtual router: a set of addresses of one family owned by the
/// highest-priority live router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VrrpInstance {
    /// Unique name.
    pub name: String,
    /// Interface the instance runs on and the addresses are added to.
    pub interface: String,
    /// Virtual router ID, 1 to 255, unique per interface and family.
    pub vrid: u8,
    /// Priority, 1 to 254; 255 only with `addressOwner`. Default: 100.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Take over from a lower-priority master. Default: true.
    #[serde(default = "default_true")]
    pub preempt: bool,
    /// Wait this long after startup before preempting. Default: 0s.
    #[serde(default)]
    pub preempt_delay: Duration,
    /// Advertisement interval in centiseconds, 1 to 4095. Default: 100.
    #[serde(default = "default_advert_interval")]
    pub advert_interval: u16,
    /// Virtual addresses, all IPv4 or all IPv6; added as /32 or /128.
    pub addresses: Vec<IpAddr>,
    /// Send advertisements to these routers instead of the multicast group.
    #[serde(default)]
    pub unicast_peers: Vec<IpAddr>,
    /// Serve the addresses from the virtual MAC `00:00:5e:00:01:<vrid>` on a
    /// macvlan child of `interface` (IPv4 only; the interface then gets
    /// `arp_ignore=1`). Default: false (gratuitous ARP/unsolicited NA from the
    /// interface MAC).
    #[serde(default)]
    pub use_virtual_mac: bool,
    /// This router really owns the addresses (RFC 5798 §5.2.4); required
    /// for priority 255. Default: false.
    #[serde(default)]
    pub address_owner: bool,
    /// Conditions that make this router give up mastership.
    #[serde(default)]
    pub track: VrrpTrack,
    /// BFD profile from `bfd.profiles` for a session to each of
    /// `unicastPeers`: a backup whose master's session fails takes over at
    /// once instead of after the Master_Down_Interval. Default: off.
    #[serde(default)]
    pub bfd: Option<String>,
}

/// Health conditions tracked by a VRRP instance: when one fails, the router
/// advertises priority 0 so a backup takes over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct VrrpTrack {
    /// Load balancer frontends (by name) that must have a healthy backend.
    pub frontends: Vec<String>,
    /// Interfaces that must be up.
    pub interfaces: Vec<String>,
}

fn default_priority() -> u8 {
    DEFAULT_PRIORITY
}

fn default_true() -> bool {
    true
}

fn default_advert_interval() -> u16 {
    DEFAULT_ADVERT_INTERVAL_CS
}
