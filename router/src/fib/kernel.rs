//! What the kernel reports: nexthop objects and FerroLB's routes, read back over netlink.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// A nexthop object as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelNextHop {
    /// The `rtm_protocol`-like owner tag (`nh_protocol`).
    pub protocol: u8,
    /// What it is.
    pub kind: NextHopKind,
}

/// The kinds of nexthop objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHopKind {
    /// A gateway on an interface.
    Gateway {
        /// The gateway.
        address: IpAddr,
        /// The outgoing interface.
        oif: u32,
    },
    /// A group of other nexthop objects (their ids).
    Group(Vec<u32>),
    /// Anything else (blackhole, device-only, FDB): never FerroLB's.
    Other,
}

/// One of FerroLB's routes as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// The destination.
    pub prefix: IpNet,
    /// Its metric.
    pub metric: u32,
    /// The nexthop object or group it points at, if any.
    pub nhid: Option<u32>,
    /// Its next hops (inline, or the kernel's expansion of `nhid`).
    pub paths: Vec<(IpAddr, u32)>,
}

/// A snapshot of the kernel state FerroLB cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelState {
    /// Every nexthop object, FerroLB's and others', by id.
    pub next_hops: BTreeMap<u32, KernelNextHop>,
    /// FerroLB's routes (its protocol, main table).
    pub routes: Vec<KernelRoute>,
}
