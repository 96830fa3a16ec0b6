//! lbctl against a real `ferrolb-router`: the router runs in namespace `a`
//! of a veth pair with its admin API on a Unix socket, BIRD in namespace
//! `b` announces a Service address to it, and `lbctl routes` and
//! `lbctl explain` read what the router learned and put in its kernel.
//!
//! Needs root and the `ferrolb-router` binary next to `lbctl` (a workspace
//! build, as CI does); without the binary the test says so and passes.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Cluster;
use ferrolb_testbed::prelude::*;
use serde_json::json;

/// The router process; killed on drop.
struct RouterChild(Child);

impl Drop for RouterChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn router_binary() -> Option<PathBuf> {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_lbctl")).with_file_name("ferrolb-router");
    path.exists().then_some(path)
}

const ROUTER_CONFIG: &str = "\
asn: 64512
routerId: 198.18.0.1
bgp:
  listenAddresses: [198.18.0.1]
  peerGroups:
  - name: nodes
    listenRanges: [198.18.0.0/24]
    allowedAsns: [64513]
    holdTime: 3s
import:
  servicePools: [192.0.2.0/28]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_and_explain_read_a_real_router() {
    let binary = router_binary().expect(
        "ferrolb-router must be built next to lbctl: run the workspace's tests (scripts/test.sh)",
    );
    let pair = Topology::pair().unwrap();
    let c = Cluster::start().await;
    std::fs::write(c.dir.join("router.yaml"), ROUTER_CONFIG).unwrap();
    let socket = c.dir.join("admin.sock");
    let log = std::fs::File::create(c.dir.join("router.log")).unwrap();
    let _router = RouterChild(
        Command::new("ip")
            .args(["netns", "exec", pair.a.ns.name()])
            .arg(&binary)
            .arg("--config")
            .arg(c.dir.join("router.yaml"))
            .arg("--admin-listen")
            .arg(format!("unix:{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let router_flag = format!("rt=unix:{}", socket.display());
    let config = BgpConfig::new(64513, pair.b.v4)
        .fib_install(false)
        .neighbor(
            Neighbor::new(IpAddr::V4(pair.a.v4), 64512)
                .hold_time(3)
                .connect_retry(1)
                .advertise(Advertise::Usual),
        )
        .announce(Announcement::new("192.0.2.1/32".parse().unwrap()));
    let _bird = Bird::start(&pair.b.ns, config).unwrap();

    // Wait for the route to reach the router's kernel, as lbctl sees it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let routes = loop {
        let out = c.lbctl(&["routes", "--router", &router_flag]).await;
        if out.code == 0
            && out.stdout.contains("192.0.2.1/32")
            && out.stdout.contains("yes        yes")
        {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "no installed route; last lbctl output:\n{}{}\nrouter log:\n{}",
            out.stdout,
            out.stderr,
            std::fs::read_to_string(c.dir.join("router.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(
        routes.stdout,
        "ROUTER   PREFIX         NEXT-HOPS    ACCEPTED   INSTALLED\n\
         rt       192.0.2.1/32   198.18.0.2   yes        yes\n"
    );

    // The router side of `lbctl peers`.
    let peers = c
        .lbctl(&["peers", "--router", &router_flag])
        .await
        .expect_code(0);
    assert!(
        peers
            .stdout
            .contains("router   rt      AS64513   198.18.0.2   Established"),
        "{}",
        peers.stdout
    );

    // explain follows the Service to the router's route and kernel FIB.
    c.pool("public", json!({"addresses": ["192.0.2.0/28"]}));
    c.ferrolb(
        "bgpadvertisements",
        "BGPAdvertisement",
        "all",
        json!({"spec": {}}),
    );
    c.node_at("node-b", "198.18.0.2");
    c.lb_service("web/front", Some("public"), &["192.0.2.1"], json!({}));
    c.endpoints("web/front", &[("10.244.0.5", "node-b", true)]);
    c.announcement("node-b", "web/front", "bgp", &["192.0.2.1"]);
    c.session("node-b", "rt", "198.18.0.1", "Established");
    let out = c
        .lbctl(&["explain", "web/front", "--router", &router_flag])
        .await
        .expect_code(0);
    out.stdout_has("ok   router rt sessions  Established with node-b (198.18.0.2)");
    out.stdout_has("ok   router rt route     192.0.2.1/32 installed via 198.18.0.2");
    out.stdout_has("ok   router rt fib       kernel: 192.0.2.1/32 via 198.18.0.2 dev eth0");

    // BIRD withdraws: the route leaves the router and explain says where it breaks.
    drop(_bird);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = c
            .lbctl(&["explain", "web/front", "--router", &router_flag])
            .await;
        if out.code == 1 && out.stdout.contains("fail router rt") {
            out.stdout_has("Result: broken at \"router rt");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "explain never failed:\n{}",
            out.stdout
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
