//! Table-driven tests: every state crossed with every event, checked against RFC 4271 section
//! 8.2.2 (with the deviations listed in the module docs) and RFC 6608 subcodes.

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;

use super::*;
use crate::fsm::backoff::Backoff;
use crate::fsm::config::PeerAsn;
use crate::fsm::open_check;
use crate::message::{Capability, Open, Update};
use crate::types::AddressFamily;

use Timer::{ConnectRetry as CR, DelayOpen as DO, Hold, IdleHold as IH, Keepalive as KA};

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn config() -> SessionConfig {
    let mut c = SessionConfig::new(65001, PeerAsn::Exact(65002), LOCAL_ID);
    c.connect_retry = Backoff {
        initial: secs(5),
        max: secs(120),
        jitter: false,
    };
    c.idle_hold = Backoff {
        initial: secs(1),
        max: secs(60),
        jitter: false,
    };
    c
}

fn peer_open() -> Open {
    Open {
        version: 4,
        asn: 65002,
        hold_time: 90,
        router_id: PEER_ID,
        capabilities: vec![
            Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
            Capability::RouteRefresh,
            Capability::FourOctetAs(65002),
        ],
    }
}

fn our_open() -> Action {
    Action::SendOpen(open_check::build_open(&config()))
}

fn negotiated() -> Negotiated {
    open_check::check_open(&config(), &peer_open()).unwrap()
}

fn update() -> Update {
    Update {
        withdrawn: vec![Ipv4Net::new(Ipv4Addr::new(192, 0, 2, 0), 24).unwrap()],
        ..Update::default()
    }
}

fn fsm_err(sub: u8) -> Notification {
    Notification::new(ErrorCode::FiniteStateMachine, sub, Vec::new())
}

fn cease(sub: u8) -> Notification {
    Notification::cease(sub)
}

fn header_err() -> Notification {
    Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::BAD_MESSAGE_LENGTH,
        vec![0, 5],
    )
}

fn open_msg_err() -> Notification {
    Notification::new(
        ErrorCode::OpenMessage,
        subcode::open::UNSUPPORTED_OPTIONAL_PARAMETER,
        Vec::new(),
    )
}

fn update_err() -> Notification {
    Notification::new(
        ErrorCode::UpdateMessage,
        subcode::update::MALFORMED_ATTRIBUTE_LIST,
        Vec::new(),
    )
}

fn bad_as() -> Notification {
    Notification::new(
        ErrorCode::OpenMessage,
        subcode::open::BAD_PEER_AS,
        Vec::new(),
    )
}

fn version_err() -> Notification {
    Notification::new(
        ErrorCode::OpenMessage,
        subcode::open::UNSUPPORTED_VERSION_NUMBER,
        vec![0, 4],
    )
}

fn hold_expired() -> Notification {
    Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new())
}

fn peer_cease() -> Notification {
    cease(subcode::cease::ADMINISTRATIVE_RESET)
}

/// A machine driven from Idle into `state` by the usual path.
fn fsm_in(state: State) -> Fsm {
    let mut fsm = Fsm::new(config(), 1);
    let path: Vec<Event> = match state {
        State::Idle => vec![],
        State::Connect => vec![Event::ManualStart { passive: false }],
        State::Active => vec![Event::ManualStart { passive: true }],
        State::OpenSent => vec![
            Event::ManualStart { passive: false },
            Event::TcpConnectionAcknowledged,
        ],
        State::OpenConfirm => vec![
            Event::ManualStart { passive: false },
            Event::TcpConnectionAcknowledged,
            Event::BgpOpen(peer_open()),
        ],
        State::Established => vec![
            Event::ManualStart { passive: false },
            Event::TcpConnectionAcknowledged,
            Event::BgpOpen(peer_open()),
            Event::KeepAliveMsg,
        ],
    };
    for e in path {
        fsm.handle(e);
    }
    assert_eq!(fsm.state(), state);
    fsm
}

