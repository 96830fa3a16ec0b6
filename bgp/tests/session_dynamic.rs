//! Dynamic neighbours: peers accepted from an address range with an allowed ASN.

mod session_support;

use std::time::Duration;

use ferrolb_bgp::message::{subcode, ErrorCode, Message, Notification};
use ferrolb_bgp::session::{spawn_peer, DynamicNeighbors, PeerConfig, SessionEvent};
use session_support::*;

#[tokio::test]
async fn range_accepts_allowed_asns_and_rejects_the_rest() {
    init_tracing();
    let listener = listen("127.0.0.1");
    let port = port_of(&listener);
    let template = fast_config("127.0.0.1", "127.0.1.1", 179, 65001, 0, 1);
    let mut handles = listener
        .add_dynamic(DynamicNeighbors {
            prefixes: vec!["127.0.1.0/24".parse().unwrap()],
            allowed_asns: vec![65010, 65011],
            limit: Some(1),
            template,
        })
        .unwrap();

    // Outside the range: closed before any OPEN.
    let mut stranger = RawPeer::connect("127.0.2.1", listener.local_addrs()[0])
        .await
        .unwrap();
    assert_eq!(stranger.recv().await, None);

    // In the range with an ASN that is not allowed: Bad Peer AS.
    let (mut wrong_as, ours) = raw_to(&listener, "127.0.1.6").await;
    assert_eq!(ours.asn, 65001);
    wrong_as.send(&Message::Open(open(65099, 90, 6))).await;
    let bad_peer_as = Notification::new(
        ErrorCode::OpenMessage,
        subcode::open::BAD_PEER_AS,
        Vec::new(),
    );
    assert_eq!(
        wrong_as.recv().await,
        Some(Message::Notification(bad_peer_as))
    );
    assert_eq!(wrong_as.recv().await, None);

    // A FerroLB speaker at 127.0.1.5 in AS 65011 is accepted and its handle delivered.
    let remote: PeerConfig = fast_config("127.0.1.5", "127.0.0.1", port, 65011, 65001, 5);
    let mut remote = spawn_peer(remote, None).unwrap();
    remote.start().await.unwrap();
    let mut dynamic = tokio::time::timeout(WAIT, handles.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dynamic.peer().to_string(), "127.0.1.5");
    let SessionEvent::Established { negotiated, .. } = wait_established(&mut dynamic).await else {
        unreachable!()
    };
    assert_eq!(negotiated.peer_asn, 65011);
    wait_established(&mut remote).await;
    remote
        .send_end_of_rib(ferrolb_bgp::AddressFamily::Ipv4Unicast)
        .await
        .unwrap();
    wait_for(&mut dynamic, "End-of-RIB", |e| {
        matches!(e, SessionEvent::EndOfRib(_))
    })
    .await;
    assert!(
        handles.try_recv().is_err(),
        "the rejected connection produced no handle"
    );

    // The range's limit of one is reached: another neighbour is closed before any OPEN.
    let mut over_limit = RawPeer::connect("127.0.1.7", listener.local_addrs()[0])
        .await
        .unwrap();
    assert_eq!(over_limit.recv().await, None);

    // When the neighbour goes away its peer ends, and the range has room again.
    remote.shutdown().await;
    wait_for(&mut dynamic, "Down", |e| matches!(e, SessionEvent::Down(_))).await;
    let rest = tokio::time::timeout(WAIT, async {
        while dynamic.next_event().await.is_some() {}
    })
    .await;
    assert!(
        rest.is_ok(),
        "dynamic peer's events end with its connection"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut again, _) = raw_to(&listener, "127.0.1.7").await;
    again.send(&Message::Open(open(65010, 90, 7))).await;
    assert_eq!(again.recv().await, Some(Message::Keepalive));
}

/// A range with an MD5 password: the listener keys the whole prefix (TCP_MD5SIG_EXT).
#[tokio::test]
async fn range_with_md5_accepts_only_signed_connections() {
    init_tracing();
    let listener = listen("127.0.0.1");
    let port = port_of(&listener);
    let mut template = fast_config("127.0.0.1", "127.0.3.1", 179, 65001, 0, 1);
    template.md5_password = Some("range-secret".into());
    let mut handles = listener
        .add_dynamic(DynamicNeighbors {
            prefixes: vec!["127.0.3.0/24".parse().unwrap()],
            allowed_asns: vec![65020],
            limit: None,
            template,
        })
        .unwrap();

    // Unsigned: the handshake never completes.
    let unsigned = tokio::time::timeout(
        Duration::from_secs(1),
        RawPeer::connect("127.0.3.8", listener.local_addrs()[0]),
    )
    .await;
    assert!(unsigned.is_err(), "unsigned SYN must be dropped");

    let mut signed = fast_config("127.0.3.9", "127.0.0.1", port, 65020, 65001, 9);
    signed.md5_password = Some("range-secret".into());
    let mut remote = spawn_peer(signed, None).unwrap();
    remote.start().await.unwrap();
    let mut dynamic = tokio::time::timeout(WAIT, handles.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dynamic.peer().to_string(), "127.0.3.9");
    wait_established(&mut dynamic).await;
    wait_established(&mut remote).await;
}
