//! Two FerroLB BFD drivers talking over the loopback interface (127.0.0.1 and 127.0.0.2), each
//! listening on its own free ports, and hand-made packets checking the receive rules.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::{init_tracing, wait_status};
use ferrolb_bfd::{BfdDriver, ControlPacket, Diag, DriverConfig, SessionKey, SessionParams, State};
use prometheus_client::registry::Registry;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const T: Duration = Duration::from_secs(5);

/// `n` distinct UDP ports free at the moment.
fn free_ports<const N: usize>() -> [u16; N] {
    let sockets: Vec<UdpSocket> = (0..N)
        .map(|_| UdpSocket::bind("0.0.0.0:0").unwrap())
        .collect();
    std::array::from_fn(|i| sockets[i].local_addr().unwrap().port())
}

/// Configurations for two drivers sending to each other's ports.
fn configs() -> (DriverConfig, DriverConfig) {
    let [a1, a2, b1, b2] = free_ports::<4>();
    let a = DriverConfig {
        single_hop_port: a1,
        multihop_port: a2,
        peer_single_hop_port: b1,
        peer_multihop_port: b2,
        ipv6: false,
        realtime_priority: Some(10),
    };
    let b = DriverConfig {
        single_hop_port: b1,
        multihop_port: b2,
        peer_single_hop_port: a1,
        peer_multihop_port: a2,
        ..a.clone()
    };
    (a, b)
}

