//! Two `ferrolb-router` processes share a virtual address with VRRP (`vrrp:` in their
//! configuration): the higher priority holds it and says so in `/metrics`; when its machine
//! dies (SIGKILL, link down) the other takes the address over and a client reaches it there;
//! a clean stop (SIGTERM) hands it over too and leaves no address behind. `GET /api/v1/vrrp`
//! shows the instances; a reload (SIGHUP) changes priorities in place and adds and removes
//! instances.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ferrolb_daemon::testing::{get, wait_ready, DaemonChild, TempDir};
use ferrolb_daemon::AdminAddr;
use ferrolb_testbed::{Bridge, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolb-router");
const VIP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 50);
/// The address of the instance a reload adds.
const VIP2: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 51);
/// The virtual address of the IPv6 instance.
const VIP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x78, 0, 0, 0, 0, 0, 0x50);
const WAIT: Duration = Duration::from_secs(30);

struct Site {
    routers: [Netns; 2],
    client: Netns,
    _bridge: Bridge,
    _switch: Netns,
}

impl Site {
    fn new() -> Site {
        let switch = Netns::new("rvsw").unwrap();
        let bridge = Bridge::create(&switch, "br0").unwrap();
        let routers = [Netns::new("rvr1").unwrap(), Netns::new("rvr2").unwrap()];
        let client = Netns::new("rvcl").unwrap();
        for (ns, host) in [(&routers[0], 1), (&routers[1], 2), (&client, 100)] {
            let eth = bridge.attach(ns, "eth0").unwrap();
            eth.add_addr(format!("10.78.0.{host}/24").parse().unwrap())
                .unwrap();
            ns.ip(&[
                "addr",
                "add",
                &format!("fd00:78::{host}/64"),
                "dev",
                "eth0",
                "nodad",
            ])
            .unwrap();
        }
        Site {
            routers,
            client,
            _bridge: bridge,
            _switch: switch,
        }
    }

    fn holds_vip(&self, i: usize) -> bool {
        self.holds(i, VIP)
    }

    /// Whether router `i` has `vip` on an interface that is up (eth0, or the virtual MAC's
    /// macvlan).
    fn holds(&self, i: usize, vip: impl Into<IpAddr>) -> bool {
        let vip: IpAddr = vip.into();
        let addrs = self.routers[i].ip(&["-o", "addr", "show"]).unwrap();
        let vip = format!(" {vip}/{} ", if vip.is_ipv6() { 128 } else { 32 });
        addrs
            .lines()
            .filter(|l| l.contains(&vip))
            .filter_map(|l| l.split_whitespace().nth(1))
            .any(|dev| {
                let link = self.routers[i].ip(&["-o", "link", "show", dev]).unwrap();
                link.contains("state UP")
            })
    }

