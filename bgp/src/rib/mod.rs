//! Routing information bases: Adj-RIB-In, Loc-RIB (best path and multipath), Adj-RIB-Out, policy.
//!
//! Pure logic: UPDATEs and peer events go in, [`RibChange`]s and [`OutboundBatch`]es come out;
//! no I/O and no clocks. Typical use:
//!
//! 1. [`LocRib::add_peer`] when a session is established;
//! 2. [`LocRib::apply_update`] for every UPDATE received (act on its [`ImportVerdict`]);
//! 3. hand the returned changes to subscribers (kernel routes) and to every peer's
//!    [`AdjRibOut::process`], whose batch the UPDATE packer sends;
//! 4. [`LocRib::peer_down`] or [`LocRib::peer_down_graceful`] when a session ends,
//!    [`LocRib::end_of_rib`] / [`LocRib::restart_timer_expired`] to finish a graceful restart.
//!
//! Memory: attribute sets are interned (one copy per distinct set), a prefix with one path
//! costs one 24-byte entry in its block's vector, and paths of one prefix are stored together
//! (16 bytes each). The per-prefix tables keep 64 neighbouring prefixes in one block (peers send
//! tables in address order), so a run of adjacent prefixes touches one vector, and growth
//! reallocates one block, never the whole table.
//! There is no per-peer prefix index; the rare per-peer operations scan the table.

mod adj_rib_in;
mod adj_rib_out;
mod candidates;
mod change;
mod decision;
mod export_ids;
mod graceful_restart;
mod import;
mod intern;
mod loc_rib;
mod path;
mod peer;
mod policy;
mod prefix_map;
mod prefix_table;

pub use adj_rib_in::{AdjRibIn, ImportCounters, RejectReason};
pub use adj_rib_out::{
    AdjRibOut, Announcement, ExportMode, ExportPolicy, NextHopPolicy, OutboundBatch,
};
pub use change::{BestRoute, NextHopSet, RibChange};
pub use decision::{select, DecisionConfig, MultipathRule, Selection};
pub use loc_rib::{LocRib, RibError, UpdateOutcome};
pub use path::{Path, PathData};
pub use peer::{PeerId, PeerInfo, PeerKind, PeerTable};
pub use policy::{
    AttributeAction, ImportPolicy, ImportVerdict, MaxPrefixAction, MaxPrefixes, PolicyError,
    PrefixAction, PrefixList, PrefixListEntry,
};

#[cfg(test)]
pub(crate) mod tests;
