//! The Loc-RIB: every peer's accepted paths per prefix, the best path and the multipath set.
//!
//! Input is UPDATEs and peer events; output is the [`RibChange`] stream. Pure logic: no I/O, no
//! clocks (the graceful restart timer is an event the caller delivers).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::message::Update;
use crate::types::RouterId;

use super::adj_rib_in::{family_slot, worst, AdjRibIn};
use super::candidates::{self, Candidates, Env, Scratch, Upsert};
use super::change::{keep_last_per_prefix, BestRoute, RibChange};
use super::decision::DecisionConfig;
use super::intern::PathInterner;
use super::path::Path;
use super::peer::{PeerId, PeerInfo, PeerTable};
use super::policy::{ImportPolicy, ImportVerdict};
use super::prefix_map::{FamilyMaps, Prefix};

/// An operation named a peer the RIB does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// No peer with this id is registered.
    #[error("unknown {0}")]
    UnknownPeer(PeerId),
}

/// What applying one UPDATE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Forwarding changes, each prefix at most once.
    pub changes: Vec<RibChange>,
    /// What the session layer must do about the peer's prefix limit.
    pub verdict: ImportVerdict,
}

/// The Loc-RIB with the Adj-RIB-In of every peer.
#[derive(Debug, Default)]
pub struct LocRib {
    pub(super) config: DecisionConfig,
    pub(super) peers: PeerTable,
    /// Indexed like `peers`.
    pub(super) adj_in: Vec<Option<AdjRibIn>>,
    pub(super) table: FamilyMaps<Candidates>,
    pub(super) interner: PathInterner,
    pub(super) scratch: Scratch,
}

/// The pieces of a [`LocRib`] a per-peer operation works on, borrowed apart.
pub(super) struct PeerOp<'a> {
    pub(super) adj: &'a mut AdjRibIn,
    pub(super) table: &'a mut FamilyMaps<Candidates>,
    pub(super) interner: &'a mut PathInterner,
    pub(super) env: Env<'a>,
}

impl LocRib {
    /// An empty RIB.
    pub fn new(config: DecisionConfig) -> LocRib {
        LocRib {
            config,
            ..LocRib::default()
        }
    }

    /// The decision process settings.
    pub fn config(&self) -> &DecisionConfig {
        &self.config
    }

    /// Changes the decision process settings and re-runs it for every prefix.
    pub fn set_config(&mut self, config: DecisionConfig) -> Vec<RibChange> {
        self.config = config;
        let mut out = Vec::new();
        let mut env = Env {
            peers: &self.peers,
            config: &self.config,
            scratch: &mut self.scratch,
        };
        redecide_all(&mut self.table.v4, &mut env, &mut out);
        redecide_all(&mut self.table.v6, &mut env, &mut out);
        out
    }

    /// Registers a peer (typically when its session reaches Established).
    pub fn add_peer(&mut self, info: PeerInfo, import: ImportPolicy) -> PeerId {
        let id = self.peers.insert(info);
        if self.adj_in.len() <= id.index() {
            self.adj_in.resize_with(id.index() + 1, || None);
        }
        if let Some(slot) = self.adj_in.get_mut(id.index()) {
            *slot = Some(AdjRibIn::new(import));
        }
        id
    }

    /// Withdraws everything the peer sent and forgets it; its id may be reused.
    pub fn remove_peer(&mut self, peer: PeerId) -> Result<Vec<RibChange>, RibError> {
        let changes = self.peer_down(peer)?;
        self.peers.remove(peer);
        if let Some(slot) = self.adj_in.get_mut(peer.index()) {
            *slot = None;
        }
        Ok(changes)
    }

    /// A registered peer.
    pub fn peer(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.peers.get(peer)
    }

    /// Every registered peer.
    pub fn peers(&self) -> &PeerTable {
        &self.peers
    }

    /// A peer's Adj-RIB-In (prefix index, counters, policy).
    pub fn adj_rib_in(&self, peer: PeerId) -> Option<&AdjRibIn> {
        self.adj_in.get(peer.index())?.as_ref()
    }

    /// Replaces a peer's import policy. It applies to routes received from now on; ask the peer
    /// for a ROUTE-REFRESH to re-evaluate what it already sent.
    pub fn set_import_policy(
        &mut self,
        peer: PeerId,
        import: ImportPolicy,
    ) -> Result<(), RibError> {
        self.op(peer)?.adj.import = import;
        Ok(())
    }

    /// Records a peer's new BGP identifier (after it reconnects) and re-runs the decision for
    /// its prefixes, since the router ID breaks ties.
    pub fn set_router_id(
        &mut self,
        peer: PeerId,
        router_id: RouterId,
    ) -> Result<Vec<RibChange>, RibError> {
        let info = self
            .peers
            .get_mut(peer)
            .ok_or(RibError::UnknownPeer(peer))?;
        if info.router_id == router_id {
            return Ok(Vec::new());
        }
        info.router_id = router_id;
        let mut out = Vec::new();
        let mut op = self.op(peer)?;
        op.redecide_family::<Ipv4Net>(peer, &mut out);
        op.redecide_family::<Ipv6Net>(peer, &mut out);
        Ok(out)
    }