    fn mac(&self, i: usize) -> String {
        let out = self.routers[i].ip(&["-o", "link", "show", "eth0"]).unwrap();
        out.split("link/ether ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    /// Router `i` alone holds the VIP and the client's pings reach it at `i`'s MAC.
    fn vip_at(&self, i: usize) -> bool {
        self.address_at(i, VIP.into())
    }

    /// Router `i` alone holds `vip` and the client's pings reach it at `i`'s MAC.
    fn address_at(&self, i: usize, vip: IpAddr) -> bool {
        let holders: Vec<usize> = (0..2).filter(|&r| self.holds(r, vip)).collect();
        if holders != [i] || self.client.ping(vip).is_err() {
            return false;
        }
        let neigh = self
            .client
            .ip(&["neigh", "show", &vip.to_string(), "dev", "eth0"])
            .unwrap();
        neigh.contains(&self.mac(i))
    }

    /// Waits until the routers' link-local addresses finished duplicate address detection
    /// (IPv6 advertisements are sent from them).
    fn wait_link_local(&self) {
        let end = Instant::now() + WAIT;
        for r in &self.routers {
            loop {
                let out = r.ip(&["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"]);
                let out = out.unwrap();
                if out.contains("fe80") && !out.contains("tentative") {
                    break;
                }
                assert!(Instant::now() < end, "link-local address in {}", r.name());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

struct Router {
    child: DaemonChild,
    admin: AdminAddr,
    config: std::path::PathBuf,
    _dir: TempDir,
}

/// A router configuration with the `api` instance at `priority`, and the `extra` instance
/// (VRID 43, [`VIP2`], on the virtual MAC) when asked for.
fn config(priority: u8, extra: bool) -> String {
    let mut text = format!(
        "routerId: 192.0.2.1\nasn: 64512\nvrrp:\n  instances:\n    - name: api\n      \
         interface: eth0\n      vrid: 42\n      priority: {priority}\n      advertInterval: 20\n      \
         addresses: [{VIP}]\n"
    );
    if extra {
        text.push_str(&format!(
            "    - name: extra\n      interface: eth0\n      vrid: 43\n      advertInterval: 20\n      \
             addresses: [{VIP2}]\n      useVirtualMac: true\n"
        ));
    }
    text
}

/// A router configuration with one IPv6 instance, `api`, at `priority`.
fn config_v6(priority: u8) -> String {
    format!(
        "routerId: 192.0.2.1\nasn: 64512\nvrrp:\n  instances:\n    - name: api\n      \
         interface: eth0\n      vrid: 42\n      priority: {priority}\n      advertInterval: 20\n      \
         addresses: ['{VIP6}']\n"
    )
}

impl Router {
    async fn start(ns: &Netns, priority: u8) -> Router {
        Router::start_with(ns, &config(priority, false)).await
    }

    async fn start_with(ns: &Netns, text: &str) -> Router {
        let dir = TempDir::new("router-vrrp");
        let config_path = dir.join("router.yaml");
        std::fs::write(&config_path, text).unwrap();
        let socket = dir.join("admin.sock");
        let mut command = DaemonChild::command("ip");
        command.args(["netns", "exec", ns.name(), BIN, "--config"]);
        command.arg(&config_path);
        command.arg("--admin-listen");
        command.arg(format!("unix:{}", socket.display()));
        let mut child = DaemonChild::spawn_command(command);
        let admin = child.admin_addr().await;
        wait_ready(&admin).await;
        Router {
            child,
            admin,
            config: config_path,
            _dir: dir,
        }
    }

    /// Rewrites the configuration and sends SIGHUP.
    fn reload(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
        self.child.signal(libc::SIGHUP);
    }

    /// `GET /api/v1/vrrp`: the instances by name.
    async fn instances(&self) -> serde_json::Map<String, serde_json::Value> {
        let body = get(&self.admin, "/api/v1/vrrp").await.unwrap().body;
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        doc["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["name"].as_str().unwrap().to_owned(), i.clone()))
            .collect()
    }

    async fn metrics(&self) -> String {
        get(&self.admin, "/metrics").await.unwrap().body
    }

    async fn is(&self, state: &str) -> bool {
        let line = format!("ferrolb_router_vrrp_state{{instance=\"api\",state=\"{state}\"}} 1");
        self.metrics().await.contains(&line)
    }
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_vrrp_two_routers_share_a_vip_and_killing_the_master_moves_it() {
    let site = Site::new();
    let high = Router::start(&site.routers[0], 200).await;
    let low = Router::start(&site.routers[1], 100).await;
    wait_for("router 0 master", async || high.is("master").await).await;
    wait_for("router 1 backup", async || low.is("backup").await).await;
    wait_for("VIP at router 0", async || site.vip_at(0)).await;
    let metrics = low.metrics().await;
    for line in [
        "ferrolb_router_vrrp_adverts_received_total{instance=\"api\"}",
        "ferrolb_router_vrrp_priority{instance=\"api\"} 100\n",
        "ferrolb_router_vrrp_checksum_errors_total{instance=\"api\"} 0\n",
        "ferrolb_router_vrrp_ttl_errors_total{instance=\"api\"} 0\n",
        "ferrolb_router_vrrp_master_transitions_total{instance=\"api\"} 0\n",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let api = &high.instances().await["api"];
    assert_eq!(api["state"], "master");
    assert_eq!(api["priority"], 200);
    assert_eq!(api["master"], "10.78.0.1");
    assert_eq!(api["addresses"], serde_json::json!([VIP.to_string()]));
    let api = &low.instances().await["api"];
    assert_eq!(
        (&api["state"], &api["master"]),
        (&"backup".into(), &"10.78.0.1".into())
    );

    // The master's machine dies.
    high.child.signal(libc::SIGKILL);
    site.routers[0]
        .ip(&["link", "set", "eth0", "down"])
        .unwrap();
    wait_for("router 1 master", async || low.is("master").await).await;
    wait_for("VIP at router 1", async || site.vip_at(1)).await;

    // It comes back (its old address is removed at startup) and preempts.
    site.routers[0].ip(&["link", "set", "eth0", "up"]).unwrap();
    drop(high);
    let mut high = Router::start(&site.routers[0], 200).await;
    wait_for("router 0 master again", async || high.is("master").await).await;
    wait_for("router 1 backup again", async || low.is("backup").await).await;
    wait_for("VIP back at router 0", async || site.vip_at(0)).await;

    // A clean stop resigns and removes the address.
    high.child.signal(libc::SIGTERM);
    let status = high.child.wait_exit(WAIT).await;
    assert!(status.success(), "{status:?}\n{}", high.child.transcript());
    assert!(!site.holds_vip(0));
    wait_for("VIP at router 1 after the stop", async || site.vip_at(1)).await;
    // It heard the resignation.
    let resigned = "ferrolb_router_vrrp_priority_zero_received_total{instance=\"api\"} 1\n";
    wait_for("the resignation counted", async || {
        low.metrics().await.contains(resigned)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_vrrp_a_reload_changes_priorities_in_place_and_adds_and_removes_instances() {
    let site = Site::new();
    let a = Router::start(&site.routers[0], 200).await;
    let b = Router::start(&site.routers[1], 100).await;
    wait_for("router 0 master", async || a.is("master").await).await;
    wait_for("VIP at router 0", async || site.vip_at(0)).await;

    // Router 1 raised above router 0: it preempts, without restarting its instance.
    b.reload(&config(250, false));
    wait_for("router 1 master", async || b.is("master").await).await;
    wait_for("router 0 backup", async || a.is("backup").await).await;
    wait_for("VIP at router 1", async || site.vip_at(1)).await;
    let api = &b.instances().await["api"];
    assert_eq!(api["priority"], 250);
    assert_eq!(
        api["masterTransitions"], 1,
        "the same instance, changed in place"
    );

    // A second instance is added on router 0 (alone in it, it becomes master), then removed.
    a.reload(&config(200, true));
    wait_for("the extra instance master", async || {
        a.instances()
            .await
            .get("extra")
            .is_some_and(|i| i["state"] == "master")
    })
    .await;
    wait_for("VIP2 on router 0", async || site.holds(0, VIP2)).await;
    let extra = &a.instances().await["extra"];
    assert_eq!(
        extra["mac"], "00:00:5e:00:01:2b",
        "served from the virtual MAC"
    );
    let client_mac = async || {
        site.client.ping(VIP2.into()).ok()?;
        let neigh = site
            .client
            .ip(&["neigh", "show", &VIP2.to_string(), "dev", "eth0"])
            .ok()?;
        Some(
            neigh
                .split("lladdr ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_owned(),
        )
    };
    wait_for("the client at the virtual MAC", async || {
        client_mac().await.as_deref() == Some("00:00:5e:00:01:2b")
    })
    .await;
    assert_eq!(
        b.instances().await["api"]["state"],
        "master",
        "api untouched"
    );
    a.reload(&config(200, false));
    wait_for("the extra instance gone", async || {
        !a.instances().await.contains_key("extra")
    })
    .await;
    assert!(!site.holds(0, VIP2), "a removed instance leaves no address");
    let links = site.routers[0].ip(&["-o", "link"]).unwrap();
    assert!(!links.contains("00:00:5e:00:01:2b"), "nor macvlan: {links}");
    assert!(!a.metrics().await.contains("instance=\"extra\""));
    wait_for("VIP still at router 1", async || site.vip_at(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_vrrp_an_ipv6_instance_fails_over() {
    let site = Site::new();
    site.wait_link_local();
    let high = Router::start_with(&site.routers[0], &config_v6(200)).await;
    let low = Router::start_with(&site.routers[1], &config_v6(100)).await;
    wait_for("router 0 master", async || high.is("master").await).await;
    wait_for("router 1 backup", async || low.is("backup").await).await;
    wait_for("VIP6 at router 0", async || site.address_at(0, VIP6.into())).await;
    let api = &low.instances().await["api"];
    let master: IpAddr = api["master"].as_str().unwrap().parse().unwrap();
    assert!(
        matches!(master, IpAddr::V6(a) if a.is_unicast_link_local()),
        "advertised from the link-local address: {master}"
    );

    // The master's machine dies.
    high.child.signal(libc::SIGKILL);
    site.routers[0]
        .ip(&["link", "set", "eth0", "down"])
        .unwrap();
    wait_for("router 1 master", async || low.is("master").await).await;
    wait_for("VIP6 at router 1", async || site.address_at(1, VIP6.into())).await;
}

/// `track.interfaces`: the master whose tracked uplink goes down resigns, and takes the VIP
/// back (preemption) once the link is up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_vrrp_a_tracked_interface_going_down_moves_the_vip() {
    let site = Site::new();
    // Router 0's "uplink": a veth pair inside its namespace.
    site.routers[0]
        .ip(&[
            "link", "add", "uplink", "type", "veth", "peer", "name", "uplink-p",
        ])
        .unwrap();
    for link in ["uplink", "uplink-p"] {
        site.routers[0].ip(&["link", "set", link, "up"]).unwrap();
    }
    let tracked = config(200, false) + "      track: {interfaces: [uplink]}\n";
    let high = Router::start_with(&site.routers[0], &tracked).await;
    let low = Router::start(&site.routers[1], 100).await;
    wait_for("router 0 master", async || high.is("master").await).await;
    wait_for("VIP at router 0", async || site.vip_at(0)).await;

    site.routers[0]
        .ip(&["link", "set", "uplink", "down"])
        .unwrap();
    wait_for("router 1 master", async || low.is("master").await).await;
    wait_for("VIP at router 1", async || site.vip_at(1)).await;
    assert!(
        !site.holds_vip(0),
        "the resigned router still holds the VIP"
    );

    site.routers[0]
        .ip(&["link", "set", "uplink", "up"])
        .unwrap();
    wait_for("router 0 master again", async || high.is("master").await).await;
    wait_for("VIP back at router 0", async || site.vip_at(0)).await;
}

/// An `api` instance at `priority` with a slow advertisement interval (3 s: VRRP alone notices
/// a dead master after about 9.6 s), unicast to `peer`, watched by BFD at 50 ms x 3.
fn config_bfd(priority: u8, peer: Ipv4Addr) -> String {
    format!(
        "routerId: 192.0.2.1\nasn: 64512\nbfd:\n  profiles:\n    - {{name: fast, transmitInterval: 50, \
         receiveInterval: 50, detectMultiplier: 3}}\nvrrp:\n  instances:\n    - name: api\n      \
         interface: eth0\n      vrid: 42\n      priority: {priority}\n      advertInterval: 300\n      \
         addresses: [{VIP}]\n      unicastPeers: [{peer}]\n      bfd: fast\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_vrrp_bfd_replaces_a_dead_master_long_before_the_master_down_interval() {
    let site = Site::new();
    let (addr0, addr1) = (Ipv4Addr::new(10, 78, 0, 1), Ipv4Addr::new(10, 78, 0, 2));
    let high = Router::start_with(&site.routers[0], &config_bfd(200, addr1)).await;
    let low = Router::start_with(&site.routers[1], &config_bfd(100, addr0)).await;
    wait_for("router 0 master", async || high.is("master").await).await;
    wait_for("router 1 backup", async || low.is("backup").await).await;
    wait_for("VIP at router 0", async || site.vip_at(0)).await;
    let up = format!(
        "ferrolb_router_bfd_session_state{{peer=\"{addr0}\",local=\"{addr1}\",mode=\"single-hop\"}} 3\n"
    );
    wait_for("router 1's BFD session to router 0 up", async || {
        low.metrics().await.contains(&up)
    })
    .await;

    // The master's machine dies. VRRP alone would wait 3 x 3 s + skew.
    let killed = Instant::now();
    high.child.signal(libc::SIGKILL);
    site.routers[0]
        .ip(&["link", "set", "eth0", "down"])
        .unwrap();
    // The admin API reads the instance's state as it changes (the metrics lag up to 500 ms).
    wait_for("router 1 master", async || {
        low.instances().await["api"]["state"] == "master"
    })
    .await;
    let took = killed.elapsed();
    println!("router 1 took over {took:?} after router 0 died");
    let master_down = ferrolb_vrrp::machine::master_down_interval(100, 300);
    assert!(
        took < master_down,
        "BFD did not speed the takeover up: {took:?}"
    );
    let takeover = "ferrolb_router_vrrp_takeovers_on_unreachable_total{instance=\"api\"} 1\n";
    wait_for("the takeover counted", async || {
        low.metrics().await.contains(takeover)
    })
    .await;
    assert_eq!(low.instances().await["api"]["takeoversOnUnreachable"], 1);
    wait_for("VIP at router 1", async || site.vip_at(1)).await;
}
