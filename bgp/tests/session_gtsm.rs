//! GTSM (RFC 5082) between two FerroLB speakers on loopback, where packets keep TTL 255.

mod session_support;

use std::time::Duration;

use ferrolb_bgp::session::{PeerConfig, State, TtlMode};
use session_support::*;

fn ttl_modes(a: TtlMode, b: TtlMode) -> impl Fn(&mut PeerConfig) {
    // A's config points at 127.0.0.2, B's at 127.0.0.1.
    move |c: &mut PeerConfig| {
        c.ttl = if c.address.to_string() == "127.0.0.2" {
            a
        } else {
            b
        }
    }
}

#[tokio::test]
async fn gtsm_on_both_sides_establishes() {
    let Pair {
        mut a,
        mut b,
        listener_a: _la,
        listener_b: _lb,
    } = pair(ttl_modes(
        TtlMode::Gtsm { hops: 1 },
        TtlMode::Gtsm { hops: 1 },
    ));
    a.start().await.unwrap();
    b.start().await.unwrap();
    wait_established(&mut a).await;
    wait_established(&mut b).await;
}

#[tokio::test]
async fn a_peer_sending_with_a_low_ttl_never_gets_through() {
    let Pair {
        mut a,
        mut b,
        listener_a: _la,
        listener_b: _lb,
    } = pair(ttl_modes(
        TtlMode::Gtsm { hops: 1 },
        TtlMode::Multihop { ttl: 64 },
    ));
    a.start().await.unwrap();
    b.start().await.unwrap();
    let (ea, eb) = tokio::join!(
        events_for(&mut a, Duration::from_secs(3)),
        events_for(&mut b, Duration::from_secs(3))
    );
    assert!(!reached(&ea, State::Established), "{ea:?}");
    assert!(!reached(&eb, State::Established), "{eb:?}");
    // A never hears B's OPEN.
    assert!(!reached(&ea, State::OpenConfirm), "{ea:?}");
}
