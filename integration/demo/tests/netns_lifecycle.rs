//! The system over its life, on one running demo system (real controller,
//! speakers and routers in namespaces around the in-process API server):
//! Services scale and go away, the controller is killed, every speaker is
//! rolled with a client load running, a router restarts. Each phase
//! asserts what a user sees: the routers' kernel FIBs, the Services'
//! addresses and pool status, requests answered.
//!
//! Needs root and the daemons built into the same target directory as
//! this test (CI's `cargo nextest run --workspace` builds them all).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrolb_demo::daemons::POD_PORT;
use ferrolb_demo::fib::PROTOCOL;
use ferrolb_demo::load::Load;
use ferrolb_demo::manifests::{endpoint_slice, service};
use ferrolb_demo::topology::{node_addr, node_name, router_name, NODES, ROUTERS};
use ferrolb_demo::{Cancel, Narrator, Options, Stop, System};
use ferrolb_testbed::fib::parse_kernel_routes;
use ipnet::Ipv4Net;

/// Generous: the machine may be busy; nothing here is a timing assertion.
const WAIT: Duration = Duration::from_secs(30);
/// The BGP pool (`configs/demo/cluster.yaml`).
const BGP_POOL: &str = "198.51.100.0/28";
/// Steady traffic before a rollout, and between its steps.
const SETTLE: Duration = Duration::from_secs(1);

fn options(tag: &str) -> Options {
    common::options(tag, 0)
}

/// The addresses of nodes `nodes` (0-based), as `ip` prints gateways.
fn via(nodes: &[usize]) -> BTreeSet<String> {
    nodes.iter().map(|i| node_addr(*i).to_string()).collect()
}

/// Waits for Service `name`'s address.
fn address_of(sys: &System, cancel: &Cancel, name: &str) -> String {
    cancel
        .wait_for(&format!("an address for {name}"), WAIT, || {
            sys.cluster
                .service_ips()
                .map_err(|e| e.to_string())?
                .get(name)
                .and_then(|ips| ips.first().cloned())
                .ok_or_else(|| "none yet".to_owned())
        })
        .unwrap()
}

/// Waits until pool `pool`'s status counts `assigned` IPv4 addresses.
fn wait_assigned(sys: &System, cancel: &Cancel, pool: &str, assigned: u64) {
    cancel
        .wait_for(&format!("{pool} status: {assigned} assigned"), WAIT, || {
            let status = sys.cluster.pool_status(pool).map_err(|e| e.to_string())?;
            (status.assigned_ipv4 == assigned)
                .then_some(())
                .ok_or_else(|| format!("{status:?}"))
        })
        .unwrap();
}

/// A Service and its EndpointSlice with pods on `nodes`.
fn service_with_pods(name: &str, policy: &str, ip: Option<&str>, nodes: &[usize]) -> String {
    format!(
        "{}\n---\n{}",
        service(name, policy, ip),
        endpoint_slice(name, nodes)
    )
}

#[test]
fn netns_lifecycle_services_change_and_daemons_restart_without_losing_traffic() {
    let options = options("lifecycle");
    let cancel = Cancel::new();
    let n = Narrator::new();
    let started = Instant::now();
    let mut sys = System::start(&options, &cancel, &n).unwrap();
    let namespaces = sys.namespaces();
    let demo = sys.create_demo_services(&cancel, &n).unwrap();
    let (web, shop) = (demo["web"].clone(), demo["shop"].clone());
    // What both routers' FIBs must hold: address -> gateways.
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    want.insert(web.clone(), via(&[0, 1, 2]));
    want.insert(shop.clone(), via(&[0, 1]));
    sys.wait_routes(&cancel, "the demo's routes", &want, WAIT)
        .unwrap();
    n.say(&format!(
        "up with web {web}, shop {shop} (Local, node-1 and node-2)"
    ));

    scale_and_delete(&sys, &cancel, &n, &mut want, &shop);
    restart_controller(&mut sys, &cancel, &n, &mut want);
    roll_speakers(&mut sys, &cancel, &n, &want, &web);
    restart_router(&mut sys, &cancel, &n, &want);

    let dir = options.dir.clone();
    drop(sys);
    for ns in &namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "namespace {ns} left behind"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn netns_lifecycle_a_failing_test_still_removes_the_system() {
    let options = options("panic");
    let seen = std::sync::Mutex::new((Vec::new(), Vec::new()));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let sys = System::start(&options, &Cancel::new(), &Narrator::new()).unwrap();
        *seen.lock().unwrap() = (sys.namespaces(), sys.daemons.pids().into_values().collect());
        panic!("an assertion failed with everything running");
    }));
    assert!(outcome.is_err());
    let (namespaces, pids) = seen.into_inner().unwrap();
    assert_eq!(namespaces.len(), 8, "{namespaces:?}");
    for ns in &namespaces {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "namespace {ns} left behind"
        );
    }
    assert!(pids.len() >= 10, "{pids:?}");
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} left running"
        );
    }
    let _ = std::fs::remove_dir_all(&options.dir);
}

