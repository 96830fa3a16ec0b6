//! A lab for the router's end-to-end tests: a client namespace, a router namespace running the
//! real `ferrolb-router` binary, and worker namespaces on one LAN, each running BIRD (announcing
//! Service addresses with its own address as next hop) and a tiny TCP server on the Service
//! addresses that answers with the worker's name.
//!
//! ```text
//!  client 198.19.0.2 ── eth1 198.19.0.1 router eth0 198.18.0.1 ── bridge ── worker-N 198.18.0.(N+1)
//!         2001:db8:ff::2       2001:db8:ff::1      2001:db8::1                      2001:db8::(N+1)
//! ```
//!
//! Everything lives in namespaces the lab creates and deletes (also when a test panics).

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrolb_daemon::testing::{get, wait_ready, DaemonChild, TempDir};
use ferrolb_daemon::AdminAddr;
use ferrolb_testbed::prelude::*;
use ferrolb_testbed::{Family, KernelRoute, NsThread};
use ipnet::IpNet;
use serde_json::Value;

/// The router binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrolb-router");
/// The router's AS.
pub const ROUTER_ASN: u32 = 64512;
/// The workers' AS.
pub const WORKER_ASN: u32 = 64513;
/// FerroLB's route protocol in the tests (the default).
pub const PROTO: &str = "200";
/// Port of the workers' TCP servers.
pub const PORT: u16 = 8080;
/// The router's LAN address.
pub const ROUTER_LAN: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The client's address (also used as an upstream router's).
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 2);
/// The router's address towards the client.
pub const ROUTER_CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 2);
const ROUTER_CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1);
const ROUTER_LAN_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// How long to wait for sessions and routes in the tests.
pub const WAIT: Duration = Duration::from_secs(20);

/// `addr/len`.
pub fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// A router configuration with one peer group for the workers (hold time 3 s) and `extra`
/// (YAML, top-level keys) appended.
pub fn router_yaml(peer_group_extra: &str, extra: &str) -> String {
    format!(
        "routerId: 198.18.0.1\nasn: {ROUTER_ASN}\n\
         bgp:\n  peerGroups:\n    - name: workers\n      listenRanges: [198.18.0.0/24]\n      \
         allowedAsns: [{WORKER_ASN}]\n      holdTime: 3s\n      keepaliveTime: 1s\n{peer_group_extra}\
         {extra}"
    )
}

/// The namespaces and what runs in them. Fields drop in order: servers stop, daemons stop,
/// then the namespaces go.
pub struct Lab {
    /// The router process, once started.
    pub router: Option<RouterProcess>,
    servers: Vec<(Arc<AtomicBool>, Option<NsThread<()>>)>,
    /// One BIRD per worker (index = worker index).
    pub birds: Vec<Option<Bird>>,
    /// FRR (bgpd, bfdd, zebra) on the workers that run it instead of BIRD.
    pub frrs: Vec<Option<Frr>>,
    /// The client namespace.
    pub client: Netns,
    /// The LAN: node 0 is the router, nodes 1.. the workers.
    pub lan: Lan,
}

impl Lab {
    /// A client, a router and `workers` workers, addressed and routed (not yet running BGP).
    pub fn new(workers: usize) -> Lab {
        let lan = Topology::lan(workers + 1).unwrap();
        let client = Netns::new("client").unwrap();
        let router = &lan.nodes[0];
        let link = VethPair::create(&client, "eth0", &router.ns, "eth1").unwrap();
        link.a
            .add_addr(IpNet::new(IpAddr::V4(CLIENT_V4), 24).unwrap())
            .unwrap();
        link.b
            .add_addr(IpNet::new(IpAddr::V4(ROUTER_CLIENT_V4), 24).unwrap())
            .unwrap();
        link.a
            .add_addr(IpNet::new(IpAddr::V6(CLIENT_V6), 64).unwrap())
            .unwrap();
        link.b
            .add_addr(IpNet::new(IpAddr::V6(ROUTER_CLIENT_V6), 64).unwrap())
            .unwrap();
        client
            .ip(&[
                "route",
                "add",
                "default",
                "via",
                &ROUTER_CLIENT_V4.to_string(),
            ])
            .unwrap();
        client
            .ip(&[
                "-6",
                "route",
                "add",
                "default",
                "via",
                &ROUTER_CLIENT_V6.to_string(),
            ])
            .unwrap();
        for w in &lan.nodes[1..] {
            w.ns.ip(&["route", "add", "default", "via", &ROUTER_LAN.to_string()])
                .unwrap();
            w.ns.ip(&[
                "-6",
                "route",
                "add",
                "default",
                "via",
                &ROUTER_LAN_V6.to_string(),
            ])
            .unwrap();
        }
        Lab {
            router: None,
            servers: Vec::new(),
            birds: (0..workers).map(|_| None).collect(),
            frrs: (0..workers).map(|_| None).collect(),
            client,
            lan,
        }
    }

