//! The desired kernel state and the ops that change it (see the module docs of [`super`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::ids::IdPool;
use super::{in_stage_order, Mode, Op, Resolved, Target, ROUTE_METRIC};
use crate::routes::NextHopAddrs;

/// A nexthop object: one per next-hop address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NextHopObject {
    pub id: u32,
    pub oif: u32,
}

/// A nexthop group and how many routes use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub members: NextHopAddrs,
    pub routes: usize,
}

/// An installed route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    pub next_hops: Resolved,
    /// Its group, in [`Mode::Groups`].
    pub group: Option<u32>,
}

/// The routes, nexthop objects and groups FerroLB wants in the kernel.
#[derive(Debug, Clone)]
pub struct Fib {
    pub(super) mode: Mode,
    pub(super) ids: IdPool,
    pub(super) next_hops: BTreeMap<IpAddr, NextHopObject>,
    pub(super) groups: BTreeMap<u32, Group>,
    /// Groups by member set; several groups may share one.
    pub(super) by_members: BTreeMap<NextHopAddrs, BTreeSet<u32>>,
    pub(super) routes: BTreeMap<IpNet, Route>,
}

/// What the admin API shows of one installed route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRoute {
    /// The next hops it forwards to.
    pub next_hops: Vec<IpAddr>,
    /// Its nexthop group, in [`Mode::Groups`].
    pub group: Option<u32>,
}

impl Fib {
    /// An empty table.
    pub fn new(mode: Mode) -> Fib {
        Fib {
            mode,
            ids: IdPool::default(),
            next_hops: BTreeMap::new(),
            groups: BTreeMap::new(),
            by_members: BTreeMap::new(),
            routes: BTreeMap::new(),
        }
    }

    /// How routes are expressed.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The installed route for `prefix`.
    pub fn route(&self, prefix: &IpNet) -> Option<InstalledRoute> {
        self.routes.get(prefix).map(|r| InstalledRoute {
            next_hops: r.next_hops.keys().copied().collect(),
            group: r.group,
        })
    }

    /// Number of installed routes.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Number of nexthop groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Installed routes per ECMP width (number of next hops).
    pub fn widths(&self) -> BTreeMap<usize, usize> {
        let mut widths = BTreeMap::new();
        for r in self.routes.values() {
            *widths.entry(r.next_hops.len()).or_default() += 1;
        }
        widths
    }

    /// Every installed route with its next-hop addresses.
    pub fn routes(&self) -> impl Iterator<Item = (&IpNet, NextHopAddrs)> {
        self.routes
            .iter()
            .map(|(p, r)| (p, r.next_hops.keys().copied().collect()))
    }

    /// Changes the routes of `changes` (`None` or an empty set: remove) and returns the ops,
    /// in execution order. Each prefix should appear once.
    pub fn plan(&mut self, changes: Vec<(IpNet, Option<Resolved>)>) -> Vec<Op> {
        let changes: Vec<(IpNet, Option<Resolved>)> = changes
            .into_iter()
            .map(|(p, nh)| (p.trunc(), nh.filter(|n| !n.is_empty())))
            .filter(|(p, nh)| self.routes.get(p).map(|r| &r.next_hops) != nh.as_ref())
            .collect();
        let mut ops = Vec::new();
        match self.mode {
            Mode::Multipath => self.plan_multipath(changes, &mut ops),
            Mode::Groups => self.plan_groups(changes, &mut ops),
        }
        self.ids.commit();
        in_stage_order(ops)
    }

