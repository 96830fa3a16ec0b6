use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

const LOCAL: u32 = 0x1111;
const REMOTE: u32 = 0x2222;
const MS: Duration = Duration::from_millis(1);

fn rng() -> StdRng {
    StdRng::seed_from_u64(5880)
}

/// A packet from the peer in `state`, 50 ms x 3 unless changed.
fn from_peer(state: State) -> ControlPacket {
    ControlPacket {
        diag: Diag::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: REMOTE,
        your_discriminator: if matches!(state, State::Down | State::AdminDown) {
            0
        } else {
            LOCAL
        },
        desired_min_tx: 50_000,
        required_min_rx: 50_000,
        required_min_echo_rx: 0,
    }
}

fn sent(actions: &[Action]) -> Vec<ControlPacket> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(p) => Some(*p),
            Action::StateChanged(_) => None,
        })
        .collect()
}

fn transitions(actions: &[Action]) -> Vec<Transition> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChanged(t) => Some(*t),
            Action::Send(_) => None,
        })
        .collect()
}

/// A session at 50 ms x 3 brought into `state` at `t0`; returns it with the time reached.
fn session_in(state: State, t0: Instant) -> (Session, Instant) {
    let mut rng = rng();
    let mut s = Session::new(LOCAL, SessionParams::new(50 * MS, 3), t0);
    let t = t0 + MS;
    match state {
        State::Down => {}
        State::Init => {
            s.handle(t, Event::Received(from_peer(State::Down)), &mut rng);
        }
        State::Up => {
            s.handle(t, Event::Received(from_peer(State::Init)), &mut rng);
            // Finish the Poll Sequence that going Up starts.
            s.handle(
                t,
                Event::Received(ControlPacket {
                    final_: true,
                    ..from_peer(State::Up)
                }),
                &mut rng,
            );
            assert!(!s.is_polling());
        }
        State::AdminDown => {
            s.handle(t, Event::AdminDown, &mut rng);
        }
    }
    assert_eq!(s.state(), state);
    (s, t)
}

#[test]
fn every_reception_transition_of_rfc5880_6_8_6() {
    use State::*;
    // (local state, received state) -> (new state, transition diag, failure) or no change.
    type Outcome = Option<(State, Diag, bool)>;
    let cases: [(State, State, Outcome); 16] = [
        (Down, AdminDown, None),
        (Down, Down, Some((Init, Diag::None, false))),
        (Down, Init, Some((Up, Diag::None, false))),
        (Down, Up, None),
        (
            Init,
            AdminDown,
            Some((Down, Diag::NeighborSignaledSessionDown, false)),
        ),
        (Init, Down, None),
        (Init, Init, Some((Up, Diag::None, false))),
        (Init, Up, Some((Up, Diag::None, false))),
        (
            Up,
            AdminDown,
            Some((Down, Diag::NeighborSignaledSessionDown, false)),
        ),
        (
            Up,
            Down,
            Some((Down, Diag::NeighborSignaledSessionDown, true)),
        ),
        (Up, Init, None),
        (Up, Up, None),
        (AdminDown, AdminDown, None),
        (AdminDown, Down, None),
        (AdminDown, Init, None),
        (AdminDown, Up, None),
    ];
    for (local, received, want) in cases {
        let (mut s, t) = session_in(local, Instant::now());
        let actions = s.handle(t + MS, Event::Received(from_peer(received)), &mut rng());
        let got: Vec<_> = transitions(&actions)
            .into_iter()
            .map(|t| (t.to, t.diag, t.failure))
            .collect();
        let expected: Vec<_> = want.into_iter().collect();
        assert_eq!(got, expected, "{local} receiving {received}");
        let now = want.map_or(local, |(to, _, _)| to);
        assert_eq!(s.state(), now, "{local} receiving {received}");
        if let Some(t) = transitions(&actions).first() {
            assert_eq!(t.from, local);
            // Every state change is announced to the peer at once.
            assert_eq!(
                sent(&actions).last().map(|p| p.state),
                Some(now),
                "{local} receiving {received}"
            );
        }
    }
}

