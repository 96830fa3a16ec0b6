//! Per-peer configuration: the BGP session parameters plus how to reach the peer over TCP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::fsm::{PeerAsn, SessionConfig};
use crate::types::{Asn, RouterId};

use super::error::SessionError;

/// The well-known BGP port.
pub const BGP_PORT: u16 = 179;

/// How the IP TTL (IPv6 hop limit) of the session is set and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtlMode {
    /// The kernel default; nothing is checked.
    #[default]
    Default,
    /// Send with TTL `ttl` (eBGP multihop; 1 for the classic directly connected eBGP).
    Multihop {
        /// The TTL of outgoing packets (1-255).
        ttl: u8,
    },
    /// GTSM (RFC 5082): send with TTL 255 and drop packets that arrive with a TTL below
    /// 256 - `hops`, so only a peer at most `hops` hops away can reach the session.
    Gtsm {
        /// How many hops away the peer may be (1 for a directly connected peer; 1-254).
        hops: u8,
    },
}

impl TtlMode {
    /// The smallest TTL a packet from the peer may arrive with: `256 - hops` for GTSM, else 0.
    pub const fn min_ttl(self) -> u8 {
        match self {
            // `hops` is 1-254 once validated; saturate rather than wrap otherwise.
            TtlMode::Gtsm { hops } => u8::MAX.saturating_sub(hops).saturating_add(1),
            TtlMode::Default | TtlMode::Multihop { .. } => 0,
        }
    }
}

/// Everything one peer needs: the session parameters for the FSM and the transport settings.
///
/// Build one with [`PeerConfig::new`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The peer's address (its connections must come from here; ours go there).
    pub address: IpAddr,
    /// The peer's TCP port for our outgoing connections.
    pub port: u16,
    /// The source address of our outgoing connections (`None`: chosen by the kernel).
    pub local_address: Option<IpAddr>,
    /// TCP MD5 signature password (RFC 2385), at most 80 octets.
    pub md5_password: Option<String>,
    /// TTL handling: default, eBGP multihop or GTSM.
    pub ttl: TtlMode,
    /// How long an outgoing connection attempt may take.
    pub connect_timeout: Duration,
    /// The BGP session parameters.
    pub session: SessionConfig,
}

impl PeerConfig {
    /// A peer at `address` (port 179) in AS `peer_asn`, with the defaults of
    /// [`SessionConfig::new`] and a 5-second connect timeout.
    pub fn new(address: IpAddr, local_asn: Asn, peer_asn: Asn, router_id: RouterId) -> PeerConfig {
        PeerConfig {
            address,
            port: BGP_PORT,
            local_address: None,
            md5_password: None,
            ttl: TtlMode::Default,
            connect_timeout: Duration::from_secs(5),
            session: SessionConfig::new(local_asn, PeerAsn::Exact(peer_asn), router_id),
        }
    }

    /// The socket address our outgoing connections go to.
    pub fn remote_socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Checks what the kernel or the peer would reject later, with a clear message now.
    pub fn validate(&self) -> Result<(), SessionError> {
        let invalid = |why: String| {
            Err(SessionError::InvalidConfig(format!(
                "peer {}: {why}",
                self.address
            )))
        };
        if let Some(local) = self.local_address {
            if local.is_ipv4() != self.address.is_ipv4() {
                return invalid(format!(
                    "local address {local} is not in the peer's address family"
                ));
            }
        }
        if let Some(password) = &self.md5_password {
            if password.is_empty() || password.len() > super::md5::MAX_KEY_LEN {
                return invalid(format!(
                    "MD5 password must be 1 to {} octets, not {}",
                    super::md5::MAX_KEY_LEN,
                    password.len()
                ));
            }
        }
        match self.ttl {
            TtlMode::Multihop { ttl: 0 } => return invalid("multihop TTL must be 1-255".into()),
            TtlMode::Gtsm { hops } if hops == 0 || hops == 255 => {
                return invalid("GTSM hops must be 1-254".into())
            }
            _ => {}
        }
        let s = &self.session;
        if s.hold_time == 1 || s.hold_time == 2 {
            return invalid("hold time must be 0 or at least 3 seconds".into());
        }
        if s.families.is_empty() {
            return invalid("no address family configured".into());
        }
        if s.router_id == Ipv4Addr::UNSPECIFIED {
            return invalid("router id 0.0.0.0 is not a valid BGP identifier".into());
        }
        if let PeerAsn::OneOf(set) = &s.peer_asn {
            if set.is_empty() {
                return invalid("empty set of allowed peer ASNs".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_catches_what_the_kernel_or_peer_would_refuse() {
        let base = || {
            PeerConfig::new(
                "192.0.2.1".parse().unwrap(),
                65001,
                65002,
                Ipv4Addr::new(10, 0, 0, 1),
            )
        };
        assert!(base().validate().is_ok());
        type Case = (&'static str, fn(&mut PeerConfig));
        let cases: Vec<Case> = vec![
            ("family mismatch", |c| {
                c.local_address = Some("2001:db8::1".parse().unwrap())
            }),
            ("long password", |c| c.md5_password = Some("x".repeat(81))),
            ("empty password", |c| c.md5_password = Some(String::new())),
            ("ttl 0", |c| c.ttl = TtlMode::Multihop { ttl: 0 }),
            ("gtsm 0", |c| c.ttl = TtlMode::Gtsm { hops: 0 }),
            ("hold 2", |c| c.session.hold_time = 2),
            ("no family", |c| c.session.families.clear()),
            ("router id 0", |c| {
                c.session.router_id = Ipv4Addr::UNSPECIFIED
            }),
            ("no asn", |c| c.session.peer_asn = PeerAsn::OneOf(vec![])),
        ];
        for (name, mutate) in cases {
            let mut c = base();
            mutate(&mut c);
            assert!(
                matches!(c.validate(), Err(SessionError::InvalidConfig(_))),
                "{name}"
            );
        }
    }
}
