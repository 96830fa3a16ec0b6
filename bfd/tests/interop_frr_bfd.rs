//! FerroLB's BFD against FRR 8.4's bfdd, in two network namespaces joined by a veth: FerroLB is
//! `a` (198.18.0.1), FRR is `b` (198.18.0.2). bfdd runs because FRR's BGP neighbour has `bfd`;
//! a BFD profile sets its timers to 50 ms x 3, the same as ours.
//!
//! - the session comes Up (IPv4 and IPv6 single-hop, IPv4 multihop), and the detection times
//!   are measured both ways: bfdd frozen with SIGSTOP (we detect it), our driver stopped
//!   abruptly (FRR detects it), each printed (`--no-capture`);
//! - a FerroLB BGP session to FRR is closed as soon as its BFD session fails (RFC 5882), long
//!   before the BGP hold timer would have noticed.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{init_tracing, wait_status};
use ferrolb_bfd::{BfdDriver, Diag, DriverConfig, SessionHandle, SessionKey, SessionParams, State};
use ferrolb_bgp::fsm::Backoff;
use ferrolb_bgp::session::{spawn_peer, Listener, PeerConfig, SessionEvent, BGP_PORT};
use ferrolb_bgp::Notification;
use ferrolb_testbed::prelude::*;
use ferrolb_testbed::{poll_until, Poll, Process};

/// Generous bound for steps that take a second or two.
const T: Duration = Duration::from_secs(10);
/// The BFD timers on both sides.
const INTERVAL: Duration = Duration::from_millis(50);
const MULT: u8 = 3;
/// Interval x multiplier.
const DETECTION: Duration = Duration::from_millis(150);
/// What a detection may take here before the test fails: the detection time plus scheduling
/// slack on a busy 2-core machine (and, for FRR, the time `vtysh` takes to answer).
const DETECTION_BOUND: Duration = Duration::from_millis(600);
const FERRO_AS: u32 = 65001;
const FRR_AS: u32 = 65002;
/// Cease subcode "BFD Down" (RFC 9384).
const CEASE_BFD_DOWN: u8 = 10;

/// FRR in `b` with a BGP neighbour `a` using BFD at 50 ms x 3.
fn start_frr(pair: &Pair) -> Frr {
    start_frr_with(pair, IpAddr::V4(pair.a.v4))
}

/// FRR in `b` with a BGP neighbour at `ferro` (an address of `a`) using BFD at 50 ms x 3.
fn start_frr_with(pair: &Pair, ferro: IpAddr) -> Frr {
    let config = BgpConfig::new(FRR_AS, pair.b.v4).neighbor(Neighbor::new(ferro, FERRO_AS).bfd());
    let frr = Frr::start(&pair.b.ns, config).unwrap();
    let ms = INTERVAL.as_millis();
    frr.vtysh(&[
        "configure terminal",
        // Millisecond timestamps of bfdd's state changes, to measure FRR's detection time.
        "log timestamp precision 3",
        "log stdout debugging",
        "debug bfd peer",
        "bfd",
        "profile ferrolb",
        &format!("transmit-interval {ms}"),
        &format!("receive-interval {ms}"),
        &format!("detect-multiplier {MULT}"),
        "exit",
        "exit",
        &format!("router bgp {FRR_AS}"),
        &format!("neighbor {ferro} bfd profile ferrolb"),
    ])
    .unwrap_or_else(|e| panic!("{e}\n{}", frr.log()));
    frr
}

fn bfdd(frr: &Frr) -> &Process {
    frr.processes()
        .iter()
        .find(|p| p.label() == "frr/bfdd")
        .expect("bfdd runs")
}

/// Our driver, started inside `a`'s namespace (its thread inherits the namespace).
fn start_driver(pair: &Pair) -> BfdDriver {
    pair.a
        .ns
        .run_in(|| BfdDriver::start(DriverConfig::default()))
        .unwrap()
        .unwrap()
}

fn key(pair: &Pair) -> SessionKey {
    SessionKey::single_hop(IpAddr::V4(pair.b.v4), IpAddr::V4(pair.a.v4)).on_interface("eth0")
}

