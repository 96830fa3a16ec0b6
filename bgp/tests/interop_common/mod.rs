//! Shared harness of the interop tests: FerroLB's BGP library in one namespace, a real BIRD,
//! FRR or GoBGP in the other, joined by a veth ([`Topology::pair`]).
//!
//! FerroLB is `a` (198.18.0.1, 2001:db8::1), the daemon is `b` (198.18.0.2, 2001:db8::2). Every
//! scenario in [`scenarios`] runs against each daemon: `tests/interop_<daemon>.rs` expands
//! [`interop_tests!`] once, giving one test function per daemon and scenario.
//!
//! `RUST_LOG=ferrolb_bgp=debug` shows FerroLB's sessions at work; the daemons' files are kept
//! (and their path printed) when a test fails.

pub mod daemon;
pub mod ferro;
pub mod routes;
pub mod scenarios;

use std::net::IpAddr;
use std::time::Duration;

use ferrolb_bgp::fsm::Backoff;
use ferrolb_bgp::session::PeerConfig;
use ferrolb_bgp::AddressFamily;
use ferrolb_testbed::prelude::*;

pub use daemon::{Daemon, Kind};
pub use ferro::Ferro;

/// Generous bound for steps that take a second or two (GoBGP's reconnects take ~6 s).
pub const T: Duration = Duration::from_secs(20);

/// FerroLB's AS: a 4-octet ASN, so AS_TRANS and the 4-octet AS capability are exercised.
pub const FERRO_AS: u32 = 4_200_000_001;
/// The daemon's AS on eBGP sessions.
pub const DAEMON_AS: u32 = 4_200_000_002;
/// An AS nobody on the link has.
pub const WRONG_AS: u32 = 4_200_000_099;

/// Logs to the test output (shown for failing tests); `RUST_LOG` overrides the default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ferrolb_bgp=info"));
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(filter)
        .try_init();
}

/// The session's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// IPv4 addresses; carries IPv4 and (MP-BGP) IPv6 unicast.
    V4,
    /// IPv6 addresses; carries IPv6 unicast.
    V6,
}

/// Which kind of session a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// iBGP (both in [`FERRO_AS`]) or eBGP (the daemon in [`DAEMON_AS`]).
    pub internal: bool,
    /// The transport.
    pub transport: Transport,
}

impl Session {
    /// iBGP over `transport`.
    pub const fn ibgp(transport: Transport) -> Session {
        Session {
            internal: true,
            transport,
        }
    }

    /// eBGP over `transport`.
    pub const fn ebgp(transport: Transport) -> Session {
        Session {
            internal: false,
            transport,
        }
    }

    /// The daemon's AS.
    pub fn daemon_as(&self) -> u32 {
        if self.internal {
            FERRO_AS
        } else {
            DAEMON_AS
        }
    }

    /// The families the session carries.
    pub fn families(&self) -> Vec<AddressFamily> {
        match self.transport {
            Transport::V4 => AddressFamily::ALL.to_vec(),
            Transport::V6 => vec![AddressFamily::Ipv6Unicast],
        }
    }
}

/// One interop setup. Fields drop in order: FerroLB's thread ends, then the daemon stops,
/// then the namespaces go.
pub struct Setup {
    /// FerroLB's peer, in namespace `a`.
    pub ferro: Ferro,
    /// The daemon, in namespace `b`.
    pub daemon: Daemon,
    /// The configuration FerroLB's peer was started with.
    pub ferro_config: PeerConfig,
    /// The session kind.
    pub session: Session,
    /// The namespaces.
    pub pair: Pair,
}

impl Setup {
    /// The daemon configured with `neighbor` (tweaked from the default), FerroLB with
    /// `peer` (tweaked from [`Setup::peer_config`]), both started.
    pub fn start_with(
        kind: Kind,
        session: Session,
        neighbor: impl FnOnce(Neighbor) -> Neighbor,
        peer: impl FnOnce(&mut PeerConfig),
    ) -> Setup {
        init_tracing();
        let pair = Topology::pair().unwrap();
        let (ferro_addr, _) = addresses(&pair, session.transport);
        let mut to_ferro = Neighbor::new(ferro_addr, FERRO_AS).ipv6_next_hop(pair.b.v6);
        if session.transport == Transport::V4 {
            to_ferro = to_ferro.ipv6();
        }
        let config = BgpConfig::new(session.daemon_as(), pair.b.v4).neighbor(neighbor(to_ferro));
        let daemon = Daemon::start(kind, &pair.b.ns, config);
        let mut ferro_config = peer_config(&pair, session);
        peer(&mut ferro_config);
        let ferro = Ferro::start(&pair.a.ns, ferro_config.clone());
        Setup {
            ferro,
            daemon,
            ferro_config,
            session,
            pair,
        }
    }

