//! Two FerroLB speakers over loopback: establish, exchange UPDATEs, stop.

mod session_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::BytesMut;
use ferrolb_bgp::codec::{self, CodecOptions};
use ferrolb_bgp::message::{ErrorCode, Message, Notification};
use ferrolb_bgp::session::{DownReason, SessionEvent, State};
use ferrolb_bgp::types::AddressFamily;
use ferrolb_bgp::{AsPath, Origin, PathAttributes, Update};
use ipnet::Ipv4Net;
use session_support::*;

fn update(prefix: &str, next_hop: Ipv4Addr, asn: u32) -> Update {
    Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([asn])),
            next_hop: Some(next_hop),
            ..PathAttributes::default()
        },
        nlri: vec![prefix.parse::<Ipv4Net>().unwrap()],
        ..Update::default()
    }
}

#[tokio::test]
async fn peers_establish_exchange_updates_and_stop() {
    let Pair { mut a, mut b, .. } = pair(|_| {});
    a.start().await.unwrap();
    b.start().await.unwrap();

    let SessionEvent::Established {
        negotiated: na,
        local: la,
        remote: ra,
    } = wait_established(&mut a).await
    else {
        unreachable!()
    };
    let SessionEvent::Established {
        negotiated: nb,
        local: lb,
        remote: rb,
    } = wait_established(&mut b).await
    else {
        unreachable!()
    };
    assert_eq!((la, ra), (rb, lb), "both ends describe the same connection");
    assert_eq!(na.peer_asn, 65002);
    assert_eq!(nb.peer_asn, 65001);
    assert_eq!(na.peer_router_id, router_id(2));
    assert_eq!(na.hold_time, Duration::from_secs(3));
    assert_eq!(na.keepalive, Duration::from_secs(1));
    assert!(na.four_octet_as && na.route_refresh);
    assert_eq!(na.families, AddressFamily::ALL.to_vec());

    // An UPDATE value and a pre-encoded one, then End-of-RIB.
    let u1 = update("198.51.100.0/24", Ipv4Addr::new(127, 0, 0, 1), 65001);
    let u2 = update("203.0.113.0/25", Ipv4Addr::new(127, 0, 0, 1), 65001);
    let mut encoded = BytesMut::new();
    let opts = CodecOptions {
        four_octet_as: na.four_octet_as,
        extended_message: na.extended_message,
    };
    codec::encode_message(&Message::Update(u2.clone()), opts, &mut encoded).unwrap();
    a.send_updates(vec![u1.clone()]).await.unwrap();
    a.send_encoded(encoded.freeze()).await.unwrap();
    a.send_end_of_rib(AddressFamily::Ipv4Unicast).await.unwrap();
    let got1 = wait_for(&mut b, "UPDATE", |e| matches!(e, SessionEvent::Update(_))).await;
    let got2 = wait_for(&mut b, "UPDATE", |e| matches!(e, SessionEvent::Update(_))).await;
    assert_eq!(got1, SessionEvent::Update(u1));
    assert_eq!(got2, SessionEvent::Update(u2));
    let eor = wait_for(&mut b, "End-of-RIB", |e| {
        matches!(e, SessionEvent::EndOfRib(_))
    })
    .await;
    assert_eq!(eor, SessionEvent::EndOfRib(AddressFamily::Ipv4Unicast));

    // Route refresh both ways is delivered as an event.
    b.send_route_refresh(AddressFamily::Ipv6Unicast)
        .await
        .unwrap();
    let rr = wait_for(&mut a, "ROUTE-REFRESH", |e| {
        matches!(e, SessionEvent::RouteRefresh(_))
    })
    .await;
    assert_eq!(rr, SessionEvent::RouteRefresh(AddressFamily::Ipv6Unicast));

    // The session outlives several hold times on keepalives alone.
    let quiet = events_for(&mut b, Duration::from_secs(5)).await;
    assert!(
        quiet.is_empty(),
        "unexpected events on an idle session: {quiet:?}"
    );

    // A graceful stop tells the peer why.
    a.stop().await.unwrap();
    let down = wait_for(&mut b, "Down", |e| matches!(e, SessionEvent::Down(_))).await;
    let SessionEvent::Down(down) = down else {
        unreachable!()
    };
    assert_eq!(down.from, State::Established);
    assert_eq!(down.reason, DownReason::NotificationReceived);
    assert_eq!(
        down.received,
        Some(Notification::cease(2)),
        "Cease/Administrative Shutdown"
    );
    let down = wait_for(&mut a, "Down", |e| matches!(e, SessionEvent::Down(_))).await;
    let SessionEvent::Down(down) = down else {
        unreachable!()
    };
    assert_eq!(down.reason, DownReason::Stopped);
    assert_eq!(down.sent.map(|n| n.code), Some(ErrorCode::Cease));

    // A stays stopped; B keeps trying but cannot establish.
    let later = events_for(&mut b, Duration::from_secs(2)).await;
    assert!(!reached(&later, State::Established), "{later:?}");

    // Started again, the session comes back.
    a.start().await.unwrap();
    wait_established(&mut a).await;
    wait_established(&mut b).await;
    a.shutdown().await;
    assert!(a.is_closed());
    let down = wait_for(&mut b, "Down", |e| matches!(e, SessionEvent::Down(_))).await;
    let SessionEvent::Down(down) = down else {
        unreachable!()
    };
    assert_eq!(down.received, Some(Notification::cease(2)));
}

#[tokio::test]
async fn passive_peer_waits_and_active_one_connects() {
    let Pair { mut a, mut b, .. } = pair(|c| {
        if c.address.to_string() == "127.0.0.2" {
            c.session.passive = true;
        }
    });
    // A (passive towards 127.0.0.2) never connects: nothing happens until B starts.
    a.start().await.unwrap();
    let early = events_for(&mut a, Duration::from_secs(1)).await;
    assert!(!reached(&early, State::OpenSent), "{early:?}");
    b.start().await.unwrap();
    let SessionEvent::Established { remote, .. } = wait_established(&mut a).await else {
        unreachable!()
    };
    assert_eq!(remote.ip().to_string(), "127.0.0.2", "B connected to A");
    wait_established(&mut b).await;

    // A reset tells the peer and comes back by itself.
    a.reset().await.unwrap();
    let SessionEvent::Down(down) =
        wait_for(&mut b, "Down", |e| matches!(e, SessionEvent::Down(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        down.received,
        Some(Notification::cease(4)),
        "Cease/Administrative Reset"
    );
    wait_established(&mut a).await;
    wait_established(&mut b).await;
}