/// Every event kind, with representative payloads.
fn all_events() -> Vec<Event> {
    let mut bad_open = peer_open();
    bad_open.asn = 65099;
    vec![
        Event::ManualStart { passive: false },
        Event::ManualStart { passive: true },
        Event::ManualStop,
        Event::AutomaticStart { passive: false },
        Event::AutomaticStart { passive: true },
        Event::AutomaticStop(cease(subcode::cease::ADMINISTRATIVE_RESET)),
        Event::ConnectRetryTimerExpires,
        Event::HoldTimerExpires,
        Event::KeepaliveTimerExpires,
        Event::DelayOpenTimerExpires,
        Event::IdleHoldTimerExpires,
        Event::TcpConnectionAcknowledged,
        Event::TcpConnectionConfirmed,
        Event::TcpConnectionFails,
        Event::BgpOpen(peer_open()),
        Event::BgpOpen(bad_open),
        Event::BgpHeaderErr(header_err()),
        Event::BgpOpenMsgErr(open_msg_err()),
        Event::OpenCollisionDump,
        Event::NotifMsg(peer_cease()),
        Event::NotifMsg(version_err()),
        Event::KeepAliveMsg,
        Event::UpdateMsg(update()),
        Event::UpdateMsg(Update::end_of_rib(AddressFamily::Ipv4Unicast)),
        Event::UpdateMsgErr(update_err()),
        Event::RouteRefresh(AddressFamily::Ipv4Unicast),
        Event::RouteRefreshIgnored,
    ]
}

fn down(
    from: State,
    reason: DownReason,
    sent: Option<Notification>,
    received: Option<Notification>,
) -> Action {
    Action::Down(SessionDown {
        from,
        reason,
        sent,
        received,
    })
}

/// The tail of every error transition to Idle: optional NOTIFICATION, the running timers
/// stopped, the connection dropped, the session reported down and the restart scheduled.
fn to_idle(
    from: State,
    stops: &[Timer],
    reason: DownReason,
    sent: Option<Notification>,
    received: Option<Notification>,
) -> (State, Vec<Action>) {
    let mut v = Vec::new();
    if let Some(n) = &sent {
        v.push(Action::SendNotification(n.clone()));
    }
    v.extend(stops.iter().map(|t| Action::StopTimer(*t)));
    v.push(Action::DropConnection);
    v.push(down(from, reason, sent, received));
    v.push(Action::StartTimer(IH, secs(1)));
    (State::Idle, v)
}

/// ManualStop: like [`to_idle`] but without the restart.
fn stopped(from: State, stops: &[Timer], sent: Option<Notification>) -> (State, Vec<Action>) {
    let (state, mut v) = to_idle(from, stops, DownReason::Stopped, sent, None);
    v.pop();
    (state, v)
}

fn stay(state: State) -> (State, Vec<Action>) {
    (state, Vec::new())
}

type Expect = fn(&Event) -> Option<(State, Vec<Action>)>;

/// Runs `expect` over every event from `state`; `None` rows are the state's default, given by
/// `default`.
fn check_state(state: State, expect: Expect, default: fn(&Event) -> (State, Vec<Action>)) {
    for event in all_events() {
        let mut fsm = fsm_in(state);
        let (want_state, want_actions) = expect(&event).unwrap_or_else(|| default(&event));
        let actions = fsm.handle(event.clone());
        assert_eq!(actions, want_actions, "{state:?} x {event:?}: actions");
        assert_eq!(fsm.state(), want_state, "{state:?} x {event:?}: state");
    }
}