#[test]
fn detection_timeout_takes_init_and_up_down_and_forgets_the_peer() {
    use State::*;
    // (state, new state, diag, failure)
    let cases = [
        (Init, Down, Diag::ControlDetectionTimeExpired, false),
        (Up, Down, Diag::ControlDetectionTimeExpired, true),
        (Down, Down, Diag::None, false),
    ];
    for (local, to, diag, failure) in cases {
        let t0 = Instant::now();
        let (mut s, t) = if local == Down {
            // Down, but with the peer heard: it went AdminDown.
            let (mut s, t) = session_in(Up, t0);
            s.handle(t, Event::Received(from_peer(AdminDown)), &mut rng());
            (s, t)
        } else {
            session_in(local, t0)
        };
        let detect = s.detection_time();
        assert_eq!(detect, 150 * MS, "{local}");
        let mut rng = rng();
        // Just before the detection time nothing happens, whatever else the timer did.
        let before = s.handle(t + detect - MS, Event::Timer, &mut rng);
        assert!(transitions(&before).is_empty(), "{local}: {before:?}");
        assert_eq!(s.status().remote_discriminator, REMOTE);
        let actions = s.handle(t + detect, Event::Timer, &mut rng);
        let got: Vec<_> = transitions(&actions)
            .into_iter()
            .map(|t| (t.to, t.diag, t.failure))
            .collect();
        let want: Vec<_> = (to != local)
            .then_some((to, diag, failure))
            .into_iter()
            .collect();
        assert_eq!(got, want, "{local}");
        let status = s.status();
        assert_eq!(
            (status.state, status.remote_discriminator),
            (to, 0),
            "{local}"
        );
        if to != local {
            let p = sent(&actions);
            assert_eq!(
                p.last().map(|p| (p.state, p.diag, p.your_discriminator)),
                Some((Down, diag, 0))
            );
            // Back at the one-second rate.
            assert_eq!(p.last().map(|p| p.desired_min_tx), Some(1_000_000));
        }
    }
}

#[test]
fn detection_time_uses_the_slower_of_our_rx_and_their_tx_times_their_multiplier() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let slow_peer = ControlPacket {
        desired_min_tx: 200_000,
        detect_mult: 5,
        ..from_peer(State::Up)
    };
    s.handle(t, Event::Received(slow_peer), &mut rng());
    assert_eq!(s.detection_time(), 1000 * MS);
    // Each packet restarts the detection timer.
    for i in 1..=10u32 {
        let actions = s.handle(t + i * 900 * MS, Event::Timer, &mut rng());
        assert!(transitions(&actions).is_empty());
        s.handle(t + i * 900 * MS, Event::Received(slow_peer), &mut rng());
    }
    assert_eq!(s.state(), State::Up);
}

#[test]
fn going_up_polls_with_the_fast_rate_until_the_final() {
    let t0 = Instant::now();
    let mut rng = rng();
    let mut s = Session::new(LOCAL, SessionParams::new(50 * MS, 3), t0);
    // Not Up: advertise at least one second.
    let first = sent(&s.handle(t0, Event::Timer, &mut rng));
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].state, first[0].desired_min_tx, first[0].poll),
        (State::Down, 1_000_000, false)
    );
    let actions = s.handle(t0 + MS, Event::Received(from_peer(State::Init)), &mut rng);
    let p = sent(&actions);
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].state, p[0].desired_min_tx, p[0].poll, p[0].final_),
        (State::Up, 50_000, true, false)
    );
    assert!(s.is_polling());
    // Periodic packets keep the Poll bit until the Final arrives.
    let mut t = t0 + MS;
    for _ in 0..3 {
        t = s.next_deadline().unwrap();
        let p = sent(&s.handle(t, Event::Timer, &mut rng));
        assert_eq!(p.iter().map(|p| p.poll).collect::<Vec<_>>(), [true]);
    }
    s.handle(
        t,
        Event::Received(ControlPacket {
            final_: true,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    assert!(!s.is_polling());
    let t = s.next_deadline().unwrap();
    let p = sent(&s.handle(t, Event::Timer, &mut rng));
    assert_eq!(
        p.iter().map(|p| (p.poll, p.final_)).collect::<Vec<_>>(),
        [(false, false)]
    );
}

#[test]
fn a_poll_is_answered_at_once_with_a_final() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let next = s.next_deadline();
    let poll = ControlPacket {
        poll: true,
        desired_min_tx: 100_000,
        ..from_peer(State::Up)
    };
    let p = sent(&s.handle(t + MS, Event::Received(poll), &mut rng()));
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].poll, p[0].final_, p[0].state),
        (false, true, State::Up)
    );
    // The Final is extra: the periodic schedule is unchanged.
    assert_eq!(s.next_deadline(), next);
    assert_eq!(s.detection_time(), 300 * MS);
}

