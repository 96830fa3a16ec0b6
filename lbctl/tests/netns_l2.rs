//! `lbctl explain` asking an L2 segment who answers for a Service address:
//! three namespaces on a bridge are the client (where lbctl runs), node-a
//! (FerroLB's own ARP/NDP responder owns the address) and node-b (whose
//! kernel claims it too, or alone, in the broken cases).

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use common::Cluster;
use ferrolb_fake_apiserver::ResourceRef;
use ferrolb_l2::{L2Announcer, L2Config};
use ferrolb_testbed::prelude::*;
use serde_json::json;

const VIP4: &str = "198.18.0.100";
const VIP6: &str = "2001:db8::100";

/// FerroLB's L2 responder owning the Service addresses, on its own runtime
/// inside a node's namespace; stopped on drop.
fn start_responder(ns: &Netns) -> NsRuntime<()> {
    NsRuntime::start(
        ns,
        Duration::from_secs(10),
        || async {
            let announcer = L2Announcer::start(L2Config::default()).await.unwrap();
            let owned: BTreeMap<IpAddr, Vec<String>> = [VIP4, VIP6]
                .iter()
                .map(|a| (a.parse().unwrap(), Vec::new()))
                .collect();
            announcer.set_owned(owned);
            (announcer, ())
        },
        |announcer| async move { announcer.shutdown().await },
    )
    .unwrap()
}

/// The API server made reachable from inside `ns`: a listener bound there
/// on 127.0.0.1, relaying each connection to `upstream` from this
/// namespace. Returns the address inside `ns`.
fn relay_into(ns: &Netns, upstream: SocketAddr) -> SocketAddr {
    let listener = ns
        .run_in(|| std::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

fn mac_of(node: &Node) -> String {
    node.ns
        .exec(
            "cat",
            &[&format!("/sys/class/net/{}/address", node.iface.name())],
        )
        .unwrap()
        .trim()
        .to_owned()
}

/// A Node object with both of a LAN node's addresses as InternalIPs.
fn node_object(c: &Cluster, name: &str, node: &Node) {
    c.seed(
        ResourceRef::core("nodes"),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
               "status": {"addresses": [
                   {"type": "InternalIP", "address": node.v4.to_string()},
                   {"type": "InternalIP", "address": node.v6.to_string()}]}}),
    );
}

/// `lbctl explain web/front` run inside the client's namespace, with its
/// exit code checked; returns stdout with each run of blanks made one space.
async fn explain(c: &Cluster, client: &Node, code: i32) -> String {
    let kubeconfig = c.dir.join("kubeconfig-client");
    common::run_program(
        Path::new("ip"),
        &c.dir,
        &[
            "netns",
            "exec",
            client.ns.name(),
            env!("CARGO_BIN_EXE_lbctl"),
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "explain",
            "web/front",
        ],
        None,
    )
    .await
    .expect_code(code)
    .stdout
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ")
}

#[track_caller]
fn assert_says(output: &str, line: &str) {
    assert!(output.contains(line), "{line:?} not in:\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_asks_the_segment_who_answers() {
    let lan = Topology::lan(3).unwrap();
    let (client, node_a, node_b) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let c = Cluster::start().await;
    c.pool(
        "lan",
        json!({"addresses": ["198.18.0.96/28", "2001:db8::100/124"]}),
    );
    c.ferrolb(
        "l2advertisements",
        "L2Advertisement",
        "lan",
        json!({"spec": {"ipAddressPools": ["lan"]}}),
    );
    node_object(&c, "node-a", node_a);
    node_object(&c, "node-b", node_b);
    c.lb_service("web/front", Some("lan"), &[VIP4, VIP6], json!({}));
    c.endpoints("web/front", &[("10.244.0.5", "node-a", true)]);
    c.announcement("node-a", "web/front", "l2", &[VIP4, VIP6]);
    let upstream: SocketAddr = c
        .server
        .url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let inside = relay_into(&client.ns, upstream);
    let config = c
        .server
        .kubeconfig_yaml()
        .replace(&c.server.url(), &format!("http://{inside}"));
    std::fs::write(c.dir.join("kubeconfig-client"), config).unwrap();
    let (mac_a, mac_b) = (mac_of(node_a), mac_of(node_b));

    // FerroLB's responder on node-a answers both, and node-a's own
    // addresses resolve to the same MAC: the owner is confirmed.
    let responder = start_responder(&node_a.ns);
    let out = explain(&c, client, 0).await;
    for vip in [format!("arp {VIP4}"), format!("ndp {VIP6}")] {
        assert_says(
            &out,
            &format!("ok {vip} {mac_a} (node node-a) answered on eth0: the owner's MAC"),
        );
    }

    // node-b's kernel claims the IPv4 address too: a conflict.
    let vip4_on_b = format!("{VIP4}/32");
    node_b.iface.add_addr(vip4_on_b.parse().unwrap()).unwrap();
    let mut both = [
        format!("{mac_a} (node node-a)"),
        format!("{mac_b} (node node-b)"),
    ];
    both.sort();
    assert_says(
        &explain(&c, client, 1).await,
        &format!(
            "fail arp {VIP4} 2 hosts answer for {VIP4} on eth0: {}; clients switch between them",
            both.join(", ")
        ),
    );

    // Only node-b answers: the wrong node; nobody answers for IPv6.
    drop(responder);
    let out = explain(&c, client, 1).await;
    assert_says(
        &out,
        &format!(
            "fail arp {VIP4} {mac_b} (node node-b) answered on eth0, but node node-a owns the address"
        ),
    );
    assert_says(
        &out,
        &format!(
            "fail ndp {VIP6} nobody answered a Neighbor Solicitation for {VIP6} on eth0 within 1s"
        ),
    );

    // Nobody answers at all.
    node_b
        .ns
        .ip(&["addr", "del", &vip4_on_b, "dev", node_b.iface.name()])
        .unwrap();
    assert_says(
        &explain(&c, client, 1).await,
        &format!("fail arp {VIP4} nobody answered an ARP request for {VIP4} on eth0 within 1s"),
    );
}
