//! 1,000 Service addresses announced by 10 workers: all installed with 10 next hops; when a
//! worker's BGP daemon crashes, and when a worker drops off the network, the time until no
//! kernel route references it is measured (and bounded by the hold time plus 5 s).

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ferrolb_testbed::BgpDaemon;
use ipnet::IpNet;
use support::*;

const SERVICES: u32 = 1000;
const WORKERS: usize = 10;
const HOLD_TIME: Duration = Duration::from_secs(3);

fn service(i: u32) -> IpNet {
    let [_, _, hi, lo] = (i + 1).to_be_bytes();
    IpNet::new(IpAddr::V4(Ipv4Addr::new(10, 96, hi, lo)), 32).unwrap()
}

/// Waits until no FerroLB route in `ns` forwards to `gone`; returns how long that took.
fn time_until_unreferenced(
    ns: &ferrolb_testbed::Netns,
    gone: Ipv4Addr,
    since: Instant,
) -> Duration {
    wait_for(
        &format!("no route via {gone}"),
        HOLD_TIME + Duration::from_secs(5),
        || {
            let (via, total) = routes_via(ns, gone);
            (via == 0 && total == SERVICES as usize).then(|| since.elapsed())
        },
    )
}

/// Prints the router's log line about its last kernel update (how many netlink operations).
fn print_last_update(lab: &Lab) {
    let lines = lab.router.as_ref().unwrap().child.lines();
    if let Some(line) = lines
        .iter()
        .rev()
        .find(|l| l.text.contains("kernel updated"))
    {
        println!("  router: {}", line.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_scale_1000_services_from_10_workers() {
    let mut lab = Lab::new(WORKERS);
    lab.start_router(&router_yaml(
        "",
        "import:\n  servicePools: [10.96.0.0/20]\n",
    ))
    .await;
    let services: Vec<IpNet> = (0..SERVICES).map(service).collect();
    let started = Instant::now();
    for i in 0..WORKERS {
        lab.start_bird(i, &services);
    }
    let ns = &lab.lan.nodes[0].ns;
    let routes = wait_for(
        "1,000 routes with 10 next hops each",
        Duration::from_secs(60),
        || {
            let routes = kernel_routes(ns);
            let done = routes.len() == SERVICES as usize
                && routes.iter().all(|r| r.gateways.len() == WORKERS);
            done.then_some(routes)
        },
    );
    let groups: BTreeSet<u64> = routes.iter().filter_map(|r| r.nhid).collect();
    println!(
        "{SERVICES} routes x {WORKERS} next hops installed {:?} after the speakers started, using {} nexthop group(s)",
        started.elapsed(),
        groups.len()
    );
    assert_eq!(routes.iter().filter(|r| r.nhid.is_none()).count(), 0);
    let router = lab.router.as_ref().unwrap();
    let listed = router.json("/api/v1/routes").await;
    let installed = listed["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["installed"] == true)
        .count();
    assert_eq!(installed, SERVICES as usize);

    // A worker's BGP daemon crashes: its TCP connection closes with it.
    let crashed = lab.worker(WORKERS - 1).v4;
    let t = Instant::now();
    lab.bird(WORKERS - 1).kill().unwrap();
    let took = time_until_unreferenced(ns, crashed, t);
    println!("BGP daemon of {crashed} killed: no route references it after {took:?}");
    print_last_update(&lab);

    // A worker drops off the network silently: the hold timer ({HOLD_TIME:?}) notices.
    let lost = lab.worker(WORKERS - 2).v4;
    let t = Instant::now();
    lab.worker(WORKERS - 2).iface.set_down().unwrap();
    let took = time_until_unreferenced(ns, lost, t);
    println!("link of {lost} down: no route references it after {took:?}");
    print_last_update(&lab);

    // The routes stayed on their groups: the groups were rewritten, not the routes.
    let after = kernel_routes(ns);
    assert!(
        after.iter().all(|r| r.gateways.len() == WORKERS - 2),
        "widths"
    );
    let groups_after: BTreeSet<u64> = after.iter().filter_map(|r| r.nhid).collect();
    assert!(
        groups_after.is_subset(&groups),
        "{groups:?} -> {groups_after:?}"
    );
}
