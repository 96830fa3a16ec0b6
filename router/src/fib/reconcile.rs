//! Comparing the desired state with what the kernel reports, and repairing the difference.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::kernel::{KernelNextHop, KernelRoute, KernelState, NextHopKind};
use super::planner::Fib;
use super::{in_stage_order, Mode, Op, Resolved, Target, ROUTE_METRIC};

impl Fib {
    /// The ops that make the kernel match the desired state: objects and routes missing or
    /// different in the kernel are (re)installed. With `sweep`, FerroLB's routes and nexthop
    /// objects (tagged with `protocol`) that are not desired are deleted; without it they are
    /// left alone (routes kept from a previous run while the sessions come back) and their ids
    /// are not reused.
    ///
    /// Ids held by other programs are never used; a desired object whose id another program
    /// took is given a new one.
    pub fn reconcile(&mut self, kernel: &KernelState, protocol: u8, sweep: bool) -> Vec<Op> {
        self.reserve_foreign_ids(kernel, protocol);
        let mut ops = Vec::new();
        if self.mode == Mode::Groups {
            self.reconcile_objects(kernel, protocol, &mut ops);
        }
        let by_prefix: BTreeMap<IpNet, &KernelRoute> = kernel
            .routes
            .iter()
            .filter(|r| r.metric == ROUTE_METRIC)
            .map(|r| (r.prefix, r))
            .collect();
        for (prefix, route) in &self.routes {
            let in_kernel = by_prefix.get(prefix);
            let current = match (self.mode, route.group) {
                (Mode::Groups, Some(group)) => in_kernel.is_some_and(|k| k.nhid == Some(group)),
                _ => in_kernel.is_some_and(|k| {
                    k.nhid.is_none()
                        && k.paths.iter().copied().collect::<Resolved>() == route.next_hops
                        && k.paths.len() == route.next_hops.len()
                }),
            };
            if !current {
                ops.push(Op::ReplaceRoute {
                    prefix: *prefix,
                    target: self.target(route.group, &route.next_hops),
                });
            }
        }
        if sweep {
            for r in &kernel.routes {
                let desired = r.metric == ROUTE_METRIC && self.routes.contains_key(&r.prefix);
                if !desired {
                    ops.push(Op::DeleteRoute {
                        prefix: r.prefix,
                        metric: r.metric,
                    });
                }
            }
            for (id, nh) in &kernel.next_hops {
                if nh.protocol == protocol && !self.owns(*id) {
                    ops.push(match nh.kind {
                        NextHopKind::Group(_) => Op::DeleteGroup { id: *id },
                        _ => Op::DeleteNextHop { id: *id },
                    });
                }
            }
        }
        in_stage_order(ops)
    }

    /// The ops deleting everything tagged with `protocol`: routes, then groups, then nexthops.
    pub fn flush(kernel: &KernelState, protocol: u8) -> Vec<Op> {
        let routes = kernel.routes.iter().map(|r| Op::DeleteRoute {
            prefix: r.prefix,
            metric: r.metric,
        });
        let objects = kernel
            .next_hops
            .iter()
            .filter(|(_, nh)| nh.protocol == protocol)
            .map(|(id, nh)| match nh.kind {
                NextHopKind::Group(_) => Op::DeleteGroup { id: *id },
                _ => Op::DeleteNextHop { id: *id },
            });
        in_stage_order(routes.chain(objects).collect())
    }

    fn target(&self, group: Option<u32>, next_hops: &Resolved) -> Target {
        match group {
            Some(g) => Target::Group(g),
            None => Target::Paths(next_hops.iter().map(|(a, o)| (*a, *o)).collect()),
        }
    }

    /// Whether the desired state has an object with this id.
    fn owns(&self, id: u32) -> bool {
        self.groups.contains_key(&id) || self.next_hops.values().any(|o| o.id == id)
    }

