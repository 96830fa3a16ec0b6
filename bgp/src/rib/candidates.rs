//! The candidate paths of one prefix, kept in decision order, and the per-prefix operations that
//! re-run the decision process and report forwarding changes.
//!
//! Layout: most prefixes have exactly one path, stored inline (16 bytes, no allocation).
//! Several paths move to a boxed list ordered best first, then the other forwarding
//! (multipath) paths, then the rest.

use std::sync::Arc;

use crate::attribute::NextHop;

use super::change::{BestRoute, NextHopSet, RibChange};
use super::decision::{meds_comparable, prefers, Decider, DecisionConfig};
use super::path::Path;
use super::peer::{PeerId, PeerKind, PeerTable};
use super::prefix_map::Prefix;
use super::prefix_table::{Entry, PrefixTable};

/// Candidate paths of one prefix (never empty: an empty prefix leaves the table).
#[derive(Debug, Clone)]
pub(crate) enum Candidates {
    One(Path),
    Many(Box<Multi>),
}

#[derive(Debug, Clone)]
pub(crate) struct Multi {
    /// Best first, then the other forwarding paths, then the rest.
    paths: Vec<Path>,
    /// How many leading paths forward traffic (at least 1).
    forwarding: usize,
}

impl Candidates {
    /// All candidates, best first.
    pub(crate) fn paths(&self) -> &[Path] {
        match self {
            Candidates::One(p) => std::slice::from_ref(p),
            Candidates::Many(m) => &m.paths,
        }
    }

    /// The forwarding paths, best first.
    pub(crate) fn forwarding(&self) -> &[Path] {
        match self {
            Candidates::One(p) => std::slice::from_ref(p),
            Candidates::Many(m) => m.paths.get(..m.forwarding).unwrap_or(&m.paths),
        }
    }

    /// The best path.
    pub(crate) fn best(&self) -> &Path {
        match self {
            Candidates::One(p) => p,
            // `Many` always holds at least two paths.
            Candidates::Many(m) => m
                .paths
                .first()
                .unwrap_or_else(|| unreachable!("empty candidate list")),
        }
    }

    /// The path from `peer`, mutably.
    pub(crate) fn path_of_mut(&mut self, peer: PeerId) -> Option<&mut Path> {
        match self {
            Candidates::One(p) => (p.peer == peer).then_some(p),
            Candidates::Many(m) => m.paths.iter_mut().find(|p| p.peer == peer),
        }
    }

    /// The path from `peer`.
    pub(crate) fn path_of(&self, peer: PeerId) -> Option<&Path> {
        self.paths().iter().find(|p| p.peer == peer)
    }

    /// All candidates, mutably (the caller keeps the decision order).
    fn paths_mut(&mut self) -> &mut [Path] {
        match self {
            Candidates::One(p) => std::slice::from_mut(p),
            Candidates::Many(m) => &mut m.paths,
        }
    }

    /// Makes the path at `index` the best (single-path forwarding only).
    fn swap_to_front(&mut self, index: usize) {
        self.paths_mut().swap(0, index);
    }

    fn push(&mut self, path: Path) {
        match self {
            Candidates::Many(m) => m.paths.push(path),
            Candidates::One(_) => {
                let many = Candidates::Many(Box::new(Multi {
                    paths: Vec::with_capacity(2),
                    forwarding: 1,
                }));
                // Move the first path over rather than clone it (no reference count traffic).
                if let Candidates::One(first) = std::mem::replace(self, many) {
                    if let Candidates::Many(m) = self {
                        m.paths.push(first);
                        m.paths.push(path);
                    }
                }
            }
        }
    }

    /// Removes the path of `peer` from a list of several; `One` is removed by dropping the entry.
    fn remove_from_many(&mut self, peer: PeerId) -> Option<Path> {
        let Candidates::Many(m) = self else {
            return None;
        };
        let i = m.paths.iter().position(|p| p.peer == peer)?;
        let removed = m.paths.remove(i);
        if m.paths.len() == 1 {
            if let Some(last) = m.paths.pop() {
                *self = Candidates::One(last);
            }
        }
        Some(removed)
    }

