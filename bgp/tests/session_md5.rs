//! TCP MD5 signatures between two FerroLB speakers on loopback.

mod session_support;

use std::time::Duration;

use ferrolb_bgp::session::{spawn_peer, PeerConfig, SessionError, State};
use session_support::*;

fn with_passwords(a: Option<&'static str>, b: Option<&'static str>) -> impl Fn(&mut PeerConfig) {
    // A's config points at 127.0.0.2, B's at 127.0.0.1.
    move |c: &mut PeerConfig| {
        c.md5_password = if c.address.to_string() == "127.0.0.2" {
            a
        } else {
            b
        }
        .map(String::from);
        c.connect_timeout = Duration::from_millis(500);
    }
}

#[tokio::test]
async fn matching_passwords_establish() {
    let Pair {
        mut a,
        mut b,
        listener_a: _la,
        listener_b: _lb,
    } = pair(with_passwords(Some("s3cret"), Some("s3cret")));
    a.start().await.unwrap();
    b.start().await.unwrap();
    wait_established(&mut a).await;
    wait_established(&mut b).await;
}

#[tokio::test]
async fn mismatched_or_missing_passwords_never_establish() {
    for (pa, pb) in [(Some("s3cret"), Some("other")), (Some("s3cret"), None)] {
        let Pair {
            mut a,
            mut b,
            listener_a: _la,
            listener_b: _lb,
        } = pair(with_passwords(pa, pb));
        a.start().await.unwrap();
        b.start().await.unwrap();
        let (ea, eb) = tokio::join!(
            events_for(&mut a, Duration::from_secs(3)),
            events_for(&mut b, Duration::from_secs(3))
        );
        // The kernel drops unsigned or badly signed segments: not even the TCP handshake
        // completes, so no OPEN is ever sent.
        for events in [&ea, &eb] {
            assert!(
                reached(events, State::Connect),
                "{pa:?}/{pb:?}: kept trying: {events:?}"
            );
            assert!(
                !reached(events, State::OpenSent),
                "{pa:?}/{pb:?}: {events:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_password_the_kernel_refuses_is_a_clear_error() {
    let listener = listen("127.0.0.1");
    let mut c = fast_config("127.0.0.1", "127.0.0.2", 179, 65001, 65002, 1);
    c.md5_password = Some("x".repeat(81));
    let err = spawn_peer(c, Some(&listener)).unwrap_err();
    assert!(matches!(err, SessionError::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("MD5"), "{err}");
}