#[test]
fn parameter_changes_while_up_run_a_poll_sequence_and_apply_safely() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let mut rng = rng();
    // Slower: 200 ms both ways.
    s.handle(
        t,
        Event::SetParams(SessionParams::new(200 * MS, 3)),
        &mut rng,
    );
    assert!(s.is_polling());
    let t1 = s.next_deadline().unwrap();
    let p = sent(&s.handle(t1, Event::Timer, &mut rng));
    assert_eq!(
        p.iter()
            .map(|p| (p.poll, p.desired_min_tx, p.required_min_rx))
            .collect::<Vec<_>>(),
        [(true, 200_000, 200_000)]
    );
    // Until the Final: still sending at the old 50 ms rate; detection already uses 200 ms.
    let gap = s.next_tx.unwrap() - t1;
    assert!(gap <= 50 * MS, "{gap:?}");
    assert_eq!(s.detection_time(), 600 * MS);
    s.handle(
        t1,
        Event::Received(ControlPacket {
            final_: true,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    assert!(!s.is_polling());
    let t2 = s.next_deadline().unwrap();
    s.handle(t2, Event::Timer, &mut rng);
    let gap = s.next_tx.unwrap() - t2;
    assert!((150 * MS..=200 * MS).contains(&gap), "{gap:?}");

    // Faster again: sending speeds up at once, detection keeps the slow value until the Final.
    s.handle(
        t2,
        Event::SetParams(SessionParams::new(20 * MS, 3)),
        &mut rng,
    );
    assert!(s.is_polling());
    assert_eq!(s.detection_time(), 600 * MS);
    let t3 = s.next_deadline().unwrap();
    s.handle(t3, Event::Timer, &mut rng);
    assert!(s.next_tx.unwrap() - t3 <= 50 * MS);
    s.handle(
        t3,
        Event::Received(ControlPacket {
            final_: true,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    assert_eq!(s.detection_time(), 150 * MS);
    // A Final without a Poll in progress changes nothing.
    s.handle(
        t3,
        Event::Received(ControlPacket {
            final_: true,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    assert!(!s.is_polling());
}

#[test]
fn periodic_transmission_is_jittered_within_the_rfc_range() {
    for (mult, low, high) in [(3u8, 75, 100), (1, 75, 90)] {
        let t0 = Instant::now();
        let mut rng = rng();
        let mut params = SessionParams::new(100 * MS, mult);
        params.required_min_rx = 100 * MS;
        let mut s = Session::new(LOCAL, params, t0);
        s.handle(t0, Event::Received(from_peer(State::Init)), &mut rng);
        s.handle(
            t0,
            Event::Received(ControlPacket {
                final_: true,
                required_min_rx: 100_000,
                ..from_peer(State::Up)
            }),
            &mut rng,
        );
        let mut gaps = Vec::new();
        let mut t = s.next_tx.unwrap();
        for _ in 0..400 {
            let p = sent(&s.handle(t, Event::Timer, &mut rng));
            assert_eq!(p.len(), 1);
            s.handle(
                t,
                Event::Received(ControlPacket {
                    required_min_rx: 100_000,
                    ..from_peer(State::Up)
                }),
                &mut rng,
            );
            let next = s.next_tx.unwrap();
            gaps.push(next - t);
            t = next;
        }
        let (min, max) = (*gaps.iter().min().unwrap(), *gaps.iter().max().unwrap());
        assert!(
            min >= low * MS && max <= high * MS,
            "mult {mult}: {min:?}..{max:?}"
        );
        assert!(
            min <= (low + 3) * MS && max >= (high - 3) * MS,
            "mult {mult}: {min:?}..{max:?}"
        );
    }
}

#[test]
fn the_peer_is_sent_packets_no_faster_than_its_required_min_rx() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let mut rng = rng();
    s.handle(
        t,
        Event::Received(ControlPacket {
            required_min_rx: 500_000,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    let t1 = s.next_deadline().unwrap();
    s.handle(t1, Event::Timer, &mut rng);
    assert!(s.next_tx.unwrap() - t1 >= 375 * MS);
    // Zero: no periodic packets at all, but a Poll still gets its Final.
    s.handle(
        t1,
        Event::Received(ControlPacket {
            required_min_rx: 0,
            ..from_peer(State::Up)
        }),
        &mut rng,
    );
    let actions = s.handle(t1 + 100 * MS, Event::Timer, &mut rng);
    assert!(sent(&actions).is_empty());
    let p = sent(&s.handle(
        t1 + 100 * MS,
        Event::Received(ControlPacket {
            required_min_rx: 0,
            poll: true,
            ..from_peer(State::Up)
        }),
        &mut rng,
    ));
    assert_eq!(p.iter().map(|p| p.final_).collect::<Vec<_>>(), [true]);
}

#[test]
fn a_passive_session_waits_for_the_peer_and_falls_silent_after_losing_it() {
    let t0 = Instant::now();
    let mut rng = rng();
    let params = SessionParams {
        passive: true,
        ..SessionParams::new(50 * MS, 3)
    };
    let mut s = Session::new(LOCAL, params, t0);
    assert_eq!(s.next_deadline(), None);
    assert!(sent(&s.handle(t0 + 5000 * MS, Event::Timer, &mut rng)).is_empty());
    let t1 = t0 + 5000 * MS;
    let p = sent(&s.handle(t1, Event::Received(from_peer(State::Down)), &mut rng));
    assert_eq!(
        p.iter()
            .map(|p| (p.state, p.your_discriminator))
            .collect::<Vec<_>>(),
        [(State::Init, REMOTE)]
    );
    // Silence: after the detection time the session forgets the peer and stops sending.
    let mut last = Vec::new();
    while let Some(t) = s.next_deadline() {
        last = s.handle(t, Event::Timer, &mut rng);
        assert!(t < t1 + 10_000 * MS, "still sending");
    }
    assert_eq!(
        transitions(&last).iter().map(|t| t.to).collect::<Vec<_>>(),
        [State::Down]
    );
    assert!(sent(&last).is_empty(), "{last:?}");
    assert_eq!(s.status().remote_discriminator, 0);
}

#[test]
fn admin_down_is_sent_and_held_until_released() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let mut rng = rng();
    let actions = s.handle(t, Event::AdminDown, &mut rng);
    assert_eq!(
        transitions(&actions),
        [Transition {
            from: State::Up,
            to: State::AdminDown,
            diag: Diag::AdministrativelyDown,
            failure: false
        }]
    );
    assert_eq!(
        sent(&actions)
            .iter()
            .map(|p| (p.state, p.diag))
            .collect::<Vec<_>>(),
        [(State::AdminDown, Diag::AdministrativelyDown)]
    );
    // No detection while AdminDown, and it keeps telling the peer at the slow rate.
    let t1 = s.next_deadline().unwrap();
    assert!(t1 - t >= 750 * MS);
    let p = sent(&s.handle(t1, Event::Timer, &mut rng));
    assert_eq!(
        p.iter().map(|p| p.state).collect::<Vec<_>>(),
        [State::AdminDown]
    );
    let actions = s.handle(t1, Event::AdminUp, &mut rng);
    assert_eq!(
        transitions(&actions)
            .iter()
            .map(|t| (t.from, t.to))
            .collect::<Vec<_>>(),
        [(State::AdminDown, State::Down)]
    );
    s.handle(t1, Event::Received(from_peer(State::Init)), &mut rng);
    assert_eq!(s.state(), State::Up);
}

#[test]
fn packets_for_another_discriminator_are_ignored() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let stray = ControlPacket {
        your_discriminator: LOCAL + 1,
        ..from_peer(State::Down)
    };
    let actions = s.handle(t, Event::Received(stray), &mut rng());
    assert!(transitions(&actions).is_empty());
    assert_eq!(s.state(), State::Up);
}

#[test]
fn params_are_validated() {
    let ok = SessionParams::new(10 * MS, 3);
    let cases = [
        (ok, true),
        (
            SessionParams {
                detect_mult: 0,
                ..ok
            },
            false,
        ),
        (
            SessionParams {
                desired_min_tx: Duration::ZERO,
                ..ok
            },
            false,
        ),
        (
            SessionParams {
                required_min_rx: Duration::ZERO,
                ..ok
            },
            true,
        ),
        (
            SessionParams {
                required_min_rx: Duration::from_secs(5000),
                ..ok
            },
            false,
        ),
    ];
    for (params, valid) in cases {
        assert_eq!(params.validate().is_ok(), valid, "{params:?}");
    }
}

#[test]
fn a_peer_asking_for_faster_packets_gets_them_without_waiting_out_the_slow_interval() {
    let (mut s, t) = session_in(State::Up, Instant::now());
    let mut rng = rng();
    let slow = ControlPacket {
        required_min_rx: 1_000_000,
        ..from_peer(State::Up)
    };
    s.handle(t, Event::Received(slow), &mut rng);
    let t1 = s.next_tx.unwrap();
    s.handle(t1, Event::Timer, &mut rng);
    assert!(s.next_tx.unwrap() - t1 >= 750 * MS);
    // The peer speeds up: the next packet goes out within the new interval.
    s.handle(
        t1 + 10 * MS,
        Event::Received(from_peer(State::Up)),
        &mut rng,
    );
    assert!(
        s.next_tx.unwrap() - t1 <= 60 * MS,
        "{:?}",
        s.next_tx.unwrap() - t1
    );
}
