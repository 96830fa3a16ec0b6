//! The kernel forwarding table: from the routes the router accepted to kernel routes, nexthop
//! objects and nexthop groups.
//!
//! [`Fib`] is the desired state and its diff, without I/O: it is told what each prefix should
//! forward to and answers with the netlink [`Op`]s that get the kernel there. [`netlink`] sends
//! them; [`kernel`] describes what the kernel reports back, which [`Fib::reconcile`] compares
//! with the desired state to repair drift (a link going down flushes nexthop objects) and to
//! remove what a previous run left behind.
//!
//! # Nexthop groups
//!
//! With kernel nexthop objects (Linux 5.3+), every next-hop address is one nexthop object and
//! every distinct set of next hops one group; a route points at its group (`nhid`), however
//! many next hops it has. Groups are shared: the 1,000 Service routes announced by the same ten
//! nodes use one group.
//!
//! The point is what happens when a node goes away. When its BGP session ends,
//! [`Fib::withdraw_next_hop`] rewrites every group it is in at once (`RTM_NEWNEXTHOP` replace
//! with the remaining members), before the Loc-RIB has worked through its prefixes: one netlink
//! message per affected group instead of one per prefix, and routes never move. The
//! withdrawals that follow find nothing left to change. Otherwise (a node's paths withdrawn
//! by UPDATE) a batch in which every route of a group changes the same way also rewrites the
//! group in place. A group
//! is rewritten in place only when *all* its routes change to the same new set; otherwise the
//! routes that change move to the group of their new set (created if needed), and a group whose
//! last route left is deleted. So a group's identity is "a set of routes that share next
//! hops", and two groups may end up with equal members (after a rewrite) without harm; new
//! routes join the lowest-numbered one.
//!
//! Without nexthop objects (`fib.nexthopGroups: off`, or `auto` on a kernel without them) each
//! route carries its next hops inline (`RTA_MULTIPATH`), and a node going away costs one route
//! replacement per prefix.
//!
//! Every nexthop needs its outgoing interface: next hops are resolved through the kernel's
//! table first, and only directly connected ones are used (see [`netlink::Netlink::resolve`]).

mod ids;
pub mod kernel;
mod message;
pub mod netlink;
mod nexthop_msg;
mod planner;
mod readback;
mod reconcile;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

pub use planner::Fib;

/// The metric (priority) of FerroLB's routes: FRR's for eBGP, so a static route with the
/// kernel's default metric 0 still wins, as an administrator would expect.
pub const ROUTE_METRIC: u32 = 20;

/// The first nexthop id FerroLB uses; high enough to stay clear of ids other software picks
/// (iproute2 users and systemd-networkd count from 1, FRR from a low range).
pub const NEXTHOP_ID_BASE: u32 = 0x4C42_0001;

/// Next-hop addresses with the interface (ifindex) each is reached through.
pub type Resolved = BTreeMap<IpAddr, u32>;

/// How ECMP routes are expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nexthop objects and groups; routes point at a group.
    Groups,
    /// Routes carry their next hops (`RTA_MULTIPATH`).
    Multipath,
}

impl Mode {
    /// The name shown in the admin API and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Groups => "nexthop-groups",
            Mode::Multipath => "multipath",
        }
    }
}

/// Where a route forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A nexthop group (`nhid`).
    Group(u32),
    /// Inline next hops, each with its interface.
    Paths(Vec<(IpAddr, u32)>),
}

/// One netlink operation. Ops come in [`Op::stage`] order: what is created before what
/// uses it, what is deleted after what used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create a nexthop object for a gateway.
    NewNextHop {
        /// Its id.
        id: u32,
        /// The gateway address.
        gateway: IpAddr,
        /// The outgoing interface.
        oif: u32,
    },
    /// Change the gateway or interface of an existing nexthop object.
    ReplaceNextHop {
        /// Its id.
        id: u32,
        /// The gateway address.
        gateway: IpAddr,
        /// The outgoing interface.
        oif: u32,
    },
    /// Create a nexthop group.
    NewGroup {
        /// Its id.
        id: u32,
        /// Member nexthop ids.
        members: Vec<u32>,
    },
    /// Change the members of a group: every route using it follows at once.
    ReplaceGroup {
        /// Its id.
        id: u32,
        /// Member nexthop ids.
        members: Vec<u32>,
    },
    /// Install or change a route.
    ReplaceRoute {
        /// The destination.
        prefix: IpNet,
        /// Where it forwards to.
        target: Target,
    },
    /// Remove a route.
    DeleteRoute {
        /// The destination.
        prefix: IpNet,
        /// Its metric.
        metric: u32,
    },
    /// Remove a nexthop group.
    DeleteGroup {
        /// Its id.
        id: u32,
    },
    /// Remove a nexthop object.
    DeleteNextHop {
        /// Its id.
        id: u32,
    },
}

impl Op {
    /// Execution order: 0 nexthop objects, 1 groups, 2 route installs, 3 route removals,
    /// 4 group removals, 5 nexthop removals.
    pub fn stage(&self) -> u8 {
        match self {
            Op::NewNextHop { .. } | Op::ReplaceNextHop { .. } => 0,
            Op::NewGroup { .. } | Op::ReplaceGroup { .. } => 1,
            Op::ReplaceRoute { .. } => 2,
            Op::DeleteRoute { .. } => 3,
            Op::DeleteGroup { .. } => 4,
            Op::DeleteNextHop { .. } => 5,
        }
    }

    /// Whether the op only removes things. After a failed op the removals of the same batch
    /// are skipped: deleting a group a route failed to move away from would delete the route.
    pub fn is_removal(&self) -> bool {
        self.stage() >= 3
    }

    /// A short name for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::NewNextHop { .. } => "new-nexthop",
            Op::ReplaceNextHop { .. } => "replace-nexthop",
            Op::NewGroup { .. } => "new-group",
            Op::ReplaceGroup { .. } => "replace-group",
            Op::ReplaceRoute { .. } => "replace-route",
            Op::DeleteRoute { .. } => "delete-route",
            Op::DeleteGroup { .. } => "delete-group",
            Op::DeleteNextHop { .. } => "delete-nexthop",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::NewNextHop { id, gateway, oif } | Op::ReplaceNextHop { id, gateway, oif } => {
                write!(f, "{} id {id} via {gateway} oif {oif}", self.kind())
            }
            Op::NewGroup { id, members } | Op::ReplaceGroup { id, members } => {
                write!(f, "{} id {id} members {members:?}", self.kind())
            }
            Op::ReplaceRoute { prefix, target } => write!(f, "replace-route {prefix} {target:?}"),
            Op::DeleteRoute { prefix, metric } => {
                write!(f, "delete-route {prefix} metric {metric}")
            }
            Op::DeleteGroup { id } | Op::DeleteNextHop { id } => {
                write!(f, "{} id {id}", self.kind())
            }
        }
    }
}

/// Sorts ops into execution order (stable, so the planner's order within a stage stays).
pub fn in_stage_order(mut ops: Vec<Op>) -> Vec<Op> {
    ops.sort_by_key(Op::stage);
    ops
}