#[test]
fn idle() {
    check_state(
        State::Idle,
        |e| {
            Some(match e {
                Event::ManualStart { passive: false }
                | Event::AutomaticStart { passive: false }
                | Event::IdleHoldTimerExpires => (
                    State::Connect,
                    vec![Action::StartTimer(CR, secs(5)), Action::Connect],
                ),
                Event::ManualStart { passive: true } | Event::AutomaticStart { passive: true } => {
                    (State::Active, vec![Action::StartTimer(CR, secs(5))])
                }
                Event::TcpConnectionAcknowledged | Event::TcpConnectionConfirmed => {
                    (State::Idle, vec![Action::DropConnection])
                }
                _ => return None,
            })
        },
        |_| stay(State::Idle),
    );
}

#[test]
fn connect() {
    check_state(
        State::Connect,
        |e| {
            Some(match e {
                Event::ManualStart { .. } | Event::AutomaticStart { .. } => stay(State::Connect),
                Event::ManualStop => stopped(State::Connect, &[CR], None),
                Event::AutomaticStop(_) => {
                    to_idle(State::Connect, &[CR], DownReason::Stopped, None, None)
                }
                Event::ConnectRetryTimerExpires => (
                    State::Connect,
                    vec![
                        Action::DropConnection,
                        Action::StartTimer(CR, secs(10)),
                        Action::Connect,
                    ],
                ),
                Event::TcpConnectionAcknowledged
                | Event::TcpConnectionConfirmed
                | Event::DelayOpenTimerExpires => (
                    State::OpenSent,
                    vec![
                        Action::StopTimer(CR),
                        our_open(),
                        Action::StartTimer(Hold, secs(240)),
                    ],
                ),
                // Deviation: Active with the ConnectRetry timer, not Idle; the backoff doubles.
                Event::TcpConnectionFails => (
                    State::Active,
                    vec![Action::DropConnection, Action::StartTimer(CR, secs(10))],
                ),
                Event::NotifMsg(n) => to_idle(
                    State::Connect,
                    &[CR],
                    DownReason::NotificationReceived,
                    None,
                    Some(n.clone()),
                ),
                _ => return None,
            })
        },
        |_| to_idle(State::Connect, &[CR], DownReason::ProtocolError, None, None),
    );
}

#[test]
fn active() {
    check_state(
        State::Active,
        |e| {
            Some(match e {
                Event::ManualStart { .. } | Event::AutomaticStart { .. } => stay(State::Active),
                Event::ManualStop => stopped(State::Active, &[CR], None),
                Event::AutomaticStop(_) => {
                    to_idle(State::Active, &[CR], DownReason::Stopped, None, None)
                }
                Event::ConnectRetryTimerExpires => (
                    State::Connect,
                    vec![Action::StartTimer(CR, secs(5)), Action::Connect],
                ),
                Event::TcpConnectionAcknowledged
                | Event::TcpConnectionConfirmed
                | Event::DelayOpenTimerExpires => (
                    State::OpenSent,
                    vec![
                        Action::StopTimer(CR),
                        our_open(),
                        Action::StartTimer(Hold, secs(240)),
                    ],
                ),
                Event::TcpConnectionFails => (
                    State::Active,
                    vec![Action::DropConnection, Action::StartTimer(CR, secs(5))],
                ),
                Event::NotifMsg(n) => to_idle(
                    State::Active,
                    &[CR],
                    DownReason::NotificationReceived,
                    None,
                    Some(n.clone()),
                ),
                _ => return None,
            })
        },
        |_| to_idle(State::Active, &[CR], DownReason::ProtocolError, None, None),
    );
}