    /// Re-runs the decision process and reorders the paths accordingly; `current` is the peer
    /// whose path was best before the change, if that path is still a candidate.
    fn decide(&mut self, env: &mut Env<'_>, current: Option<PeerId>) {
        let Candidates::Many(m) = self else {
            return;
        };
        let s = &mut *env.scratch;
        let chosen = s.decider.run(&m.paths, env.peers, env.config, current);
        s.order.clear();
        s.order.extend(
            chosen
                .iter()
                .filter_map(|&i| m.paths.get(i as usize))
                .map(|p| p.peer),
        );
        // Move the chosen paths to the front in decision order. A prefix has one path per peer,
        // so the peer id identifies a path across the swaps.
        for (pos, peer) in s.order.iter().enumerate() {
            if let Some(j) = m.paths.iter().skip(pos).position(|p| p.peer == *peer) {
                m.paths.swap(pos, pos + j);
            }
        }
        m.forwarding = s.order.len().max(1);
    }

    /// Records the forwarding identity: the best (peer, path data) and, in `hops`, the sorted
    /// distinct next hops of the forwarding paths.
    fn snapshot(&self, hops: &mut Vec<NextHop>) -> (PeerId, usize) {
        let fwd = self.forwarding();
        hops.clear();
        hops.extend(fwd.iter().map(Path::next_hop));
        if hops.len() > 1 {
            hops.sort_unstable();
            hops.dedup();
        }
        let best = self.best();
        (best.peer, Arc::as_ptr(&best.data) as usize)
    }

    /// The forwarding result as the change stream reports it.
    pub(crate) fn best_route(&self, peers: &PeerTable) -> BestRoute {
        let best = self.best();
        BestRoute {
            peer: best.peer,
            // A path always belongs to a registered peer; `Ibgp` is the conservative fallback
            // for export (never re-advertised to internal peers).
            peer_kind: peers.get(best.peer).map_or(PeerKind::Ibgp, |p| p.kind),
            path: Arc::clone(&best.data),
            next_hops: NextHopSet::of_paths(self.forwarding())
                .unwrap_or_else(|| NextHopSet::one(best.next_hop())),
        }
    }
}

/// Reusable buffers of the per-prefix operations.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    decider: Decider,
    order: Vec<PeerId>,
    before: Vec<NextHop>,
    after: Vec<NextHop>,
}

/// What the per-prefix operations need besides the table.
pub(crate) struct Env<'a> {
    pub(crate) peers: &'a PeerTable,
    pub(crate) config: &'a DecisionConfig,
    pub(crate) scratch: &'a mut Scratch,
}

/// How an upsert changed the peer's path for the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// The peer had no path for the prefix.
    Added,
    /// The peer's path was replaced or refreshed; `was_stale` tells whether it had been stale.
    Updated { was_stale: bool },
}

/// Adds or replaces the path of `path.peer` for `prefix`, re-runs the decision and reports a
/// forwarding change into `out`.
pub(crate) fn upsert<K: Prefix>(
    table: &mut PrefixTable<K, Candidates>,
    prefix: K,
    path: Path,
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) -> Upsert {
    let mut e = match table.entry(prefix) {
        Entry::Vacant(v) => {
            let c = v.insert(Candidates::One(path));
            out.push(RibChange {
                prefix: prefix.into(),
                best: Some(c.best_route(env.peers)),
            });
            return Upsert::Added;
        }
        Entry::Occupied(e) => e,
    };
    let c = e.get_mut();
    if let Some(result) = upsert_single_best(prefix, c, &path, env, out) {
        return result;
    }
    let before = c.snapshot(&mut env.scratch.before);
    let result = match c.path_of_mut(path.peer) {
        Some(old) if Arc::ptr_eq(&old.data, &path.data) => {
            // A duplicate announcement, or the refresh of a stale path: forwarding is unchanged.
            let was_stale = old.stale;
            old.stale = false;
            return Upsert::Updated { was_stale };
        }
        Some(old) => {
            let was_stale = old.stale;
            *old = path;
            Upsert::Updated { was_stale }
        }
        None => {
            c.push(path);
            Upsert::Added
        }
    };
    c.decide(env, Some(before.0));
    report_if_changed(prefix, c, before, env, out);
    result
}

