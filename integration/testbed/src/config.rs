//! One BGP configuration model that every daemon renders into its own syntax, so an interop
//! test can describe a router once and run it as BIRD, FRR or GoBGP.
//!
//! Defaults are chosen for fast tests: hold time 9 s (keepalive 3 s), connect retry 1 s.
//!
//! ```
//! use ferrolb_testbed::{Announcement, BgpConfig, Neighbor};
//! let cfg = BgpConfig::new(65001, "192.0.2.1".parse().unwrap())
//!     .neighbor(Neighbor::new("192.0.2.2".parse().unwrap(), 65002).hold_time(3).ipv6())
//!     .announce(Announcement::new("198.51.100.0/24".parse().unwrap()).community(65001, 7).med(20));
//! assert!(cfg.validate().is_ok());
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::error::{Error, Result};

/// A BGP speaker: identity, neighbours and the routes it originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    /// The local AS (4-byte ASNs are fine).
    pub local_as: u32,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Sessions to configure.
    pub neighbors: Vec<Neighbor>,
    /// Routes to originate at start-up; more can be added at run time.
    pub announcements: Vec<Announcement>,
    /// Install received best paths into the namespace's kernel FIB (BIRD: `protocol kernel`
    /// exporting BGP routes; FRR: zebra, else `bgpd -n`; GoBGP cannot and ignores it).
    /// Default: on.
    pub fib_install: bool,
    /// Use equal-cost paths: BIRD merges them into multipath kernel routes, FRR sets
    /// `maximum-paths` and `as-path multipath-relax`, GoBGP enables `use-multiple-paths`.
    /// Default: on.
    pub multipath: bool,
    /// Run FRR's bgpd on its own (`bgpd -Z`, `--no_zebra`): no zebra process at all, so no
    /// kernel interaction and no BFD. Needs `fib_install` off. BIRD and GoBGP have no separate
    /// process to leave out and ignore it. Default: off.
    pub no_zebra: bool,
}

