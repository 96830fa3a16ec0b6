//! BFD on the router's BGP sessions against a real FRR (bgpd + bfdd): two workers announce one
//! Service address, worker 0 through FRR with `bfd` on its neighbour, worker 1 through BIRD
//! without BFD. Both BGP sessions have a 90 s hold time (BIRD's 3 s keeps worker 1 honest), so
//! when FRR freezes (SIGSTOP) only BFD can take worker 0 out of the ECMP route quickly: the
//! test asserts it leaves the kernel's route within 10 s, far inside the hold time, and comes
//! back once FRR runs again.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_testbed::prelude::*;
use support::*;

/// Far below the 90 s hold time; BFD detects in about a second (FRR's 300 ms x 3).
const BFD_BOUND: Duration = Duration::from_secs(10);

fn yaml() -> String {
    format!(
        "routerId: 198.18.0.1\nasn: {ROUTER_ASN}\n\
         bfd:\n  profiles:\n    - {{name: fast, transmitInterval: 100, receiveInterval: 100, detectMultiplier: 3}}\n\
         bgp:\n  peerGroups:\n    - name: workers\n      listenRanges: [198.18.0.0/24]\n      \
         allowedAsns: [{WORKER_ASN}]\n      holdTime: 90s\n      bfd: fast\n\
         import:\n  servicePools: [10.96.0.0/24]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_bfd_takes_a_frozen_worker_out_long_before_the_hold_time() {
    let mut lab = Lab::new(2);
    let service = net("10.96.0.10/32");
    lab.start_router(&yaml()).await;
    lab.start_frr(0, &[service], 90, true);
    lab.start_bird(1, &[service]);
    let ns = lab.router_ns();
    let (w0, w1) = (lab.worker(0).v4, lab.worker(1).v4);
    let both = addrs([IpAddr::V4(w0), IpAddr::V4(w1)]);
    wait_for("10.96.0.10 via both workers", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == both)
    });

    // FRR's BFD session with the router comes Up; the admin API and metrics show it.
    let router = lab.router.as_ref().unwrap();
    let frr_peer = wait_for_async("worker 0's BFD session Up", WAIT, || async {
        let peer = router.peer(IpAddr::V4(w0)).await?;
        (peer["bfd"]["state"] == "Up").then_some(peer)
    })
    .await;
    let bfd = &frr_peer["bfd"];
    assert_eq!(bfd["mode"], "single-hop", "{frr_peer}");
    assert_eq!(bfd["interface"], "eth0", "{frr_peer}");
    assert_eq!(bfd["local"], ROUTER_LAN.to_string(), "{frr_peer}");
    assert!(bfd["detectionTimeMs"].as_u64().unwrap() > 0, "{frr_peer}");
    assert_eq!(
        lab.frr(0)
            .bfd_status(IpAddr::V4(ROUTER_LAN))
            .unwrap()
            .as_deref(),
        Some("up")
    );
    // BIRD runs no BFD: the router's session towards it never comes up, and that is no
    // failure (RFC 5882: only Up to Down is).
    let bird_peer = wait_for_async("worker 1's BFD session started", WAIT, || async {
        let peer = router.peer(IpAddr::V4(w1)).await?;
        peer["bfd"].is_object().then_some(peer)
    })
    .await;
    assert_ne!(bird_peer["bfd"]["state"], "Up", "{bird_peer}");
    assert_eq!(bird_peer["bfd"]["failures"], 0, "{bird_peer}");
    let up = format!("ferrolb_router_bfd_session_up{{peer=\"{w0}\"}}");
    wait_for_async(&up, Duration::from_secs(5), || async {
        (metric(&router.metrics().await, &up) == Some(1.0)).then_some(())
    })
    .await;
    // The BFD driver's own series, per session: Up (3), packets both ways, a state change.
    let text = router.metrics().await;
    let session = format!("{{peer=\"{w0}\",local=\"{ROUTER_LAN}\",mode=\"single-hop\"}}");
    assert_eq!(
        metric(&text, &format!("ferrolb_router_bfd_session_state{session}")),
        Some(3.0),
        "{text}"
    );
    for counter in ["packets_received", "packets_sent", "state_changes"] {
        let series = format!("ferrolb_router_bfd_{counter}_total{session}");
        assert!(
            metric(&text, &series).is_some_and(|n| n > 0.0),
            "{series} in:\n{text}"
        );
    }

    // FRR freezes: BFD notices, the router closes the BGP session and worker 0 leaves the route.
    let frozen = Instant::now();
    lab.frr(0).pause().unwrap();
    let only_w1 = addrs([IpAddr::V4(w1)]);
    let route = wait_for("worker 0 out of the route", BFD_BOUND, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == only_w1)
    });
    let took = frozen.elapsed();
    println!("worker 0 left the kernel route {took:?} after FRR froze (hold time 90 s)");
    assert!(route.nhid.is_some(), "{route:?}");
    let down = format!("ferrolb_router_bfd_down_events_total{{peer=\"{w0}\"}}");
    assert_eq!(metric(&router.metrics().await, &down), Some(1.0));
    // Worker 1 was not disturbed: its session never dropped.
    let bird_peer = router.peer(IpAddr::V4(w1)).await.unwrap();
    assert_eq!(bird_peer["state"], "Established", "{bird_peer}");

    // FRR runs again: it sees the router's Cease, BGP and BFD come back, and so does the route.
    lab.frr(0).resume().unwrap();
    wait_for("10.96.0.10 via both workers again", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == both)
    });
    wait_for_async("worker 0's BFD session Up again", WAIT, || async {
        let peer = router.peer(IpAddr::V4(w0)).await?;
        (peer["bfd"]["state"] == "Up").then_some(())
    })
    .await;
}
