//! The decision process (RFC 4271 section 9.1.2) and multipath selection.
//!
//! Best path, in the order FRR and BIRD apply the RFC's steps:
//! 1. highest LOCAL_PREF (absent: [`DecisionConfig::default_local_pref`], 100);
//! 2. shortest AS_PATH (an AS_SET counts one);
//! 3. lowest ORIGIN (IGP < EGP < INCOMPLETE);
//! 4. lowest MED among paths from the same neighbouring AS, or among all paths with
//!    [`DecisionConfig::always_compare_med`]; a missing MED is 0;
//! 5. eBGP-learned over iBGP-learned;
//! 6. (lowest IGP cost to the next hop: skipped. FerroLB's peers are directly connected and the
//!    kernel resolves next hops, so every next hop costs the same);
//! 7. between external paths, the current best (RFC 5004, FRR's default, BIRD's `prefer
//!    older`; off with [`DecisionConfig::prefer_older_external`] false): a path that only
//!    differs from the best by its router ID does not replace it, which saves re-advertising
//!    every prefix when peers that send the same table connect one after another;
//! 8. lowest peer router ID;
//! 9. lowest peer address.
//!
//! Steps 1 to 5 eliminate candidates as RFC 4271 section 9.1.2.2 describes (MED is not a total
//! order across neighbouring ASes). Apart from step 7, the result is independent of arrival
//! order.
//!
//! Multipath: the survivors of step 5 are equal to the best on LOCAL_PREF, AS_PATH length,
//! ORIGIN, MED and kind. Among them, eBGP paths also need the best's neighbour AS unless the rule
//! is [`MultipathRule::AnyAs`]; iBGP paths need the best's exact AS_PATH unless the rule is
//! `AnyAs` (FRR's rule without `bestpath as-path multipath-relax`). Up to
//! [`DecisionConfig::max_paths`] of them are used, best first, then by router ID and address.

use std::net::{IpAddr, Ipv6Addr};

use crate::attribute::Origin;
use crate::types::Asn;

use super::path::Path;
use super::peer::{PeerId, PeerKind, PeerTable};

/// Which eBGP paths may share forwarding with the best one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultipathRule {
    /// Only paths from the best path's neighbour AS (FRR without multipath-relax).
    #[default]
    SameNeighborAs,
    /// Paths from any AS with an equally long AS_PATH (FRR `as-path multipath-relax`,
    /// BIRD `merge paths`).
    AnyAs,
}

/// Decision process settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Most paths used for forwarding one prefix; 1 disables multipath.
    pub max_paths: usize,
    /// Which eBGP paths may be combined.
    pub multipath_rule: MultipathRule,
    /// Compare MED between paths from different neighbouring ASes.
    pub always_compare_med: bool,
    /// LOCAL_PREF assumed for paths without one.
    pub default_local_pref: u32,
    /// Keep the current best among external paths that tie up to the router ID (RFC 5004).
    pub prefer_older_external: bool,
}

impl Default for DecisionConfig {
    fn default() -> Self {
        DecisionConfig {
            max_paths: 64,
            multipath_rule: MultipathRule::SameNeighborAs,
            always_compare_med: false,
            default_local_pref: 100,
            prefer_older_external: true,
        }
    }
}

/// The outcome of the decision process for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Index of the best path.
    pub best: usize,
    /// Indices of the paths used for forwarding, best first.
    pub multipath: Vec<usize>,
}

/// Runs the decision process over the candidate paths of one prefix. `current` is the peer
/// whose path is the best now, if it is still a candidate (see step 7).
pub fn select(
    paths: &[Path],
    peers: &PeerTable,
    config: &DecisionConfig,
    current: Option<PeerId>,
) -> Option<Selection> {
    let mut d = Decider::default();
    let chosen = d.run(paths, peers, config, current);
    let best = *chosen.first()? as usize;
    Some(Selection {
        best,
        multipath: chosen.iter().map(|&i| i as usize).collect(),
    })
}

/// What the decision process looks at in one candidate.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: u32,
    local_pref: u32,
    as_path_length: u32,
    origin: Origin,
    med: u32,
    neighbor_as: Option<Asn>,
    ebgp: bool,
    peer_asn: Asn,
    /// Steps 7 and 8, with the peer id last so the order is total.
    tie: (u32, IpAddr, PeerId),
}

impl Candidate {
    fn new(index: u32, path: &Path, peers: &PeerTable, config: &DecisionConfig) -> Candidate {
        let d = &path.data;
        // A path always belongs to a registered peer; should that ever not hold, the path
        // loses every peer-based tie-break rather than panicking.
        let (ebgp, peer_asn, router_id, address) = match peers.get(path.peer) {
            Some(p) => (
                p.kind == PeerKind::Ebgp,
                p.asn,
                u32::from(p.router_id),
                p.address,
            ),
            None => (false, 0, u32::MAX, IpAddr::V6(Ipv6Addr::from(u128::MAX))),
        };
        Candidate {
            index,
            local_pref: d.local_pref_or(config.default_local_pref),
            as_path_length: d.as_path_length(),
            origin: d.origin(),
            med: d.med(),
            neighbor_as: d.neighbor_as(),
            ebgp,
            peer_asn,
            tie: (router_id, address, path.peer),
        }
    }

    /// Steps 1 to 9 without 7 as one key, smaller is better; the decision when MEDs are
    /// comparable and no current best is kept.
    #[allow(clippy::type_complexity)]
    fn total_key(
        &self,
    ) -> (
        ((std::cmp::Reverse<u32>, u32, Origin), u32, bool),
        (u32, IpAddr, PeerId),
    ) {
        (self.preference(), self.tie)
    }