/// Polls FRR's view of the BFD session until it is `status`; returns how long that took.
fn wait_frr_bfd(frr: &Frr, peer: IpAddr, status: &str, timeout: Duration) -> Duration {
    let start = Instant::now();
    poll_until(format!("FRR BFD session to be {status}"), timeout, || {
        Ok(match frr.bfd_status(peer)? {
            Some(s) if s == status => Poll::Ready(()),
            other => Poll::Pending(format!("{other:?}")),
        })
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", frr.log()));
    start.elapsed()
}

/// How long after `since` bfdd logged its first Up -> Down, read from its millisecond log
/// timestamps (`2026/11/22 06:26:29.406 BFD: ... up -> down ...`). Assumes bfdd logs in UTC;
/// `None` if no line fits.
fn logged_down_after(log: &str, since: SystemTime) -> Option<Duration> {
    const DAY_MS: u128 = 86_400_000;
    let since_ms = since.duration_since(UNIX_EPOCH).ok()?.as_millis() % DAY_MS;
    log.lines()
        .filter(|line| line.contains("up -> down"))
        .filter_map(|line| {
            let clock = line.split_whitespace().nth(1)?;
            let (hms, ms) = clock.split_once('.')?;
            let mut parts = hms.split(':').map(|p| p.parse::<u128>().ok());
            let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
            let at = ((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u128>().ok()?;
            let after = at.checked_sub(since_ms)?;
            let after = u64::try_from(after).ok()?;
            (after < 10_000).then(|| Duration::from_millis(after))
        })
        .next()
}

fn summary(name: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    println!(
        "{name}: {:?} (min {:?}, median {:?}, max {:?}; {} x {MULT} = {DETECTION:?})",
        samples,
        sorted.first().unwrap(),
        sorted[sorted.len() / 2],
        sorted.last().unwrap(),
        INTERVAL.as_millis()
    );
}

#[test]
fn interop_frr_bfd_up_and_detection_both_ways() {
    init_tracing();
    let pair = Topology::pair().unwrap();
    let ferro = IpAddr::V4(pair.a.v4);
    let frr = start_frr(&pair);
    let driver = start_driver(&pair);
    let handle = driver
        .add_session(key(&pair), SessionParams::new(INTERVAL, MULT))
        .unwrap();
    let (_, took) = wait_status(&handle, "Up", T, |s| s.state == State::Up);
    println!("session Up after {took:?}");
    wait_frr_bfd(&frr, ferro, "up", T);
    // Both Poll Sequences done: FRR's 50 ms x 3 is what we detect with.
    wait_status(&handle, "150 ms detection time", T, |s| {
        s.detection_time == DETECTION
    });
    let peers = frr.vtysh(&["show bfd peers"]).unwrap();
    assert!(peers.contains("Transmission interval: 50ms"), "{peers}");

    // bfdd frozen: we detect it within interval x multiplier (plus slack).
    let mut ours = Vec::new();
    for _ in 0..3 {
        let frozen = Instant::now();
        bfdd(&frr).pause().unwrap();
        let (down, _) = wait_status(&handle, "Down", T, |s| s.state != State::Up);
        let took = frozen.elapsed();
        bfdd(&frr).resume().unwrap();
        assert_eq!(
            (down.state, down.diag, down.failure),
            (State::Down, Diag::ControlDetectionTimeExpired, true)
        );
        assert!(took < DETECTION_BOUND, "detection took {took:?}");
        // The last packet came at most one interval before the freeze.
        assert!(
            took > DETECTION - INTERVAL - Duration::from_millis(10),
            "{took:?}"
        );
        ours.push(took);
        wait_status(&handle, "Up again", T, |s| s.state == State::Up);
        wait_frr_bfd(&frr, ferro, "up", T);
        wait_status(&handle, "fast timers again", T, |s| {
            s.detection_time == DETECTION
        });
    }
    summary("FerroLB detecting frozen bfdd", &ours);

    // Our side stops abruptly (as if the process died): FRR detects it. The figure includes
    // the time `vtysh` takes to answer, so it is an upper bound.
    let mut frr_side = Vec::new();
    let mut frr_logged = Vec::new();
    let mut driver = Some(driver);
    for _ in 0..3 {
        let current = match driver.take() {
            Some(d) => d,
            None => {
                let d = start_driver(&pair);
                d.add_session(key(&pair), SessionParams::new(INTERVAL, MULT))
                    .unwrap();
                wait_frr_bfd(&frr, ferro, "up", T);
                d
            }
        };
        // Let FRR switch to the fast timers after its Poll Sequence.
        std::thread::sleep(Duration::from_millis(300));
        let stopped = Instant::now();
        let stopped_at = SystemTime::now();
        drop(current);
        wait_frr_bfd(&frr, ferro, "down", T);
        let took = stopped.elapsed();
        // Polling vtysh on a loaded 2-core machine can take seconds, so the polled figure
        // only proves FRR saw it before its 9 s BGP hold time would have; bfdd's own log
        // timestamp gives the detection time.
        assert!(took < Duration::from_secs(8), "FRR took {took:?}");
        if let Some(logged) = logged_down_after(&bfdd(&frr).log(), stopped_at) {
            assert!(
                logged < DETECTION_BOUND * 2,
                "bfdd logged Down after {logged:?}"
            );
            frr_logged.push(logged);
        }
        frr_side.push(took);
    }
    summary(
        "FRR detecting FerroLB stopped (incl. vtysh polling)",
        &frr_side,
    );
    if !frr_logged.is_empty() {
        summary("FRR detecting FerroLB stopped (bfdd's log)", &frr_logged);
    }
}

/// FerroLB's BGP peer in `a` with the RFC 5882 glue: BFD failure closes the BGP session.
struct BgpWithBfd {
    events: mpsc::Receiver<SessionEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<ferrolb_testbed::NsThread<()>>,
}

impl BgpWithBfd {
    fn start(pair: &Pair, bfd: SessionHandle) -> BgpWithBfd {
        let local = IpAddr::V4(pair.a.v4);
        let mut config = PeerConfig::new(IpAddr::V4(pair.b.v4), FERRO_AS, FRR_AS, pair.a.v4);
        config.local_address = Some(local);
        config.connect_timeout = Duration::from_secs(2);
        config.session.hold_time = 9;
        config.session.connect_retry = Backoff::new(Duration::from_secs(1), Duration::from_secs(2));
        config.session.idle_hold = Backoff::new(Duration::from_millis(200), Duration::from_secs(1));
        let (event_tx, events) = mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
        let thread = pair
            .a
            .ns
            .spawn_thread_in(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = Listener::bind(&[SocketAddr::new(local, BGP_PORT)]).unwrap();
                    let peer = spawn_peer(config, Some(&listener)).unwrap();
                    peer.start().await.unwrap();
                    let (control, mut events) = peer.into_parts();
                    // The glue a client needs: a failed BFD session closes BGP at once; a
                    // session that never came up, or an AdminDown, does not (RFC 5882).
                    let mut failures = bfd.failures();
                    let bfd_control = control.clone();
                    tokio::spawn(async move {
                        while failures.next().await.is_some() {
                            let cease = Notification::cease(CEASE_BFD_DOWN);
                            let _ = bfd_control.close(cease).await;
                        }
                    });
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => return,
                            event = events.recv() => match event {
                                Some(event) => {
                                    if event_tx.send(event).is_err() {
                                        return;
                                    }
                                }
                                None => return,
                            },
                        }
                    }
                });
            })
            .unwrap();
        BgpWithBfd {
            events,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Waits for an event matching `pred`; returns it and when it arrived.
    fn wait(&self, what: &str, pred: impl Fn(&SessionEvent) -> bool) -> (SessionEvent, Instant) {
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if pred(&event) => return (event, Instant::now()),
                Ok(_) => {}
                Err(e) => panic!("no BGP {what} within {T:?}: {e}"),
            }
        }
    }
}