#[test]
fn open_sent() {
    const S: State = State::OpenSent;
    check_state(
        S,
        |e| {
            Some(match e {
                Event::ManualStart { .. }
                | Event::AutomaticStart { .. }
                | Event::TcpConnectionAcknowledged
                | Event::TcpConnectionConfirmed => stay(S),
                Event::ManualStop => stopped(
                    S,
                    &[Hold],
                    Some(cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN)),
                ),
                Event::AutomaticStop(n) => {
                    to_idle(S, &[Hold], DownReason::Stopped, Some(n.clone()), None)
                }
                Event::HoldTimerExpires => to_idle(
                    S,
                    &[],
                    DownReason::HoldTimerExpired,
                    Some(hold_expired()),
                    None,
                ),
                Event::TcpConnectionFails => (
                    State::Active,
                    vec![
                        Action::StopTimer(Hold),
                        Action::DropConnection,
                        Action::StartTimer(CR, secs(5)),
                    ],
                ),
                Event::BgpOpen(o) if o.asn == 65002 => (
                    State::OpenConfirm,
                    vec![
                        Action::SendKeepalive,
                        Action::StartTimer(Hold, secs(90)),
                        Action::StartTimer(KA, secs(30)),
                    ],
                ),
                Event::BgpOpen(_) => {
                    to_idle(S, &[Hold], DownReason::ProtocolError, Some(bad_as()), None)
                }
                Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                    to_idle(S, &[Hold], DownReason::ProtocolError, Some(n.clone()), None)
                }
                Event::OpenCollisionDump => to_idle(
                    S,
                    &[Hold],
                    DownReason::ConnectionCollision,
                    Some(cease(subcode::cease::CONNECTION_COLLISION_RESOLUTION)),
                    None,
                ),
                Event::NotifMsg(n) => to_idle(
                    S,
                    &[Hold],
                    DownReason::NotificationReceived,
                    None,
                    Some(n.clone()),
                ),
                Event::KeepAliveMsg
                | Event::UpdateMsg(_)
                | Event::UpdateMsgErr(_)
                | Event::RouteRefresh(_)
                | Event::RouteRefreshIgnored => to_idle(
                    S,
                    &[Hold],
                    DownReason::ProtocolError,
                    Some(fsm_err(subcode::fsm::UNEXPECTED_IN_OPEN_SENT)),
                    None,
                ),
                _ => return None,
            })
        },
        // Timer events that cannot happen in OpenSent.
        |_| {
            to_idle(
                S,
                &[Hold],
                DownReason::ProtocolError,
                Some(fsm_err(subcode::fsm::UNSPECIFIED)),
                None,
            )
        },
    );
}

/// What OpenConfirm and Established share.
fn synchronised_common(s: State, e: &Event, unexpected: u8) -> (State, Vec<Action>) {
    match e {
        Event::ManualStart { .. }
        | Event::AutomaticStart { .. }
        | Event::TcpConnectionAcknowledged
        | Event::TcpConnectionConfirmed => stay(s),
        Event::ManualStop => stopped(
            s,
            &[Hold, KA],
            Some(cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN)),
        ),
        Event::AutomaticStop(n) => {
            to_idle(s, &[Hold, KA], DownReason::Stopped, Some(n.clone()), None)
        }
        Event::HoldTimerExpires => to_idle(
            s,
            &[KA],
            DownReason::HoldTimerExpired,
            Some(hold_expired()),
            None,
        ),
        Event::KeepaliveTimerExpires => (
            s,
            vec![Action::SendKeepalive, Action::StartTimer(KA, secs(30))],
        ),
        Event::TcpConnectionFails => {
            to_idle(s, &[Hold, KA], DownReason::ConnectionLost, None, None)
        }
        Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => to_idle(
            s,
            &[Hold, KA],
            DownReason::ProtocolError,
            Some(n.clone()),
            None,
        ),
        Event::OpenCollisionDump => to_idle(
            s,
            &[Hold, KA],
            DownReason::ConnectionCollision,
            Some(cease(subcode::cease::CONNECTION_COLLISION_RESOLUTION)),
            None,
        ),
        Event::NotifMsg(n) => to_idle(
            s,
            &[Hold, KA],
            DownReason::NotificationReceived,
            None,
            Some(n.clone()),
        ),
        e if e.is_message() || matches!(e, Event::UpdateMsgErr(_)) => to_idle(
            s,
            &[Hold, KA],
            DownReason::ProtocolError,
            Some(fsm_err(unexpected)),
            None,
        ),
        _ => to_idle(
            s,
            &[Hold, KA],
            DownReason::ProtocolError,
            Some(fsm_err(subcode::fsm::UNSPECIFIED)),
            None,
        ),
    }
}

