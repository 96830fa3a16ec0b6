//! Restarts: with `fib.keepRoutesOnShutdown` routes survive a restart and are taken over when
//! the speakers come back; after a crash, a router that does not keep routes removes what the
//! previous run left at start. And a router refuses to start with forwarding off unless it may
//! switch it on.

mod support;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_daemon::testing::{DaemonChild, TempDir, TIMEOUT};
use ferrolb_testbed::Netns;
use support::*;

fn nexthop_ids(ns: &Netns) -> BTreeSet<u64> {
    kernel_nexthops(ns)
        .iter()
        .filter_map(|n| n["id"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_kept_routes_survive_a_restart_and_leftovers_are_swept_after_a_crash() {
    let mut lab = Lab::new(1);
    let keep = router_yaml(
        "",
        "import:\n  servicePools: [10.96.0.0/24]\nfib:\n  keepRoutesOnShutdown: true\n",
    );
    lab.start_router(&keep).await;
    lab.start_bird(0, &[net("10.96.0.10/32")]);
    let ns = &lab.lan.nodes[0].ns;
    let worker = addrs([IpAddr::V4(lab.worker(0).v4)]);
    let first = wait_for("the route", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == worker)
    });
    let first_ids = nexthop_ids(ns);

    // A clean stop keeps the route and its nexthop objects.
    let mut router = lab.router.take().unwrap();
    router.child.signal(libc::SIGTERM);
    assert_eq!(router.child.wait_exit(TIMEOUT).await.code(), Some(0));
    assert_eq!(kernel_route(ns, "10.96.0.10"), Some(first.clone()));
    assert_eq!(nexthop_ids(ns), first_ids);

    // The next run keeps forwarding through them until the speaker is back, then moves the
    // route to objects of its own; the old ones wait for the end of the grace period.
    lab.router = Some(RouterProcess::start(ns, &keep).await);
    let adopted = wait_for("the route on new nexthop objects", WAIT, || {
        let route = kernel_route(ns, "10.96.0.10");
        assert!(route.is_some(), "the route vanished during the restart");
        route.filter(|r| r.nhid != first.nhid)
    });
    assert_eq!(adopted.gateways, worker);
    assert!(
        first_ids.is_subset(&nexthop_ids(ns)),
        "swept before the grace period"
    );

    // A crash leaves everything behind; a router that does not keep routes removes it all
    // at start (the speaker's route then comes back on fresh objects).
    let before_crash = nexthop_ids(ns);
    let mut crashed = lab.router.take().unwrap();
    crashed.child.signal(libc::SIGKILL);
    crashed.child.wait_exit(TIMEOUT).await;
    let no_keep = router_yaml("", "import:\n  servicePools: [10.96.0.0/24]\n");
    lab.router = Some(RouterProcess::start(ns, &no_keep).await);
    let leftovers: Vec<u64> = nexthop_ids(ns)
        .intersection(&before_crash)
        .copied()
        .collect();
    assert!(leftovers.is_empty(), "left over: {leftovers:?}");
    wait_for("the route back", WAIT, || {
        kernel_route(ns, "10.96.0.10").filter(|r| r.gateways == worker)
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_forwarding_off_stops_the_router_unless_it_may_enable_it() {
    let ns = Netns::new("router").unwrap();
    ns.sysctl("net.ipv4.ip_forward", "0").unwrap();
    let dir = TempDir::new("router-sysctl");
    let config = dir.join("router.yaml");
    let yaml = |set: bool| {
        format!(
            "routerId: 192.0.2.1\nasn: 64512\nimport: {{servicePools: [10.96.0.0/24]}}\n\
             fib: {{setForwardingSysctls: {set}}}\n\
             bgp:\n  peerGroups:\n    - name: tor\n      neighbors: [{{address: 192.0.2.2, asn: 64513}}]\n"
        )
    };
    let spawn = || {
        let mut command = DaemonChild::command("ip");
        command.args(["netns", "exec", ns.name(), BIN, "--config"]);
        command.arg(&config);
        command.arg("--admin-listen");
        command.arg(format!("unix:{}", dir.join("admin.sock").display()));
        DaemonChild::spawn_command(command)
    };

    std::fs::write(&config, yaml(false)).unwrap();
    let mut child = spawn();
    let status = child.wait_exit(TIMEOUT).await;
    assert_eq!(status.code(), Some(1), "{}", child.transcript());
    assert!(
        child.transcript().contains("net.ipv4.ip_forward is 0"),
        "{}",
        child.transcript()
    );
    assert_eq!(ns.read_sysctl("net.ipv4.ip_forward").unwrap(), "0");

    std::fs::write(&config, yaml(true)).unwrap();
    let mut child = spawn();
    child
        .wait_for_line(TIMEOUT, |l| l.contains("kernel forwarding ready"))
        .await;
    assert_eq!(ns.read_sysctl("net.ipv4.ip_forward").unwrap(), "1");
    child.signal(libc::SIGTERM);
    assert_eq!(
        child.wait_exit(Duration::from_secs(10)).await.code(),
        Some(0),
        "{}",
        child.transcript()
    );
}
