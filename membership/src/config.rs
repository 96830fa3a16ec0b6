//! Membership settings, and how they map onto SWIM's timers.

use std::net::SocketAddr;
use std::num::{NonZeroU8, NonZeroUsize};
use std::time::Duration;

use crate::envelope::{self, AuthKey};
use crate::error::MembershipError;

/// The UDP port speakers use by default (the one memberlist-based load balancers use too).
pub const DEFAULT_PORT: u16 = 7946;
/// Largest SWIM message; with the envelope's 53 bytes, a datagram still fits a 1500-byte MTU
/// over IPv6.
const MAX_SWIM_MESSAGE: usize = 1350;
/// Longest Kubernetes node name (a DNS subdomain).
const MAX_NODE_NAME: usize = 253;

/// How a speaker joins the liveness group.
#[derive(Clone)]
pub struct MembershipConfig {
    /// This member's identity: the Kubernetes node name.
    pub node_name: String,
    /// UDP listen address (node IP and, by default, port [`DEFAULT_PORT`]).
    pub bind: SocketAddr,
    /// The address the other members reach this one at.
    pub advertise: SocketAddr,
    /// Shared secret (from a Kubernetes Secret, at least 16 bytes) authenticating every
    /// datagram with HMAC-SHA256.
    pub key: Vec<u8>,
    /// How often each member probes one other member. A dead member is suspected after about one
    /// period without an answer.
    pub probe_period: Duration,
    /// How long to wait for a direct answer before asking others to probe indirectly; above the
    /// network's round-trip time, below `probe_period`.
    pub probe_rtt: Duration,
    /// How long a suspected member has to refute the suspicion before it is declared down.
    pub suspect_timeout: Duration,
    /// How often membership updates are pushed to a few random members, on top of those that
    /// ride on probes.
    pub gossip_period: Duration,
    /// How often this member announces itself to expected members it does not see alive, which
    /// is how it joins at start and how a partition heals.
    pub rejoin_period: Duration,
    /// How far a datagram's timestamp may be from the local clock (both ways); must cover the
    /// clock skew between nodes. Replays are remembered for this long.
    pub replay_window: Duration,
}

impl std::fmt::Debug for MembershipConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("MembershipConfig")
            .field("node_name", &self.node_name)
            .field("bind", &self.bind)
            .field("advertise", &self.advertise)
            .field("probe_period", &self.probe_period)
            .field("probe_rtt", &self.probe_rtt)
            .field("suspect_timeout", &self.suspect_timeout)
            .field("gossip_period", &self.gossip_period)
            .field("rejoin_period", &self.rejoin_period)
            .field("replay_window", &self.replay_window)
            .finish_non_exhaustive()
    }
}

impl MembershipConfig {
    /// Settings tuned for a LAN: a killed speaker is declared down by every member in roughly
    /// `probe_period + suspect_timeout` plus the wait until someone probes it (~300-450 ms).
    pub fn new(
        node_name: impl Into<String>,
        bind: SocketAddr,
        advertise: SocketAddr,
        key: Vec<u8>,
    ) -> MembershipConfig {
        MembershipConfig {
            node_name: node_name.into(),
            bind,
            advertise,
            key,
            probe_period: Duration::from_millis(80),
            probe_rtt: Duration::from_millis(30),
            suspect_timeout: Duration::from_millis(160),
            gossip_period: Duration::from_millis(50),
            rejoin_period: Duration::from_secs(1),
            replay_window: Duration::from_secs(15),
        }
    }