    /// Takes the next hop `gone` out of every route at once and returns the ops, in execution
    /// order: each group it is in is rewritten in place with the others (a route left without
    /// any next hop is deleted with its group), then its nexthop object goes. Without nexthop
    /// objects every route through it is replaced or deleted.
    pub fn withdraw_next_hop(&mut self, gone: IpAddr) -> Vec<Op> {
        let mut ops = Vec::new();
        match self.mode {
            Mode::Multipath => {
                let through: Vec<(IpNet, Option<Resolved>)> = self
                    .routes
                    .iter()
                    .filter(|(_, r)| r.next_hops.contains_key(&gone))
                    .map(|(p, r)| {
                        let mut rest = r.next_hops.clone();
                        rest.remove(&gone);
                        (*p, Some(rest).filter(|n| !n.is_empty()))
                    })
                    .collect();
                self.plan_multipath(through, &mut ops);
            }
            Mode::Groups => self.withdraw_from_groups(gone, &mut ops),
        }
        self.ids.commit();
        in_stage_order(ops)
    }

    fn withdraw_from_groups(&mut self, gone: IpAddr, ops: &mut Vec<Op>) {
        let with: BTreeSet<u32> = self
            .groups
            .iter()
            .filter(|(_, g)| g.members.contains(&gone))
            .map(|(id, _)| *id)
            .collect();
        let mut emptied = BTreeSet::new();
        for id in &with {
            let Some(mut rest) = self.groups.get(id).map(|g| g.members.clone()) else {
                continue;
            };
            rest.remove(&gone);
            if rest.is_empty() {
                emptied.insert(*id);
                continue;
            }
            // The members are all known objects: nothing to resolve.
            self.rewrite_group(*id, rest, &Resolved::new(), ops);
        }
        // The kernel already forwards without it; the bookkeeping follows.
        let mut deleted = Vec::new();
        for (prefix, route) in &mut self.routes {
            let Some(group) = route.group.filter(|g| with.contains(g)) else {
                continue;
            };
            if emptied.contains(&group) {
                deleted.push(*prefix);
            } else {
                route.next_hops.remove(&gone);
            }
        }
        for prefix in deleted {
            let group = self.routes.remove(&prefix).and_then(|r| r.group);
            ops.push(Op::DeleteRoute {
                prefix,
                metric: ROUTE_METRIC,
            });
            self.leave_group(group);
        }
        self.remove_unused(&emptied, ops);
        self.remove_unused_next_hops(&NextHopAddrs::from([gone]), ops);
    }

    fn plan_multipath(&mut self, changes: Vec<(IpNet, Option<Resolved>)>, ops: &mut Vec<Op>) {
        for (prefix, next_hops) in changes {
            match next_hops {
                Some(next_hops) => {
                    let paths = next_hops.iter().map(|(a, oif)| (*a, *oif)).collect();
                    ops.push(Op::ReplaceRoute {
                        prefix,
                        target: Target::Paths(paths),
                    });
                    self.routes.insert(
                        prefix,
                        Route {
                            next_hops,
                            group: None,
                        },
                    );
                }
                None => {
                    if self.routes.remove(&prefix).is_some() {
                        ops.push(Op::DeleteRoute {
                            prefix,
                            metric: ROUTE_METRIC,
                        });
                    }
                }
            }
        }
    }

    fn plan_groups(&mut self, changes: Vec<(IpNet, Option<Resolved>)>, ops: &mut Vec<Op>) {
        // Interfaces of existing nexthop objects that changed.
        let mut resolved = Resolved::new();
        for next_hops in changes.iter().filter_map(|(_, nh)| nh.as_ref()) {
            resolved.extend(next_hops.iter().map(|(a, o)| (*a, *o)));
        }
        for (addr, oif) in &resolved {
            if let Some(object) = self.next_hops.get_mut(addr) {
                if object.oif != *oif {
                    object.oif = *oif;
                    ops.push(Op::ReplaceNextHop {
                        id: object.id,
                        gateway: *addr,
                        oif: *oif,
                    });
                }
            }
        }

        let rest = self.rewrite_groups_in_place(changes, &resolved, ops);
        let mut touched: BTreeSet<u32> = BTreeSet::new();
        for (prefix, next_hops) in rest {
            let old = self.routes.get(&prefix).and_then(|r| r.group);
            touched.extend(old);
            let Some(next_hops) = next_hops else {
                if self.routes.remove(&prefix).is_some() {
                    ops.push(Op::DeleteRoute {
                        prefix,
                        metric: ROUTE_METRIC,
                    });
                    self.leave_group(old);
                }
                continue;
            };
            let members: NextHopAddrs = next_hops.keys().copied().collect();
            let group = match self.by_members.get(&members).and_then(|g| g.first()) {
                Some(id) => *id,
                None => self.new_group(members, &resolved, ops),
            };
            if let Some(g) = self.groups.get_mut(&group) {
                g.routes += 1;
            }
            self.routes.insert(
                prefix,
                Route {
                    next_hops,
                    group: Some(group),
                },
            );
            if old != Some(group) {
                ops.push(Op::ReplaceRoute {
                    prefix,
                    target: Target::Group(group),
                });
            }
            self.leave_group(old);
        }
        self.remove_unused(&touched, ops);
    }

