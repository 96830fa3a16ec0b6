//! The session parameters both sides agreed on in their OPENs.

use std::time::Duration;

use crate::message::GracefulRestartFamily;
use crate::types::{AddressFamily, Asn, RouterId};

/// The peer's graceful restart capability, limited to the negotiated families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// How long the peer asks us to keep its routes (as stale) after the session drops.
    pub restart_time: Duration,
    /// The peer has just restarted (Restart State bit).
    pub restarting: bool,
    /// Families the peer can preserve forwarding for, with its Forwarding State bit.
    pub families: Vec<GracefulRestartFamily>,
}

/// What an OPEN exchange settled (RFC 4271 section 4.2 and the capabilities of RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The hold time: the smaller of both proposals (zero: no hold timer, no keepalives).
    pub hold_time: Duration,
    /// Our KEEPALIVE interval (zero when the hold time is zero).
    pub keepalive: Duration,
    /// Both sides speak 4-octet ASNs (RFC 6793).
    pub four_octet_as: bool,
    /// Families both sides offered, in our configured order.
    pub families: Vec<AddressFamily>,
    /// Both sides offered extended messages (RFC 8654): messages up to 65535 octets.
    pub extended_message: bool,
    /// Both sides offered route refresh (RFC 2918): ROUTE-REFRESH may be sent and is answered.
    pub route_refresh: bool,
    /// The peer's graceful restart capability, if it sent one.
    pub graceful_restart: Option<PeerGracefulRestart>,
    /// The peer's ASN.
    pub peer_asn: Asn,
    /// The peer's BGP identifier.
    pub peer_router_id: RouterId,
    /// The peer is in our AS.
    pub internal: bool,
}