/// The driver's metrics as a daemon exposes them, under its own prefix.
fn metrics(driver: &BfdDriver) -> String {
    let mut registry = Registry::with_prefix("ferrolb_bfd");
    driver.register_metrics(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text
}

#[test]
fn two_drivers_come_up_and_detect_an_abrupt_stop() {
    init_tracing();
    let (ca, cb) = configs();
    let a = BfdDriver::start(ca).unwrap();
    let b = BfdDriver::start(cb).unwrap();
    let params = SessionParams::new(Duration::from_millis(20), 3);
    let ha = a.add_session(SessionKey::single_hop(B, A), params).unwrap();
    let hb = b.add_session(SessionKey::single_hop(A, B), params).unwrap();
    let (up, took) = wait_status(&ha, "Up", T, |s| s.state == State::Up);
    wait_status(&hb, "Up", T, |s| s.state == State::Up);
    println!("loopback session Up after {took:?}");
    assert_eq!(up.remote_discriminator, hb.status().local_discriminator);
    let listed = a.sessions();
    assert_eq!(listed.len(), 1);
    assert_eq!((&listed[0].0, listed[0].1.state), (ha.key(), State::Up));
    // Once both Poll Sequences are done, detection runs at 3 x 20 ms.
    wait_status(&ha, "fast detection", T, |s| {
        s.detection_time == Duration::from_millis(60)
    });
    let text = metrics(&a);
    assert!(
        text.contains(
            r#"ferrolb_bfd_session_state{peer="127.0.0.2",local="127.0.0.1",mode="single-hop"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains("ferrolb_bfd_packets_sent_total{"), "{text}");

    // B dies without a word: A detects it within its detection time.
    let mut failures = ha.failures();
    drop(b);
    let (down, took) = wait_status(&ha, "Down", T, |s| s.state != State::Up);
    println!("abrupt stop detected after {took:?} (detection time 60 ms)");
    assert_eq!(
        (down.state, down.diag, down.failure),
        (State::Down, Diag::ControlDetectionTimeExpired, true)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let failure =
        runtime.block_on(async { tokio::time::timeout(T, failures.next()).await.unwrap() });
    assert_eq!(failure.map(|s| s.failures), Some(1));
    let text = metrics(&a);
    assert!(
        text.contains(r#"ferrolb_bfd_detection_events_total{peer="127.0.0.2",local="127.0.0.1",mode="single-hop"} 1"#),
        "{text}"
    );
    // Once the session is removed, the waiter ends.
    a.remove_session(ha.key());
    let end = runtime.block_on(async { tokio::time::timeout(T, failures.next()).await.unwrap() });
    assert_eq!(end, None);
}

#[test]
fn a_graceful_shutdown_is_not_a_failure() {
    init_tracing();
    let (ca, cb) = configs();
    let a = BfdDriver::start(ca).unwrap();
    let b = BfdDriver::start(cb).unwrap();
    let params = SessionParams::new(Duration::from_millis(50), 3);
    let ha = a.add_session(SessionKey::single_hop(B, A), params).unwrap();
    b.add_session(SessionKey::single_hop(A, B), params).unwrap();
    wait_status(&ha, "Up", T, |s| s.state == State::Up);
    b.shutdown();
    let (down, took) = wait_status(&ha, "Down", T, |s| s.state != State::Up);
    assert_eq!(
        (down.state, down.remote_state, down.diag, down.failure),
        (
            State::Down,
            State::AdminDown,
            Diag::NeighborSignaledSessionDown,
            false
        )
    );
    // Told, not timed out: the diagnostic above says so.
    println!("AdminDown seen after {took:?}");
    assert_eq!(down.failures, 0);
}

#[test]
fn parameter_changes_and_admin_down_reach_the_peer() {
    init_tracing();
    let (ca, cb) = configs();
    let a = BfdDriver::start(ca).unwrap();
    let b = BfdDriver::start(cb).unwrap();
    let params = SessionParams::new(Duration::from_millis(50), 3);
    let ha = a.add_session(SessionKey::multihop(B, A), params).unwrap();
    let hb = b.add_session(SessionKey::multihop(A, B), params).unwrap();
    wait_status(&hb, "Up", T, |s| s.state == State::Up);
    wait_status(&hb, "150 ms detection", T, |s| {
        s.detection_time == Duration::from_millis(150)
    });
    // A slows down to 100 ms x 4: B's detection time follows after the Poll Sequence.
    ha.set_params(SessionParams::new(Duration::from_millis(100), 4))
        .unwrap();
    wait_status(&hb, "400 ms detection", T, |s| {
        s.detection_time == Duration::from_millis(400)
    });
    assert_eq!(ha.status().state, State::Up);
    assert_eq!(hb.status().state, State::Up);

    ha.admin_down().unwrap();
    let (down, _) = wait_status(&hb, "Down", T, |s| s.state == State::Down);
    assert_eq!((down.remote_state, down.failure), (State::AdminDown, false));
    ha.admin_up().unwrap();
    wait_status(&hb, "Up again", T, |s| s.state == State::Up);

    a.remove_session(ha.key());
    let (down, _) = wait_status(&hb, "Down after removal", T, |s| s.state == State::Down);
    assert_eq!((down.remote_state, down.failure), (State::AdminDown, false));
    assert!(!metrics(&a).contains("ferrolb_bfd_session_state{"));
}

/// A hand-made Down packet from 127.0.0.2 to the driver, sent with `ttl`.
fn send_down_packet(to_port: u16, ttl: u32) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    socket.set_ttl_v4(ttl).unwrap();
    socket.bind(&SocketAddr::new(B, 0).into()).unwrap();
    let packet = ControlPacket {
        diag: Diag::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 77,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 50_000,
        required_min_echo_rx: 0,
    };
    socket
        .send_to(&packet.encode(), &SocketAddr::new(A, to_port).into())
        .unwrap();
}

#[test]
fn single_hop_packets_must_arrive_with_ttl_255() {
    init_tracing();
    let (ca, _) = configs();
    let port = ca.single_hop_port;
    let a = BfdDriver::start(ca).unwrap();
    let params = SessionParams {
        passive: true,
        ..SessionParams::new(Duration::from_millis(50), 3)
    };
    let ha = a.add_session(SessionKey::single_hop(B, A), params).unwrap();
    send_down_packet(port, 254);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ha.status().state, State::Down);
    assert_eq!(ha.status().remote_discriminator, 0);
    assert!(metrics(&a).contains(r#"ferrolb_bfd_packets_dropped_total{reason="ttl"} 1"#));
    send_down_packet(port, 255);
    let (init, _) = wait_status(&ha, "Init", T, |s| s.state == State::Init);
    assert_eq!(init.remote_discriminator, 77);
}

#[test]
fn multihop_packets_are_checked_against_the_minimum_ttl() {
    init_tracing();
    let (ca, _) = configs();
    let port = ca.multihop_port;
    let a = BfdDriver::start(ca).unwrap();
    let params = SessionParams {
        passive: true,
        min_ttl: 250,
        ..SessionParams::new(Duration::from_millis(50), 3)
    };
    let ha = a.add_session(SessionKey::multihop(B, A), params).unwrap();
    send_down_packet(port, 249);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ha.status().state, State::Down);
    send_down_packet(port, 250);
    wait_status(&ha, "Init", T, |s| s.state == State::Init);
}

#[test]
fn a_session_with_an_absent_local_address_waits_for_it() {
    init_tracing();
    let (ca, _) = configs();
    let a = BfdDriver::start(ca).unwrap();
    // 192.0.2.1 is nowhere on this host: sending fails, nothing panics, the session stays Down.
    let absent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let h = a
        .add_session(SessionKey::single_hop(B, absent), SessionParams::default())
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(h.status().state, State::Down);
    assert!(metrics(&a).contains(r#"ferrolb_bfd_packets_dropped_total{reason="send-error"}"#));
    assert!(a
        .add_session(
            SessionKey::single_hop(B, A),
            SessionParams::new(Duration::from_millis(10), 0)
        )
        .is_err());
}

#[test]
fn ipv6_sessions_come_up() {
    init_tracing();
    let (mut ca, mut cb) = configs();
    ca.ipv6 = true;
    cb.ipv6 = true;
    let a = BfdDriver::start(ca).unwrap();
    let b = BfdDriver::start(cb).unwrap();
    let lo = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
    let params = SessionParams::new(Duration::from_millis(20), 3);
    for key in [SessionKey::single_hop(lo, lo), SessionKey::multihop(lo, lo)] {
        let ha = a.add_session(key.clone(), params).unwrap();
        let hb = b.add_session(key, params).unwrap();
        wait_status(&ha, "Up", T, |s| s.state == State::Up);
        wait_status(&hb, "Up", T, |s| s.state == State::Up);
    }
}

#[test]
fn a_hundred_sessions_come_up_and_stay_up() {
    init_tracing();
    let (ca, cb) = configs();
    let a = BfdDriver::start(ca).unwrap();
    let b = BfdDriver::start(cb).unwrap();
    // 20 ms packets, but a detection time of one second: a virtual machine whose host takes
    // its CPUs away for a few hundred milliseconds (steal time) must not fail this test, which
    // is about a hundred sessions negotiating and keeping their timers, not about the
    // shortest detection time (the other tests cover that).
    let params = SessionParams::new(Duration::from_millis(20), 50);
    let pairs: Vec<_> = (1..=100u8)
        .map(|i| {
            let ours = IpAddr::V4(Ipv4Addr::new(127, 0, 1, i));
            let theirs = IpAddr::V4(Ipv4Addr::new(127, 0, 2, i));
            let ha = a
                .add_session(SessionKey::single_hop(theirs, ours), params)
                .unwrap();
            let hb = b
                .add_session(SessionKey::single_hop(ours, theirs), params)
                .unwrap();
            (ha, hb)
        })
        .collect();
    for (ha, hb) in &pairs {
        wait_status(ha, "fast timers", T, |s| {
            s.state == State::Up && s.detection_time == Duration::from_secs(1)
        });
        wait_status(hb, "Up", T, |s| s.state == State::Up);
    }
    std::thread::sleep(Duration::from_millis(500));
    for (ha, hb) in &pairs {
        assert_eq!((ha.status().state, ha.status().failures), (State::Up, 0));
        assert_eq!((hb.status().state, hb.status().failures), (State::Up, 0));
    }
}