/// Phase 1: a `Local` Service's endpoints move, and a Service is deleted.
fn scale_and_delete(
    sys: &System,
    cancel: &Cancel,
    n: &Narrator,
    want: &mut BTreeMap<String, BTreeSet<String>>,
    shop: &str,
) {
    // A pod of shop starts on node-3: node-3 becomes a next hop.
    sys.cluster
        .apply_yaml(&endpoint_slice("shop", &[0, 1, 2]))
        .unwrap();
    want.insert(shop.to_owned(), via(&[0, 1, 2]));
    sys.wait_routes(cancel, "shop via node-3 too", want, WAIT)
        .unwrap();
    n.say("shop's pod on node-3: both routers route shop via node-1, node-2, node-3");

    // Its pod on node-1 goes: node-1 stops being one.
    sys.cluster
        .apply_yaml(&endpoint_slice("shop", &[1, 2]))
        .unwrap();
    want.insert(shop.to_owned(), via(&[1, 2]));
    sys.wait_routes(cancel, "shop no longer via node-1", want, WAIT)
        .unwrap();
    n.say("shop's pod on node-1 gone: both routers route shop via node-2, node-3");

    // shop is deleted: its route goes, and its address is free again.
    // web and shop.
    let assigned = 2;
    wait_assigned(sys, cancel, "demo-bgp", assigned);
    let deleted = sys
        .cluster
        .delete_yaml(&service_with_pods("shop", "Local", None, &[]))
        .unwrap();
    assert_eq!(deleted, 2);
    want.insert(shop.to_owned(), BTreeSet::new());
    sys.wait_routes(cancel, "shop's route gone", want, WAIT)
        .unwrap();
    wait_assigned(sys, cancel, "demo-bgp", assigned - 1);
    n.say(&format!(
        "shop deleted: {shop} left both FIBs, demo-bgp counts {} assigned",
        assigned - 1
    ));

    // A new Service asking for that address gets it, and is routed.
    sys.cluster
        .apply_yaml(&service_with_pods(
            "again",
            "Cluster",
            Some(shop),
            &[0, 1, 2],
        ))
        .unwrap();
    assert_eq!(address_of(sys, cancel, "again"), shop);
    want.insert(shop.to_owned(), via(&[0, 1, 2]));
    sys.wait_routes(cancel, "again's route", want, WAIT)
        .unwrap();
    wait_assigned(sys, cancel, "demo-bgp", assigned);
    n.say(&format!(
        "new Service again asked for {shop} and got it; routed via all nodes"
    ));
}

/// Phase 2: kill -9 the controller, start it again, add a Service.
fn restart_controller(
    sys: &mut System,
    cancel: &Cancel,
    n: &Narrator,
    want: &mut BTreeMap<String, BTreeSet<String>>,
) {
    let before = sys.cluster.service_ips().unwrap();
    assert_eq!(before.len(), 3, "{before:?}");
    sys.stop_controller(Stop::Kill).unwrap();
    sys.start_controller().unwrap();
    // Created while the new controller is still starting.
    sys.cluster
        .apply_yaml(&service_with_pods("extra", "Cluster", None, &[0, 1, 2]))
        .unwrap();
    cancel
        .wait_for("the restarted controller ready", WAIT, || {
            sys.controller_ready()
        })
        .unwrap();
    let extra = address_of(sys, cancel, "extra");
    let after = sys.cluster.service_ips().unwrap();
    for (name, ips) in &before {
        assert_eq!(after.get(name), Some(ips), "{name} changed address");
    }
    let old: BTreeSet<&String> = before.values().flatten().collect();
    assert!(!old.contains(&extra), "extra got {extra}, already in use");
    let pool: Ipv4Net = BGP_POOL.parse().unwrap();
    assert!(
        pool.contains(&extra.parse::<Ipv4Addr>().unwrap()),
        "{extra}"
    );
    want.insert(extra.clone(), via(&[0, 1, 2]));
    sys.wait_routes(cancel, "extra's route", want, WAIT)
        .unwrap();
    // web, again, extra.
    wait_assigned(sys, cancel, "demo-bgp", 3);
    n.say(&format!(
        "controller killed and restarted: {} Services kept their addresses, extra got {extra}",
        before.len()
    ));
}

