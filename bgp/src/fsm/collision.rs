//! Connection collision detection (RFC 4271 section 6.8, RFC 6286 section 2.3).
//!
//! When both speakers connect to each other at once, two TCP connections exist between the same
//! pair. Both sides must close the same one, so the choice depends only on what both know: the
//! BGP identifiers, the ASNs and which side initiated each connection.

use crate::types::{Asn, RouterId};

use super::state::State;

/// Which side opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// We connected to the peer.
    Local,
    /// The peer connected to us.
    Remote,
}

/// Which of two colliding connections survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keep {
    /// Keep the connection that existed first; dump the new one.
    Existing,
    /// Keep the new connection; dump the existing one.
    New,
}

/// The origin of the connection RFC 6.8 keeps: the one opened by the speaker with the higher
/// BGP identifier (compared as unsigned integers), or with equal identifiers (possible between
/// ASes, RFC 6286) the one opened by the speaker with the larger ASN.
pub fn preferred_origin(
    local_id: RouterId,
    local_asn: Asn,
    remote_id: RouterId,
    remote_asn: Asn,
) -> Origin {
    let (local, remote) = (u32::from(local_id), u32::from(remote_id));
    if local > remote || (local == remote && local_asn > remote_asn) {
        Origin::Local
    } else {
        Origin::Remote
    }
}

/// One side of a collision: who opened the connection and the state its FSM is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Contender {
    /// Who opened the connection.
    pub origin: Origin,
    /// The state of its FSM.
    pub state: State,
}

/// Decides a collision between an `existing` connection and a `new` one to the same peer.
///
/// An Established connection always wins (RFC 4271 section 6.8), unless `replace_established`
/// says the peer restarted with graceful restart (RFC 4724 section 4.2: the new session takes
/// over). Otherwise the connection with the [`preferred_origin`] survives; if both have the same
/// origin (which the peer should never cause) the existing one does.
pub fn resolve(
    existing: Contender,
    new: Contender,
    preferred: Origin,
    replace_established: bool,
) -> Keep {
    if existing.state == State::Established {
        return if replace_established {
            Keep::New
        } else {
            Keep::Existing
        };
    }
    if new.state == State::Established {
        return Keep::New;
    }
    if existing.origin != new.origin && new.origin == preferred {
        Keep::New
    } else {
        Keep::Existing
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn preferred_origin_follows_identifiers_then_asns() {
        let low = Ipv4Addr::new(9, 255, 255, 255);
        let high = Ipv4Addr::new(10, 0, 0, 1);
        let cases = [
            (high, 1, low, 2, Origin::Local),
            (low, 2, high, 1, Origin::Remote),
            // Compared as integers, not octet strings of different lengths or signed values.
            (
                Ipv4Addr::new(200, 0, 0, 1),
                1,
                Ipv4Addr::new(100, 0, 0, 1),
                1,
                Origin::Local,
            ),
            (high, 65002, high, 65001, Origin::Local),
            (high, 65001, high, 65002, Origin::Remote),
        ];
        for (lid, lasn, rid, rasn, want) in cases {
            assert_eq!(
                preferred_origin(lid, lasn, rid, rasn),
                want,
                "{lid}/{lasn} vs {rid}/{rasn}"
            );
        }
    }

    #[test]
    fn resolution_table() {
        use Origin::{Local, Remote};
        use State::{Established, OpenConfirm, OpenSent};
        let c = |origin, state| Contender { origin, state };
        // (existing, new, preferred, replace_established, keep)
        let cases = [
            (
                c(Local, OpenConfirm),
                c(Remote, OpenConfirm),
                Remote,
                false,
                Keep::New,
            ),
            (
                c(Local, OpenConfirm),
                c(Remote, OpenConfirm),
                Local,
                false,
                Keep::Existing,
            ),
            (
                c(Remote, OpenConfirm),
                c(Local, OpenConfirm),
                Local,
                false,
                Keep::New,
            ),
            (
                c(Remote, OpenSent),
                c(Local, OpenConfirm),
                Remote,
                false,
                Keep::Existing,
            ),
            (
                c(Remote, OpenConfirm),
                c(Remote, OpenConfirm),
                Remote,
                false,
                Keep::Existing,
            ),
            (
                c(Local, Established),
                c(Remote, OpenConfirm),
                Remote,
                false,
                Keep::Existing,
            ),
            (
                c(Local, Established),
                c(Remote, OpenConfirm),
                Local,
                true,
                Keep::New,
            ),
            (
                c(Local, OpenConfirm),
                c(Remote, Established),
                Local,
                false,
                Keep::New,
            ),
        ];
        for (existing, new, preferred, replace, want) in cases {
            assert_eq!(
                resolve(existing, new, preferred, replace),
                want,
                "{existing:?} {new:?} {preferred:?}"
            );
        }
    }
}
