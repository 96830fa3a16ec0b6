//! A path: one peer's route to one prefix.
//!
//! The prefix-independent part ([`PathData`]: attribute set, next hop and the decision keys
//! derived from them) is interned and shared by every prefix that carries it, so a stored
//! [`Path`] is 16 bytes: a pointer, the peer id and the stale flag.

use std::sync::Arc;

use crate::attribute::{NextHop, Origin, PathAttributes};
use crate::types::Asn;

use super::peer::PeerId;

/// The shared part of a path: an interned attribute set (without NLRI and without the NEXT_HOP
/// attribute, which lives in `next_hop`) and the next hop, with decision keys precomputed.
#[derive(Debug, PartialEq, Eq)]
pub struct PathData {
    attributes: Arc<PathAttributes>,
    next_hop: NextHop,
    as_path_length: u32,
    neighbor_as: Option<Asn>,
}

impl PathData {
    /// Wraps an attribute set and a next hop; RIB tables obtain these through their interner.
    pub fn new(attributes: Arc<PathAttributes>, next_hop: NextHop) -> PathData {
        let as_path = attributes.as_path.as_ref();
        let as_path_length =
            as_path.map_or(0, |p| u32::try_from(p.path_length()).unwrap_or(u32::MAX));
        let neighbor_as = as_path.and_then(|p| p.first_asn());
        PathData {
            attributes,
            next_hop,
            as_path_length,
            neighbor_as,
        }
    }

    /// The attribute set.
    pub fn attributes(&self) -> &Arc<PathAttributes> {
        &self.attributes
    }

    /// The next hop.
    pub fn next_hop(&self) -> NextHop {
        self.next_hop
    }

    /// AS_PATH length as the decision process counts it (an AS_SET counts one).
    pub fn as_path_length(&self) -> u32 {
        self.as_path_length
    }

    /// The neighbouring AS (first AS of the AS_PATH), `None` for a path from inside our AS.
    pub fn neighbor_as(&self) -> Option<Asn> {
        self.neighbor_as
    }

    /// ORIGIN; a missing one counts as INCOMPLETE, the least preferred.
    pub fn origin(&self) -> Origin {
        self.attributes.origin.unwrap_or(Origin::Incomplete)
    }

    /// MULTI_EXIT_DISC; a missing one counts as 0 (RFC 4271 section 9.1.2.2, FRR and BIRD default).
    pub fn med(&self) -> u32 {
        self.attributes.med.unwrap_or(0)
    }

    /// LOCAL_PREF, or `default` when absent.
    pub fn local_pref_or(&self, default: u32) -> u32 {
        self.attributes.local_pref.unwrap_or(default)
    }
}

/// One candidate path for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The shared attribute set and next hop.
    pub data: Arc<PathData>,
    /// The peer that sent it.
    pub peer: PeerId,
    /// Kept across the peer's graceful restart (RFC 4724) and not yet refreshed.
    pub stale: bool,
}

impl Path {
    /// A fresh path.
    pub fn new(peer: PeerId, data: Arc<PathData>) -> Path {
        Path {
            data,
            peer,
            stale: false,
        }
    }

    /// The attribute set.
    pub fn attributes(&self) -> &Arc<PathAttributes> {
        self.data.attributes()
    }

    /// The next hop.
    pub fn next_hop(&self) -> NextHop {
        self.data.next_hop()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::attribute::{AsPath, AsSegment};

    #[test]
    fn decision_keys_come_from_the_attributes() {
        let attrs = PathAttributes {
            as_path: Some(AsPath {
                segments: vec![
                    AsSegment::Sequence(vec![65001, 65002]),
                    AsSegment::Set(vec![1, 2, 3]),
                ],
            }),
            ..PathAttributes::default()
        };
        let d = PathData::new(Arc::new(attrs), NextHop::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(d.as_path_length(), 3);
        assert_eq!(d.neighbor_as(), Some(65001));
        assert_eq!(d.origin(), Origin::Incomplete);
        assert_eq!(d.med(), 0);
        assert_eq!(d.local_pref_or(100), 100);

        let empty = PathData::new(
            Arc::new(PathAttributes::default()),
            NextHop::V4(Ipv4Addr::LOCALHOST),
        );
        assert_eq!(empty.as_path_length(), 0);
        assert_eq!(empty.neighbor_as(), None);
    }

    #[test]
    fn a_stored_path_is_two_words() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
    }
}
