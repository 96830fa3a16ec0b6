//! Routing policy: prefix lists, the maximum-prefix limit and attribute modifications.
//!
//! Deliberately a short list of building blocks rather than a policy language.

use ipnet::IpNet;

use crate::attribute::{AsSegment, Community, LargeCommunity, PathAttributes};
use crate::types::Asn;

/// An invalid policy definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `ge`/`le` must satisfy prefix length <= ge <= le <= address length.
    #[error("prefix list entry {prefix}: invalid length range ge {ge:?} le {le:?}")]
    InvalidRange {
        /// The entry's prefix.
        prefix: IpNet,
        /// The `ge` bound.
        ge: Option<u8>,
        /// The `le` bound.
        le: Option<u8>,
    },
}

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefixAction {
    /// Accept the prefix.
    Permit,
    /// Reject the prefix.
    Deny,
}

/// One prefix list entry: matches prefixes inside `prefix` whose length is in the range.
///
/// Without `ge` and `le` only `prefix` itself matches; `ge` alone means ge..=max, `le` alone
/// means prefix length..=le (FRR and Cisco semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixListEntry {
    /// The covering prefix.
    pub prefix: IpNet,
    /// Smallest matching length.
    pub ge: Option<u8>,
    /// Largest matching length.
    pub le: Option<u8>,
    /// What a match means.
    pub action: PrefixAction,
}

impl PrefixListEntry {
    /// An entry matching exactly `prefix`.
    pub fn exact(prefix: IpNet, action: PrefixAction) -> PrefixListEntry {
        PrefixListEntry {
            prefix,
            ge: None,
            le: None,
            action,
        }
    }

    /// An entry matching prefixes inside `prefix` with lengths `ge..=le`.
    pub fn range(
        prefix: IpNet,
        ge: Option<u8>,
        le: Option<u8>,
        action: PrefixAction,
    ) -> PrefixListEntry {
        PrefixListEntry {
            prefix,
            ge,
            le,
            action,
        }
    }

    /// The matching length range, or an error when it is empty or out of bounds.
    fn lengths(&self) -> Result<(u8, u8), PolicyError> {
        let len = self.prefix.prefix_len();
        let max = self.prefix.max_prefix_len();
        let (lo, hi) = match (self.ge, self.le) {
            (None, None) => (len, len),
            (Some(ge), None) => (ge, max),
            (None, Some(le)) => (len, le),
            (Some(ge), Some(le)) => (ge, le),
        };
        if len <= lo && lo <= hi && hi <= max {
            Ok((lo, hi))
        } else {
            Err(PolicyError::InvalidRange {
                prefix: self.prefix,
                ge: self.ge,
                le: self.le,
            })
        }
    }
}

/// An entry compiled for one family: network, mask length, length range, action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Compiled<A> {
    network: A,
    len: u8,
    min: u8,
    max: u8,
    action: PrefixAction,
}

/// An ordered prefix list: the first matching entry decides, else the default action.
///
/// IPv4 and IPv6 entries may be mixed; an entry never matches a prefix of the other family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixList {
    entries: Vec<PrefixListEntry>,
    default: PrefixAction,
    v4: Vec<Compiled<u32>>,
    v6: Vec<Compiled<u128>>,
}

impl PrefixList {
    /// A list from its entries, in order.
    pub fn new(
        entries: Vec<PrefixListEntry>,
        default: PrefixAction,
    ) -> Result<PrefixList, PolicyError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for e in &entries {
            let (min, max) = e.lengths()?;
            match e.prefix.trunc() {
                IpNet::V4(n) => v4.push(Compiled {
                    network: u32::from(n.network()),
                    len: n.prefix_len(),
                    min,
                    max,
                    action: e.action,
                }),
                IpNet::V6(n) => v6.push(Compiled {
                    network: u128::from(n.network()),
                    len: n.prefix_len(),
                    min,
                    max,
                    action: e.action,
                }),
            }
        }
        Ok(PrefixList {
            entries,
            default,
            v4,
            v6,
        })
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[PrefixListEntry] {
        &self.entries
    }

    /// The action when no entry matches.
    pub fn default_action(&self) -> PrefixAction {
        self.default
    }

    /// The action for `prefix`.
    pub fn evaluate(&self, prefix: &IpNet) -> PrefixAction {
        match prefix {
            IpNet::V4(p) => {
                first_match(&self.v4, u32::from(p.network()), p.prefix_len(), |a, l| {
                    a & mask4(l)
                })
            }
            IpNet::V6(p) => {
                first_match(&self.v6, u128::from(p.network()), p.prefix_len(), |a, l| {
                    a & mask6(l)
                })
            }
        }
        .unwrap_or(self.default)
    }

