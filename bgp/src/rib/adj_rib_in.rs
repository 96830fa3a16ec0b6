//! Adj-RIB-In: what one peer has sent us, after import policy.
//!
//! The paths themselves live once, in the Loc-RIB's candidate lists; the Adj-RIB-In keeps how
//! many prefixes the peer currently has a path for, the import policy, the counters and the
//! stale-path bookkeeping of graceful restart. There is deliberately no per-peer prefix index:
//! it cost a random access into a table as large as the Loc-RIB for every path received (and
//! memory to match), while the operations that enumerate a peer's prefixes (session down,
//! graceful restart, router ID change) are rare and scan the Loc-RIB instead.

use crate::types::AddressFamily;

use super::policy::{ImportPolicy, ImportVerdict, MaxPrefixAction};

/// Why a received prefix was not accepted. A rejected prefix is handled as withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Denied by the peer's prefix list.
    PrefixList,
    /// Our AS is in the AS_PATH of a route from an external peer (RFC 4271 section 9.1.2).
    AsPathLoop,
    /// ORIGIN, AS_PATH or the next hop is missing.
    MissingAttributes,
    /// The next hop is unspecified, multicast or broadcast.
    InvalidNextHop,
    /// Beyond the peer's prefix limit (with the teardown action).
    MaxPrefixes,
}

impl RejectReason {
    /// Every reason.
    pub const ALL: [RejectReason; 5] = [
        RejectReason::PrefixList,
        RejectReason::AsPathLoop,
        RejectReason::MissingAttributes,
        RejectReason::InvalidNextHop,
        RejectReason::MaxPrefixes,
    ];

    /// A short name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::PrefixList => "prefix-list",
            RejectReason::AsPathLoop => "as-path-loop",
            RejectReason::MissingAttributes => "missing-attributes",
            RejectReason::InvalidNextHop => "invalid-next-hop",
            RejectReason::MaxPrefixes => "max-prefixes",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Cumulative counts of what a peer sent; they survive the peer going down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounters {
    /// Prefix announcements received.
    pub received: u64,
    /// Announcements accepted by import policy.
    pub accepted: u64,
    /// Withdrawals received.
    pub withdrawn: u64,
    rejected: [u64; RejectReason::ALL.len()],
}

impl ImportCounters {
    /// Announcements rejected for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected.get(reason.index()).copied().unwrap_or(0)
    }

    /// Announcements rejected for any reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    pub(crate) fn reject(&mut self, reason: RejectReason) {
        if let Some(c) = self.rejected.get_mut(reason.index()) {
            *c += 1;
        }
    }
}

/// One peer's Adj-RIB-In.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    /// Prefixes with a path from this peer, per family (see [`family_slot`]).
    pub(crate) prefixes: [usize; 2],
    pub(crate) import: ImportPolicy,
    pub(crate) counters: ImportCounters,
    /// Stale paths per family (see [`family_slot`]).
    pub(crate) stale: [usize; 2],
    /// The warn-only limit was crossed and not yet reported as cleared.
    over_limit: bool,
}

/// Position of a family in per-family arrays.
pub(crate) fn family_slot(family: AddressFamily) -> usize {
    match family {
        AddressFamily::Ipv4Unicast => 0,
        AddressFamily::Ipv6Unicast => 1,
    }
}

impl AdjRibIn {
    pub(crate) fn new(import: ImportPolicy) -> AdjRibIn {
        AdjRibIn {
            import,
            ..AdjRibIn::default()
        }
    }

    /// Prefixes the peer currently has an accepted path for.
    pub fn prefix_count(&self) -> usize {
        self.prefixes.iter().sum()
    }

    /// Prefixes of one family the peer currently has an accepted path for.
    pub fn family_prefix_count(&self, family: AddressFamily) -> usize {
        self.prefixes.get(family_slot(family)).copied().unwrap_or(0)
    }

    /// Paths kept stale across the peer's graceful restart.
    pub fn stale_count(&self) -> usize {
        self.stale.iter().sum()
    }

    /// The counters.
    pub fn counters(&self) -> &ImportCounters {
        &self.counters
    }

    /// The import policy.
    pub fn import_policy(&self) -> &ImportPolicy {
        &self.import
    }

    fn accepted_u32(&self) -> u32 {
        u32::try_from(self.prefix_count()).unwrap_or(u32::MAX)
    }

    /// Whether one more prefix may be added; `Err` carries the teardown verdict.
    pub(crate) fn admit_new_prefix(&self) -> Result<(), ImportVerdict> {
        match self.import.max_prefixes {
            Some(m)
                if m.action == MaxPrefixAction::Teardown
                    && self.prefix_count() >= m.limit as usize =>
            {
                Err(ImportVerdict::Teardown {
                    limit: m.limit,
                    accepted: self.accepted_u32(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The warn-only limit check after the prefix count changed: reports once per crossing.
    pub(crate) fn limit_check(&mut self) -> ImportVerdict {
        let Some(m) = self.import.max_prefixes else {
            return ImportVerdict::Continue;
        };
        let over = self.prefix_count() > m.limit as usize;
        let crossed = over && !self.over_limit && m.action == MaxPrefixAction::Warn;
        self.over_limit = over;
        if crossed {
            ImportVerdict::Warn {
                limit: m.limit,
                accepted: self.accepted_u32(),
            }
        } else {
            ImportVerdict::Continue
        }
    }

    /// One more prefix of `family` has a path from the peer.
    pub(crate) fn added(&mut self, family: AddressFamily) {
        if let Some(n) = self.prefixes.get_mut(family_slot(family)) {
            *n += 1;
        }
    }

    /// One prefix of `family` no longer has a path from the peer.
    pub(crate) fn removed(&mut self, family: AddressFamily) {
        if let Some(n) = self.prefixes.get_mut(family_slot(family)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Forgets every prefix (the peer went down); counters stay.
    pub(crate) fn clear(&mut self) {
        self.prefixes = [0; 2];
        self.stale = [0; 2];
        self.over_limit = false;
    }
}

/// Keeps the more severe of two verdicts.
pub(crate) fn worst(a: ImportVerdict, b: ImportVerdict) -> ImportVerdict {
    fn rank(v: &ImportVerdict) -> u8 {
        match v {
            ImportVerdict::Continue => 0,
            ImportVerdict::Warn { .. } => 1,
            ImportVerdict::Teardown { .. } => 2,
        }
    }
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}
