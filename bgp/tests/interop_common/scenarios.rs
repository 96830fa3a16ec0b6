//! The interop scenarios, each run against every daemon.

use std::time::{Duration, Instant};

use ferrolb_bgp::message::{subcode, ErrorCode, Notification};
use ferrolb_bgp::session::{
    DownReason, GracefulRestartConfig, PeerAsn, SessionDown, SessionEvent, State,
};
use ferrolb_bgp::Origin;
use ferrolb_testbed::prelude::*;
use ipnet::IpNet;

use super::daemon::Direction;
use super::routes::{self, Origination};
use super::{Kind, Session, Setup, Transport, FERRO_AS, T, WRONG_AS};

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// What FerroLB announces: a service address per family the session carries, with every
/// attribute FerroLB sets.
fn ferro_routes(session: Session) -> Vec<Announcement> {
    let mut v = Vec::new();
    if session.transport == Transport::V4 {
        v.push(
            Announcement::new(net("203.0.113.10/32"))
                .community(65000, 100)
                .community(65000, 200)
                .large_community(FERRO_AS, 1, 2)
                .large_community(FERRO_AS, 3, 4)
                .local_pref(250)
                .med(33),
        );
    }
    v.push(
        Announcement::new(net("2001:db8:ffff::10/128"))
            .community(65000, 600)
            .large_community(FERRO_AS, 6, 6)
            .local_pref(260)
            .med(66),
    );
    v
}

/// What the daemon announces, likewise.
fn daemon_routes(session: Session) -> Vec<Announcement> {
    let asn = session.daemon_as();
    let mut v = Vec::new();
    if session.transport == Transport::V4 {
        v.push(
            Announcement::new(net("198.51.100.0/24"))
                .community(65001, 1)
                .community(65001, 2)
                .large_community(asn, 10, 20)
                .local_pref(150)
                .med(44),
        );
    }
    v.push(
        Announcement::new(net("2001:db8:100::/48"))
            .community(65001, 6)
            .large_community(asn, 60, 70)
            .large_community(asn, 61, 71)
            .local_pref(160)
            .med(77),
    );
    v
}

fn ferro_origination(s: &Setup) -> Origination {
    Origination {
        internal: s.session.internal,
        asn: FERRO_AS,
        origin: Origin::Igp,
        v4: s.pair.a.v4,
        v6: s.pair.a.v6,
    }
}

fn daemon_origination(s: &Setup) -> Origination {
    Origination {
        internal: s.session.internal,
        asn: s.session.daemon_as(),
        // `gobgp global rib add` originates with ORIGIN incomplete; BIRD's static routes and
        // FRR's `network` statements with IGP.
        origin: match s.daemon.kind() {
            Kind::Gobgp => Origin::Incomplete,
            Kind::Bird | Kind::Frr => Origin::Igp,
        },
        v4: s.pair.b.v4,
        v6: s.pair.b.v6,
    }
}

/// Waits until the daemon's routes from FerroLB satisfy `pred`, printing its log on failure.
fn wait_daemon_routes(
    s: &Setup,
    what: &str,
    mut pred: impl FnMut(&[RouteView]) -> bool,
) -> Vec<RouteView> {
    s.daemon
        .wait_routes(&mut pred, T)
        .unwrap_or_else(|e| panic!("{what}: {e}\n{}", s.daemon.log()))
}