    pub(super) fn op(&mut self, peer: PeerId) -> Result<PeerOp<'_>, RibError> {
        let adj = self
            .adj_in
            .get_mut(peer.index())
            .and_then(Option::as_mut)
            .ok_or(RibError::UnknownPeer(peer))?;
        Ok(PeerOp {
            adj,
            table: &mut self.table,
            interner: &mut self.interner,
            env: Env {
                peers: &self.peers,
                config: &self.config,
                scratch: &mut self.scratch,
            },
        })
    }

    /// Applies an UPDATE from `peer`: withdrawals, announcements (through import policy) and
    /// End-of-RIB markers.
    pub fn apply_update(
        &mut self,
        peer: PeerId,
        update: &Update,
    ) -> Result<UpdateOutcome, RibError> {
        let mut changes = Vec::new();
        let verdict = self.apply_update_into(peer, update, &mut changes)?;
        Ok(UpdateOutcome { changes, verdict })
    }

    /// [`LocRib::apply_update`], appending the changes to `out` (to batch several UPDATEs).
    ///
    /// Each call's changes name a prefix at most once; across calls a prefix may appear again,
    /// and its last entry is current.
    pub fn apply_update_into(
        &mut self,
        peer: PeerId,
        update: &Update,
        out: &mut Vec<RibChange>,
    ) -> Result<ImportVerdict, RibError> {
        let info = self.peers.get(peer).ok_or(RibError::UnknownPeer(peer))?;
        let (kind, local_asn) = (info.kind, info.local_asn);
        if let Some(family) = update.end_of_rib_family() {
            self.end_of_rib_into(peer, family, out)?;
            return Ok(ImportVerdict::Continue);
        }
        let start = out.len();
        let capacity = self.table.capacity();
        let mut op = self.op(peer)?;
        let mut withdrew = false;
        for prefix in update.withdrawn_prefixes() {
            op.adj.counters.withdrawn += 1;
            withdrew |= op.withdraw(peer, prefix, out);
        }
        let mut verdict = op.announce_all(peer, update, kind, local_asn, out);
        verdict = worst(verdict, op.adj.limit_check());
        // A prefix can only be reported twice when the UPDATE both withdrew and announced it,
        // or carried IPv4 NLRI in both the classic field and MP_REACH_NLRI.
        let attrs = &update.attributes;
        let v4_twice = !update.nlri.is_empty()
            && attrs
                .mp_reach
                .as_ref()
                .is_some_and(|r| r.nlri.iter().any(|p| matches!(p, IpNet::V4(_))));
        let announced =
            !update.nlri.is_empty() || attrs.mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty());
        if (withdrew && announced) || v4_twice {
            keep_last_per_prefix(out, start);
        }
        self.table.release_outgrown(capacity);
        Ok(verdict)
    }

    /// The peer's session went down without graceful restart: withdraws everything it sent.
    pub fn peer_down(&mut self, peer: PeerId) -> Result<Vec<RibChange>, RibError> {
        let mut out = Vec::new();
        let mut op = self.op(peer)?;
        op.drop_family::<Ipv4Net>(peer, &mut out);
        op.drop_family::<Ipv6Net>(peer, &mut out);
        op.adj.clear();
        op.table.shrink_if_sparse();
        op.interner.sweep();
        Ok(out)
    }

    /// The forwarding result for a prefix.
    pub fn best(&self, prefix: &IpNet) -> Option<BestRoute> {
        Some(self.table.get(prefix)?.best_route(&self.peers))
    }

    /// All candidate paths for a prefix: best first, then the other forwarding paths, then the rest.
    pub fn paths(&self, prefix: &IpNet) -> &[Path] {
        self.table.get(prefix).map_or(&[], Candidates::paths)
    }

    /// The forwarding (multipath) paths for a prefix, best first.
    pub fn forwarding_paths(&self, prefix: &IpNet) -> &[Path] {
        self.table.get(prefix).map_or(&[], Candidates::forwarding)
    }

    /// The forwarding result of every prefix (a full table, e.g. to sync a new subscriber).
    pub fn routes(&self) -> impl Iterator<Item = (IpNet, BestRoute)> + '_ {
        self.table
            .iter()
            .map(|(p, c)| (p, c.best_route(&self.peers)))
    }

    /// The whole Loc-RIB as changes (every prefix with its forwarding result), to bring a new
    /// subscriber or a peer's Adj-RIB-Out in line.
    pub fn snapshot(&self) -> Vec<RibChange> {
        self.routes()
            .map(|(prefix, best)| RibChange {
                prefix,
                best: Some(best),
            })
            .collect()
    }

    /// Every path received from `peer` (its post-policy Adj-RIB-In). Scans the whole table.
    pub fn routes_from(&self, peer: PeerId) -> impl Iterator<Item = (IpNet, &Path)> + '_ {
        self.table
            .iter()
            .filter_map(move |(p, c)| Some((p, c.path_of(peer)?)))
    }

    /// True when `peer` has an accepted path for `prefix`.
    pub fn has_path_from(&self, peer: PeerId, prefix: &IpNet) -> bool {
        self.table
            .get(prefix)
            .is_some_and(|c| c.path_of(peer).is_some())
    }

    /// Number of prefixes with at least one path.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no prefix has a path.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Number of distinct attribute sets held (one per distinct set, however many prefixes use it).
    pub fn attribute_sets(&self) -> usize {
        self.interner.attribute_sets()
    }
}

