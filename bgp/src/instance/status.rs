//! What an instance reports about its neighbours (for admin APIs, metrics and lbctl).

use std::net::IpAddr;
use std::time::Duration;

use crate::fsm::State;
use crate::types::Asn;

/// Prefix counters of one neighbour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PrefixCounters {
    /// Prefix announcements received (cumulative).
    pub received: u64,
    /// Prefixes currently accepted by the import policy.
    pub accepted: u64,
    /// Announcements the import policy refused (cumulative).
    pub rejected: u64,
    /// Prefixes we currently advertise to the neighbour.
    pub advertised: u64,
}

/// One neighbour's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NeighborStatus {
    /// The neighbour's address.
    pub address: IpAddr,
    /// Its AS, once known from its OPEN (or as configured).
    pub asn: Option<Asn>,
    /// Session state as RFC 4271 names it.
    pub state: String,
    /// How long the session has been Established.
    #[serde(serialize_with = "as_secs")]
    pub uptime: Option<Duration>,
    /// Whether it came from a dynamic-neighbour range.
    pub dynamic: bool,
    /// Prefix counters.
    pub prefixes: PrefixCounters,
    /// Why the session last went down, if it did.
    pub last_down: Option<String>,
}

impl NeighborStatus {
    /// True when the session is Established.
    pub fn is_established(&self) -> bool {
        self.state == format!("{:?}", State::Established)
    }
}

fn as_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}
