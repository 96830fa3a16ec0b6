//! Adj-RIB-Out: what we advertise to one peer.
//!
//! Fed with Loc-RIB changes, it applies the export rules and policy, remembers what was sent
//! (to suppress duplicates and to withdraw only what the peer has) and returns the difference
//! grouped by (attribute set, next hop), so the UPDATE packer can put many prefixes in one message.
//!
//! Export rules, by default as FRR applies them:
//! - never back to the peer the route came from;
//! - iBGP-learned routes not to iBGP peers (split horizon), except in reflector/route-server mode;
//! - NO_ADVERTISE: to nobody; NO_EXPORT / NO_EXPORT_SUBCONFED: not to eBGP peers (RFC 1997),
//!   except in route-server mode;
//! - to eBGP: our AS prepended and MED removed (RFC 4271 section 5.1.4: a MED received from one
//!   AS is not passed to another) unless in transparent route-server mode (RFC 7947); LOCAL_PREF
//!   removed; next hop self unless route-server mode;
//! - to iBGP: LOCAL_PREF always present (the default when the route had none), MED kept, next
//!   hop unchanged.
//!
//! The attribute transformation is computed once per distinct source attribute set and cached,
//! so exporting a million prefixes that share one set costs one transformation.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

use crate::attribute::{Community, NextHop, PathAttributes};

use super::change::RibChange;
use super::export_ids::{ExportId, ExportIds};
use super::intern::PathInterner;
use super::path::PathData;
use super::peer::{PeerId, PeerInfo, PeerKind};
use super::policy::{AttributeAction, PrefixList};
use super::prefix_map::{FamilyMaps, FastMap, Prefix};

/// How this session re-advertises routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportMode {
    /// A normal BGP speaker.
    #[default]
    Standard,
    /// Route reflector towards a client (RFC 4456): iBGP-learned routes are reflected.
    /// ORIGINATOR_ID and CLUSTER_LIST are not added; FerroLB reflects only within one cluster.
    RouteReflector,
    /// Transparent route server (RFC 7947): AS_PATH, MED and next hop pass unchanged.
    RouteServer,
}

/// Which next hop to advertise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopPolicy {
    /// Self towards eBGP (except in route-server mode), unchanged towards iBGP.
    #[default]
    Auto,
    /// Always our own address.
    SelfAddress,
    /// Always the route's next hop.
    Unchanged,
}

/// Export policy of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPolicy {
    /// Re-advertisement mode.
    pub mode: ExportMode,
    /// Next hop choice.
    pub next_hop: NextHopPolicy,
    /// Our IPv4 address on this session, for next hop self on IPv4 routes.
    pub local_ipv4: Option<Ipv4Addr>,
    /// Our global IPv6 address on this session, for next hop self on IPv6 routes.
    pub local_ipv6: Option<Ipv6Addr>,
    /// Our link-local IPv6 address, sent with the global one when the peer is on the same link.
    pub local_ipv6_link_local: Option<Ipv6Addr>,
    /// Prefixes advertised; `None` advertises every prefix.
    pub prefix_list: Option<PrefixList>,
    /// Changes applied to every advertised route, after the standard ones.
    pub actions: Vec<AttributeAction>,
    /// LOCAL_PREF sent to iBGP peers for routes without one.
    pub default_local_pref: u32,
}

impl ExportPolicy {
    /// True when the prefix list lets `prefix` go to the peer.
    pub fn permits(&self, prefix: &IpNet) -> bool {
        self.prefix_list.as_ref().is_none_or(|l| l.permits(prefix))
    }
}

impl Default for ExportPolicy {
    fn default() -> Self {
        ExportPolicy {
            mode: ExportMode::Standard,
            next_hop: NextHopPolicy::Auto,
            local_ipv4: None,
            local_ipv6: None,
            local_ipv6_link_local: None,
            prefix_list: None,
            actions: Vec::new(),
            default_local_pref: 100,
        }
    }
}