/// Removes the path of `peer` for `prefix`, re-runs the decision and reports a forwarding
/// change into `out`. Returns the removed path.
pub(crate) fn remove<K: Prefix>(
    table: &mut PrefixTable<K, Candidates>,
    prefix: K,
    peer: PeerId,
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) -> Option<Path> {
    let Entry::Occupied(mut e) = table.entry(prefix) else {
        return None;
    };
    if let Candidates::One(p) = e.get() {
        if p.peer != peer {
            return None;
        }
        out.push(RibChange {
            prefix: prefix.into(),
            best: None,
        });
        return match e.remove() {
            Candidates::One(p) => Some(p),
            Candidates::Many(_) => None,
        };
    }
    let c = e.get_mut();
    if single_best_unchanged_without(c, peer, env) {
        return c.remove_from_many(peer);
    }
    let before = c.snapshot(&mut env.scratch.before);
    let removed = c.remove_from_many(peer)?;
    c.decide(env, Some(before.0).filter(|best| *best != peer));
    report_if_changed(prefix, c, before, env, out);
    Some(removed)
}

/// The shortcut of [`upsert`] for single-path forwarding (`max_paths` 1) with comparable MEDs:
/// the best path is the minimum of a total order, so the new path is only compared with the
/// current best. `None` when the shortcut does not apply (the caller runs the whole decision);
/// the candidates are untouched then.
fn upsert_single_best<K: Prefix>(
    prefix: K,
    c: &mut Candidates,
    path: &Path,
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) -> Option<Upsert> {
    let config = env.config;
    if config.max_paths > 1 || !meds_comparable(c.paths(), Some(path), config) {
        return None;
    }
    let before = (c.best().peer, Arc::as_ptr(&c.best().data));
    let position = c.paths().iter().position(|p| p.peer == path.peer);
    let result = match position {
        Some(0) => {
            // Replacing the best path: it stays best unless it got worse.
            if prefers(c.best(), path, env.peers, config) {
                return None;
            }
            replace_at(c, 0, path)
        }
        Some(i) => {
            let result = replace_at(c, i, path);
            if prefers(path, c.best(), env.peers, config) {
                c.swap_to_front(i);
            }
            result
        }
        None => {
            c.push(path.clone());
            let last = c.paths().len() - 1;
            if prefers(path, c.best(), env.peers, config) {
                c.swap_to_front(last);
            }
            Upsert::Added
        }
    };
    let best = c.best();
    if before != (best.peer, Arc::as_ptr(&best.data)) {
        out.push(RibChange {
            prefix: prefix.into(),
            best: Some(c.best_route(env.peers)),
        });
    }
    Some(result)
}

/// Replaces the path at `index` (from the same peer as `path`) by `path`.
fn replace_at(c: &mut Candidates, index: usize, path: &Path) -> Upsert {
    let Some(old) = c.paths_mut().get_mut(index) else {
        return Upsert::Added;
    };
    let was_stale = old.stale;
    *old = path.clone();
    Upsert::Updated { was_stale }
}

/// True when removing `peer`'s path cannot change a single-path prefix's best path: it is not
/// the best, and MEDs are comparable (so the best is the minimum of a total order).
fn single_best_unchanged_without(c: &Candidates, peer: PeerId, env: &Env<'_>) -> bool {
    env.config.max_paths <= 1
        && c.best().peer != peer
        && meds_comparable(c.paths(), None, env.config)
}

/// Re-runs the decision for `prefix` (after a peer or configuration change).
pub(crate) fn redecide<K: Prefix>(
    table: &mut PrefixTable<K, Candidates>,
    prefix: K,
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) {
    if let Some(c) = table.get_mut(&prefix) {
        let before = c.snapshot(&mut env.scratch.before);
        c.decide(env, Some(before.0));
        report_if_changed(prefix, c, before, env, out);
    }
}

fn report_if_changed<K: Prefix>(
    prefix: K,
    c: &Candidates,
    before: (PeerId, usize),
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) {
    let after = c.snapshot(&mut env.scratch.after);
    if before != after || env.scratch.before != env.scratch.after {
        out.push(RibChange {
            prefix: prefix.into(),
            best: Some(c.best_route(env.peers)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_path_prefixes_take_two_words() {
        assert_eq!(std::mem::size_of::<Candidates>(), 16);
    }
}
