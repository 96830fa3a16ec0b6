//! Graceful restart, receiving side (RFC 4724 section 4.2, "helper" mode).
//!
//! When a peer that preserves forwarding state restarts, its paths stay in the table marked
//! stale and keep forwarding traffic. Each path the peer re-announces becomes fresh again; its
//! End-of-RIB marker for a family purges that family's remaining stale paths, and the restart
//! timer (run by the caller; no clocks here) purges all of them if the peer does not come back.

use ipnet::{Ipv4Net, Ipv6Net};

use crate::types::AddressFamily;

use super::adj_rib_in::family_slot;
use super::change::RibChange;
use super::loc_rib::{LocRib, PeerOp, RibError};
use super::peer::PeerId;
use super::prefix_map::Prefix;

impl LocRib {
    /// The peer's session went down and it announced graceful restart: its paths of the
    /// `preserved` families (those whose forwarding state it keeps) are marked stale and stay in
    /// use; its paths of any other family are withdrawn now.
    pub fn peer_down_graceful(
        &mut self,
        peer: PeerId,
        preserved: &[AddressFamily],
    ) -> Result<Vec<RibChange>, RibError> {
        let mut out = Vec::new();
        let mut op = self.op(peer)?;
        for family in AddressFamily::ALL {
            let keep = preserved.contains(&family);
            match family {
                AddressFamily::Ipv4Unicast if keep => op.mark_stale::<Ipv4Net>(peer),
                AddressFamily::Ipv6Unicast if keep => op.mark_stale::<Ipv6Net>(peer),
                AddressFamily::Ipv4Unicast => op.drop_family::<Ipv4Net>(peer, &mut out),
                AddressFamily::Ipv6Unicast => op.drop_family::<Ipv6Net>(peer, &mut out),
            }
        }
        Ok(out)
    }

    /// The peer sent End-of-RIB for `family`: its paths of that family still stale are withdrawn.
    ///
    /// [`LocRib::apply_update`] calls this itself for End-of-RIB UPDATEs.
    pub fn end_of_rib(
        &mut self,
        peer: PeerId,
        family: AddressFamily,
    ) -> Result<Vec<RibChange>, RibError> {
        let mut out = Vec::new();
        self.end_of_rib_into(peer, family, &mut out)?;
        Ok(out)
    }

    /// The restart timer ran out before the peer came back: all its stale paths are withdrawn.
    pub fn restart_timer_expired(&mut self, peer: PeerId) -> Result<Vec<RibChange>, RibError> {
        let mut out = Vec::new();
        for family in AddressFamily::ALL {
            self.end_of_rib_into(peer, family, &mut out)?;
        }
        Ok(out)
    }

    pub(super) fn end_of_rib_into(
        &mut self,
        peer: PeerId,
        family: AddressFamily,
        out: &mut Vec<RibChange>,
    ) -> Result<(), RibError> {
        let mut op = self.op(peer)?;
        if op.adj.stale.get(family_slot(family)).copied().unwrap_or(0) == 0 {
            return Ok(());
        }
        match family {
            AddressFamily::Ipv4Unicast => op.purge_stale::<Ipv4Net>(peer, out),
            AddressFamily::Ipv6Unicast => op.purge_stale::<Ipv6Net>(peer, out),
        }
        op.interner.sweep();
        Ok(())
    }
}

impl PeerOp<'_> {
    fn mark_stale<K: Prefix>(&mut self, peer: PeerId) {
        let mut stale = 0;
        if self.adj.family_prefix_count(K::FAMILY) > 0 {
            for c in K::map_mut(self.table).values_mut() {
                if let Some(path) = c.path_of_mut(peer) {
                    path.stale = true;
                    stale += 1;
                }
            }
        }
        if let Some(n) = self.adj.stale.get_mut(family_slot(K::FAMILY)) {
            *n = stale;
        }
    }

    fn purge_stale<K: Prefix>(&mut self, peer: PeerId, out: &mut Vec<RibChange>) {
        let stale: Vec<K> = K::map(self.table)
            .iter()
            .filter(|(_, c)| c.path_of(peer).is_some_and(|path| path.stale))
            .map(|(p, _)| *p)
            .collect();
        for prefix in stale {
            self.withdraw_in(peer, prefix, out);
        }
    }
}

#[cfg(test)]
#[path = "graceful_restart_tests.rs"]
mod tests;