/// Prefixes to announce with one attribute set and next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The attributes to send, without NEXT_HOP and NLRI (the packer adds them).
    pub attributes: Arc<PathAttributes>,
    /// The next hop to send.
    pub next_hop: NextHop,
    /// The prefixes.
    pub prefixes: Vec<IpNet>,
}

/// What to send to a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundBatch {
    /// Announcements grouped by attribute set and next hop.
    pub announce: Vec<Announcement>,
    /// Prefixes to withdraw (both families).
    pub withdraw: Vec<IpNet>,
}

impl OutboundBatch {
    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty()
    }

    /// Number of prefixes announced.
    pub fn announced_count(&self) -> usize {
        self.announce.iter().map(|a| a.prefixes.len()).sum()
    }
}

/// Below this many cached transformations, sweeping is not worth a pass.
const MIN_CACHE_SWEEP: usize = 1024;

/// The Adj-RIB-Out of one peer.
#[derive(Debug)]
pub struct AdjRibOut {
    peer: PeerId,
    target: PeerInfo,
    policy: ExportPolicy,
    /// What the peer currently has from us.
    sent: FamilyMaps<ExportId>,
    /// The exported paths `sent` and `cache` refer to.
    exports: ExportIds,
    /// Exported attribute sets, shared like the Loc-RIB's.
    interner: PathInterner,
    /// Source path (by address, kept alive by the entry) to its export, `None` when not exported.
    cache: FastMap<usize, (Arc<PathData>, Option<ExportId>)>,
    /// The entry of `cache` looked up last: the prefixes of one UPDATE share their source path,
    /// so most lookups stop here. Cleared whenever `cache` loses entries.
    last: Option<(usize, Option<ExportId>)>,
    cache_sweep_at: usize,
    /// Prefixes whose advertised state changed in the current batch.
    touched: Vec<IpNet>,
}

/// The parts of a best route that export looks at.
#[derive(Clone, Copy)]
struct Source<'a> {
    path: &'a Arc<PathData>,
    peer: PeerId,
    kind: PeerKind,
}

impl AdjRibOut {
    /// The Adj-RIB-Out towards `peer`, described by `target`.
    pub fn new(peer: PeerId, target: PeerInfo, policy: ExportPolicy) -> AdjRibOut {
        AdjRibOut {
            peer,
            target,
            policy,
            sent: FamilyMaps::default(),
            exports: ExportIds::default(),
            interner: PathInterner::default(),
            cache: FastMap::default(),
            last: None,
            cache_sweep_at: MIN_CACHE_SWEEP,
            touched: Vec::new(),
        }
    }

    /// The peer this Adj-RIB-Out advertises to.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// The export policy.
    pub fn policy(&self) -> &ExportPolicy {
        &self.policy
    }

    /// Number of prefixes the peer has from us.
    pub fn advertised_count(&self) -> usize {
        self.sent.len()
    }

    /// What the peer has from us for `prefix`: attributes and next hop.
    pub fn advertised(&self, prefix: &IpNet) -> Option<&Arc<PathData>> {
        self.exports.path(*self.sent.get(prefix)?)
    }

    /// What to send for a batch of Loc-RIB changes.
    ///
    /// Each prefix should appear at most once per call, as every [`LocRib`](super::LocRib) call returns them.
    /// If one appears twice its final state is still what gets sent (possibly listed twice).
    pub fn process(&mut self, changes: &[RibChange]) -> OutboundBatch {
        let capacity = self.sent.capacity();
        self.consider_all(changes);
        self.sent.release_outgrown(capacity);
        self.take_batch()
    }

    fn consider_all(&mut self, changes: &[RibChange]) {
        for c in changes {
            let source = c.best.as_ref().map(|b| Source {
                path: &b.path,
                peer: b.peer,
                kind: b.peer_kind,
            });
            self.consider(c.prefix, source);
        }
    }

