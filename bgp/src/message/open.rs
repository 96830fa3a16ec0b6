//! The OPEN message and its capabilities (RFC 5492).

use std::time::Duration;

use crate::types::{AddressFamily, Asn, RouterId};

/// An OPEN message.
///
/// `asn` is the speaker's real (possibly 4-octet) ASN: the codec writes AS_TRANS in the 2-octet
/// field when needed and reads the real one from the 4-octet AS capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// BGP version; always 4.
    pub version: u8,
    /// The sender's ASN.
    pub asn: Asn,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub router_id: RouterId,
    /// Capabilities, in the order sent.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The families this OPEN offers through MP-BGP capabilities.
    ///
    /// With no multiprotocol capability at all, a peer speaks IPv4 unicast only (RFC 4760).
    pub fn families(&self) -> Vec<AddressFamily> {
        let mut v: Vec<AddressFamily> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if v.is_empty() {
            v.push(AddressFamily::Ipv4Unicast);
        }
        v
    }

    /// True if the 4-octet AS capability was sent.
    pub fn four_octet_as(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    /// True if the route refresh capability was sent.
    pub fn route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh))
    }

    /// True if the extended message capability was sent.
    pub fn extended_message(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::ExtendedMessage))
    }

    /// The graceful restart capability, if sent.
    pub fn graceful_restart(&self) -> Option<&GracefulRestartCapability> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// The hold time as a duration.
    pub fn hold_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.hold_time))
    }
}

/// A capability advertised in OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions for one family (code 1, RFC 4760).
    Multiprotocol(AddressFamily),
    /// Route refresh (code 2, RFC 2918).
    RouteRefresh,
    /// Extended message length (code 6, RFC 8654).
    ExtendedMessage,
    /// Graceful restart (code 64, RFC 4724).
    GracefulRestart(GracefulRestartCapability),
    /// 4-octet AS number support, carrying the real ASN (code 65, RFC 6793).
    FourOctetAs(Asn),
    /// Any other capability, kept as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// The graceful restart capability (RFC 4724 section 3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GracefulRestartCapability {
    /// Restart State bit: the sender has restarted and is re-establishing.
    pub restarting: bool,
    /// Seconds the sender asks its peer to keep routes stale after the session drops (12 bits).
    pub restart_time: u16,
    /// Families whose forwarding state the sender can preserve across a restart.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family entry of the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: AddressFamily,
    /// Forwarding State bit: forwarding was preserved for this family across the restart.
    pub forwarding_preserved: bool,
}