impl BgpConfig {
    /// A speaker in `local_as` with no neighbours.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> BgpConfig {
        BgpConfig {
            local_as,
            router_id,
            neighbors: Vec::new(),
            announcements: Vec::new(),
            fib_install: true,
            multipath: true,
            no_zebra: false,
        }
    }

    /// Adds a neighbour.
    pub fn neighbor(mut self, neighbor: Neighbor) -> Self {
        self.neighbors.push(neighbor);
        self
    }

    /// Adds a route to originate.
    pub fn announce(mut self, announcement: Announcement) -> Self {
        self.announcements.push(announcement);
        self
    }

    /// Sets [`BgpConfig::fib_install`].
    pub fn fib_install(mut self, on: bool) -> Self {
        self.fib_install = on;
        self
    }

    /// Sets [`BgpConfig::multipath`].
    pub fn multipath(mut self, on: bool) -> Self {
        self.multipath = on;
        self
    }

    /// Sets [`BgpConfig::no_zebra`].
    pub fn no_zebra(mut self, on: bool) -> Self {
        self.no_zebra = on;
        self
    }

    /// The neighbour with session address `addr`.
    pub fn find_neighbor(&self, addr: IpAddr) -> Option<&Neighbor> {
        self.neighbors.iter().find(|n| n.address == addr)
    }

    /// Checks everything the daemons would reject, with clearer messages than theirs.
    pub fn validate(&self) -> Result<()> {
        if self.local_as == 0 {
            return Err(Error::Config("local AS 0 is reserved".into()));
        }
        if self.no_zebra && self.fib_install {
            return Err(Error::Config(
                "no_zebra leaves nothing to install routes: switch fib_install off".into(),
            ));
        }
        if self.no_zebra && self.neighbors.iter().any(|n| n.bfd) {
            return Err(Error::Config(
                "BFD needs zebra: no_zebra rules it out".into(),
            ));
        }
        let mut addresses = HashSet::new();
        let mut names = HashSet::new();
        for n in &self.neighbors {
            n.validate()?;
            if !addresses.insert(n.address) {
                return Err(Error::Config(format!("neighbour {} twice", n.address)));
            }
            if !names.insert(n.name()) {
                return Err(Error::Config(format!("neighbour name {} twice", n.name())));
            }
        }
        let mut prefixes = HashSet::new();
        for a in &self.announcements {
            if !prefixes.insert(a.prefix) {
                return Err(Error::Config(format!("{} announced twice", a.prefix)));
            }
            if let Some(nh) = a.next_hop {
                if nh.is_ipv4() != matches!(a.prefix, IpNet::V4(_)) {
                    return Err(Error::Config(format!(
                        "next hop {nh} is not of the family of {}",
                        a.prefix
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One BGP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Optional name (an identifier); defaults to one derived from the address.
    pub name: Option<String>,
    /// The peer's session address.
    pub address: IpAddr,
    /// The peer's AS; equal to the local AS means iBGP.
    pub peer_as: u32,
    /// Local AS for this session only, overriding [`BgpConfig::local_as`] (FRR renders it as
    /// `local-as N no-prepend replace-as`).
    pub local_as: Option<u32>,
    /// Local address to bind the session to.
    pub source: Option<IpAddr>,
    /// Proposed hold time in seconds (0 disables keepalives; otherwise at least 3).
    pub hold_time: u16,
    /// Keepalive interval; defaults to a third of the hold time.
    pub keepalive: Option<u16>,
    /// Seconds between connection attempts.
    pub connect_retry: u16,
    /// TCP MD5 signature password (RFC 2385).
    pub password: Option<String>,
    /// eBGP multihop TTL; `None` means a directly connected peer.
    pub multihop: Option<u8>,
    /// Never connect, only accept the peer's connection.
    pub passive: bool,
    /// Graceful restart (RFC 4724) with this restart time in seconds. FRR can only switch it
    /// on for all sessions of an instance (see [`crate::frr`]).
    pub graceful_restart: Option<u16>,
    /// Negotiate IPv4 unicast. Default: when the session address is IPv4.
    pub ipv4: bool,
    /// Negotiate IPv6 unicast. Default: when the session address is IPv6.
    pub ipv6: bool,
    /// IPv6 next hop to announce on an IPv4 session carrying IPv6 routes. BIRD requires it
    /// (`next hop address`); FRR picks the interface's global address itself but honours it via
    /// an outbound route-map; GoBGP uses it for IPv6 routes announced without a next hop.
    pub ipv6_next_hop: Option<Ipv6Addr>,
    /// Enable BFD for this session (BIRD and FRR; GoBGP has none).
    pub bfd: bool,
    /// Which routes are advertised on this session.
    pub advertise: Advertise,
}

/// Which routes a daemon advertises to a neighbour.
///
/// The daemons differ in what they do unless told: BIRD's generated export filter sends only its
/// own announcements, while FRR and GoBGP also pass on what they learned from other neighbours.
/// [`Advertise::Everything`] and [`Advertise::Nothing`] mean the same on all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Advertise {
    /// Each daemon's usual behaviour (see above).
    #[default]
    Usual,
    /// The daemon's own announcements and the best routes learned from other neighbours,
    /// re-advertised under the usual eBGP / iBGP rules (BIRD: BGP routes pass its export filter
    /// too).
    Everything,
    /// Nothing: a neighbour that only feeds routes in. BIRD: `export none`; FRR: an outbound
    /// route-map denying everything; GoBGP: a global export policy rejecting every route towards
    /// the neighbour's address.
    Nothing,
}

impl Neighbor {
    /// A session to `address` in `peer_as` with the fast test defaults.
    pub fn new(address: IpAddr, peer_as: u32) -> Neighbor {
        Neighbor {
            name: None,
            address,
            peer_as,
            local_as: None,
            source: None,
            hold_time: 9,
            keepalive: None,
            connect_retry: 1,
            password: None,
            multihop: None,
            passive: false,
            graceful_restart: None,
            ipv4: address.is_ipv4(),
            ipv6: address.is_ipv6(),
            ipv6_next_hop: None,
            bfd: false,
            advertise: Advertise::Usual,
        }
    }

    /// The configured name, else `peer_<address>` with separators replaced by `_`.
    pub fn name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("peer_{}", identifier(&self.address.to_string())),
        }
    }

    /// The keepalive interval in effect.
    pub fn keepalive_time(&self) -> u16 {
        self.keepalive.unwrap_or(self.hold_time / 3)
    }

    /// Whether the session is iBGP under `local_as`.
    pub fn is_ibgp(&self, local_as: u32) -> bool {
        self.peer_as == self.local_as.unwrap_or(local_as)
    }

    /// Whether IPv6 routes ride on an IPv4 session (MP-BGP, RFC 4760).
    pub fn ipv6_over_ipv4(&self) -> bool {
        self.ipv6 && self.address.is_ipv4()
    }

    /// Sets the name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets a per-session local AS.
    pub fn local_as(mut self, asn: u32) -> Self {
        self.local_as = Some(asn);
        self
    }

    /// Binds the session to a local address.
    pub fn source(mut self, addr: IpAddr) -> Self {
        self.source = Some(addr);
        self
    }

    /// Sets the hold time (keepalive follows at a third unless set).
    pub fn hold_time(mut self, seconds: u16) -> Self {
        self.hold_time = seconds;
        self
    }

    /// Sets the keepalive interval.
    pub fn keepalive(mut self, seconds: u16) -> Self {
        self.keepalive = Some(seconds);
        self
    }

    /// Sets the connect retry interval.
    pub fn connect_retry(mut self, seconds: u16) -> Self {
        self.connect_retry = seconds;
        self
    }

    /// Sets the TCP MD5 password.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }

    /// Allows a peer `ttl` hops away.
    pub fn multihop(mut self, ttl: u8) -> Self {
        self.multihop = Some(ttl);
        self
    }

    /// Only accept connections.
    pub fn passive(mut self) -> Self {
        self.passive = true;
        self
    }

    /// Enables graceful restart with `restart_time` seconds.
    pub fn graceful_restart(mut self, restart_time: u16) -> Self {
        self.graceful_restart = Some(restart_time);
        self
    }

    /// Also negotiates IPv4 unicast.
    pub fn ipv4(mut self) -> Self {
        self.ipv4 = true;
        self
    }

    /// Also negotiates IPv6 unicast.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Negotiates only IPv6 unicast.
    pub fn ipv6_only(mut self) -> Self {
        self.ipv4 = false;
        self.ipv6 = true;
        self
    }

    /// Sets the IPv6 next hop used for IPv6 routes on an IPv4 session.
    pub fn ipv6_next_hop(mut self, addr: Ipv6Addr) -> Self {
        self.ipv6_next_hop = Some(addr);
        self
    }

    /// Enables BFD.
    pub fn bfd(mut self) -> Self {
        self.bfd = true;
        self
    }

    /// Sets which routes are advertised on this session.
    pub fn advertise(mut self, advertise: Advertise) -> Self {
        self.advertise = advertise;
        self
    }

    fn validate(&self) -> Result<()> {
        let name = self.name();
        let ident = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || name.len() > 40 {
            return Err(Error::Config(format!(
                "neighbour name {name:?} must be an identifier of at most 40 characters"
            )));
        }
        if self.peer_as == 0 {
            return Err(Error::Config(format!("{name}: peer AS 0 is reserved")));
        }
        if self.hold_time != 0 && self.hold_time < 3 {
            return Err(Error::Config(format!(
                "{name}: hold time must be 0 or >= 3"
            )));
        }
        let keepalive = self.keepalive_time();
        if self.hold_time != 0 && (keepalive == 0 || keepalive > self.hold_time) {
            return Err(Error::Config(format!(
                "{name}: keepalive {keepalive} does not fit hold time {}",
                self.hold_time
            )));
        }
        if self.connect_retry == 0 {
            return Err(Error::Config(format!("{name}: connect retry must be > 0")));
        }
        if !self.ipv4 && !self.ipv6 {
            return Err(Error::Config(format!("{name}: no address family enabled")));
        }
        if let Some(pw) = &self.password {
            if pw.is_empty() || pw.len() > 80 || !pw.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Error::Config(format!(
                    "{name}: password must be 1-80 printable ASCII characters without spaces"
                )));
            }
        }
        if let Some(src) = self.source {
            if src.is_ipv4() != self.address.is_ipv4() {
                return Err(Error::Config(format!(
                    "{name}: source {src} and neighbour {} differ in family",
                    self.address
                )));
            }
        }
        Ok(())
    }
}

/// `text` with everything but ASCII letters and digits replaced by `_`, usable as a name in
/// daemon configurations.
pub(crate) fn identifier(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A route to originate, with the attributes to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The prefix.
    pub prefix: IpNet,
    /// COMMUNITIES to attach.
    pub communities: Vec<(u16, u16)>,
    /// LARGE_COMMUNITY values to attach.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// LOCAL_PREF (only sent to iBGP peers).
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Explicit next hop (GoBGP only; BIRD and FRR send their session address or the
    /// neighbour's [`Neighbor::ipv6_next_hop`]).
    pub next_hop: Option<IpAddr>,
}

impl Announcement {
    /// A plain announcement of `prefix`.
    pub fn new(prefix: IpNet) -> Announcement {
        Announcement {
            prefix: prefix.trunc(),
            communities: Vec::new(),
            large_communities: Vec::new(),
            local_pref: None,
            med: None,
            next_hop: None,
        }
    }

    /// Attaches community `asn:value`.
    pub fn community(mut self, asn: u16, value: u16) -> Self {
        self.communities.push((asn, value));
        self
    }

    /// Attaches large community `global:data1:data2`.
    pub fn large_community(mut self, global: u32, data1: u32, data2: u32) -> Self {
        self.large_communities.push((global, data1, data2));
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, value: u32) -> Self {
        self.local_pref = Some(value);
        self
    }

    /// Sets MED.
    pub fn med(mut self, value: u32) -> Self {
        self.med = Some(value);
        self
    }

    /// Sets an explicit next hop.
    pub fn next_hop(mut self, addr: IpAddr) -> Self {
        self.next_hop = Some(addr);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BgpConfig {
        BgpConfig::new(65001, Ipv4Addr::new(192, 0, 2, 1))
    }

    fn v4(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn neighbour_names_derive_from_addresses() {
        let cases = [
            (Neighbor::new(v4("192.0.2.2"), 1), "peer_192_0_2_2"),
            (Neighbor::new(v4("2001:db8::2"), 1), "peer_2001_db8__2"),
            (Neighbor::new(v4("192.0.2.2"), 1).named("tor1"), "tor1"),
        ];
        for (n, want) in cases {
            assert_eq!(n.name(), want);
        }
    }

    #[test]
    fn families_default_to_the_session_address_family() {
        let n4 = Neighbor::new(v4("192.0.2.2"), 1);
        assert!(n4.ipv4 && !n4.ipv6 && !n4.ipv6_over_ipv4());
        let n6 = Neighbor::new(v4("2001:db8::2"), 1);
        assert!(!n6.ipv4 && n6.ipv6);
        assert!(n4.ipv6().ipv6_over_ipv4());
    }

    #[test]
    fn validation_rejects_what_daemons_would() {
        let peer = || Neighbor::new(v4("192.0.2.2"), 65002);
        let cases: Vec<(&str, BgpConfig, bool)> = vec![
            ("plain", base().neighbor(peer()), true),
            ("hold 0", base().neighbor(peer().hold_time(0)), true),
            ("hold 2", base().neighbor(peer().hold_time(2)), false),
            (
                "keepalive > hold",
                base().neighbor(peer().hold_time(3).keepalive(4)),
                false,
            ),
            ("ipv6 only", base().neighbor(peer().ipv6_only()), true),
            (
                "no family",
                base().neighbor(Neighbor {
                    ipv4: false,
                    ..peer()
                }),
                false,
            ),
            (
                "duplicate neighbour",
                base().neighbor(peer()).neighbor(peer().named("x")),
                false,
            ),
            ("bad name", base().neighbor(peer().named("1x")), false),
            (
                "password space",
                base().neighbor(peer().password("a b")),
                false,
            ),
            (
                "source family",
                base().neighbor(peer().source(v4("2001:db8::1"))),
                false,
            ),
            ("local AS 0", BgpConfig::new(0, Ipv4Addr::LOCALHOST), false),
            (
                "no zebra, no FIB",
                base().neighbor(peer()).fib_install(false).no_zebra(true),
                true,
            ),
            ("no zebra with FIB", base().no_zebra(true), false),
            (
                "no zebra with BFD",
                base()
                    .neighbor(peer().bfd())
                    .fib_install(false)
                    .no_zebra(true),
                false,
            ),
            (
                "duplicate prefix",
                base()
                    .announce(Announcement::new("10.0.0.0/8".parse().unwrap()))
                    .announce(Announcement::new("10.1.0.0/8".parse().unwrap())),
                false,
            ),
            (
                "next hop family",
                base().announce(
                    Announcement::new("10.0.0.0/8".parse().unwrap()).next_hop(v4("2001:db8::1")),
                ),
                false,
            ),
        ];
        for (what, cfg, ok) in cases {
            assert_eq!(cfg.validate().is_ok(), ok, "{what}: {:?}", cfg.validate());
        }
    }

    #[test]
    fn ibgp_is_judged_with_the_session_local_as() {
        let n = Neighbor::new(v4("192.0.2.2"), 65001);
        assert!(n.is_ibgp(65001));
        assert!(!n.clone().local_as(65009).is_ibgp(65001));
    }
}
