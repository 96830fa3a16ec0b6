//! [`Status`]: what a running instance reports.

use std::net::IpAddr;

use ferrolb_l2::MacAddr;

use crate::machine::State;

/// What an instance reports (also to metrics and the admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The instance name.
    pub name: String,
    /// The current state.
    pub state: State,
    /// The master as last heard (this router's primary address when master).
    pub master: Option<IpAddr>,
    /// This router's primary address on the interface (IPv6: its link-local address).
    pub primary: Option<IpAddr>,
    /// Whether a tracked condition (external, or the interface being down) fails.
    pub fault: bool,
    /// State changes so far.
    pub transitions: u64,
    /// Times this router became master.
    pub became_master: u64,
    /// Advertisements sent.
    pub adverts_sent: u64,
    /// Valid advertisements received for this virtual router.
    pub adverts_received: u64,
    /// Packets discarded by the receive checks (TTL, version, checksum, length).
    pub invalid_received: u64,
    /// Of those, packets with a bad checksum.
    pub checksum_errors: u64,
    /// Of those, packets whose TTL was not 255 (routed, so not from this link).
    pub ttl_errors: u64,
    /// Advertisements sent with priority 0 (resigning).
    pub priority_zero_sent: u64,
    /// Advertisements received with priority 0 (the master resigning).
    pub priority_zero_received: u64,
    /// Times this backup took over because the master was reported unreachable (BFD).
    pub takeovers_on_unreachable: u64,
    /// The priority this router advertises.
    pub priority: u8,
    /// The virtual addresses.
    pub addresses: Vec<IpAddr>,
    /// The interface the instance runs on.
    pub interface: String,
    /// The virtual router ID.
    pub vrid: u8,
    /// The MAC the addresses are served from (the virtual MAC, or the interface's).
    pub mac: Option<MacAddr>,
}
