//! Two `ferrolb-router` processes share a virtual address with VRRP (`vrrp:` in their
//! configuration): the higher priority holds it and says so in `/metrics`; when its machine
//! dies (SIGKILL, link down) the other takes the address over and a client reaches it there;
//! a clean stop (SIGTERM) hands it over too and leaves no address behind.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ferrolb_daemon::testing::{get, wait_ready, DaemonChild, TempDir};
use ferrolb_daemon::AdminAddr;
use ferrolb_testbed::{Bridge, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolb-router");
const VIP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 50);
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
        }
        Site {
            routers,
            client,
            _bridge: bridge,
            _switch: switch,
        }
    }

    fn holds_vip(&self, i: usize) -> bool {
        let addrs = self.routers[i]
            .ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
            .unwrap();
        let link = self.routers[i].ip(&["-o", "link", "show", "eth0"]).unwrap();
        addrs.contains(&format!("{VIP}/32")) && link.contains("state UP")
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
        let holders: Vec<usize> = (0..2).filter(|&r| self.holds_vip(r)).collect();
        if holders != [i] || self.client.ping(VIP.into()).is_err() {
            return false;
        }
        let neigh = self
            .client
            .ip(&["neigh", "show", &VIP.to_string(), "dev", "eth0"])
            .unwrap();
        neigh.contains(&self.mac(i))
    }
}

struct Router {
    child: DaemonChild,
    admin: AdminAddr,
    _dir: TempDir,
}

impl Router {
    async fn start(ns: &Netns, priority: u8) -> Router {
        let dir = TempDir::new("router-vrrp");
        let config = dir.join("router.yaml");
        std::fs::write(
            &config,
            format!(
                "routerId: 10.78.0.{priority}\nasn: 64512\nvrrp:\n  instances:\n    - name: api\n      \
                 interface: eth0\n      vrid: 42\n      priority: {priority}\n      advertInterval: 20\n      \
                 addresses: [{VIP}]\n"
            ),
        )
        .unwrap();
        let socket = dir.join("admin.sock");
        let mut command = DaemonChild::command("ip");
        command.args(["netns", "exec", ns.name(), BIN, "--config"]);
        command.arg(&config);
        command.arg("--admin-listen");
        command.arg(format!("unix:{}", socket.display()));
        let mut child = DaemonChild::spawn_command(command);
        let admin = child.admin_addr().await;
        wait_ready(&admin).await;
        Router {
            child,
            admin,
            _dir: dir,
        }
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
    assert!(low
        .metrics()
        .await
        .contains("ferrolb_router_vrrp_adverts_received_total{instance=\"api\"}"));

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
}