    /// Brings the peer in line with a whole Loc-RIB (`routes`, as [`LocRib::snapshot`](super::LocRib::snapshot) lists
    /// it): everything when the session just came up, only the differences otherwise.
    pub fn advertise_all(&mut self, routes: &[RibChange]) -> OutboundBatch {
        self.consider_all(routes);
        if self.sent.len() > 0 {
            let listed: std::collections::HashSet<IpNet, super::prefix_map::FastState> = routes
                .iter()
                .filter(|c| c.best.is_some())
                .map(|c| c.prefix)
                .collect();
            let gone: Vec<IpNet> = self
                .sent
                .iter()
                .map(|(p, _)| p)
                .filter(|p| !listed.contains(p))
                .collect();
            for prefix in gone {
                self.consider(prefix, None);
            }
        }
        self.take_batch()
    }

    /// Re-sends every route of `routes` (the peer asked for a ROUTE-REFRESH, RFC 2918).
    pub fn refresh(&mut self, routes: &[RibChange]) -> OutboundBatch {
        self.sent = FamilyMaps::default();
        self.exports.release_all();
        self.advertise_all(routes)
    }

    /// Replaces the export policy and returns what changes for the peer, given the whole
    /// Loc-RIB `routes`.
    pub fn set_policy(&mut self, policy: ExportPolicy, routes: &[RibChange]) -> OutboundBatch {
        self.policy = policy;
        self.forget_transforms();
        let batch = self.advertise_all(routes);
        self.sweep();
        batch
    }

    /// The session went down: the peer has nothing from us any more.
    pub fn reset(&mut self) {
        self.sent = FamilyMaps::default();
        self.forget_transforms();
        self.exports.release_all();
        self.sweep();
    }

    /// Forgets every cached transformation (the export policy changed or the session ended).
    fn forget_transforms(&mut self) {
        self.cache.clear();
        self.last = None;
    }

    /// Forgets cached transformations of source paths nobody else holds, then exported paths
    /// neither advertised nor cached.
    fn sweep(&mut self) {
        self.last = None;
        self.cache.retain(|_, (src, _)| Arc::strong_count(src) > 1);
        let cached: std::collections::HashSet<ExportId, super::prefix_map::FastState> =
            self.cache.values().filter_map(|(_, id)| *id).collect();
        self.exports.sweep(|id| cached.contains(&id));
        self.interner.sweep();
        self.cache_sweep_at = (2 * self.cache.len()).max(MIN_CACHE_SWEEP);
    }

    fn consider(&mut self, prefix: IpNet, source: Option<Source<'_>>) {
        let desired = source.and_then(|s| self.export(&prefix, s));
        match prefix {
            IpNet::V4(p) => self.record(p, desired),
            IpNet::V6(p) => self.record(p, desired),
        }
    }

    /// Updates what the peer should have for `prefix`, noting it when that changed.
    fn record<K: Prefix>(&mut self, prefix: K, desired: Option<ExportId>) {
        use super::prefix_table::Entry;

        let sent = K::map_mut(&mut self.sent);
        if desired.is_none() && sent.is_empty() {
            // A peer that is sent nothing (e.g. denied by policy): skip the lookup.
            return;
        }
        let exports = &mut self.exports;
        let changed = match (desired, sent.entry(prefix)) {
            (Some(d), Entry::Occupied(e)) if *e.get() == d => false,
            (Some(d), Entry::Occupied(mut e)) => {
                exports.release(e.insert(d));
                exports.acquire(d);
                true
            }
            (Some(d), Entry::Vacant(e)) => {
                e.insert(d);
                exports.acquire(d);
                true
            }
            (None, Entry::Occupied(e)) => {
                exports.release(e.remove());
                true
            }
            (None, Entry::Vacant(_)) => false,
        };
        if changed {
            self.touched.push(prefix.into());
        }
    }

