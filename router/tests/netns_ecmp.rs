//! Three workers announce one Service address (IPv4 and IPv6) with themselves as next hop: the
//! router installs one ECMP route over a kernel nexthop group, spreads new connections over all
//! three, refuses a prefix outside the service pools, drops a worker whose BGP daemon dies,
//! and cleans up on SIGTERM. With `fib.nexthopCompatMode: false` the same holds while the
//! kernel shows routes by group id only.

mod support;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_testbed::prelude::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_three_workers_share_one_ecmp_route() {
    let mut lab = Lab::new(3);
    let v4: IpAddr = "10.96.0.10".parse().unwrap();
    let v6: IpAddr = "2001:db8:96::10".parse().unwrap();
    for i in 0..3 {
        lab.serve(i, &[v4, v6]);
    }
    lab.start_router(&router_yaml(
        "",
        "import:\n  servicePools: [10.96.0.0/24, 2001:db8:96::/112]\nfib:\n  multipathHashPolicy: l4\n",
    ))
    .await;
    let started = Instant::now();
    for i in 0..3 {
        lab.start_bird(i, &[net("10.96.0.10/32"), net("2001:db8:96::10/128")]);
    }
    let ns = &lab.lan.nodes[0].ns;
    let workers_v4 = addrs((0..3).map(|i| IpAddr::V4(lab.worker(i).v4)));
    let workers_v6 = addrs((0..3).map(|i| IpAddr::V6(lab.worker(i).v6)));