/// The session comes up with the expected parameters, then routes with communities, large
/// communities, MED and (iBGP) LOCAL_PREF flow both ways exactly as sent, and withdrawals
/// remove them on both sides.
pub fn routes_both_ways(kind: Kind, session: Session) {
    let mut s = Setup::start(kind, session);
    let negotiated = s.wait_established();
    assert_eq!(negotiated.peer_asn, session.daemon_as());
    assert!(negotiated.four_octet_as, "{negotiated:?}");
    assert_eq!(negotiated.internal, session.internal);
    assert_eq!(negotiated.families, session.families());
    let ferro_addr = s.ferro_addr();

    // FerroLB -> daemon.
    let ours = ferro_routes(session);
    let from_ferro = ferro_origination(&s);
    s.ferro.send(
        ours.iter()
            .map(|a| routes::announce(a, &from_ferro))
            .collect(),
    );
    let held = wait_daemon_routes(&s, "FerroLB's routes", |rs| {
        ours.iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_some())
    });
    for a in &ours {
        routes::assert_daemon_holds(
            learned(&held, a.prefix, ferro_addr).unwrap(),
            a,
            &from_ferro,
        );
    }

    // Daemon -> FerroLB.
    let theirs = daemon_routes(session);
    let from_daemon = daemon_origination(&s);
    for a in &theirs {
        s.daemon.announce(a).unwrap();
    }
    s.ferro.wait_rib("the daemon's routes", T, |rib| {
        theirs.iter().all(|a| rib.contains_key(&a.prefix))
    });
    for a in &theirs {
        routes::assert_ferro_holds(&s.ferro.rib()[&a.prefix], a, &from_daemon);
    }

    // Withdrawals, both ways at once.
    s.ferro
        .send(ours.iter().map(|a| routes::withdraw(a.prefix)).collect());
    for a in &theirs {
        s.daemon.withdraw(a.prefix).unwrap();
    }
    wait_daemon_routes(&s, "FerroLB's withdrawals", |rs| {
        ours.iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_none())
    });
    s.ferro.wait_rib("the daemon's withdrawals", T, |rib| {
        theirs.iter().all(|a| !rib.contains_key(&a.prefix))
    });

    // None of this disturbed the session.
    assert!(
        !s.ferro
            .events()
            .iter()
            .any(|e| matches!(e, SessionEvent::Down(_))),
        "{:#?}",
        s.ferro.events()
    );
    assert_eq!(
        s.daemon.session_state(ferro_addr).unwrap(),
        SessionState::Established
    );
}

const MD5_PASSWORD: &str = "Ferr0-md5";

/// Both sides sign with the same TCP MD5 password: the session comes up and carries routes.
pub fn md5_matching(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n.password(MD5_PASSWORD),
        |c| c.md5_password = Some(MD5_PASSWORD.into()),
    );
    s.wait_established();
    let route = Announcement::new(net("203.0.113.10/32")).med(1);
    let from_ferro = ferro_origination(&s);
    s.ferro.send(vec![routes::announce(&route, &from_ferro)]);
    let ferro_addr = s.ferro_addr();
    let held = wait_daemon_routes(&s, "FerroLB's route", |rs| {
        learned(rs, route.prefix, ferro_addr).is_some()
    });
    routes::assert_daemon_holds(
        learned(&held, route.prefix, ferro_addr).unwrap(),
        &route,
        &from_ferro,
    );
}

/// Different TCP MD5 passwords: the kernels drop each other's segments, so not even the TCP
/// handshake completes, however often either side tries.
pub fn md5_mismatched(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n.password(MD5_PASSWORD),
        |c| c.md5_password = Some("not-the-same".into()),
    );
    let ferro_addr = s.ferro_addr();
    // Five seconds: several ConnectRetry cycles of both sides (1-2 s each).
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let events = s.ferro.watch(Duration::from_millis(250)).to_vec();
        for e in &events {
            if let SessionEvent::StateChanged { to, .. } = e {
                assert!(
                    matches!(to, State::Idle | State::Connect | State::Active),
                    "FerroLB got as far as {to} with a wrong password: {events:#?}"
                );
            }
        }
        let state = s.daemon.session_state(ferro_addr).unwrap();
        assert!(
            matches!(
                state,
                SessionState::Idle | SessionState::Connect | SessionState::Active
            ),
            "{kind:?} got as far as {state} with a wrong password"
        );
    }
    assert!(
        s.ferro.events().iter().any(|e| matches!(
            e,
            SessionEvent::StateChanged {
                to: State::Connect,
                ..
            }
        )),
        "FerroLB kept trying: {:#?}",
        s.ferro.events()
    );
}