    /// Steps 1 to 5 as one key: what is left after it are the peer-based tie-breaks.
    fn preference(&self) -> ((std::cmp::Reverse<u32>, u32, Origin), u32, bool) {
        (self.rank(), self.med, !self.ebgp)
    }

    /// Steps 1 to 3 as one key: smaller is better.
    fn rank(&self) -> (std::cmp::Reverse<u32>, u32, Origin) {
        (
            std::cmp::Reverse(self.local_pref),
            self.as_path_length,
            self.origin,
        )
    }
}

/// True when `challenger` wins over `best`, the current best path, in the decision process,
/// provided MEDs are comparable (see [`meds_comparable`]); a path never wins over itself. Lets
/// a single-path (`max_paths` 1) prefix update its best path incrementally instead of
/// re-running the whole process.
pub(crate) fn prefers(
    challenger: &Path,
    best: &Path,
    peers: &PeerTable,
    config: &DecisionConfig,
) -> bool {
    let c = Candidate::new(0, challenger, peers, config);
    let b = Candidate::new(0, best, peers, config);
    if config.prefer_older_external && c.ebgp && b.ebgp && c.preference() == b.preference() {
        // Step 7: an external path equal but for the router ID does not unseat the best.
        return false;
    }
    c.total_key() < b.total_key()
}

/// Whether MED compares every pair of `paths` (and `extra`) alike: with
/// `always_compare_med`, or when every MED is equal. Then steps 1 to 8 are a lexicographic
/// order, so the best of a set is its minimum: adding a path only needs a comparison with the
/// best, and removing any other path leaves the best unchanged. Otherwise MED is compared
/// within neighbouring-AS groups only (not transitive) and the whole process must run.
pub(crate) fn meds_comparable<'a>(
    paths: &'a [Path],
    extra: Option<&'a Path>,
    config: &DecisionConfig,
) -> bool {
    if config.always_compare_med {
        return true;
    }
    let mut all = paths.iter().chain(extra);
    let Some(first) = all.next().map(|p| p.data.med()) else {
        return true;
    };
    all.all(|p| p.data.med() == first)
}

/// Reusable scratch space for the decision process, so deciding allocates nothing once warm.
#[derive(Debug, Default)]
pub(crate) struct Decider {
    candidates: Vec<Candidate>,
    chosen: Vec<u32>,
}

impl Decider {
    /// Indices of the forwarding paths, best first; empty when `paths` is. `current` is the
    /// peer of the best path before this run (step 7).
    pub(crate) fn run(
        &mut self,
        paths: &[Path],
        peers: &PeerTable,
        config: &DecisionConfig,
        current: Option<PeerId>,
    ) -> &[u32] {
        self.chosen.clear();
        if paths.len() <= 1 {
            if !paths.is_empty() {
                self.chosen.push(0);
            }
            return &self.chosen;
        }
        let c = &mut self.candidates;
        c.clear();
        // Callers never hold more than u32::MAX paths for a prefix (one per peer).
        c.extend(
            paths
                .iter()
                .zip(0u32..)
                .map(|(p, i)| Candidate::new(i, p, peers, config)),
        );

        // Steps 1-3.
        if let Some(top) = c.iter().map(Candidate::rank).min() {
            c.retain(|x| x.rank() == top);
        }
        // Step 4.
        eliminate_by_med(c, config.always_compare_med);
        // Step 5.
        if c.iter().any(|x| x.ebgp) {
            c.retain(|x| x.ebgp);
        }
        // Step 7: between external paths (after step 5 all survivors are, or none), the
        // current best stays.
        let kept = current
            .filter(|_| config.prefer_older_external)
            .and_then(|peer| c.iter().find(|x| x.ebgp && x.tie.2 == peer))
            .copied();
        // Steps 8-9.
        let Some(best) = kept.or_else(|| c.iter().min_by_key(|x| x.tie).copied()) else {
            return &self.chosen;
        };
        if config.max_paths <= 1 {
            self.chosen.push(best.index);
            return &self.chosen;
        }
        let as_path = |i: u32| {
            paths
                .get(i as usize)
                .and_then(|p| p.attributes().as_path.as_ref())
        };
        let best_as_path = as_path(best.index);
        c.retain(|x| {
            x.index == best.index
                || match (config.multipath_rule, best.ebgp) {
                    (MultipathRule::AnyAs, _) => true,
                    (MultipathRule::SameNeighborAs, true) => x.peer_asn == best.peer_asn,
                    (MultipathRule::SameNeighborAs, false) => as_path(x.index) == best_as_path,
                }
        });
        c.sort_unstable_by_key(|x| (x.index != best.index, x.tie));
        self.chosen
            .extend(c.iter().take(config.max_paths).map(|x| x.index));
        &self.chosen
    }
}

/// Step 4: drop every candidate with a higher MED than another candidate it is compared with.
fn eliminate_by_med(c: &mut Vec<Candidate>, always_compare: bool) {
    // Nothing to eliminate when every MED is equal (the common case): skip the grouping sort.
    let Some(first) = c.first().map(|x| x.med) else {
        return;
    };
    if c.iter().all(|x| x.med == first) {
        return;
    }
    if always_compare {
        if let Some(min) = c.iter().map(|x| x.med).min() {
            c.retain(|x| x.med == min);
        }
        return;
    }
    // Group by neighbouring AS; the first of each group after sorting has the group's lowest MED.
    c.sort_unstable_by_key(|x| (x.neighbor_as, x.med));
    let mut group: Option<(Option<Asn>, u32)> = None;
    c.retain(|x| match group {
        Some((asn, med)) if asn == x.neighbor_as => x.med == med,
        _ => {
            group = Some((x.neighbor_as, x.med));
            true
        }
    });
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
