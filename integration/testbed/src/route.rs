//! A daemon-neutral view of BGP routes and sessions, so assertions read the same whichever
//! daemon is on the other end.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};

/// The BGP ORIGIN attribute (RFC 4271 section 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Learned from an interior protocol (or configured).
    Igp,
    /// Learned via EGP.
    Egp,
    /// Learned some other way (e.g. redistributed).
    Incomplete,
}

impl Origin {
    /// Parses the names daemons print (`IGP`, `i`, `incomplete`, ...) and RFC codes (0-2).
    pub fn parse(text: &str) -> Result<Origin> {
        match text.trim().to_ascii_lowercase().as_str() {
            "igp" | "i" | "0" => Ok(Origin::Igp),
            "egp" | "e" | "1" => Ok(Origin::Egp),
            "incomplete" | "?" | "2" => Ok(Origin::Incomplete),
            other => Err(Error::parse("ORIGIN", other)),
        }
    }
}

/// The BGP finite state machine states (RFC 4271 section 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Not trying, or waiting before retrying.
    Idle,
    /// Connecting over TCP.
    Connect,
    /// Listening for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for KEEPALIVE.
    OpenConfirm,
    /// Up: routes are exchanged.
    Established,
}

impl SessionState {
    /// Parses the state names daemons print, case-insensitively and ignoring `BGP_FSM_`
    /// prefixes and qualifiers such as FRR's `Idle (Admin)`.
    pub fn parse(text: &str) -> Result<SessionState> {
        let word = text.split_whitespace().next().unwrap_or_default();
        let word = word.to_ascii_lowercase();
        let word = word.strip_prefix("bgp_fsm_").unwrap_or(&word);
        match word {
            "idle" | "close" | "down" => Ok(SessionState::Idle),
            "connect" => Ok(SessionState::Connect),
            "active" => Ok(SessionState::Active),
            "opensent" => Ok(SessionState::OpenSent),
            "openconfirm" => Ok(SessionState::OpenConfirm),
            "established" => Ok(SessionState::Established),
            _ => Err(Error::parse("BGP session state", text)),
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One path to a prefix as a daemon holds it: received from a peer (`peer` is `Some`) or
/// originated locally (`peer` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The destination.
    pub prefix: IpNet,
    /// Addresses carried in NEXT_HOP / MP_REACH_NLRI (an IPv6 route may carry a global and a
    /// link-local address). Empty for locally originated routes that have none yet.
    pub next_hops: Vec<IpAddr>,
    /// AS_PATH flattened to AS numbers (AS_SET members included in order).
    pub as_path: Vec<u32>,
    /// ORIGIN, if the daemon reports one.
    pub origin: Option<Origin>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF as the daemon holds it: the received value on iBGP paths; on eBGP paths BIRD
    /// reports its default (100) while FRR and GoBGP report none.
    pub local_pref: Option<u32>,
    /// COMMUNITIES (RFC 1997) as (AS, value).
    pub communities: Vec<(u16, u16)>,
    /// LARGE_COMMUNITY (RFC 8092) as (global admin, data 1, data 2).
    pub large_communities: Vec<(u32, u32, u32)>,
    /// The neighbour the path came from; `None` if originated by the daemon itself.
    pub peer: Option<IpAddr>,
    /// Whether the daemon selected this path as best for the prefix.
    pub best: bool,
}

impl RouteView {
    /// A path with only the prefix set; parsers fill in the rest.
    pub(crate) fn empty(prefix: IpNet) -> RouteView {
        RouteView {
            prefix,
            next_hops: Vec::new(),
            as_path: Vec::new(),
            origin: None,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            peer: None,
            best: false,
        }
    }

    /// Whether this path was learned from `peer`.
    pub fn is_from(&self, peer: IpAddr) -> bool {
        self.peer == Some(peer)
    }
}

/// `ipv4` or `ipv6`: how BIRD, FRR and GoBGP all name the unicast address families.
pub fn family_name(prefix: IpNet) -> &'static str {
    match prefix {
        IpNet::V4(_) => "ipv4",
        IpNet::V6(_) => "ipv6",
    }
}

/// Paths to `prefix` in `routes`.
pub fn paths_to(routes: &[RouteView], prefix: IpNet) -> impl Iterator<Item = &RouteView> {
    routes.iter().filter(move |r| r.prefix == prefix)
}

/// The path to `prefix` learned from `peer`, if any.
pub fn learned(routes: &[RouteView], prefix: IpNet, peer: IpAddr) -> Option<&RouteView> {
    paths_to(routes, prefix).find(|r| r.is_from(peer))
}

/// Well-known communities (RFC 1997, 3765, 7999, 8326, 9494) by the names daemons print.
const WELL_KNOWN: &[(&str, (u16, u16))] = &[
    ("graceful-shutdown", (0xffff, 0x0000)),
    ("accept-own", (0xffff, 0x0001)),
    ("llgr-stale", (0xffff, 0x0006)),
    ("no-llgr", (0xffff, 0x0007)),
    ("blackhole", (0xffff, 0x029a)),
    ("no-export", (0xffff, 0xff01)),
    ("no-advertise", (0xffff, 0xff02)),
    ("local-as", (0xffff, 0xff03)),
    ("no-export-subconfed", (0xffff, 0xff03)),
    ("no-peer", (0xffff, 0xff04)),
];

/// Parses a standard community written `AS:value` or as a well-known name.
pub fn parse_community(text: &str) -> Result<(u16, u16)> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if let Some((_, value)) = WELL_KNOWN.iter().find(|(name, _)| *name == lower) {
        return Ok(*value);
    }
    let (asn, value) = text
        .split_once(':')
        .ok_or_else(|| Error::parse("community", text))?;
    let asn = asn.parse().map_err(|_| Error::parse("community", text))?;
    let value = value.parse().map_err(|_| Error::parse("community", text))?;
    Ok((asn, value))
}