/// FerroLB restarts (its session drops without a NOTIFICATION); the daemon, as graceful
/// restart helper, keeps FerroLB's routes as stale until the restarted FerroLB's End-of-RIB,
/// then drops only what was not announced again. No route FerroLB still announces is ever
/// missing.
pub fn graceful_restart(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let gr = |restarting| GracefulRestartConfig {
        restart_time: 30,
        restarting,
        forwarding_preserved: true,
    };
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n.graceful_restart(30),
        |c| c.session.graceful_restart = Some(gr(false)),
    );
    let negotiated = s.wait_established();
    assert!(negotiated.graceful_restart.is_some(), "{negotiated:?}");
    let ferro_addr = s.ferro_addr();
    let from_ferro = ferro_origination(&s);
    let kept = [
        Announcement::new(net("203.0.113.10/32")).med(10),
        Announcement::new(net("2001:db8:ffff::10/128")).med(10),
    ];
    let dropped = [
        Announcement::new(net("203.0.113.20/32")).med(10),
        Announcement::new(net("2001:db8:ffff::20/128")).med(10),
    ];
    let families = session.families();
    let all: Vec<&Announcement> = kept.iter().chain(&dropped).collect();
    s.ferro.send(
        all.iter()
            .map(|a| routes::announce(a, &from_ferro))
            .collect(),
    );
    s.ferro.send_end_of_rib(&families);
    wait_daemon_routes(&s, "FerroLB's routes", |rs| {
        all.iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_some())
    });

    // Every route the daemon holds from FerroLB, checked on each poll below.
    let holds = |rs: &[RouteView], routes: &[&Announcement]| {
        routes
            .iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_some())
    };
    let assert_holds = |daemon: &super::Daemon, routes: &[&Announcement], when: &str| {
        let rs = daemon.routes().unwrap();
        assert!(
            holds(&rs, routes),
            "{when}: lost routes: {rs:#?}\n{}",
            daemon.log()
        );
    };

    // FerroLB dies: no NOTIFICATION, the connection just closes.
    s.ferro.abort();
    s.daemon
        .wait_routes(
            |rs| {
                assert!(holds(rs, &all), "dropped while FerroLB was down: {rs:#?}");
                s.daemon.session_state(ferro_addr).ok() != Some(SessionState::Established)
            },
            T,
        )
        .unwrap_or_else(|e| panic!("session never noticed the restart: {e}"));

    // FerroLB comes back with the Restart State bit set.
    let mut config = s.ferro_config.clone();
    config.session.graceful_restart = Some(gr(true));
    s.restart_ferro(config);
    let daemon = &s.daemon;
    s.ferro.wait_event_while(
        "Established after the restart",
        T,
        |e| matches!(e, SessionEvent::Established { .. }),
        || assert_holds(daemon, &all, "while FerroLB restarted"),
    );

    // The kept routes again, with a new MED so the daemon's copy shows it came from the new
    // session; the others not. Without End-of-RIB the daemon must still hold the stale ones.
    let renewed: Vec<Announcement> = kept.iter().map(|a| a.clone().med(20)).collect();
    s.ferro.send(
        renewed
            .iter()
            .map(|a| routes::announce(a, &from_ferro))
            .collect(),
    );
    wait_daemon_routes(&s, "the renewed routes", |rs| {
        assert!(holds(rs, &all), "dropped before End-of-RIB: {rs:#?}");
        renewed
            .iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_some_and(|r| r.med == Some(20)))
    });

    // End-of-RIB: the stale routes go, the renewed ones stay.
    s.ferro.send_end_of_rib(&families);
    let renewed_refs: Vec<&Announcement> = renewed.iter().collect();
    let held = wait_daemon_routes(&s, "the stale routes to go", |rs| {
        assert!(holds(rs, &renewed_refs), "renewed routes lost: {rs:#?}");
        dropped
            .iter()
            .all(|a| learned(rs, a.prefix, ferro_addr).is_none())
    });
    for a in &renewed {
        routes::assert_daemon_holds(
            learned(&held, a.prefix, ferro_addr).unwrap(),
            a,
            &from_ferro,
        );
    }
}

/// The NOTIFICATION OPEN Message Error / `sub`.
fn open_error(sub: u8) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, Vec::new())
}

/// Which side of a [`SessionDown`] holds the NOTIFICATION under test.
#[derive(Debug, Clone, Copy)]
enum Sender {
    /// The daemon sent it: FerroLB reports it as received.
    Daemon,
    /// FerroLB sent it.
    Ferro,
}

impl Sender {
    fn notification(self, down: &SessionDown) -> Option<&Notification> {
        match self {
            Sender::Daemon => down.received.as_ref(),
            Sender::Ferro => down.sent.as_ref(),
        }
    }
}