    /// Both sides with their defaults.
    pub fn start(kind: Kind, session: Session) -> Setup {
        Setup::start_with(kind, session, |n| n, |_| {})
    }

    /// FerroLB's session address.
    pub fn ferro_addr(&self) -> IpAddr {
        addresses(&self.pair, self.session.transport).0
    }

    /// Waits until both sides report the session Established.
    pub fn wait_established(&mut self) -> ferrolb_bgp::session::Negotiated {
        let negotiated = self.ferro.wait_established(T);
        self.daemon
            .wait_established(self.ferro_addr(), T)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.daemon.log()));
        negotiated
    }

    /// Replaces FerroLB's peer (the old one must have been ended) with one for `config`.
    pub fn restart_ferro(&mut self, config: PeerConfig) {
        self.ferro = Ferro::start(&self.pair.a.ns, config.clone());
        self.ferro_config = config;
    }
}

/// (FerroLB's, the daemon's) session addresses.
fn addresses(pair: &Pair, transport: Transport) -> (IpAddr, IpAddr) {
    match transport {
        Transport::V4 => (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4)),
        Transport::V6 => (IpAddr::V6(pair.a.v6), IpAddr::V6(pair.b.v6)),
    }
}

/// FerroLB's peer configuration with fast timers: hold 9 s, connection attempts every 1-2 s,
/// restarts after errors within a second.
fn peer_config(pair: &Pair, session: Session) -> PeerConfig {
    let (local, remote) = addresses(pair, session.transport);
    let mut c = PeerConfig::new(remote, FERRO_AS, session.daemon_as(), pair.a.v4);
    c.local_address = Some(local);
    c.connect_timeout = Duration::from_secs(2);
    c.session.hold_time = 9;
    c.session.connect_retry = Backoff::new(Duration::from_secs(1), Duration::from_secs(2));
    c.session.idle_hold = Backoff::new(Duration::from_millis(200), Duration::from_secs(1));
    c.session.open_hold_time = Duration::from_secs(10);
    c.session.families = session.families();
    c
}

/// One test function per scenario, for the daemon `$kind`.
macro_rules! interop_tests {
    ($kind:expr) => {
        use crate::interop_common::scenarios;
        use crate::interop_common::{Session, Transport};

        #[test]
        fn ibgp_over_ipv4_carries_ipv4_and_ipv6_routes_both_ways() {
            scenarios::routes_both_ways($kind, Session::ibgp(Transport::V4));
        }

        #[test]
        fn ebgp_over_ipv4_carries_ipv4_and_ipv6_routes_both_ways() {
            scenarios::routes_both_ways($kind, Session::ebgp(Transport::V4));
        }

        #[test]
        fn ibgp_over_ipv6_carries_ipv6_routes_both_ways() {
            scenarios::routes_both_ways($kind, Session::ibgp(Transport::V6));
        }

        #[test]
        fn ebgp_over_ipv6_carries_ipv6_routes_both_ways() {
            scenarios::routes_both_ways($kind, Session::ebgp(Transport::V6));
        }

        #[test]
        fn md5_matching_passwords_establish() {
            scenarios::md5_matching($kind);
        }

        #[test]
        fn md5_mismatched_passwords_never_establish() {
            scenarios::md5_mismatched($kind);
        }

        #[test]
        fn graceful_restart_of_ferrolb_keeps_routes_until_end_of_rib() {
            scenarios::graceful_restart($kind);
        }

        #[test]
        fn daemon_expecting_another_as_sends_bad_peer_as() {
            scenarios::daemon_rejects_peer_as($kind);
        }

        #[test]
        fn ferrolb_expecting_another_as_sends_bad_peer_as() {
            scenarios::ferrolb_rejects_peer_as($kind);
        }

        #[test]
        fn ferrolb_rejects_a_hold_time_below_its_minimum() {
            scenarios::ferrolb_rejects_hold_time($kind);
        }

        #[test]
        fn frozen_daemon_expires_ferrolbs_hold_timer_then_recovers() {
            scenarios::hold_timer_expiry($kind);
        }
    };
}

pub(crate) use interop_tests;