    // One kernel route per address, three next hops, through a nexthop group.
    let route = wait_for("10.96.0.10 with three next hops", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == workers_v4)
    });
    println!("ECMP route with 3 next hops after {:?}", started.elapsed());
    let group_id = route.nhid.expect("the route points at a nexthop group");
    let nexthops = kernel_nexthops(ns);
    let group = nexthops
        .iter()
        .find(|n| n["id"] == group_id)
        .unwrap_or_else(|| panic!("group {group_id} in {nexthops:?}"));
    let members: Vec<u64> = group["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(members.len(), 3, "{group}");
    for m in &members {
        let object = nexthops.iter().find(|n| n["id"] == *m).unwrap();
        assert!(
            workers_v4.contains(object["gateway"].as_str().unwrap()),
            "{object}"
        );
    }
    let route6 = wait_for("2001:db8:96::10 with three next hops", WAIT, || {
        kernel_route(ns, "2001:db8:96::10").filter(|r| r.gateways == workers_v6)
    });
    assert!(route6.nhid.is_some());
    assert_eq!(kernel_routes(ns).len(), 2, "{:?}", kernel_routes(ns));
    for (key, want) in [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv6.conf.all.forwarding", "1"),
        ("net.ipv4.fib_multipath_hash_policy", "1"),
        ("net.ipv6.fib_multipath_hash_policy", "1"),
    ] {
        assert_eq!(ns.read_sysctl(key).unwrap(), want, "{key}");
    }

    // New connections spread over all three (L4 hash), none fails.
    let counts = tally(&lab.connect_many(v4, 300));
    println!("300 IPv4 connections: {counts:?}");
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.values().all(|n| *n >= 60),
        "a worker got < 20%: {counts:?}"
    );
    let counts6 = tally(&lab.connect_many(v6, 60));
    println!("60 IPv6 connections: {counts6:?}");
    assert!(counts6.len() >= 2, "{counts6:?}");

    // The admin API agrees with the kernel.
    let router = lab.router.as_ref().unwrap();
    for i in 0..3 {
        let peer = router.peer(IpAddr::V4(lab.worker(i).v4)).await.unwrap();
        assert_eq!(peer["state"], "Established", "{peer}");
        assert_eq!(peer["asn"], WORKER_ASN);
        assert_eq!(peer["dynamic"], true);
        assert_eq!(peer["prefixes"]["accepted"], 2, "{peer}");
        assert_eq!(peer["prefixes"]["received"], 2, "{peer}");
        assert_eq!(peer["prefixes"]["installed"], 1, "{peer}");
    }
    let api_route = router.route("10.96.0.10/32").await.unwrap();
    assert_eq!(api_route["accepted"], true);
    assert_eq!(api_route["installed"], true);
    assert_eq!(api_route["nexthopGroup"], group_id);
    let listed: std::collections::BTreeSet<String> = api_route["installedNextHops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, workers_v4);
    let fib = router.json("/api/v1/fib").await;
    assert_eq!(fib["mode"], "nexthop-groups");
    assert_eq!(fib["protocol"], 200);
    let fib_route = fib["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == "10.96.0.10/32")
        .unwrap()
        .clone();
    assert_eq!(fib_route["nhid"], group_id);
    assert_eq!(
        fib_route["nextHops"].as_array().unwrap().len(),
        3,
        "{fib_route}"
    );
    assert_eq!(fib_route["nextHops"][0]["dev"], "eth0");
    assert_eq!(
        fib["nexthops"].as_array().unwrap().len(),
        3 + 3 + 2,
        "{fib}"
    );
    let schema = router.json("/api/v1/schema").await;
    for part in ["peers", "routes", "fib"] {
        assert!(schema[part]["properties"].is_object(), "{part}: {schema}");
    }
    let text = router.metrics().await;
    for (series, want) in [
        ("ferrolb_router_routes_installed", 2.0),
        ("ferrolb_router_ecmp_width_routes{width=\"3\"}", 2.0),
        ("ferrolb_router_nexthop_groups", 2.0),
    ] {
        assert_eq!(metric(&text, series), Some(want), "{series} in\n{text}");
    }
    let peer_up = format!(
        "ferrolb_router_bgp_session_up{{peer=\"{}\"}}",
        lab.worker(0).v4
    );
    // Per-peer series are refreshed every second.
    wait_for_async(&peer_up, Duration::from_secs(3), || async {
        let text = router.metrics().await;
        (metric(&text, &peer_up) == Some(1.0)).then_some(())
    })
    .await;
    assert!(
        text.contains("ferrolb_router_fib_install_seconds_bucket"),
        "{text}"
    );

    // A prefix outside every pool is refused, counted and never installed.
    lab.bird(0)
        .announce(&Announcement::new(net("8.8.8.0/24")))
        .unwrap();
    let router = lab.router.as_ref().unwrap();
    let refused = wait_for_async("8.8.8.0/24 in the routes API", WAIT, || async {
        router.route("8.8.8.0/24").await
    })
    .await;
    assert_eq!(refused["accepted"], false, "{refused}");
    assert_eq!(refused["installed"], false, "{refused}");
    assert_eq!(refused["rejectReason"], "outside-service-pools");
    let text = router.metrics().await;
    assert_eq!(
        metric(
            &text,
            "ferrolb_router_prefixes_rejected_total{reason=\"outside-service-pools\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(ns
        .ip(&["route", "show", "8.8.8.0/24"])
        .unwrap()
        .trim()
        .is_empty());
    let peer = router.peer(IpAddr::V4(lab.worker(0).v4)).await.unwrap();
    assert_eq!(peer["prefixes"]["rejected"], 1, "{peer}");
    assert_eq!(peer["prefixes"]["accepted"], 2, "{peer}");
    assert_eq!(peer["prefixes"]["received"], 3, "{peer}");
    let received = format!(
        "ferrolb_router_bgp_prefixes_received{{peer=\"{}\"}}",
        lab.worker(0).v4
    );
    let accepted = received.replace("received", "accepted");
    wait_for_async(
        "per-peer prefix metrics",
        Duration::from_secs(3),
        || async {
            let text = router.metrics().await;
            (metric(&text, &received) == Some(3.0) && metric(&text, &accepted) == Some(2.0))
                .then_some(())
        },
    )
    .await;

    // Worker 2's BGP daemon dies: its next hop leaves the group, well within the hold time
    // (its TCP connection closes with it), and the route stays on the same group.
    let gone = lab.worker(2).v4.to_string();
    let killed = Instant::now();
    lab.bird(2).kill().unwrap();
    let route = wait_for(
        "10.96.0.10 with two next hops",
        Duration::from_secs(3 + 2),
        || kernel_route(ns, "10.96.0.10").filter(|r| !r.gateways.contains(&gone)),
    );
    println!(
        "worker 2's BGP daemon killed: next hop gone after {:?}",
        killed.elapsed()
    );
    assert_eq!(route.gateways.len(), 2, "{route:?}");
    assert_eq!(
        route.nhid,
        Some(group_id),
        "the route moved to another group"
    );
    let counts = tally(&lab.connect_many(v4, 60));
    println!("60 connections after the loss: {counts:?}");
    assert!(!counts.contains_key(&Lab::worker_name(2)), "{counts:?}");

    // SIGTERM: exit 0, FerroLB's routes and nexthop objects removed.
    let mut router = lab.router.take().unwrap();
    router.child.signal(libc::SIGTERM);
    let status = router.child.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{}", router.child.transcript());
    assert!(kernel_routes(ns).is_empty(), "{:?}", kernel_routes(ns));
    assert!(kernel_nexthops(ns).is_empty(), "{:?}", kernel_nexthops(ns));
}

/// The gateways of nexthop group `id`, from `ip -j nexthop`.
fn group_gateways(ns: &Netns, id: u64) -> BTreeSet<String> {
    let nexthops = kernel_nexthops(ns);
    let Some(group) = nexthops.iter().find(|n| n["id"] == id) else {
        return BTreeSet::new();
    };
    group["group"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| nexthops.iter().find(|n| n["id"] == m["id"]))
        .filter_map(|object| object["gateway"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_without_compat_notifications_a_crashed_worker_still_leaves_its_group() {
    let mut lab = Lab::new(3);
    let v4: IpAddr = "10.96.0.10".parse().unwrap();
    for i in 0..3 {
        lab.serve(i, &[v4]);
    }
    lab.start_router(&router_yaml(
        "",
        "import:\n  servicePools: [10.96.0.0/24]\nfib:\n  nexthopCompatMode: false\n  multipathHashPolicy: l4\n",
    ))
    .await;
    for i in 0..3 {
        lab.start_bird(i, &[net("10.96.0.10/32")]);
    }
    let ns = &lab.lan.nodes[0].ns;
    assert_eq!(ns.read_sysctl("net.ipv4.nexthop_compat_mode").unwrap(), "0");
    let workers = addrs((0..3).map(|i| IpAddr::V4(lab.worker(i).v4)));
    let (route, group) = wait_for("10.96.0.10 on a group of three", WAIT, || {
        let route = kernel_route(ns, "10.96.0.10")?;
        let group = route.nhid?;
        (group_gateways(ns, group) == workers).then_some((route, group))
    });
    // Without compat mode the kernel no longer expands a group into the route it carries.
    assert!(route.gateways.is_empty(), "{route:?}");

    let gone = lab.worker(2).v4.to_string();
    lab.bird(2).kill().unwrap();
    let left = wait_for(
        "the group without worker 2",
        Duration::from_secs(3 + 2),
        || {
            let members = group_gateways(ns, group);
            (members.len() == 2).then_some(members)
        },
    );
    assert!(!left.contains(&gone), "{left:?}");
    assert_eq!(
        kernel_route(ns, "10.96.0.10").and_then(|r| r.nhid),
        Some(group)
    );
    let counts = tally(&lab.connect_many(v4, 60));
    println!("60 connections after the loss: {counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(!counts.contains_key(&Lab::worker_name(2)), "{counts:?}");
}
