//! VRRP failover benchmark (not a test): how long after the master dies a client in another
//! namespace reaches the virtual address again, served by the backup. FerroLB pairs beside
//! keepalived (`vrrp_version 3`) pairs with the same advertisement interval, for a crash
//! (SIGKILL and the master's link down, as when its machine dies) and a clean stop (priority 0
//! handover), and FerroLB tracking the master by BFD at 50 ms x 3 (the router's
//! `vrrp.instances[].bfd`) for the crash. The client probes with TCP connects (20 ms timeout
//! each) to a listener on both routers that names its router, so only an answer from the
//! backup counts.
//!
//! `cargo bench -p ferrolb-vrrp --bench failover`; `FAILOVER_TRIALS` (default 5) and
//! `FAILOVER_INTERVALS` (centiseconds, default `10,100`) change the runs. Needs root.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::bfd::BfdWatch;
use common::*;
use ferrolb_testbed::netns::NsThread;
use ferrolb_vrrp::State;

const PORT: u16 = 6443;
const PROBE_TIMEOUT: Duration = Duration::from_millis(20);
/// BFD between the routers, when tracking the master: 50 ms x 3.
const BFD_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, PartialEq)]
enum Implementation {
    Ferrolb,
    /// FerroLB with a BFD session between the routers tracking the master.
    FerrolbBfd,
    Keepalived,
}

#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Kill,
    Clean,
}

/// A TCP listener in a router namespace answering every connection with its router's index.
struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<NsThread<()>>,
}

impl Responder {
    fn start(lan: &Lan, i: usize) -> Responder {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = lan.routers[i]
            .spawn_thread_in(move || {
                let listener = TcpListener::bind(("0.0.0.0", PORT)).unwrap();
                listener.set_nonblocking(true).unwrap();
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            let _ = s.write_all(&[i as u8]);
                        }
                        Err(_) => thread::sleep(Duration::from_millis(1)),
                    }
                }
            })
            .unwrap();
        Responder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Which router answers a TCP connect to the VIP from the client namespace, if one does.
fn probe() -> Option<u8> {
    let to = SocketAddr::from((VIP, PORT));
    let mut s = TcpStream::connect_timeout(&to, PROBE_TIMEOUT).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    let mut b = [0u8; 1];
    s.read_exact(&mut b).ok()?;
    Some(b[0])
}

enum Node {
    /// With the BFD session to the other router, when tracking the master by BFD.
    Ferrolb(FerroNode, Option<BfdWatch>),
    Keepalived(Keepalived),
}

fn start(lan: &Lan, which: Implementation, i: usize, priority: u8, interval: u16) -> Node {
    let ns = &lan.routers[i];
    match which {
        Implementation::Ferrolb => Node::Ferrolb(
            FerroNode::start(ns, ferrolb_config(priority, interval)),
            None,
        ),
        Implementation::FerrolbBfd => {
            let node = FerroNode::start(ns, ferrolb_config(priority, interval));
            let (local, peer) = (router_addr(i), router_addr(1 - i));
            let bfd = BfdWatch::start(ns, local, peer, BFD_INTERVAL, &node);
            Node::Ferrolb(node, Some(bfd))
        }
        Implementation::Keepalived => {
            Node::Keepalived(Keepalived::start(lan, i, priority, interval))
        }
    }
}

/// One trial: the failover time as the client sees it.
fn trial(which: Implementation, interval: u16, stop: Stop) -> Duration {
    let lan = Lan::new();
    let _responders = [Responder::start(&lan, 0), Responder::start(&lan, 1)];
    let master = start(&lan, which, 0, 200, interval);
    lan.wait_vip_at(0);
    let backup = start(&lan, which, 1, 100, interval);
    match &backup {
        Node::Ferrolb(n, bfd) => {
            n.wait_state(State::Backup);
            // Steady state: the backup has heard the master.
            wait_until("the backup to hear the master", WAIT, || {
                n.status().master == Some(router_addr(0).into())
            });
            if let Some(bfd) = bfd {
                bfd.wait_up();
            }
        }
        Node::Keepalived(k) => wait_until("keepalived BACKUP", WAIT, || {
            k.last_state().as_deref() == Some("BACKUP")
        }),
    }
    lan.assert_vip_stays_at(0, Duration::from_millis(200));
    let client = &lan.client;
    client
        .run_in(|| wait_until("the client reaching router 0", WAIT, || probe() == Some(0)))
        .unwrap();

    // A cleanly stopping keepalived is kept (and reaped) until the trial ends.
    let mut stopping = None;
    let mut stopping_bfd = None;
    let t0 = Instant::now();
    match (master, stop) {
        // The master's BFD session dies with the link (no AdminDown gets out).
        (Node::Ferrolb(n, bfd), Stop::Kill) => {
            n.kill();
            lan.set_router_link(0, false);
            stopping_bfd = bfd;
        }
        (Node::Ferrolb(n, _), Stop::Clean) => n.stop(),
        (Node::Keepalived(k), Stop::Kill) => {
            k.kill_all(&lan.routers[0]);
            lan.set_router_link(0, false);
        }
        (Node::Keepalived(k), Stop::Clean) => {
            k.process.signal(libc::SIGTERM).unwrap();
            stopping = Some(k);
        }
    }
    let elapsed = client
        .run_in(|| loop {
            if probe() == Some(1) {
                return t0.elapsed();
            }
            assert!(t0.elapsed() < WAIT, "no failover within {WAIT:?}");
        })
        .unwrap();
    drop((backup, stopping, stopping_bfd));
    elapsed
}

fn millis(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else useful.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let trials: usize = std::env::var("FAILOVER_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let intervals: Vec<u16> = std::env::var("FAILOVER_INTERVALS")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    println!("VRRP failover: master stopped -> client TCP connect answered by the backup");
    println!("{trials} trials each; times in ms\n");
    println!(
        "| implementation | advert interval | master stop | median | max |\n|---|---|---|---|---|"
    );
    for interval in intervals {
        for stop in [Stop::Kill, Stop::Clean] {
            for which in [
                Implementation::Ferrolb,
                Implementation::FerrolbBfd,
                Implementation::Keepalived,
            ] {
                if which == Implementation::FerrolbBfd && stop == Stop::Clean {
                    // A clean stop hands over by priority 0 whatever BFD does.
                    continue;
                }
                let mut times: Vec<Duration> =
                    (0..trials).map(|_| trial(which, interval, stop)).collect();
                times.sort();
                let name = match which {
                    Implementation::Ferrolb => "FerroLB",
                    Implementation::FerrolbBfd => "FerroLB, BFD 50 ms x 3",
                    Implementation::Keepalived => "keepalived 2.2.7",
                };
                let how = match stop {
                    Stop::Kill => "SIGKILL + link down",
                    Stop::Clean => "clean stop (priority 0)",
                };
                println!(
                    "| {name} | {interval} cs | {how} | {} | {} |",
                    millis(times[times.len() / 2]),
                    millis(times[times.len() - 1]),
                );
            }
        }
    }
}
