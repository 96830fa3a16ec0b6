//! Who a path came from: peer identity as the decision process and export rules need it.

use std::fmt;
use std::net::IpAddr;

use crate::types::{Asn, RouterId};

/// A small copyable handle for a peer registered with the RIB.
///
/// Ids are dense indices handed out by the RIB and reused after the peer is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub(crate) u32);

impl PeerId {
    /// The index behind the id (dense, starting at 0), for callers keeping per-peer tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer#{}", self.0)
    }
}

/// Internal or external BGP, from the two ends' AS numbers (RFC 4271 section 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// Same AS on both ends.
    Ibgp,
    /// Different ASes.
    Ebgp,
}

/// What the RIB knows about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's transport address (the last tie-breaker of the decision process).
    pub address: IpAddr,
    /// The peer's AS.
    pub asn: Asn,
    /// Our AS on this session (may differ per session with local-as configurations).
    pub local_asn: Asn,
    /// The peer's BGP identifier from its OPEN.
    pub router_id: RouterId,
    /// Derived from `asn` and `local_asn`.
    pub kind: PeerKind,
}

impl PeerInfo {
    /// A peer, its kind derived from the AS numbers.
    pub fn new(address: IpAddr, asn: Asn, local_asn: Asn, router_id: RouterId) -> PeerInfo {
        let kind = if asn == local_asn {
            PeerKind::Ibgp
        } else {
            PeerKind::Ebgp
        };
        PeerInfo {
            address,
            asn,
            local_asn,
            router_id,
            kind,
        }
    }
}

/// The registered peers, indexed by [`PeerId`].
#[derive(Debug, Clone, Default)]
pub struct PeerTable {
    slots: Vec<Option<PeerInfo>>,
    free: Vec<u32>,
}

impl PeerTable {
    /// Registers a peer and returns its id (reusing a freed one when there is one).
    pub fn insert(&mut self, info: PeerInfo) -> PeerId {
        match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i as usize) {
                    *slot = Some(info);
                }
                PeerId(i)
            }
            None => {
                // More than 4 billion peers cannot be configured; saturate instead of wrapping.
                let i = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(info));
                PeerId(i)
            }
        }
    }

    /// Forgets a peer; its id may be handed out again.
    pub fn remove(&mut self, id: PeerId) -> Option<PeerInfo> {
        let info = self.slots.get_mut(id.index())?.take()?;
        self.free.push(id.0);
        Some(info)
    }

    /// The peer behind an id.
    pub fn get(&self, id: PeerId) -> Option<&PeerInfo> {
        self.slots.get(id.index())?.as_ref()
    }

    /// The peer behind an id, mutably.
    pub(crate) fn get_mut(&mut self, id: PeerId) -> Option<&mut PeerInfo> {
        self.slots.get_mut(id.index())?.as_mut()
    }

    /// Every registered peer.
    pub fn iter(&self) -> impl Iterator<Item = (PeerId, &PeerInfo)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((PeerId(u32::try_from(i).ok()?), s.as_ref()?)))
    }

    /// Number of registered peers.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when no peer is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn kind_follows_as_numbers_and_ids_are_reused() {
        let a = PeerInfo::new(
            Ipv4Addr::new(10, 0, 0, 1).into(),
            65000,
            65000,
            Ipv4Addr::new(1, 1, 1, 1),
        );
        let b = PeerInfo::new(
            Ipv4Addr::new(10, 0, 0, 2).into(),
            65001,
            65000,
            Ipv4Addr::new(2, 2, 2, 2),
        );
        assert_eq!(a.kind, PeerKind::Ibgp);
        assert_eq!(b.kind, PeerKind::Ebgp);
        let mut t = PeerTable::default();
        let ia = t.insert(a.clone());
        let ib = t.insert(b.clone());
        assert_ne!(ia, ib);
        assert_eq!(t.get(ib), Some(&b));
        assert_eq!(t.remove(ia), Some(a.clone()));
        assert_eq!(t.get(ia), None);
        assert_eq!(t.remove(ia), None);
        assert_eq!(t.len(), 1);
        assert_eq!(t.insert(a), ia);
        assert_eq!(t.iter().count(), 2);
    }
}