#[test]
fn open_confirm() {
    check_state(
        State::OpenConfirm,
        |e| match e {
            Event::KeepAliveMsg => Some((
                State::Established,
                vec![
                    Action::StartTimer(Hold, secs(90)),
                    Action::Established(negotiated()),
                ],
            )),
            _ => None,
        },
        |e| {
            synchronised_common(
                State::OpenConfirm,
                e,
                subcode::fsm::UNEXPECTED_IN_OPEN_CONFIRM,
            )
        },
    );
}

#[test]
fn established() {
    const S: State = State::Established;
    check_state(
        S,
        |e| {
            Some(match e {
                Event::KeepAliveMsg => (S, vec![Action::StartTimer(Hold, secs(90))]),
                Event::UpdateMsg(u) => (
                    S,
                    vec![
                        Action::StartTimer(Hold, secs(90)),
                        match u.end_of_rib_family() {
                            Some(f) => Action::DeliverEndOfRib(f),
                            None => Action::DeliverUpdate(u.clone()),
                        },
                    ],
                ),
                Event::RouteRefreshIgnored => (S, vec![Action::StartTimer(Hold, secs(90))]),
                Event::RouteRefresh(f) => (
                    S,
                    vec![
                        Action::StartTimer(Hold, secs(90)),
                        Action::DeliverRouteRefresh(*f),
                    ],
                ),
                Event::UpdateMsgErr(n) => to_idle(
                    S,
                    &[Hold, KA],
                    DownReason::ProtocolError,
                    Some(n.clone()),
                    None,
                ),
                _ => return None,
            })
        },
        |e| synchronised_common(S, e, subcode::fsm::UNEXPECTED_IN_ESTABLISHED),
    );
}

#[test]
fn end_of_rib_is_reported_as_such() {
    let mut fsm = fsm_in(State::Established);
    let actions = fsm.handle(Event::UpdateMsg(Update::end_of_rib(
        AddressFamily::Ipv6Unicast,
    )));
    assert_eq!(
        actions[1],
        Action::DeliverEndOfRib(AddressFamily::Ipv6Unicast)
    );
}

#[test]
fn route_refresh_for_a_family_not_negotiated_is_ignored() {
    // peer_open() offers IPv4 unicast only.
    let mut fsm = fsm_in(State::Established);
    let actions = fsm.handle(Event::RouteRefresh(AddressFamily::Ipv6Unicast));
    assert_eq!(actions, vec![Action::StartTimer(Hold, secs(90))]);
}

#[test]
fn zero_hold_time_runs_no_hold_or_keepalive_timer() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.hold_time = 0;
    let actions = fsm.handle(Event::BgpOpen(open));
    assert_eq!(
        actions,
        vec![Action::SendKeepalive, Action::StopTimer(Hold)]
    );
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg)[0],
        Action::Established(fsm.negotiated().unwrap().clone())
    );
    assert!(Timer::ALL.iter().all(|t| !fsm.is_running(*t)));
    assert_eq!(fsm.handle(Event::KeepAliveMsg), vec![]);
}

fn delay_open_config() -> SessionConfig {
    let mut c = config();
    c.delay_open = Some(secs(2));
    c
}

