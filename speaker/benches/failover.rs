//! Failover benchmark of the speaker (not a test; prints a table):
//!
//! - L2: the owner of a Service address is killed (SIGKILL); time until the
//!   client's kernel has the new owner's MAC (the first gratuitous ARP), and
//!   until the client's pings are answered again;
//! - BGP: time from a Service getting its address (status written) to the
//!   route being in the router's kernel FIB (BIRD as the router).
//!
//! Run as root: `cargo bench -p ferrolb-speaker --bench failover [-- TRIALS]`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::l2::{arp_answers_all, client_of, neighbour, node_macs, wait_until};
use common::{block_in, node_name, ApiServerOnLan, Scratch};
use ferrolb_api::{BGPAdvertisement, BGPPeer, IPAddressPool, L2Advertisement};
use ferrolb_testbed::{BgpConfig, Bird, Lan, Neighbor, Process, Topology};
use kube::Client;

const NODES: usize = 3;
const ASN: u32 = 64512;

fn l2_ip(i: usize) -> String {
    format!("198.18.0.{}", 200 + i)
}

fn start_speaker(lan: &Lan, scratch: &Scratch, i: usize, bgp_only: bool) -> Process {
    let key = scratch.0.join("memberlist.key");
    let mut args = vec!["--admin-listen", "127.0.0.1:9611", "--drain-period", "0s"];
    if bgp_only {
        args.push("--no-l2");
    } else {
        args.extend_from_slice(&["--memberlist-key-file", key.to_str().unwrap()]);
    }
    common::start_speaker(lan, scratch, i, &args)
}