    /// The router's namespace.
    pub fn router_ns(&self) -> &Netns {
        &self.lan.nodes[0].ns
    }

    /// Worker `i` (0-based).
    pub fn worker(&self, i: usize) -> &Node {
        &self.lan.nodes[i + 1]
    }

    /// Worker `i`'s name, as its server answers.
    pub fn worker_name(i: usize) -> String {
        format!("worker-{i}")
    }

    /// Puts `services` on worker `i`'s `lo` and serves them on [`PORT`] with its name.
    pub fn serve(&mut self, i: usize, services: &[IpAddr]) {
        let node = &self.lan.nodes[i + 1];
        for s in services {
            let len = if s.is_ipv4() { 32 } else { 128 };
            node.ns
                .add_loopback_addr(IpNet::new(*s, len).unwrap())
                .unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let addrs: Vec<SocketAddr> = services.iter().map(|s| SocketAddr::new(*s, PORT)).collect();
        let name = Lab::worker_name(i);
        let flag = stop.clone();
        let thread = node
            .ns
            .spawn_thread_in(move || serve_name(&addrs, &name, &flag))
            .unwrap();
        self.servers.push((stop, Some(thread)));
    }

    /// Starts BIRD on worker `i`, peering with the router and announcing `prefixes` (IPv6
    /// ones over the same IPv4 session, next hop the worker's IPv6 address).
    pub fn start_bird(&mut self, i: usize, prefixes: &[IpNet]) {
        let node = &self.lan.nodes[i + 1];
        let mut neighbor = Neighbor::new(IpAddr::V4(ROUTER_LAN), ROUTER_ASN)
            .hold_time(3)
            .connect_retry(1)
            .advertise(Advertise::Usual);
        if prefixes.iter().any(|p| matches!(p, IpNet::V6(_))) {
            neighbor = neighbor.ipv6().ipv6_next_hop(node.v6);
        }
        let mut config = BgpConfig::new(WORKER_ASN, node.v4)
            .fib_install(false)
            .neighbor(neighbor);
        for p in prefixes {
            config = config.announce(Announcement::new(*p));
        }
        self.birds[i] = Some(Bird::start(&node.ns, config).unwrap());
    }

    /// Starts FRR on worker `i`, peering with the router (hold time `hold` seconds, BFD on
    /// the neighbour when `bfd`) and announcing the IPv4 `prefixes` with itself as next hop.
    pub fn start_frr(&mut self, i: usize, prefixes: &[IpNet], hold: u16, bfd: bool) {
        let node = &self.lan.nodes[i + 1];
        let mut neighbor = Neighbor::new(IpAddr::V4(ROUTER_LAN), ROUTER_ASN)
            .hold_time(hold)
            .connect_retry(1)
            .advertise(Advertise::Usual);
        if bfd {
            neighbor = neighbor.bfd();
        }
        let mut config = BgpConfig::new(WORKER_ASN, node.v4)
            .fib_install(false)
            .neighbor(neighbor);
        for p in prefixes {
            config = config.announce(Announcement::new(*p));
        }
        self.frrs[i] = Some(Frr::start(&node.ns, config).unwrap());
    }

    /// Worker `i`'s FRR.
    pub fn frr(&self, i: usize) -> &Frr {
        self.frrs[i].as_ref().expect("FRR running")
    }

    /// Worker `i`'s BIRD.
    pub fn bird(&self, i: usize) -> &Bird {
        self.birds[i].as_ref().expect("BIRD running")
    }

    /// Starts the router with configuration `yaml`.
    pub async fn start_router(&mut self, yaml: &str) {
        let router = RouterProcess::start(self.router_ns(), yaml).await;
        self.router = Some(router);
    }

    /// The running router.
    pub fn router(&mut self) -> &mut RouterProcess {
        self.router.as_mut().expect("router started")
    }

    /// `n` TCP connections from the client to `service`: the name each one was answered with,
    /// or the error.
    pub fn connect_many(&self, service: IpAddr, n: usize) -> Vec<Result<String, String>> {
        let addr = SocketAddr::new(service, PORT);
        self.client
            .run_in(|| (0..n).map(|_| fetch_name(addr)).collect())
            .unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (stop, thread) in &mut self.servers {
            stop.store(true, Ordering::Relaxed);
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn serve_name(addrs: &[SocketAddr], name: &str, stop: &AtomicBool) {
    let listeners: Vec<TcpListener> = addrs
        .iter()
        .map(|a| {
            let l = TcpListener::bind(a).unwrap_or_else(|e| panic!("binding {a}: {e}"));
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        for l in &listeners {
            if let Ok((mut stream, _)) = l.accept() {
                idle = false;
                let _ = stream.set_nonblocking(false);
                let _ = stream.write_all(name.as_bytes());
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn fetch_name(addr: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut name = String::new();
    stream
        .read_to_string(&mut name)
        .map_err(|e| e.to_string())?;
    Ok(name)
}

/// The router binary running in its namespace, with its admin API on a Unix socket.
pub struct RouterProcess {
    /// The process and its output.
    pub child: DaemonChild,
    /// Its admin address.
    pub admin: AdminAddr,
    /// Its configuration file.
    pub config: PathBuf,
    _dir: TempDir,
}

impl RouterProcess {
    /// Writes `yaml` and starts the router in `ns`; returns once it is ready.
    pub async fn start(ns: &Netns, yaml: &str) -> RouterProcess {
        let dir = TempDir::new("router-lab");
        let config = dir.join("router.yaml");
        std::fs::write(&config, yaml).unwrap();
        let socket = dir.join("admin.sock");
        let mut command = DaemonChild::command("ip");
        command.args(["netns", "exec", ns.name(), BIN, "--config"]);
        command.arg(&config);
        command.arg("--admin-listen");
        command.arg(format!("unix:{}", socket.display()));
        command.args(["--log-level", "info,ferrolb_router=debug"]);
        let mut child = DaemonChild::spawn_command(command);
        let admin = child.admin_addr().await;
        wait_ready(&admin).await;
        RouterProcess {
            child,
            admin,
            config,
            _dir: dir,
        }
    }

    /// `GET path` as JSON.
    pub async fn json(&self, path: &str) -> Value {
        let response = get(&self.admin, path).await.unwrap();
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        serde_json::from_str(&response.body).unwrap()
    }

    /// The metrics text.
    pub async fn metrics(&self) -> String {
        get(&self.admin, "/metrics").await.unwrap().body
    }

    /// The peer with `address` from `/api/v1/peers`.
    pub async fn peer(&self, address: IpAddr) -> Option<Value> {
        let peers = self.json("/api/v1/peers").await;
        peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["address"] == address.to_string())
            .cloned()
    }

    /// The route for `prefix` from `/api/v1/routes`.
    pub async fn route(&self, prefix: &str) -> Option<Value> {
        let routes = self.json("/api/v1/routes").await;
        routes["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["prefix"] == prefix)
            .cloned()
    }
}

/// FerroLB's routes in `ns`, IPv4 and IPv6.
pub fn kernel_routes(ns: &Netns) -> Vec<KernelRoute> {
    Family::BOTH
        .iter()
        .flat_map(|family| ferrolb_testbed::kernel_routes(ns, *family, PROTO).unwrap())
        .collect()
}

/// How many of FerroLB's IPv4 routes in `ns` forward to `gateway`, and how many routes there
/// are: a cheap text scan of `ip route` (which expands nexthop groups), for tight polling.
pub fn routes_via(ns: &Netns, gateway: Ipv4Addr) -> (usize, usize) {
    let out = ns.ip(&["-4", "route", "show", "proto", PROTO]).unwrap();
    let needle = format!("via {gateway} ");
    let mut total = 0;
    let mut via = 0;
    let mut current_via = false;
    for line in out.lines() {
        if !line.starts_with(char::is_whitespace) {
            total += 1;
            if current_via {
                via += 1;
            }
            current_via = false;
        }
        current_via |= line.contains(&needle);
    }
    if current_via {
        via += 1;
    }
    (via, total)
}

/// The kernel route to `dst` (as ip prints it).
pub fn kernel_route(ns: &Netns, dst: &str) -> Option<KernelRoute> {
    kernel_routes(ns).into_iter().find(|r| r.dst == dst)
}

/// Nexthop objects of FerroLB's protocol in `ns`, from `ip -j nexthop`.
pub fn kernel_nexthops(ns: &Netns) -> Vec<Value> {
    let out = ns.ip(&["-j", "nexthop", "show"]).unwrap();
    let list: Value = serde_json::from_str(&out).unwrap_or(Value::Array(vec![]));
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n["protocol"] == PROTO)
        .collect()
}

/// Addresses as `ip` prints them.
pub fn addrs<I: IntoIterator<Item = IpAddr>>(a: I) -> BTreeSet<String> {
    a.into_iter().map(|a| a.to_string()).collect()
}

/// Polls `probe` every 20 ms until it returns `Some`; panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The async twin of [`wait_for`], for probes that talk to the admin API.
pub async fn wait_for_async<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts of each answer among `results`; panics on any failed connection.
pub fn tally(results: &[Result<String, String>]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(name) => *counts.entry(name.clone()).or_default() += 1,
            Err(e) => panic!("connection {i} failed: {e}"),
        }
    }
    counts
}

/// The value of metric line `name{labels}` in `text`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}
