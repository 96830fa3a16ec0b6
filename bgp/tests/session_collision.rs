//! Connection collisions (RFC 4271 section 6.8): both speakers connect at once.

mod session_support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ferrolb_bgp::message::{subcode, Capability, GracefulRestartCapability, Message, Notification};
use ferrolb_bgp::session::{DownReason, SessionEvent};
use session_support::*;
use tokio::net::TcpListener;

/// Established TCP connections in this network namespace with one end on `port` of `ip`,
/// from the kernel's own table (each connection is listed once per end).
fn established_on(ip: [u8; 4], port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let want = format!(
        "{:02X}{:02X}{:02X}{:02X}:{port:04X}",
        ip[3], ip[2], ip[1], ip[0]
    );
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[3] == "01" && (f[1] == want || f[2] == want)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connects_leave_exactly_one_session() {
    // Both router-id orders: A (10.0.0.1) lower than B (10.0.0.2), and the other way round.
    for swap_ids in [false, true] {
        let Pair {
            mut a,
            mut b,
            listener_a,
            listener_b,
        } = pair(|c| {
            if swap_ids {
                c.session.router_id = router_id(if c.address.to_string() == "127.0.0.2" {
                    2
                } else {
                    1
                });
            }
        });
        tokio::join!(async { a.start().await.unwrap() }, async {
            b.start().await.unwrap()
        });
        let SessionEvent::Established {
            local: la,
            remote: ra,
            ..
        } = wait_established(&mut a).await
        else {
            unreachable!()
        };
        let SessionEvent::Established {
            local: lb,
            remote: rb,
            ..
        } = wait_established(&mut b).await
        else {
            unreachable!()
        };
        assert_eq!((la, ra), (rb, lb), "both kept the same connection");
        // It stays up, and the kernel agrees that one connection is left.
        let later = events_for(&mut a, Duration::from_secs(2)).await;
        assert!(
            !later.iter().any(|e| matches!(e, SessionEvent::Down(_))),
            "{later:?}"
        );
        let (pa, pb) = (port_of(&listener_a), port_of(&listener_b));
        let total = established_on([127, 0, 0, 1], pa) + established_on([127, 0, 0, 2], pb);
        assert_eq!(total, 2, "one connection, seen from both ends");
    }
}

/// A raw speaker opens a second connection while FerroLB's own is in OpenSent; FerroLB must
/// keep the one RFC 4271 6.8 keeps and close the other with Cease/Connection Collision
/// Resolution.
#[tokio::test]
async fn collision_keeps_the_connection_of_the_higher_identifier() {
    // (FerroLB's id, raw speaker's id, raw's connection survives)
    for (ours, theirs, raw_initiated_wins) in [(1u8, 9u8, true), (9, 1, false)] {
        init_tracing();
        let raw_listener = TcpListener::bind("127.0.0.30:0").await.unwrap();
        let listener = listen("127.0.0.1");
        let mut c = fast_config(
            "127.0.0.1",
            "127.0.0.30",
            raw_listener.local_addr().unwrap().port(),
            65001,
            65002,
            ours,
        );
        c.session.hold_time = 30;
        let mut peer = ferrolb_bgp::session::spawn_peer(c, Some(&listener)).unwrap();
        peer.start().await.unwrap();

        // Connection 1: FerroLB's outgoing one.
        let (s1, _) = tokio::time::timeout(WAIT, raw_listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut out = RawPeer::new(s1);
        assert!(matches!(out.recv().await, Some(Message::Open(_))));
        // Connection 2: ours, into FerroLB's listener.
        let (mut inc, _) = raw_to(&listener, "127.0.0.30").await;
        let inc_addr: SocketAddr = inc.stream.local_addr().unwrap();

        // The OPENs carry the raw speaker's identifier: FerroLB decides on the first one.
        out.send(&Message::Open(open(65002, 30, theirs))).await;
        inc.send(&Message::Open(open(65002, 30, theirs))).await;
        let cease = Some(Message::Notification(Notification::cease(
            subcode::cease::CONNECTION_COLLISION_RESOLUTION,
        )));
        let (mut winner, mut loser) = if raw_initiated_wins {
            (inc, out)
        } else {
            (out, inc)
        };
        assert_eq!(
            loser.recv().await,
            cease,
            "ids {ours} vs {theirs}: no KEEPALIVE on the loser"
        );
        assert_eq!(loser.recv().await, None);
        assert_eq!(winner.recv().await, Some(Message::Keepalive));
        winner.send(&Message::Keepalive).await;
        let SessionEvent::Established { remote, .. } = wait_established(&mut peer).await else {
            unreachable!()
        };
        let winner_addr = winner.stream.local_addr().unwrap();
        assert_eq!(remote, winner_addr);
        assert_eq!(remote == inc_addr, raw_initiated_wins);
        let events = events_for(&mut peer, Duration::from_millis(300)).await;
        assert!(
            !events.iter().any(|e| matches!(e, SessionEvent::Down(_))),
            "the collision is invisible: {events:?}"
        );
    }
}

/// With a session Established, a new connection loses (RFC 4271 6.8) — unless the peer
/// announced graceful restart, in which case the new connection is the restarted peer and
/// replaces the old session (RFC 4724 4.2).
#[tokio::test]
async fn new_connection_against_established_session() {
    for graceful_restart in [false, true] {
        let from = if graceful_restart {
            "127.0.0.32"
        } else {
            "127.0.0.31"
        };
        let (mut peer, listener) = passive_peer(from, |c| c.session.hold_time = 30);
        peer.start().await.unwrap();
        let mut their_open = open(65002, 30, 7);
        if graceful_restart {
            their_open
                .capabilities
                .push(Capability::GracefulRestart(GracefulRestartCapability {
                    restarting: false,
                    restart_time: 120,
                    families: vec![],
                }));
        }
        let (mut first, _) = raw_to(&listener, from).await;
        first.send(&Message::Open(their_open.clone())).await;
        first.send(&Message::Keepalive).await;
        wait_established(&mut peer).await;

        let (mut second, _) = raw_to(&listener, from).await;
        second.send(&Message::Open(their_open.clone())).await;
        let cease = Some(Message::Notification(Notification::cease(
            subcode::cease::CONNECTION_COLLISION_RESOLUTION,
        )));
        if graceful_restart {
            assert_eq!(first.recv_not_keepalive().await, cease);
            let SessionEvent::Down(down) =
                wait_for(&mut peer, "Down", |e| matches!(e, SessionEvent::Down(_))).await
            else {
                unreachable!()
            };
            assert_eq!(down.reason, DownReason::ConnectionCollision);
            assert_eq!(second.recv().await, Some(Message::Keepalive));
            second.send(&Message::Keepalive).await;
            let SessionEvent::Established { remote, .. } = wait_established(&mut peer).await else {
                unreachable!()
            };
            assert_eq!(remote, second.stream.local_addr().unwrap());
        } else {
            assert_eq!(second.recv_not_keepalive().await, cease);
            // The old session is untouched.
            first.send(&Message::Keepalive).await;
            let events = events_for(&mut peer, Duration::from_millis(500)).await;
            let kinds: HashSet<_> = events.iter().map(std::mem::discriminant).collect();
            assert!(kinds.is_empty(), "{events:?}");
        }
    }
}