fn median_and_max(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], *samples.last().unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Kills the owner of one address per trial; returns (new MAC seen, pings
/// answered again) per trial.
fn l2_failover(trials: usize) -> (Vec<Duration>, Vec<Duration>) {
    let lan = Topology::lan(NODES + 2).unwrap();
    lan.wait_connected(Duration::from_secs(20)).unwrap();
    let scratch = Scratch::new();
    std::fs::write(
        scratch.0.join("memberlist.key"),
        "a shared bench key of 32 bytes..",
    )
    .unwrap();
    let ips: Vec<String> = (0..trials).map(l2_ip).collect();
    // Every node accepts the addresses (as kube-proxy would) but leaves ARP
    // for them to the speaker.
    for node in &lan.nodes[1..=NODES] {
        node.ns.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
        node.ns
            .sysctl("net.ipv4.conf.all.arp_announce", "2")
            .unwrap();
        for ip in &ips {
            node.ns
                .add_loopback_addr(format!("{ip}/32").parse().unwrap())
                .unwrap();
        }
    }
    let api = ApiServerOnLan::start(&lan, &scratch);
    block_in(&lan.nodes[0].ns, async {
        let client = api.client();
        common::seed_nodes(&client, &lan, NODES).await;
        let ns = common::NAMESPACE;
        common::apply::<IPAddressPool>(
            &client,
            &format!("{{metadata: {{name: lan, namespace: {ns}}}, spec: {{addresses: [198.18.0.200-198.18.0.250]}}}}"),
        )
        .await;
        common::apply::<L2Advertisement>(
            &client,
            &format!("{{metadata: {{name: l2, namespace: {ns}}}, spec: {{}}}}"),
        )
        .await;
        for (i, ip) in ips.iter().enumerate() {
            common::seed_service(
                &client,
                &format!("web{i}"),
                "Cluster",
                ip,
                Some(&["n1", "n2", "n3"]),
            )
            .await;
        }
    });
    let mut speakers: Vec<Process> = (0..NODES)
        .map(|i| start_speaker(&lan, &scratch, i, false))
        .collect();
    let macs = node_macs(&lan, NODES);
    let client = client_of(&lan);
    let answered_once = |ips: &[String]| arp_answers_all(&lan, ips).iter().all(|a| a.len() == 1);
    wait_until("every address answered", || {
        if answered_once(&ips) {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });

    let (mut garp, mut flow) = (Vec::new(), Vec::new());
    for ip in &ips {
        let _ = client.ns.exec("ping", &["-c", "1", "-W", "1", ip]);
        let old = wait_until("the client's entry", || {
            neighbour(&lan, ip).ok_or_else(|| "none".into())
        });
        let owner = macs[&old];
        let killed = Instant::now();
        speakers[owner].kill().unwrap();
        wait_until("a new owner", || {
            neighbour(&lan, ip)
                .filter(|m| *m != old)
                .ok_or_else(|| "old".into())
        });
        garp.push(killed.elapsed());
        wait_until("pings answered", || {
            client
                .ns
                .exec("ping", &["-c", "1", "-W", "0.05", ip])
                .map(drop)
                .map_err(|e| e.to_string())
        });
        flow.push(killed.elapsed());
        // Bring it back and let ownership settle before the next trial.
        speakers[owner] = start_speaker(&lan, &scratch, owner, false);
        std::thread::sleep(Duration::from_millis(1500));
        wait_until("every address answered again", || {
            if answered_once(&ips) {
                Ok(())
            } else {
                Err("not yet".into())
            }
        });
    }
    drop(speakers);
    drop(api);
    (garp, flow)
}

/// Gives a new Service an address per trial; returns the time until the
/// router's kernel has a route to it.
fn assignment_to_fib(trials: usize) -> Vec<Duration> {
    let lan = Topology::lan(NODES + 2).unwrap();
    lan.wait_connected(Duration::from_secs(20)).unwrap();
    let scratch = Scratch::new();
    let router = lan.nodes.last().unwrap();
    let mut config = BgpConfig::new(ASN, router.v4).multipath(true);
    for node in &lan.nodes[1..=NODES] {
        config = config.neighbor(Neighbor::new(IpAddr::V4(node.v4), ASN).passive().ipv4());
    }
    let _bird = Bird::start(&router.ns, config).unwrap();
    let api = ApiServerOnLan::start(&lan, &scratch);
    let api_ns = &lan.nodes[0].ns;
    let client = || -> Client { api.client() };
    block_in(api_ns, async {
        let c = client();
        common::seed_nodes(&c, &lan, NODES).await;
        let ns = common::NAMESPACE;
        let peer = router.v4;
        common::apply::<IPAddressPool>(
            &c,
            &format!(
                "{{metadata: {{name: p, namespace: {ns}}}, spec: {{addresses: [192.0.2.0/24]}}}}"
            ),
        )
        .await;
        common::apply::<BGPPeer>(&c, &format!("{{metadata: {{name: r, namespace: {ns}}}, spec: {{myASN: {ASN}, peerASN: {ASN}, peerAddress: \"{peer}\", connectTime: 1s}}}}")).await;
        common::apply::<BGPAdvertisement>(
            &c,
            &format!("{{metadata: {{name: a, namespace: {ns}}}, spec: {{}}}}"),
        )
        .await;
    });
    let speakers: Vec<Process> = (0..NODES)
        .map(|i| start_speaker(&lan, &scratch, i, true))
        .collect();
    let mut samples = Vec::new();
    for i in 0..trials {
        let ip = format!("192.0.2.{}", 10 + i);
        let name = format!("svc{i}");
        block_in(api_ns, async {
            let c = client();
            let nodes: Vec<String> = (0..NODES).map(node_name).collect();
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            common::apply::<k8s_openapi::api::core::v1::Service>(
                &c,
                &common::service_yaml(&name, "Cluster"),
            )
            .await;
            common::apply::<k8s_openapi::api::discovery::v1::EndpointSlice>(
                &c,
                &common::slice_yaml(&name, &nodes),
            )
            .await;
        });
        let assigned = Instant::now();
        block_in(api_ns, async {
            common::set_status::<k8s_openapi::api::core::v1::Service>(
                &client(),
                Some("default"),
                &name,
                &format!("{{loadBalancer: {{ingress: [{{ip: \"{ip}\"}}]}}}}"),
            )
            .await;
        });
        wait_until("the route in the router's FIB", || {
            let route = router
                .ns
                .ip(&["route", "show", &format!("{ip}/32")])
                .unwrap_or_default();
            if route.trim().is_empty() {
                Err("no route".into())
            } else {
                Ok(())
            }
        });
        samples.push(assigned.elapsed());
    }
    drop(speakers);
    drop(api);
    samples
}

fn main() {
    // `cargo bench` passes `--bench`; the first number is the trial count.
    let trials = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(20);
    let (garp, flow) = l2_failover(trials);
    let fib = assignment_to_fib(trials);
    let (garp_med, garp_max) = median_and_max(garp);
    let (flow_med, flow_max) = median_and_max(flow);
    let (fib_med, fib_max) = median_and_max(fib);
    println!("| speaker failover ({trials} trials, 3 nodes) | median | max |");
    println!("|---|---|---|");
    println!(
        "| L2: owner killed → client has the new owner's MAC (gratuitous ARP) | {} | {} |",
        ms(garp_med),
        ms(garp_max)
    );
    println!(
        "| L2: owner killed → client's pings answered again | {} | {} |",
        ms(flow_med),
        ms(flow_max)
    );
    println!(
        "| BGP: Service address assigned → route in the router's FIB (BIRD) | {} | {} |",
        ms(fib_med),
        ms(fib_max)
    );
}