    /// Reserves every id in the kernel the desired state does not own, releases reservations
    /// the kernel no longer holds, and moves desired objects off ids another program holds.
    fn reserve_foreign_ids(&mut self, kernel: &KernelState, protocol: u8) {
        let mut evicted: BTreeSet<u32> = BTreeSet::new();
        for (id, nh) in &kernel.next_hops {
            if !self.owns(*id) {
                self.ids.reserve(*id);
            } else if nh.protocol != protocol {
                self.ids.reserve(*id);
                evicted.insert(*id);
            }
        }
        self.ids
            .retain_reserved(|id| kernel.next_hops.contains_key(&id));
        if evicted.is_empty() {
            return;
        }
        let mut displaced: Vec<(IpNet, Option<Resolved>)> = Vec::new();
        for id in evicted {
            tracing::warn!(
                id,
                "another program uses a nexthop id FerroLB had; moving to a new id"
            );
            displaced.extend(self.evict(id).into_iter().map(|(p, nh)| (p, Some(nh))));
        }
        // The objects of the displaced routes are created again, under new ids, by the
        // comparison that follows.
        let _ = self.plan(displaced);
        let all: crate::routes::NextHopAddrs = self.next_hops.keys().copied().collect();
        self.remove_unused_next_hops(&all, &mut Vec::new());
        self.ids.commit();
    }

    /// Forgets the object `id` and everything built on it; returns the routes that used it.
    fn evict(&mut self, id: u32) -> Vec<(IpNet, Resolved)> {
        let mut groups: BTreeSet<u32> = BTreeSet::new();
        if self.groups.contains_key(&id) {
            groups.insert(id);
        }
        if let Some(addr) = self
            .next_hops
            .iter()
            .find(|(_, o)| o.id == id)
            .map(|(a, _)| *a)
        {
            self.next_hops.remove(&addr);
            self.ids.release(id);
            groups.extend(
                self.groups
                    .iter()
                    .filter(|(_, g)| g.members.contains(&addr))
                    .map(|(gid, _)| *gid),
            );
        }
        let mut routes = Vec::new();
        for gid in groups {
            if let Some(group) = self.groups.remove(&gid) {
                if let Some(ids) = self.by_members.get_mut(&group.members) {
                    ids.remove(&gid);
                    if ids.is_empty() {
                        self.by_members.remove(&group.members);
                    }
                }
                self.ids.release(gid);
            }
            let prefixes: Vec<IpNet> = self
                .routes
                .iter()
                .filter(|(_, r)| r.group == Some(gid))
                .map(|(p, _)| *p)
                .collect();
            for p in prefixes {
                if let Some(r) = self.routes.remove(&p) {
                    routes.push((p, r.next_hops));
                }
            }
        }
        self.ids.commit();
        routes
    }

    /// Nexthop objects and groups missing or different in the kernel.
    fn reconcile_objects(&self, kernel: &KernelState, protocol: u8, ops: &mut Vec<Op>) {
        let ours = |id: &u32| -> Option<&KernelNextHop> {
            kernel
                .next_hops
                .get(id)
                .filter(|nh| nh.protocol == protocol)
        };
        for (addr, object) in &self.next_hops {
            let (id, gateway, oif) = (object.id, *addr, object.oif);
            match ours(&id).map(|nh| &nh.kind) {
                Some(NextHopKind::Gateway { address, oif: o })
                    if *address == gateway && *o == oif => {}
                Some(_) => ops.push(Op::ReplaceNextHop { id, gateway, oif }),
                None => ops.push(Op::NewNextHop { id, gateway, oif }),
            }
        }
        for (id, group) in &self.groups {
            let members: Vec<u32> = group
                .members
                .iter()
                .filter_map(|a| self.next_hops.get(a).map(|o| o.id))
                .collect();
            let want: BTreeSet<u32> = members.iter().copied().collect();
            match ours(id).map(|nh| &nh.kind) {
                Some(NextHopKind::Group(have))
                    if have.len() == want.len() && have.iter().all(|m| want.contains(m)) => {}
                Some(_) => ops.push(Op::ReplaceGroup { id: *id, members }),
                None => ops.push(Op::NewGroup { id: *id, members }),
            }
        }
    }
}
