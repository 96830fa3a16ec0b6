//! Bad OPENs and out-of-order messages get the RFC's NOTIFICATION on the wire.

mod session_support;

use std::time::Duration;

use ferrolb_bgp::message::{subcode, ErrorCode, Message, Notification};
use ferrolb_bgp::session::{DownReason, SessionEvent};
use ferrolb_bgp::Update;
use session_support::*;
use tokio::net::TcpListener;

fn open_error(sub: u8) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, Vec::new())
}

fn fsm_error(sub: u8) -> Notification {
    Notification::new(ErrorCode::FiniteStateMachine, sub, Vec::new())
}

/// Each case: what the raw speaker sends after reading FerroLB's OPEN, and the NOTIFICATION
/// it must get back before the connection closes.
#[tokio::test]
async fn passive_side_answers_errors_with_the_right_notification() {
    let eor = Message::Update(Update::default());
    let cases: Vec<(&str, Vec<Message>, Notification)> = vec![
        (
            "wrong AS",
            vec![Message::Open(open(65099, 90, 3))],
            open_error(subcode::open::BAD_PEER_AS),
        ),
        (
            "hold time 1",
            vec![Message::Open(open(65002, 1, 3))],
            open_error(subcode::open::UNACCEPTABLE_HOLD_TIME),
        ),
        (
            "UPDATE in OpenSent",
            vec![eor.clone()],
            fsm_error(subcode::fsm::UNEXPECTED_IN_OPEN_SENT),
        ),
        (
            "UPDATE in OpenConfirm",
            vec![Message::Open(open(65002, 90, 3)), eor.clone()],
            fsm_error(subcode::fsm::UNEXPECTED_IN_OPEN_CONFIRM),
        ),
        (
            "second OPEN in Established",
            vec![
                Message::Open(open(65002, 90, 3)),
                Message::Keepalive,
                Message::Open(open(65002, 90, 3)),
            ],
            fsm_error(subcode::fsm::UNEXPECTED_IN_ESTABLISHED),
        ),
    ];
    for (i, (name, send, want)) in cases.into_iter().enumerate() {
        // A fresh peer address per case keeps the cases independent.
        let from = format!("127.0.0.{}", 10 + i);
        let (mut peer, listener) = passive_peer(&from, |_| {});
        peer.start().await.unwrap();
        let (mut raw, _) = raw_to(&listener, &from).await;
        for msg in &send {
            raw.send(msg).await;
        }
        let got = raw.recv_not_keepalive().await;
        assert_eq!(got, Some(Message::Notification(want.clone())), "{name}");
        assert_eq!(
            raw.recv_not_keepalive().await,
            None,
            "{name}: connection closed"
        );
        let SessionEvent::Down(down) =
            wait_for(&mut peer, "Down", |e| matches!(e, SessionEvent::Down(_))).await
        else {
            unreachable!()
        };
        assert_eq!(down.reason, DownReason::ProtocolError, "{name}");
        assert_eq!(down.sent, Some(want), "{name}");
    }
}

#[tokio::test]
async fn bad_marker_is_a_header_error() {
    let (peer, listener) = passive_peer("127.0.0.20", |_| {});
    peer.start().await.unwrap();
    let (mut raw, _) = raw_to(&listener, "127.0.0.20").await;
    let mut garbage = vec![0u8; 19];
    garbage[18] = 4;
    raw.send_raw(&garbage).await;
    let want = Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::CONNECTION_NOT_SYNCHRONIZED,
        Vec::new(),
    );
    assert_eq!(raw.recv().await, Some(Message::Notification(want)));
}

/// The active side: FerroLB connects out (from its configured source address) to a raw
/// speaker that answers with the wrong AS.
#[tokio::test]
async fn active_side_reports_bad_peer_as() {
    init_tracing();
    let raw_listener = TcpListener::bind("127.0.0.21:0").await.unwrap();
    let mut c = fast_config(
        "127.0.0.1",
        "127.0.0.21",
        raw_listener.local_addr().unwrap().port(),
        65001,
        65002,
        1,
    );
    c.session.hold_time = 30;
    let mut peer = ferrolb_bgp::session::spawn_peer(c, None).unwrap();
    peer.start().await.unwrap();
    let (stream, from) = tokio::time::timeout(WAIT, raw_listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        from.ip().to_string(),
        "127.0.0.1",
        "bound to the configured source address"
    );
    let mut raw = RawPeer::new(stream);
    let Some(Message::Open(ours)) = raw.recv().await else {
        panic!("expected OPEN")
    };
    assert_eq!(
        (ours.asn, ours.hold_time, ours.router_id),
        (65001, 30, router_id(1))
    );
    raw.send(&Message::Open(open(65003, 90, 3))).await;
    assert_eq!(
        raw.recv().await,
        Some(Message::Notification(open_error(
            subcode::open::BAD_PEER_AS
        )))
    );
    let SessionEvent::Down(down) =
        wait_for(&mut peer, "Down", |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(down.sent, Some(open_error(subcode::open::BAD_PEER_AS)));
    // It tries again by itself (IdleHold, then a new connection).
    let again = tokio::time::timeout(Duration::from_secs(5), raw_listener.accept()).await;
    assert!(again.is_ok(), "automatic restart after the error");
}