/// Waits until FerroLB reports the session down with a NOTIFICATION from `sender` and asserts
/// that it (and every other NOTIFICATION so far) is `want` (code and subcode; the data is the
/// sender's business), and that the session never came up. A connection closed without a
/// NOTIFICATION (a collision's loser) may come first and is skipped.
fn assert_refused(s: &mut Setup, sender: Sender, want: &Notification) -> SessionDown {
    let down = match s.ferro.wait_event(
        "Down with a NOTIFICATION",
        T,
        |e| matches!(e, SessionEvent::Down(d) if sender.notification(d).is_some()),
    ) {
        SessionEvent::Down(down) => down,
        _ => unreachable!(),
    };
    let reason = match sender {
        Sender::Daemon => DownReason::NotificationReceived,
        Sender::Ferro => DownReason::ProtocolError,
    };
    assert_eq!(down.reason, reason, "{down:?}");
    for e in s.ferro.events() {
        match e {
            SessionEvent::Established { .. } => panic!("established: {:#?}", s.ferro.events()),
            SessionEvent::Down(d) => {
                for n in [&d.sent, &d.received].into_iter().flatten() {
                    assert_eq!((n.code, n.subcode), (want.code, want.subcode), "{d:?}");
                }
            }
            _ => {}
        }
    }
    down
}

/// The daemon is configured with another AS for FerroLB: it answers FerroLB's OPEN with
/// OPEN Message Error / Bad Peer AS, and FerroLB reports that NOTIFICATION.
pub fn daemon_rejects_peer_as(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |mut n| {
            n.peer_as = WRONG_AS;
            n
        },
        |_| {},
    );
    assert_refused(
        &mut s,
        Sender::Daemon,
        &open_error(subcode::open::BAD_PEER_AS),
    );
    s.daemon
        .wait_notification(s.ferro_addr(), Direction::Sent, 2, 2, T);
}

/// FerroLB is configured with another AS for the daemon: it answers the daemon's OPEN with
/// OPEN Message Error / Bad Peer AS, and the daemon reports receiving it.
pub fn ferrolb_rejects_peer_as(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n,
        |c| {
            c.session.peer_asn = PeerAsn::Exact(WRONG_AS);
        },
    );
    assert_refused(
        &mut s,
        Sender::Ferro,
        &open_error(subcode::open::BAD_PEER_AS),
    );
    s.daemon
        .wait_notification(s.ferro_addr(), Direction::Received, 2, 2, T);
}

/// The daemon proposes a hold time (9 s) below FerroLB's minimum (10 s): FerroLB answers with
/// OPEN Message Error / Unacceptable Hold Time, and the daemon reports receiving it.
pub fn ferrolb_rejects_hold_time(kind: Kind) {
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n.hold_time(9),
        |c| {
            c.session.hold_time = 30;
            c.session.min_hold_time = 10;
        },
    );
    let want = open_error(subcode::open::UNACCEPTABLE_HOLD_TIME);
    assert_refused(&mut s, Sender::Ferro, &want);
    s.daemon
        .wait_notification(s.ferro_addr(), Direction::Received, 2, 6, T);
}

/// The daemon freezes (SIGSTOP) on an established 3-second session: FerroLB sends Hold Timer
/// Expired and drops the session within the hold time; once the daemon thaws, the session
/// comes back.
pub fn hold_timer_expiry(kind: Kind) {
    const HOLD: u16 = 3;
    let session = Session::ebgp(Transport::V4);
    let mut s = Setup::start_with(
        kind,
        session,
        |n| n.hold_time(HOLD),
        |c| {
            c.session.hold_time = HOLD;
        },
    );
    let negotiated = s.wait_established();
    let hold = Duration::from_secs(HOLD.into());
    assert_eq!(negotiated.hold_time, hold);

    s.daemon.pause().unwrap();
    let frozen = Instant::now();
    let down = s.ferro.wait_down(hold + Duration::from_secs(3));
    let elapsed = frozen.elapsed();
    let context = format!("{down:?} after {elapsed:?}");
    assert_eq!(down.from, State::Established, "{context}");
    assert_eq!(down.reason, DownReason::HoldTimerExpired, "{context}");
    assert_eq!(
        down.sent,
        Some(Notification::new(
            ErrorCode::HoldTimerExpired,
            0,
            Vec::new()
        )),
        "{context}"
    );
    // The daemon's last KEEPALIVE came at most a keepalive interval (hold / 3) before the freeze.
    assert!(
        elapsed <= hold + Duration::from_secs(1),
        "hold timer late: {context}"
    );
    assert!(
        elapsed >= hold * 2 / 3 - Duration::from_millis(300),
        "hold timer early: {context}"
    );

    s.daemon.resume().unwrap();
    s.wait_established();
}