    /// True when `prefix` is permitted.
    pub fn permits(&self, prefix: &IpNet) -> bool {
        self.evaluate(prefix) == PrefixAction::Permit
    }
}

fn first_match<A: Copy + Eq>(
    entries: &[Compiled<A>],
    addr: A,
    len: u8,
    masked: impl Fn(A, u8) -> A,
) -> Option<PrefixAction> {
    entries
        .iter()
        .find(|e| len >= e.min && len <= e.max && masked(addr, e.len) == e.network)
        .map(|e| e.action)
}

fn mask4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(len.into()))
        .unwrap_or(0)
}

fn mask6(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(len.into()))
        .unwrap_or(0)
}

/// A change applied to the attributes of every route a policy accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeAction {
    /// Set LOCAL_PREF.
    SetLocalPref(u32),
    /// Set MULTI_EXIT_DISC.
    SetMed(u32),
    /// Remove MULTI_EXIT_DISC.
    RemoveMed,
    /// Add a community (once).
    AddCommunity(Community),
    /// Remove a community.
    RemoveCommunity(Community),
    /// Remove every standard community.
    ClearCommunities,
    /// Add a large community (once).
    AddLargeCommunity(LargeCommunity),
    /// Prepend an AS `times` times.
    PrependAs {
        /// The AS to prepend.
        asn: Asn,
        /// How many copies.
        times: u8,
    },
}

impl AttributeAction {
    /// Applies the action.
    pub fn apply(&self, attrs: &mut PathAttributes) {
        match *self {
            AttributeAction::SetLocalPref(v) => attrs.local_pref = Some(v),
            AttributeAction::SetMed(v) => attrs.med = Some(v),
            AttributeAction::RemoveMed => attrs.med = None,
            AttributeAction::AddCommunity(c) => {
                if !attrs.communities.contains(&c) {
                    attrs.communities.push(c);
                }
            }
            AttributeAction::RemoveCommunity(c) => attrs.communities.retain(|x| *x != c),
            AttributeAction::ClearCommunities => attrs.communities.clear(),
            AttributeAction::AddLargeCommunity(c) => {
                if !attrs.large_communities.contains(&c) {
                    attrs.large_communities.push(c);
                }
            }
            AttributeAction::PrependAs { asn, times } => {
                let path = attrs.as_path.get_or_insert_with(Default::default);
                let copies = std::iter::repeat_n(asn, usize::from(times));
                match path.segments.first_mut() {
                    Some(AsSegment::Sequence(v)) => {
                        v.splice(0..0, copies);
                    }
                    _ if times > 0 => path
                        .segments
                        .insert(0, AsSegment::Sequence(copies.collect())),
                    _ => {}
                }
            }
        }
    }

    /// Applies a list of actions in order.
    pub fn apply_all(actions: &[AttributeAction], attrs: &mut PathAttributes) {
        for a in actions {
            a.apply(attrs);
        }
    }
}

/// What to do when a peer exceeds its prefix limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxPrefixAction {
    /// Keep accepting; report once each time the limit is crossed.
    Warn,
    /// Reject prefixes beyond the limit and ask the session layer to close the session with
    /// NOTIFICATION Cease / Maximum Number of Prefixes Reached (RFC 4486).
    Teardown,
}

/// A limit on the prefixes accepted from one peer (both families together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxPrefixes {
    /// Most prefixes accepted.
    pub limit: u32,
    /// What exceeding it does.
    pub action: MaxPrefixAction,
}

/// Import policy of one peer, applied before routes enter the Adj-RIB-In.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportPolicy {
    /// Prefixes accepted; `None` accepts every prefix.
    pub prefix_list: Option<PrefixList>,
    /// Prefix limit.
    pub max_prefixes: Option<MaxPrefixes>,
    /// Changes applied to every accepted route.
    pub actions: Vec<AttributeAction>,
}

impl ImportPolicy {
    /// True when the prefix list (if any) permits `prefix`.
    pub fn permits(&self, prefix: &IpNet) -> bool {
        self.prefix_list.as_ref().is_none_or(|l| l.permits(prefix))
    }
}

/// What the session layer must do after an UPDATE, as far as import policy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportVerdict {
    /// Nothing.
    Continue,
    /// The peer crossed its prefix limit (warn-only): log it.
    Warn {
        /// The configured limit.
        limit: u32,
        /// Prefixes accepted now.
        accepted: u32,
    },
    /// The peer exceeded its prefix limit: send Cease / Maximum Number of Prefixes Reached
    /// and bring the peer down.
    Teardown {
        /// The configured limit.
        limit: u32,
        /// Prefixes accepted now.
        accepted: u32,
    },
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
