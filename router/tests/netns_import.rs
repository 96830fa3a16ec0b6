//! Import safety and limits with multipath routes (`fib.nexthopGroups: off`): a prefix outside
//! the pools waits, refused; a worker over its prefix limit is torn down and its routes leave;
//! a reload that adds the missing pool installs the waiting prefix without resetting any
//! session, and one that drops a pool removes its routes.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_import_safety_max_prefix_and_reload() {
    let mut lab = Lab::new(3);
    let group = "      maxPrefixes: {limit: 3, action: teardown}\n";
    let yaml = |pools: &str| {
        router_yaml(
            group,
            &format!("import:\n  servicePools: [{pools}]\nfib:\n  nexthopGroups: off\n"),
        )
    };
    lab.start_router(&yaml("10.96.0.0/24")).await;
    lab.start_bird(0, &[net("10.96.0.10/32"), net("10.97.0.10/32")]);
    lab.start_bird(2, &[net("10.96.0.10/32")]);
    let greedy: Vec<_> = std::iter::once(net("10.96.0.10/32"))
        .chain((20..24).map(|i| net(&format!("10.96.0.{i}/32"))))
        .collect();
    lab.start_bird(1, &greedy);
    let ns = &lab.lan.nodes[0].ns;
    let (w0, w1, w2) = (lab.worker(0).v4, lab.worker(1).v4, lab.worker(2).v4);

    // Multipath route (no nexthop group) over the two well-behaved workers.
    let both = addrs([IpAddr::V4(w0), IpAddr::V4(w2)]);
    let route = wait_for("10.96.0.10 over workers 0 and 2", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == both)
    });
    assert_eq!(route.nhid, None, "{route:?}");

    // Worker 1 announced five prefixes with a limit of three: torn down (it keeps coming
    // back and is torn down again), its routes never stay.
    let router = lab.router.as_mut().unwrap();
    let w1_text = w1.to_string();
    let line = router
        .child
        .wait_for_line(WAIT, |l| {
            l.contains("exceeds its prefix limit; closing the session") && l.contains(&w1_text)
        })
        .await;
    println!("{line}");
    let router = lab.router.as_ref().unwrap();
    wait_for_async("worker 1 without an Established session", WAIT, || async {
        let peer = router.peer(IpAddr::V4(w1)).await;
        peer.is_none_or(|p| p["state"] != "Established")
            .then_some(())
    })
    .await;
    wait_for("worker 1's routes to leave the kernel", WAIT, || {
        let routes = kernel_routes(ns);
        let clean = routes
            .iter()
            .all(|r| !r.dst.starts_with("10.96.0.2") && !r.gateways.contains(&w1_text));
        clean.then_some(())
    });

    // 10.97.0.10 is outside the pools: learned, refused, not installed.
    let waiting = wait_for_async("10.97.0.10 learned", WAIT, || async {
        router.route("10.97.0.10/32").await
    })
    .await;
    assert_eq!(waiting["accepted"], false, "{waiting}");
    assert!(kernel_route(ns, "10.97.0.10").is_none());
    let before = router.peer(IpAddr::V4(w0)).await.unwrap();
    assert_eq!(before["state"], "Established");

    // Reload with the pool added: installed at once, no session reset.
    let router = lab.router.as_mut().unwrap();
    std::fs::write(&router.config, yaml("10.96.0.0/24, 10.97.0.0/24")).unwrap();
    router.child.signal(libc::SIGHUP);
    let line = router
        .child
        .wait_for_line(Duration::from_secs(10), |l| {
            l.contains("configuration reloaded")
        })
        .await;
    assert!(line.contains("1 routes now accepted"), "{line}");
    let route = wait_for(
        "10.97.0.10 installed after the reload",
        Duration::from_secs(5),
        || kernel_route(ns, "10.97.0.10"),
    );
    assert_eq!(route.gateways, addrs([IpAddr::V4(w0)]));
    let after = router.peer(IpAddr::V4(w0)).await.unwrap();
    assert_eq!(after["state"], "Established", "{after}");
    assert!(
        after["uptimeSeconds"].as_u64() >= before["uptimeSeconds"].as_u64(),
        "session reset: {before} -> {after}"
    );
    assert_eq!(after["lastDown"], serde_json::Value::Null, "{after}");

    // Reload without 10.96.0.0/24: its route leaves the kernel.
    std::fs::write(&router.config, yaml("10.97.0.0/24")).unwrap();
    router.child.signal(libc::SIGHUP);
    wait_for(
        "10.96.0.10 removed after the reload",
        Duration::from_secs(5),
        || kernel_route(ns, "10.96.0.10").is_none().then_some(()),
    );
    assert!(kernel_route(ns, "10.97.0.10").is_some());
}