    /// Checks the settings and derives the key.
    pub(crate) fn validate(&self) -> Result<AuthKey, MembershipError> {
        let bad = |what: &str| Err(MembershipError::Config(what.to_owned()));
        if self.node_name.is_empty() || self.node_name.len() > MAX_NODE_NAME {
            return bad("node_name must be 1-253 bytes");
        }
        if self.advertise.ip().is_unspecified() || self.advertise.ip().is_multicast() {
            return bad("advertise must be an address other members can reach");
        }
        let timers = [
            self.probe_period,
            self.probe_rtt,
            self.suspect_timeout,
            self.gossip_period,
            self.rejoin_period,
            self.replay_window,
        ];
        if timers.contains(&Duration::ZERO) {
            return bad("periods and timeouts must not be zero");
        }
        if self.probe_rtt >= self.probe_period {
            return bad("probe_rtt must be shorter than probe_period");
        }
        if self.replay_window < Duration::from_secs(1) {
            return bad("replay_window must be at least 1 s");
        }
        AuthKey::new(&self.key).ok_or_else(|| {
            MembershipError::Config(format!(
                "key must be at least {} bytes",
                envelope::MIN_KEY_LEN
            ))
        })
    }

    /// The SWIM settings these map to.
    pub(crate) fn swim(&self) -> foca::Config {
        let few = NonZeroUsize::MIN.saturating_add(2);
        foca::Config {
            probe_period: self.probe_period,
            probe_rtt: self.probe_rtt,
            num_indirect_probes: few,
            // Enough for an update to reach every member of a few-hundred-node cluster.
            max_transmissions: NonZeroU8::new(10).unwrap_or(NonZeroU8::MIN),
            suspect_to_down_after: self.suspect_timeout,
            // Generations make forgetting unnecessary: a restarted member comes back under a
            // newer identity, so down identities are kept for a day to stop stale rumours.
            remove_down_after: Some(Duration::from_secs(24 * 3600)),
            max_packet_size: NonZeroUsize::new(MAX_SWIM_MESSAGE).unwrap_or(NonZeroUsize::MIN),
            // Tell a member that we consider it down: it then renews its identity and rejoins,
            // which is how both sides of a healed partition find each other again.
            notify_down_members: true,
            periodic_announce: Some(foca::PeriodicParams {
                frequency: Duration::from_secs(5),
                num_members: NonZeroUsize::MIN,
            }),
            periodic_announce_to_down_members: Some(foca::PeriodicParams {
                frequency: self.rejoin_period,
                num_members: few,
            }),
            periodic_gossip: Some(foca::PeriodicParams {
                frequency: self.gossip_period,
                num_members: few,
            }),
        }
    }

    /// The largest datagram accepted from the network.
    pub(crate) fn max_datagram(&self) -> usize {
        MAX_SWIM_MESSAGE + envelope::OVERHEAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MembershipConfig {
        let addr = "127.0.0.1:7946".parse().unwrap();
        MembershipConfig::new("node-a", addr, addr, vec![1; 32])
    }

    #[test]
    fn settings_are_checked() {
        type Edit = fn(&mut MembershipConfig);
        let cases: &[(&str, Edit, bool)] = &[
            ("defaults", |_| {}, true),
            ("empty name", |c| c.node_name.clear(), false),
            ("long name", |c| c.node_name = "n".repeat(254), false),
            ("short key", |c| c.key = vec![1; 15], false),
            (
                "unspecified advertise address",
                |c| c.advertise = "0.0.0.0:7946".parse().unwrap(),
                false,
            ),
            (
                "wildcard bind",
                |c| c.bind = "[::]:7946".parse().unwrap(),
                true,
            ),
            ("no key", |c| c.key.clear(), false),
            (
                "zero probe period",
                |c| c.probe_period = Duration::ZERO,
                false,
            ),
            (
                "rtt not below period",
                |c| c.probe_rtt = c.probe_period,
                false,
            ),
            (
                "zero suspicion",
                |c| c.suspect_timeout = Duration::ZERO,
                false,
            ),
            (
                "short replay window",
                |c| c.replay_window = Duration::from_millis(500),
                false,
            ),
        ];
        for (name, edit, ok) in cases {
            let mut c = config();
            edit(&mut c);
            assert_eq!(c.validate().is_ok(), *ok, "{name}");
        }
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let mut c = config();
        c.key = b"very-secret-key-bytes".to_vec();
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn datagrams_fit_an_ipv6_mtu() {
        assert!(config().max_datagram() + 40 + 8 <= 1500);
    }
}
