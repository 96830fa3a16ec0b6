//! The hold timer against a raw speaker that goes silent, and what keeps it from expiring.

mod session_support;

use std::time::{Duration, Instant};

use ferrolb_bgp::message::{ErrorCode, Message, Notification};
use ferrolb_bgp::session::{DownReason, SessionEvent, State};
use ferrolb_bgp::{AsPath, Origin, PathAttributes, Update};
use session_support::*;

/// Brings a raw speaker at 127.0.0.3 to Established with a passive FerroLB peer (hold 3 s).
async fn established() -> (
    ferrolb_bgp::session::PeerHandle,
    ferrolb_bgp::session::Listener,
    RawPeer,
) {
    let (mut peer, listener) = passive_peer("127.0.0.3", |_| {});
    peer.start().await.unwrap();
    let (mut raw, ours) = raw_to(&listener, "127.0.0.3").await;
    assert_eq!(ours.hold_time, 3);
    raw.send(&Message::Open(open(65002, 3, 3))).await;
    raw.send(&Message::Keepalive).await;
    assert_eq!(
        raw.recv().await,
        Some(Message::Keepalive),
        "KEEPALIVE acknowledging our OPEN"
    );
    wait_established(&mut peer).await;
    (peer, listener, raw)
}

#[tokio::test]
async fn silent_peer_gets_hold_timer_expired() {
    let (mut peer, _listener, mut raw) = established().await;
    let since = Instant::now();
    // FerroLB keeps sending KEEPALIVEs (every second) until its hold timer expires.
    let mut keepalives = 0;
    let notification = loop {
        match raw.recv().await {
            Some(Message::Keepalive) => keepalives += 1,
            Some(Message::Notification(n)) => break n,
            other => panic!("unexpected {other:?}"),
        }
    };
    let elapsed = since.elapsed();
    assert_eq!(
        notification,
        Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new())
    );
    assert!(
        elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert!(keepalives >= 2, "keepalives every hold/3: saw {keepalives}");
    assert_eq!(
        raw.recv().await,
        None,
        "connection closed after the NOTIFICATION"
    );
    let SessionEvent::Down(down) =
        wait_for(&mut peer, "Down", |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(down.from, State::Established);
    assert_eq!(down.reason, DownReason::HoldTimerExpired);
    assert_eq!(down.sent, Some(notification));
}

#[tokio::test]
async fn keepalives_and_updates_keep_the_session_up() {
    let (mut peer, _listener, mut raw) = established().await;
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([65002])),
            next_hop: Some("127.0.0.3".parse().unwrap()),
            ..PathAttributes::default()
        },
        nlri: vec!["192.0.2.0/24".parse().unwrap()],
        ..Update::default()
    };
    raw.opts.four_octet_as = true;
    // Six seconds (two hold times): first KEEPALIVEs only, then UPDATEs only, every 2 s.
    for i in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if i == 0 {
            raw.send(&Message::Keepalive).await;
        } else {
            raw.send(&Message::Update(update.clone())).await;
        }
    }
    let events = events_for(&mut peer, Duration::from_millis(500)).await;
    assert!(
        !events.iter().any(|e| matches!(e, SessionEvent::Down(_))),
        "{events:?}"
    );
    let updates = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Update(_)))
        .count();
    assert_eq!(updates, 2, "{events:?}");
}

/// After an error the peer waits (IdleHold) before connecting again itself, but a peer that
/// reconnects meanwhile is served at once.
#[tokio::test]
async fn reconnect_while_the_restart_is_pending_is_accepted() {
    let (mut peer, listener) = passive_peer("127.0.0.4", |c| {
        c.session.idle_hold =
            ferrolb_bgp::fsm::Backoff::new(Duration::from_secs(30), Duration::from_secs(60));
    });
    peer.start().await.unwrap();
    let (mut raw, _) = raw_to(&listener, "127.0.0.4").await;
    raw.send(&Message::Open(open(65002, 3, 4))).await;
    raw.send(&Message::Keepalive).await;
    wait_established(&mut peer).await;
    raw.send(&Message::Notification(Notification::cease(4)))
        .await;
    let SessionEvent::Down(down) =
        wait_for(&mut peer, "Down", |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(down.received, Some(Notification::cease(4)));
    let since = Instant::now();
    let (mut again, _) = raw_to(&listener, "127.0.0.4").await;
    assert!(since.elapsed() < Duration::from_secs(2));
    again.send(&Message::Open(open(65002, 3, 4))).await;
    again.send(&Message::Keepalive).await;
    wait_established(&mut peer).await;
}
