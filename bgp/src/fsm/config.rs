//! What the state machine needs to know about the session it runs.

use std::time::Duration;

use crate::types::{AddressFamily, Asn, RouterId};

use super::backoff::Backoff;

/// Which AS the peer must be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAsn {
    /// Exactly this ASN.
    Exact(Asn),
    /// Any of these ASNs (dynamic neighbours).
    OneOf(Vec<Asn>),
}

impl PeerAsn {
    /// True when `asn` is acceptable.
    pub fn accepts(&self, asn: Asn) -> bool {
        match self {
            PeerAsn::Exact(a) => *a == asn,
            PeerAsn::OneOf(set) => set.contains(&asn),
        }
    }
}

/// Our side of graceful restart (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Seconds we ask the peer to keep our routes after our session drops (at most 4095).
    pub restart_time: u16,
    /// Set the Restart State bit: we restarted and are re-establishing sessions.
    pub restarting: bool,
    /// Set the Forwarding State bit for each family: forwarding survived our restart.
    pub forwarding_preserved: bool,
}

/// The BGP parameters of one session, as the state machine uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our ASN.
    pub local_asn: Asn,
    /// The ASN(s) the peer may use.
    pub peer_asn: PeerAsn,
    /// Our BGP identifier.
    pub router_id: RouterId,
    /// The hold time we propose, in seconds (0 disables keepalives and the hold timer, else >= 3).
    pub hold_time: u16,
    /// The smallest non-zero hold time we accept from the peer, in seconds (at least 3 is enforced).
    pub min_hold_time: u16,
    /// Our KEEPALIVE interval; `None` for a third of the negotiated hold time. Never more than a
    /// third of the negotiated hold time is used.
    pub keepalive: Option<Duration>,
    /// The hold timer while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes).
    pub open_hold_time: Duration,
    /// Spacing of outgoing connection attempts.
    pub connect_retry: Backoff,
    /// Spacing of automatic restarts after the session went down.
    pub idle_hold: Backoff,
    /// Wait this long after the connection is up before sending OPEN (DelayOpen), unless the
    /// peer's OPEN arrives first.
    pub delay_open: Option<Duration>,
    /// Never initiate connections; only accept them.
    pub passive: bool,
    /// The families we offer (Multiprotocol capabilities).
    pub families: Vec<AddressFamily>,
    /// Offer the route refresh capability.
    pub route_refresh: bool,
    /// Offer the extended message capability (RFC 8654).
    pub extended_message: bool,
    /// Offer graceful restart.
    pub graceful_restart: Option<GracefulRestartConfig>,
}

impl SessionConfig {
    /// A configuration with the usual defaults: hold time 90 s, keepalive a third of it, OPEN
    /// hold time 240 s, ConnectRetry 5 s doubling to 120 s, IdleHold 1 s doubling to 120 s,
    /// IPv4 and IPv6 unicast, route refresh on, no DelayOpen, no graceful restart.
    pub fn new(local_asn: Asn, peer_asn: PeerAsn, router_id: RouterId) -> SessionConfig {
        SessionConfig {
            local_asn,
            peer_asn,
            router_id,
            hold_time: 90,
            min_hold_time: 3,
            keepalive: None,
            open_hold_time: Duration::from_secs(240),
            connect_retry: Backoff::new(Duration::from_secs(5), Duration::from_secs(120)),
            idle_hold: Backoff::new(Duration::from_secs(1), Duration::from_secs(120)),
            delay_open: None,
            passive: false,
            families: AddressFamily::ALL.to_vec(),
            route_refresh: true,
            extended_message: false,
            graceful_restart: None,
        }
    }

    /// True when a peer in `peer_asn` is internal (iBGP): the same AS as ours.
    pub fn is_internal_peer(&self, peer_asn: Asn) -> bool {
        peer_asn == self.local_asn
    }
}