/// Parses a large community written `global:data1:data2`.
pub fn parse_large_community(text: &str) -> Result<(u32, u32, u32)> {
    let mut parts = text.trim().split(':').map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b)), Some(Ok(c)), None) => Ok((a, b, c)),
        _ => Err(Error::parse("large community", text)),
    }
}

/// Splits a 32-bit community into (AS, value).
pub fn split_community(raw: u32) -> (u16, u16) {
    let [a, b, c, d] = raw.to_be_bytes();
    (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_states_parse_from_every_daemons_spelling() {
        let cases = [
            ("Established", Some(SessionState::Established)),
            ("ESTABLISHED", Some(SessionState::Established)),
            ("BGP_FSM_OPENCONFIRM", Some(SessionState::OpenConfirm)),
            ("OpenSent", Some(SessionState::OpenSent)),
            ("Idle (Admin)", Some(SessionState::Idle)),
            ("Active", Some(SessionState::Active)),
            ("Connect", Some(SessionState::Connect)),
            ("Close", Some(SessionState::Idle)),
            ("Clearing", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(SessionState::parse(text).ok(), want, "text {text:?}");
        }
    }

    #[test]
    fn origins_parse() {
        let cases = [
            ("IGP", Some(Origin::Igp)),
            ("i", Some(Origin::Igp)),
            ("EGP", Some(Origin::Egp)),
            ("Incomplete", Some(Origin::Incomplete)),
            ("?", Some(Origin::Incomplete)),
            ("2", Some(Origin::Incomplete)),
            ("x", None),
        ];
        for (text, want) in cases {
            assert_eq!(Origin::parse(text).ok(), want, "text {text:?}");
        }
    }

    #[test]
    fn communities_parse() {
        let cases = [
            ("65000:1", Some((65000, 1))),
            (" 0:0 ", Some((0, 0))),
            ("no-export", Some((65535, 65281))),
            ("blackhole", Some((65535, 666))),
            ("65536:1", None),
            ("1:2:3", None),
            ("nonsense", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_community(text).ok(), want, "text {text:?}");
        }
    }

    #[test]
    fn large_communities_parse() {
        let cases = [
            ("4200000000:1:2", Some((4_200_000_000, 1, 2))),
            ("1:2", None),
            ("1:2:3:4", None),
            ("1:x:3", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_large_community(text).ok(), want, "text {text:?}");
        }
    }

    #[test]
    fn raw_communities_split() {
        assert_eq!(split_community(4_259_840_001), (65000, 1));
        assert_eq!(split_community(0xffff_ff01), (65535, 65281));
    }
}