impl PeerOp<'_> {
    /// Removes the peer's path for `prefix`; true when it had one.
    pub(super) fn withdraw(
        &mut self,
        peer: PeerId,
        prefix: IpNet,
        out: &mut Vec<RibChange>,
    ) -> bool {
        match prefix.trunc() {
            IpNet::V4(p) => self.withdraw_in(peer, p, out),
            IpNet::V6(p) => self.withdraw_in(peer, p, out),
        }
    }

    pub(super) fn withdraw_in<K: Prefix>(
        &mut self,
        peer: PeerId,
        prefix: K,
        out: &mut Vec<RibChange>,
    ) -> bool {
        let Some(path) =
            candidates::remove(K::map_mut(self.table), prefix, peer, &mut self.env, out)
        else {
            return false;
        };
        self.adj.removed(K::FAMILY);
        if path.stale {
            self.unstale(K::FAMILY);
        }
        true
    }

    /// True when `peer` has a path for `prefix`.
    pub(super) fn has_path(&self, peer: PeerId, prefix: &IpNet) -> bool {
        self.table
            .get(prefix)
            .is_some_and(|c| c.path_of(peer).is_some())
    }

    /// The prefixes of one family the peer has a path for: a scan of the Loc-RIB, skipped when
    /// the peer has none.
    pub(super) fn prefixes_of<K: Prefix>(&self, peer: PeerId) -> Vec<K> {
        if self.adj.family_prefix_count(K::FAMILY) == 0 {
            return Vec::new();
        }
        K::map(self.table)
            .iter()
            .filter(|(_, c)| c.path_of(peer).is_some())
            .map(|(p, _)| *p)
            .collect()
    }

    /// Re-runs the decision for every prefix of one family the peer has a path for.
    fn redecide_family<K: Prefix>(&mut self, peer: PeerId, out: &mut Vec<RibChange>) {
        let prefixes = self.prefixes_of::<K>(peer);
        let table = K::map_mut(self.table);
        for p in prefixes {
            candidates::redecide(table, p, &mut self.env, out);
        }
    }

    pub(super) fn announce(&mut self, path: Path, prefix: IpNet, out: &mut Vec<RibChange>) {
        match prefix {
            IpNet::V4(p) => self.announce_in(path, p, out),
            IpNet::V6(p) => self.announce_in(path, p, out),
        }
    }

    fn announce_in<K: Prefix>(&mut self, path: Path, prefix: K, out: &mut Vec<RibChange>) {
        match candidates::upsert(K::map_mut(self.table), prefix, path, &mut self.env, out) {
            Upsert::Added => self.adj.added(K::FAMILY),
            Upsert::Updated { was_stale: true } => self.unstale(K::FAMILY),
            Upsert::Updated { was_stale: false } => {}
        }
    }

    fn unstale(&mut self, family: crate::types::AddressFamily) {
        if let Some(n) = self.adj.stale.get_mut(family_slot(family)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Withdraws every path of one family the peer sent.
    pub(super) fn drop_family<K: Prefix>(&mut self, peer: PeerId, out: &mut Vec<RibChange>) {
        let prefixes = self.prefixes_of::<K>(peer);
        let table = K::map_mut(self.table);
        for prefix in prefixes {
            candidates::remove(table, prefix, peer, &mut self.env, out);
        }
        if let Some(n) = self.adj.prefixes.get_mut(family_slot(K::FAMILY)) {
            *n = 0;
        }
        if let Some(n) = self.adj.stale.get_mut(family_slot(K::FAMILY)) {
            *n = 0;
        }
    }
}

fn redecide_all<K: Prefix>(
    table: &mut super::prefix_table::PrefixTable<K, Candidates>,
    env: &mut Env<'_>,
    out: &mut Vec<RibChange>,
) {
    let many: Vec<K> = table
        .iter()
        .filter(|(_, c)| matches!(c, Candidates::Many(_)))
        .map(|(p, _)| *p)
        .collect();
    for p in many {
        candidates::redecide(table, p, env, out);
    }
}