#[test]
fn delay_open() {
    // (event, state, actions) after TcpConnectionConfirmed with DelayOpen running.
    let neg = open_check::check_open(&delay_open_config(), &peer_open()).unwrap();
    let open = Action::SendOpen(open_check::build_open(&delay_open_config()));
    let cases: Vec<(Event, State, Vec<Action>)> = vec![
        (
            Event::DelayOpenTimerExpires,
            State::OpenSent,
            vec![open.clone(), Action::StartTimer(Hold, secs(240))],
        ),
        (
            Event::BgpOpen(peer_open()),
            State::OpenConfirm,
            vec![
                Action::StopTimer(DO),
                open.clone(),
                Action::SendKeepalive,
                Action::StartTimer(Hold, secs(90)),
                Action::StartTimer(KA, secs(30)),
            ],
        ),
        (
            Event::TcpConnectionFails,
            State::Active,
            vec![
                Action::StopTimer(DO),
                Action::DropConnection,
                Action::StartTimer(CR, secs(5)),
            ],
        ),
        (
            Event::BgpOpenMsgErr(open_msg_err()),
            State::Idle,
            to_idle(
                State::Connect,
                &[DO],
                DownReason::ProtocolError,
                Some(open_msg_err()),
                None,
            )
            .1,
        ),
        (
            Event::NotifMsg(version_err()),
            State::Idle,
            to_idle(
                State::Connect,
                &[DO],
                DownReason::NotificationReceived,
                None,
                Some(version_err()),
            )
            .1,
        ),
        (
            Event::KeepAliveMsg,
            State::Idle,
            to_idle(State::Connect, &[DO], DownReason::ProtocolError, None, None).1,
        ),
    ];
    for (event, want_state, want) in cases {
        let mut fsm = Fsm::new(delay_open_config(), 1);
        fsm.handle(Event::ManualStart { passive: false });
        let actions = fsm.handle(Event::TcpConnectionConfirmed);
        assert_eq!(
            actions,
            vec![Action::StopTimer(CR), Action::StartTimer(DO, secs(2))]
        );
        assert_eq!(
            fsm.state(),
            State::Connect,
            "the RFC stays in Connect while DelayOpen runs"
        );
        let got = fsm.handle(event.clone());
        assert_eq!(got, want, "{event:?}");
        assert_eq!(fsm.state(), want_state, "{event:?}");
        if want_state == State::OpenConfirm {
            assert_eq!(fsm.negotiated(), Some(&neg));
        }
    }
}

#[test]
fn passive_config_never_connects() {
    let mut c = config();
    c.passive = true;
    let mut fsm = Fsm::new(c, 1);
    assert_eq!(fsm.handle(Event::ManualStart { passive: false }), vec![]);
    assert_eq!(fsm.state(), State::Active);
    fsm.handle(Event::TcpConnectionConfirmed);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        vec![Action::StopTimer(Hold), Action::DropConnection]
    );
    assert_eq!(fsm.state(), State::Active);
    // After an error, the automatic restart waits passively again.
    fsm.handle(Event::TcpConnectionConfirmed);
    fsm.handle(Event::HoldTimerExpires);
    assert_eq!(fsm.handle(Event::IdleHoldTimerExpires), vec![]);
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn connect_retry_backs_off_and_resets_on_success() {
    let mut fsm = Fsm::new(config(), 1);
    fsm.handle(Event::ManualStart { passive: false });
    let mut delays = Vec::new();
    for _ in 0..6 {
        for a in fsm.handle(Event::TcpConnectionFails) {
            if let Action::StartTimer(CR, d) = a {
                delays.push(d.as_secs());
            }
        }
        fsm.handle(Event::ConnectRetryTimerExpires);
    }
    assert_eq!(delays, vec![10, 20, 40, 80, 120, 120]);
    assert_eq!(
        fsm.handle(Event::TcpConnectionAcknowledged)[0],
        Action::StopTimer(CR)
    );
    fsm.handle(Event::TcpConnectionFails);
    let actions = fsm.handle(Event::ConnectRetryTimerExpires);
    assert_eq!(
        actions,
        vec![Action::StartTimer(CR, secs(5)), Action::Connect]
    );
}

