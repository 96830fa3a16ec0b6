//! Import: from a received UPDATE to the Adj-RIB-In and Loc-RIB, through validation and the
//! peer's import policy.
//!
//! A rejected announcement counts against its [`RejectReason`] and is handled as a withdrawal,
//! so a path accepted earlier does not linger once the peer sends something unacceptable.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::attribute::{NextHop, PathAttributes};
use crate::message::Update;
use crate::types::Asn;

use super::adj_rib_in::{worst, RejectReason};
use super::change::RibChange;
use super::loc_rib::PeerOp;
use super::path::{Path, PathData};
use super::peer::{PeerId, PeerKind};
use super::policy::{AttributeAction, ImportVerdict};

impl PeerOp<'_> {
    /// Runs the announced prefixes of an UPDATE through import policy into the table.
    pub(super) fn announce_all(
        &mut self,
        peer: PeerId,
        update: &Update,
        kind: PeerKind,
        local_asn: Asn,
        out: &mut Vec<RibChange>,
    ) -> ImportVerdict {
        let attrs = &update.attributes;
        // `announced()` skips classic NLRI without a NEXT_HOP; they still count as received.
        if attrs.next_hop.is_none() {
            for p in &update.nlri {
                self.adj.counters.received += 1;
                self.reject(peer, IpNet::V4(*p), RejectReason::MissingAttributes, out);
            }
        }
        let has_mp_nlri = attrs.mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty());
        if update.nlri.is_empty() && !has_mp_nlri {
            return ImportVerdict::Continue;
        }
        let shared = if attrs.origin.is_none() || attrs.as_path.is_none() {
            Err(RejectReason::MissingAttributes)
        } else if attrs
            .as_path
            .as_ref()
            .is_some_and(|p| p.contains(local_asn))
        {
            Err(RejectReason::AsPathLoop)
        } else {
            Ok(self
                .interner
                .attributes(import_attributes(attrs, kind, &self.adj.import.actions)))
        };
        let mut verdict = ImportVerdict::Continue;
        let mut last: Option<(NextHop, Arc<PathData>)> = None;
        for (prefix, next_hop) in update.announced() {
            self.adj.counters.received += 1;
            let prefix = prefix.trunc();
            let shared = match &shared {
                Ok(s) => s,
                Err(reason) => {
                    self.reject(peer, prefix, *reason, out);
                    continue;
                }
            };
            if !valid_next_hop(next_hop) {
                self.reject(peer, prefix, RejectReason::InvalidNextHop, out);
                continue;
            }
            if !self.adj.import.permits(&prefix) {
                self.reject(peer, prefix, RejectReason::PrefixList, out);
                continue;
            }
            if let Err(v) = self.adj.admit_new_prefix() {
                if !self.has_path(peer, &prefix) {
                    self.adj.counters.reject(RejectReason::MaxPrefixes);
                    verdict = worst(verdict, v);
                    continue;
                }
            }
            // One UPDATE has one next hop per family: intern once, not per prefix.
            let data = match &last {
                Some((nh, d)) if *nh == next_hop => Arc::clone(d),
                _ => {
                    let d = self.interner.path(shared, next_hop);
                    last = Some((next_hop, Arc::clone(&d)));
                    d
                }
            };
            self.announce(Path::new(peer, data), prefix, out);
            self.adj.counters.accepted += 1;
        }
        verdict
    }

    /// Counts a rejected announcement and handles it as a withdrawal (RFC 7606 treat-as-withdraw
    /// semantics: the peer's previous path for the prefix must not linger).
    fn reject(
        &mut self,
        peer: PeerId,
        prefix: IpNet,
        reason: RejectReason,
        out: &mut Vec<RibChange>,
    ) {
        self.adj.counters.reject(reason);
        self.withdraw(peer, prefix, out);
    }
}

/// The attribute set stored for an UPDATE's routes: without NLRI and NEXT_HOP (the next hop is
/// kept per path), LOCAL_PREF dropped from external peers (RFC 4271 section 5.1.5), then the
/// import actions.
fn import_attributes(
    a: &PathAttributes,
    kind: PeerKind,
    actions: &[AttributeAction],
) -> PathAttributes {
    // Field by field: `..a.clone()` would copy the NLRI lists only to drop them.
    let mut attrs = PathAttributes {
        origin: a.origin,
        as_path: a.as_path.clone(),
        next_hop: None,
        med: a.med,
        local_pref: if kind == PeerKind::Ebgp {
            None
        } else {
            a.local_pref
        },
        atomic_aggregate: a.atomic_aggregate,
        aggregator: a.aggregator,
        communities: a.communities.clone(),
        large_communities: a.large_communities.clone(),
        mp_reach: None,
        mp_unreach: None,
        unknown: a.unknown.clone(),
    };
    AttributeAction::apply_all(actions, &mut attrs);
    attrs
}

/// A next hop a route can be installed with.
fn valid_next_hop(nh: NextHop) -> bool {
    match nh {
        NextHop::V4(a) => !(a.is_unspecified() || a.is_multicast() || a == Ipv4Addr::BROADCAST),
        NextHop::V6 { global, .. } => !(global.is_unspecified() || global.is_multicast()),
    }
}
