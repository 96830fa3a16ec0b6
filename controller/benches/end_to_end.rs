//! The controller end to end through the fake API server (not a test;
//! prints a table): N Services waiting in the API server, a controller
//! starts and gives every one an address (status and annotation written
//! over HTTP); then a new replica takes over and rebuilds that state from
//! the Services' statuses.
//!
//! Run with `cargo bench -p ferrolb-controller --bench end_to_end [-- N]`
//! (default 10,000).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Cluster, Replica};
use ferrolb_fake_apiserver::ResourceRef;
use serde_json::json;

/// Services whose status lists an address and that carry the pool
/// annotation, as stored in the API server.
fn served(cluster: &Cluster, services: &ResourceRef) -> usize {
    cluster
        .server
        .store()
        .list(services, None)
        .iter()
        .filter(|s| {
            s.pointer("/status/loadBalancer/ingress/0/ip").is_some()
                && s.pointer("/metadata/annotations/ferrolb.io~1ip-allocated-from-pool")
                    .is_some()
        })
        .count()
}

/// Addresses in use over every pool and family, as the leader reports them.
fn in_use(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("ferrolb_pool_addresses_in_use{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let cluster = Cluster::start().await;
    cluster.pool("v4", "addresses: [10.0.0.0/16]").await;
    cluster.pool("v6", "addresses: [2001:db8::/112]").await;
    for ns in 0..50 {
        cluster.namespace(&format!("ns-{ns}"), &[]).await;
    }
    // The Services exist before the controller starts (seeded directly, so
    // creating them is not part of the measurement).
    let services = ResourceRef::core("services");
    for i in 0..n {
        let family = if i % 2 == 0 { "IPv4" } else { "IPv6" };
        cluster
            .server
            .store()
            .seed(
                &services,
                json!({
                    "metadata": {"name": format!("svc-{i}"), "namespace": format!("ns-{}", i % 50)},
                    // Without NodePorts: 10,000 would not fit the 2,768 NodePorts there are.
                    "spec": {"type": "LoadBalancer", "ipFamilies": [family], "ports": [{"port": 80}],
                             "allocateLoadBalancerNodePorts": false},
                }),
            )
            .unwrap();
    }

    let first = Replica::start(&cluster, "first");
    let patience = Duration::from_secs(60) + Duration::from_millis(50) * n as u32;
    // Done when every Service shows its address and pool in the API server
    // (a leader that lost its Lease meanwhile resumes from those statuses).
    let allocate = wait("every Service allocated", patience, || {
        served(&cluster, &services) >= n
    })
    .await;
    let status_writes = cluster.writes_by(&services, "first");
    first.stop().await;

    let second = Replica::start(&cluster, "second");
    let rebuild = wait("the new leader's state rebuilt", patience, || {
        second.is_leader() && in_use(&second.metrics_text()) as usize >= n
    })
    .await;
    let second_writes = cluster.writes_by(&services, "second");
    second.stop().await;

    println!("| controller through the fake API server ({n} Services, /16 + /112) | time | rate |");
    println!("|---|--:|--:|");
    println!(
        "| start, allocate all, write status + annotation ({status_writes} writes) | {:.2} s | {:.0} Services/s |",
        allocate.as_secs_f64(),
        n as f64 / allocate.as_secs_f64()
    );
    println!(
        "| new leader: elected, rebuilt from statuses ({second_writes} Service writes) | {:.2} s | {:.0} Services/s |",
        rebuild.as_secs_f64(),
        n as f64 / rebuild.as_secs_f64()
    );
}