    /// The route to advertise for `prefix`, if any.
    fn export(&mut self, prefix: &IpNet, s: Source<'_>) -> Option<ExportId> {
        if s.peer == self.peer {
            return None;
        }
        let reflect = self.policy.mode != ExportMode::Standard;
        if s.kind == PeerKind::Ibgp && self.target.kind == PeerKind::Ibgp && !reflect {
            return None;
        }
        if !self.policy.permits(prefix) {
            return None;
        }
        let key = Arc::as_ptr(s.path) as usize;
        match self.last {
            Some((last, out)) if last == key => return out,
            _ => {}
        }
        let out = match self.cache.get(&key) {
            Some((_, out)) => *out,
            None => {
                let out = self.transform(s.path).and_then(|p| self.exports.id(&p));
                self.cache.insert(key, (Arc::clone(s.path), out));
                if self.cache.len() >= self.cache_sweep_at {
                    self.sweep();
                    return out;
                }
                out
            }
        };
        self.last = Some((key, out));
        out
    }

    /// The attribute set and next hop sent for a source path (prefix-independent rules only).
    fn transform(&mut self, path: &PathData) -> Option<Arc<PathData>> {
        let a = path.attributes();
        let ebgp = self.target.kind == PeerKind::Ebgp;
        let server = self.policy.mode == ExportMode::RouteServer;
        if a.communities.contains(&Community::NO_ADVERTISE) {
            return None;
        }
        let no_export = [Community::NO_EXPORT, Community::NO_EXPORT_SUBCONFED];
        if ebgp && !server && a.communities.iter().any(|c| no_export.contains(c)) {
            return None;
        }
        let mut out = PathAttributes::clone(a);
        if ebgp {
            out.local_pref = None;
            if !server {
                out.as_path = Some(
                    out.as_path
                        .unwrap_or_default()
                        .prepend(self.target.local_asn),
                );
                out.med = None;
            }
        } else {
            out.local_pref = Some(out.local_pref.unwrap_or(self.policy.default_local_pref));
        }
        AttributeAction::apply_all(&self.policy.actions, &mut out);
        let next_hop_self = match self.policy.next_hop {
            NextHopPolicy::Auto => ebgp && !server,
            NextHopPolicy::SelfAddress => true,
            NextHopPolicy::Unchanged => false,
        };
        let next_hop = if next_hop_self {
            // Without a local address of the family the route cannot be advertised.
            self.self_next_hop(path.next_hop())?
        } else {
            path.next_hop()
        };
        let attrs = self.interner.attributes(out);
        Some(self.interner.path(&attrs, next_hop))
    }

    /// Our own next hop of the same family as `original`.
    fn self_next_hop(&self, original: NextHop) -> Option<NextHop> {
        match original {
            NextHop::V4(_) => self.policy.local_ipv4.map(NextHop::V4),
            NextHop::V6 { .. } => self.policy.local_ipv6.map(|global| NextHop::V6 {
                global,
                link_local: self.policy.local_ipv6_link_local,
            }),
        }
    }

    /// Turns the prefixes touched since the last batch into announcements and withdrawals.
    fn take_batch(&mut self) -> OutboundBatch {
        let mut batch = OutboundBatch::default();
        let mut groups: FastMap<usize, usize> = FastMap::default();
        // Consecutive prefixes mostly share their route: the last group saves a lookup.
        let mut last: Option<(usize, usize)> = None;
        for prefix in self.touched.drain(..) {
            let Some(route) = self.sent.get(&prefix).and_then(|id| self.exports.path(*id)) else {
                batch.withdraw.push(prefix);
                continue;
            };
            let key = Arc::as_ptr(route) as usize;
            let slot = match last {
                Some((k, slot)) if k == key => slot,
                _ => {
                    let slot = *groups.entry(key).or_insert_with(|| {
                        batch.announce.push(Announcement {
                            attributes: Arc::clone(route.attributes()),
                            next_hop: route.next_hop(),
                            prefixes: Vec::new(),
                        });
                        batch.announce.len() - 1
                    });
                    last = Some((key, slot));
                    slot
                }
            };
            if let Some(a) = batch.announce.get_mut(slot) {
                a.prefixes.push(prefix);
            }
        }
        // Do not keep a full-table dump's worth of scratch space around.
        if self.touched.capacity() > 1 << 16 {
            self.touched = Vec::new();
        }
        batch
    }
}

#[cfg(test)]
#[path = "adj_rib_out_tests.rs"]
mod tests;