#[test]
fn idle_hold_backs_off_with_the_connect_retry_counter() {
    let mut fsm = Fsm::new(config(), 1);
    fsm.handle(Event::ManualStart { passive: false });
    let mut delays = Vec::new();
    for _ in 0..4 {
        fsm.handle(Event::TcpConnectionAcknowledged);
        for a in fsm.handle(Event::NotifMsg(peer_cease())) {
            if let Action::StartTimer(IH, d) = a {
                delays.push(d.as_secs());
            }
        }
        fsm.handle(Event::IdleHoldTimerExpires);
    }
    assert_eq!(delays, vec![1, 2, 4, 8]);
    assert_eq!(fsm.connect_retry_counter(), 4);
    // Reaching Established clears it.
    fsm.handle(Event::TcpConnectionAcknowledged);
    fsm.handle(Event::BgpOpen(peer_open()));
    fsm.handle(Event::KeepAliveMsg);
    assert_eq!(fsm.connect_retry_counter(), 0);
}

#[test]
fn manual_stop_in_idle_cancels_the_automatic_restart() {
    let mut fsm = fsm_in(State::Established);
    fsm.handle(Event::TcpConnectionFails);
    assert!(fsm.is_running(IH));
    assert_eq!(fsm.handle(Event::ManualStop), vec![Action::StopTimer(IH)]);
    assert!(!fsm.is_running(IH));
    assert_eq!(fsm.connect_retry_counter(), 0);
}

#[test]
fn version_notification_does_not_count_as_a_failure() {
    let mut fsm = fsm_in(State::OpenSent);
    fsm.handle(Event::NotifMsg(version_err()));
    assert_eq!(fsm.connect_retry_counter(), 0);
    let mut fsm = fsm_in(State::OpenSent);
    fsm.handle(Event::NotifMsg(peer_cease()));
    assert_eq!(fsm.connect_retry_counter(), 1);
}

/// Whatever happens, the timers the driver believes running (from the actions) are the ones the
/// machine believes running, and leaving a connected state for Idle always closes the
/// connection and reports the session down.
#[test]
fn every_two_event_sequence_keeps_timer_bookkeeping_consistent() {
    let states = [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ];
    for state in states {
        for first in all_events() {
            for second in all_events() {
                let mut fsm = fsm_in(state);
                let mut running: Vec<Timer> = Timer::ALL
                    .into_iter()
                    .filter(|t| fsm.is_running(*t))
                    .collect();
                for event in [first.clone(), second.clone()] {
                    if let Some(t) = Timer::ALL.into_iter().find(|t| t.expiry_event() == event) {
                        if !running.contains(&t) {
                            // The driver never reports a timer that is not running.
                            break;
                        }
                        running.retain(|r| *r != t);
                    }
                    let before = fsm.state();
                    let actions = fsm.handle(event.clone());
                    for a in &actions {
                        match a {
                            Action::StartTimer(t, _) if !running.contains(t) => running.push(*t),
                            Action::StopTimer(t) => {
                                assert!(
                                    running.contains(t),
                                    "{before:?} x {event:?}: stopped idle timer"
                                );
                                running.retain(|r| r != t);
                            }
                            _ => {}
                        }
                    }
                    let mut believed: Vec<Timer> = Timer::ALL
                        .into_iter()
                        .filter(|t| fsm.is_running(*t))
                        .collect();
                    running.sort();
                    believed.sort();
                    assert_eq!(running, believed, "{before:?} x {event:?}");
                    if fsm.state() == State::Idle && before != State::Idle {
                        assert!(
                            actions.contains(&Action::DropConnection),
                            "{before:?} x {event:?}"
                        );
                        assert!(
                            actions.iter().any(|a| matches!(a, Action::Down(_))),
                            "{before:?} x {event:?}"
                        );
                        assert!(
                            running.iter().all(|t| *t == IH),
                            "{before:?} x {event:?}: {running:?}"
                        );
                    }
                    if fsm.state().has_connection() {
                        assert!(
                            running.contains(&Hold)
                                || fsm.negotiated().is_some_and(|n| n.hold_time.is_zero())
                        );
                    }
                }
            }
        }
    }
}