impl Drop for BgpWithBfd {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !std::thread::panicking() {
                joined.unwrap();
            }
        }
    }
}

#[test]
fn interop_frr_bgp_session_follows_bfd_down() {
    init_tracing();
    let pair = Topology::pair().unwrap();
    let ferro = IpAddr::V4(pair.a.v4);
    let frr = start_frr(&pair);
    let driver = start_driver(&pair);
    let handle = driver
        .add_session(key(&pair), SessionParams::new(INTERVAL, MULT))
        .unwrap();
    let bgp = BgpWithBfd::start(&pair, handle.clone());
    bgp.wait("Established", |e| {
        matches!(e, SessionEvent::Established { .. })
    });
    frr.wait_established(ferro, T)
        .unwrap_or_else(|e| panic!("{e}\n{}", frr.log()));
    wait_status(&handle, "Up", T, |s| s.state == State::Up);
    wait_status(&handle, "fast timers", T, |s| s.detection_time == DETECTION);

    while bgp.events.try_recv().is_ok() {}
    // Only bfdd freezes; bgpd keeps its session alive (hold time 9 s), so only BFD can end it.
    let frozen = Instant::now();
    bfdd(&frr).pause().unwrap();
    // (A connection collision while the session came up may have closed a second connection
    // with another NOTIFICATION: look for the one BFD caused.)
    let bfd_down = Some(Notification::cease(CEASE_BFD_DOWN));
    let (down, at) = bgp.wait(
        "Down with Cease/BFD Down",
        |e| matches!(e, SessionEvent::Down(d) if d.sent == bfd_down),
    );
    let took = at - frozen;
    bfdd(&frr).resume().unwrap();
    println!("BGP closed {took:?} after bfdd froze: {down:?}");
    assert!(took < DETECTION_BOUND, "BGP closed only after {took:?}");
    // FRR's bgpd got the NOTIFICATION and dropped the connection.
    let doc = frr
        .vtysh_json(&format!("show bgp neighbors {ferro} json"))
        .unwrap();
    let neighbor = &doc[ferro.to_string()];
    let notifications = neighbor["messageStats"]["notificationsRecv"].as_u64();
    assert!(notifications >= Some(1), "{neighbor:#}");
    assert!(
        neighbor["connectionsDropped"].as_u64() >= Some(1),
        "{neighbor:#}"
    );
    drop(bgp);
    drop(driver);
}