    /// Rewrites every group whose routes all change to one same new set; returns the other
    /// changes.
    fn rewrite_groups_in_place(
        &mut self,
        changes: Vec<(IpNet, Option<Resolved>)>,
        resolved: &Resolved,
        ops: &mut Vec<Op>,
    ) -> Vec<(IpNet, Option<Resolved>)> {
        let mut by_group: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, (prefix, _)) in changes.iter().enumerate() {
            if let Some(g) = self.routes.get(prefix).and_then(|r| r.group) {
                by_group.entry(g).or_default().push(i);
            }
        }
        let mut done = vec![false; changes.len()];
        for (id, indices) in by_group {
            let Some(group) = self.groups.get(&id) else {
                continue;
            };
            if indices.len() != group.routes {
                continue;
            }
            let mut sets = indices
                .iter()
                .filter_map(|i| changes.get(*i))
                .map(|(_, nh)| {
                    nh.as_ref()
                        .map(|n| n.keys().copied().collect::<NextHopAddrs>())
                });
            let Some(Some(first)) = sets.next() else {
                continue;
            };
            if first == group.members || !sets.all(|s| s.as_ref() == Some(&first)) {
                continue;
            }
            let old = self.rewrite_group(id, first, resolved, ops);
            for i in indices {
                if let (Some((prefix, Some(next_hops))), Some(d)) =
                    (changes.get(i), done.get_mut(i))
                {
                    if let Some(route) = self.routes.get_mut(prefix) {
                        route.next_hops = next_hops.clone();
                    }
                    *d = true;
                }
            }
            // Members that left may now be unused.
            self.remove_unused_next_hops(&old, ops);
        }
        changes
            .into_iter()
            .zip(done)
            .filter(|(_, d)| !d)
            .map(|(c, _)| c)
            .collect()
    }

    /// Rewrites group `id` in place with `members` (creating missing nexthop objects) and
    /// returns its old members.
    fn rewrite_group(
        &mut self,
        id: u32,
        members: NextHopAddrs,
        resolved: &Resolved,
        ops: &mut Vec<Op>,
    ) -> NextHopAddrs {
        let member_ids = self.member_ids(&members, resolved, ops);
        ops.push(Op::ReplaceGroup {
            id,
            members: member_ids,
        });
        let group = self.groups.entry(id).or_insert_with(|| Group {
            members: NextHopAddrs::new(),
            routes: 0,
        });
        let old = std::mem::replace(&mut group.members, members.clone());
        self.unindex(&old, id);
        self.by_members.entry(members).or_default().insert(id);
        old
    }

    /// Creates a group for `members` (and any missing nexthop objects); returns its id.
    fn new_group(&mut self, members: NextHopAddrs, resolved: &Resolved, ops: &mut Vec<Op>) -> u32 {
        let member_ids = self.member_ids(&members, resolved, ops);
        let id = self.ids.allocate();
        ops.push(Op::NewGroup {
            id,
            members: member_ids,
        });
        self.by_members
            .entry(members.clone())
            .or_default()
            .insert(id);
        self.groups.insert(id, Group { members, routes: 0 });
        id
    }

    /// The nexthop ids of `members`, creating the missing objects.
    fn member_ids(
        &mut self,
        members: &NextHopAddrs,
        resolved: &Resolved,
        ops: &mut Vec<Op>,
    ) -> Vec<u32> {
        let mut ids = Vec::with_capacity(members.len());
        for addr in members {
            let id = match self.next_hops.get(addr) {
                Some(object) => object.id,
                None => {
                    let id = self.ids.allocate();
                    let oif = resolved.get(addr).copied().unwrap_or(0);
                    ops.push(Op::NewNextHop {
                        id,
                        gateway: *addr,
                        oif,
                    });
                    self.next_hops.insert(*addr, NextHopObject { id, oif });
                    id
                }
            };
            ids.push(id);
        }
        ids
    }

    fn leave_group(&mut self, group: Option<u32>) {
        if let Some(g) = group.and_then(|id| self.groups.get_mut(&id)) {
            g.routes = g.routes.saturating_sub(1);
        }
    }

    fn unindex(&mut self, members: &NextHopAddrs, id: u32) {
        if let Some(ids) = self.by_members.get_mut(members) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_members.remove(members);
            }
        }
    }

    /// Merges groups with equal members (left behind by in-place rewrites) into the one with
    /// the most routes: its routes stay, the others' routes move to it. Not urgent, so it runs
    /// on the periodic audit rather than when a node goes away.
    pub fn consolidate(&mut self) -> Vec<Op> {
        let mut ops = Vec::new();
        let duplicated: Vec<BTreeSet<u32>> = self
            .by_members
            .values()
            .filter(|ids| ids.len() > 1)
            .cloned()
            .collect();
        let mut touched = BTreeSet::new();
        for ids in duplicated {
            let Some(keep) = ids.iter().copied().max_by_key(|id| {
                (
                    self.groups.get(id).map_or(0, |g| g.routes),
                    std::cmp::Reverse(*id),
                )
            }) else {
                continue;
            };
            let mut moved = 0;
            for (prefix, route) in self.routes.iter_mut() {
                if route.group.is_some_and(|g| g != keep && ids.contains(&g)) {
                    touched.extend(route.group);
                    route.group = Some(keep);
                    moved += 1;
                    ops.push(Op::ReplaceRoute {
                        prefix: *prefix,
                        target: Target::Group(keep),
                    });
                }
            }
            if let Some(g) = self.groups.get_mut(&keep) {
                g.routes += moved;
            }
            for id in ids.iter().filter(|id| **id != keep) {
                if let Some(g) = self.groups.get_mut(id) {
                    g.routes = 0;
                }
            }
        }
        self.remove_unused(&touched, &mut ops);
        self.ids.commit();
        in_stage_order(ops)
    }

    /// Deletes the groups among `candidates` no route uses any more, then the nexthop objects
    /// no group uses.
    fn remove_unused(&mut self, candidates: &BTreeSet<u32>, ops: &mut Vec<Op>) {
        let mut freed = NextHopAddrs::new();
        for id in candidates {
            if self.groups.get(id).is_some_and(|g| g.routes == 0) {
                if let Some(group) = self.groups.remove(id) {
                    self.unindex(&group.members, *id);
                    freed.extend(group.members);
                    ops.push(Op::DeleteGroup { id: *id });
                    self.ids.release(*id);
                }
            }
        }
        self.remove_unused_next_hops(&freed, ops);
    }

    /// Deletes the nexthop objects among `candidates` that no group has as a member.
    pub(super) fn remove_unused_next_hops(&mut self, candidates: &NextHopAddrs, ops: &mut Vec<Op>) {
        for addr in candidates {
            let used = self.groups.values().any(|g| g.members.contains(addr));
            if used {
                continue;
            }
            if let Some(object) = self.next_hops.remove(addr) {
                ops.push(Op::DeleteNextHop { id: object.id });
                self.ids.release(object.id);
            }
        }
    }
}