/// Phase 3: every speaker restarted in turn, each stopped with SIGTERM as a
/// DaemonSet rollout does (with graceful restart on, the speaker ends its
/// sessions without a NOTIFICATION), while a client keeps sending requests
/// to `web`. The routers must keep every next hop (stale)
/// until the new speaker has sent its routes again, so no request fails;
/// and every speaker's sessions come back.
fn roll_speakers(
    sys: &mut System,
    cancel: &Cancel,
    n: &Narrator,
    want: &BTreeMap<String, BTreeSet<String>>,
    web: &str,
) {
    let target = SocketAddr::new(web.parse::<IpAddr>().unwrap(), POD_PORT);
    let load = Load::start(
        &sys.net.client.ns,
        target,
        4,
        Duration::from_secs(2),
        Duration::from_millis(2),
    )
    .unwrap();
    let routers: Vec<String> = sys
        .net
        .routers
        .iter()
        .map(|r| r.ns.name().to_owned())
        .collect();
    let watch = FibWatch::start(routers, web.to_owned());
    // Steady traffic before the first restart.
    cancel.sleep(SETTLE).unwrap();
    let rollout = Instant::now();
    for i in 0..NODES {
        let restarted = Instant::now();
        // SIGTERM, as the kubelet stops a pod in a DaemonSet rollout.
        sys.restart_speaker(i, Stop::Terminate).unwrap();
        let node = IpAddr::V4(node_addr(i));
        cancel
            .wait_for(
                &format!(
                    "{}'s new speaker Established with both routers",
                    node_name(i)
                ),
                WAIT,
                || {
                    sys.speaker_ready(i)?;
                    // A session younger than the restart is the new one.
                    let since = restarted.elapsed().as_secs();
                    for r in 0..ROUTERS {
                        let new_session = sys.peers(r)?.iter().any(|p| {
                            p.address == node
                                && p.established
                                && p.uptime_seconds.is_some_and(|up| up <= since)
                        });
                        if !new_session {
                            return Err(format!("{} not yet", router_name(r)));
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
        n.say(&format!(
            "{}'s speaker stopped (SIGTERM) and restarted; new sessions Established after {} ms",
            node_name(i),
            restarted.elapsed().as_millis()
        ));
        // As a DaemonSet rollout waits before the next node; End-of-RIB
        // and the end of the stale routes fall in here.
        cancel.sleep(SETTLE).unwrap();
    }
    sys.wait_routes(cancel, "every route after the rollout", want, WAIT)
        .unwrap();
    let (fewest, samples) = watch.finish();
    let spread = load.finish().unwrap();
    n.say(&format!(
        "rollout took {} ms; client -> web {web} meanwhile:\n{}",
        rollout.elapsed().as_millis(),
        spread.render().trim_end()
    ));
    n.say(&format!(
        "fewest next hops of web's route over {samples} FIB samples, per router: {fewest:?}"
    ));
    assert_eq!(spread.failures, 0, "{spread:?}");
    assert!(spread.total() >= 200, "too few requests: {spread:?}");
    assert_eq!(spread.servers(), via_names(&[0, 1, 2]), "{spread:?}");
    assert_eq!(
        fewest,
        vec![NODES; ROUTERS],
        "a router dropped a restarting node's route"
    );
}

/// Samples the routers' kernel routes to one address from its own thread
/// until finished: the fewest next hops each router's route had.
struct FibWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(Vec<usize>, usize)>>,
}

impl FibWatch {
    /// Watches `dst` in the namespaces named `routers`.
    fn start(routers: Vec<String>, dst: String) -> FibWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut fewest = vec![usize::MAX; routers.len()];
            let mut samples = 0;
            while !stopped.load(Ordering::SeqCst) {
                for (ns, fewest) in routers.iter().zip(&mut fewest) {
                    let json = ferrolb_testbed::process::run(
                        Command::new("ip")
                            .args(["-n", ns, "-4", "-j", "route", "show", "proto", PROTOCOL]),
                    )
                    .unwrap();
                    let hops = parse_kernel_routes(&json)
                        .unwrap()
                        .iter()
                        .find(|r| r.dst == dst)
                        .map_or(0, |r| r.gateways.len());
                    *fewest = (*fewest).min(hops);
                }
                samples += 1;
            }
            (fewest, samples)
        });
        FibWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling: the fewest next hops per router, and the samples.
    fn finish(mut self) -> (Vec<usize>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.take().unwrap();
        thread.join().unwrap()
    }
}

impl Drop for FibWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn via_names(nodes: &[usize]) -> BTreeSet<String> {
    nodes.iter().map(|i| node_name(*i)).collect()
}

/// Phase 4: a router restarts with an empty FIB and learns every route
/// from the speakers again.
fn restart_router(
    sys: &mut System,
    cancel: &Cancel,
    n: &Narrator,
    want: &BTreeMap<String, BTreeSet<String>>,
) {
    const R: usize = 1;
    sys.stop_router(R, Stop::Terminate).unwrap();
    let left = sys.fib(R).unwrap();
    assert!(left.is_empty(), "routes left after shutdown: {left:?}");
    let started = Instant::now();
    sys.start_router(R).unwrap();
    sys.wait_routes(cancel, "the restarted router's routes", want, WAIT)
        .unwrap();
    let took = started.elapsed();
    let sessions = cancel
        .wait_for("sessions with every node", WAIT, || {
            let up = sys.established(R)?;
            (up.len() == NODES)
                .then_some(up.clone())
                .ok_or_else(|| format!("{up:?}"))
        })
        .unwrap();
    n.say(&format!(
        "{} restarted with an empty FIB: all {} Service routes back {} ms after it started ({} sessions)",
        router_name(R),
        want.values().filter(|g| !g.is_empty()).count(),
        took.as_millis(),
        sessions.len()
    ));
}