#[test]
fn interop_frr_bfd_multihop() {
    init_tracing();
    let pair = Topology::pair().unwrap();
    let (ferro, frr_addr) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
    let frr = start_frr(&pair);
    let ms = INTERVAL.as_millis();
    frr.vtysh(&[
        "configure terminal",
        "bfd",
        &format!("peer {ferro} multihop local-address {frr_addr}"),
        &format!("transmit-interval {ms}"),
        &format!("receive-interval {ms}"),
        &format!("detect-multiplier {MULT}"),
    ])
    .unwrap_or_else(|e| panic!("{e}\n{}", frr.log()));
    let driver = start_driver(&pair);
    let params = SessionParams {
        min_ttl: 254,
        ..SessionParams::new(INTERVAL, MULT)
    };
    let handle = driver
        .add_session(SessionKey::multihop(frr_addr, ferro), params)
        .unwrap();
    let (_, took) = wait_status(&handle, "Up", T, |s| s.state == State::Up);
    println!("multihop session Up after {took:?}");
    let show = format!("show bfd peer {ferro} multihop local-address {frr_addr} json");
    let status = frr.vtysh_json(&show).unwrap();
    assert_eq!(status["status"].as_str(), Some("up"), "{status:#}");
    wait_status(&handle, "150 ms detection time", T, |s| {
        s.detection_time == DETECTION
    });

    let frozen = Instant::now();
    bfdd(&frr).pause().unwrap();
    let (down, _) = wait_status(&handle, "Down", T, |s| s.state != State::Up);
    let took = frozen.elapsed();
    bfdd(&frr).resume().unwrap();
    println!("FerroLB detecting frozen bfdd (multihop): {took:?}");
    assert_eq!(down.diag, Diag::ControlDetectionTimeExpired);
    assert!(took < DETECTION_BOUND, "detection took {took:?}");
    wait_status(&handle, "Up again", T, |s| s.state == State::Up);
}

#[test]
fn interop_frr_bfd_ipv6() {
    init_tracing();
    let pair = Topology::pair().unwrap();
    let (ferro, frr_addr) = (IpAddr::V6(pair.a.v6), IpAddr::V6(pair.b.v6));
    let frr = start_frr_with(&pair, ferro);
    let driver = start_driver(&pair);
    let key = SessionKey::single_hop(frr_addr, ferro).on_interface("eth0");
    let handle = driver
        .add_session(key, SessionParams::new(INTERVAL, MULT))
        .unwrap();
    wait_status(&handle, "Up", T, |s| s.state == State::Up);
    wait_frr_bfd(&frr, ferro, "up", T);
    wait_status(&handle, "150 ms detection time", T, |s| {
        s.detection_time == DETECTION
    });
    let frozen = Instant::now();
    bfdd(&frr).pause().unwrap();
    let (down, _) = wait_status(&handle, "Down", T, |s| s.state != State::Up);
    let took = frozen.elapsed();
    bfdd(&frr).resume().unwrap();
    println!("FerroLB detecting frozen bfdd (IPv6): {took:?}");
    assert_eq!(down.diag, Diag::ControlDetectionTimeExpired);
    assert!(took < DETECTION_BOUND, "detection took {took:?}");
}
