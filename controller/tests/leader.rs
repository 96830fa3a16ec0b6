//! Two replicas: exactly one writes; when it dies the other takes over
//! within the lease duration and changes nothing.

mod common;

use std::time::{Duration, Instant};

use common::{poll, Cluster, Replica};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::json;

const SERVICES: usize = 40;

async fn holder(cluster: &Cluster) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(cluster.client(), common::NAMESPACE);
    leases
        .get_opt("ferrolb-controller")
        .await
        .unwrap()
        .and_then(|l| l.spec?.holder_identity)
}

/// Two replicas with `a` leading, and `SERVICES` Services all served.
async fn two_replicas_serving(cluster: &Cluster) -> (Replica, Replica) {
    cluster.pool("p", "addresses: [10.0.0.0/24]").await;
    let a = Replica::start(cluster, "ctrl-a");
    assert!(
        poll(Duration::from_secs(10), || async {
            holder(cluster).await.as_deref() == Some("ctrl-a")
        })
        .await,
        "ctrl-a did not take the lease"
    );
    let b = Replica::start(cluster, "ctrl-b");
    for i in 0..SERVICES {
        cluster.service(&format!("s{i:02}"), json!({})).await;
    }
    for i in 0..SERVICES {
        cluster.wait_ips(&format!("s{i:02}")).await;
    }
    // Every Service annotated and the pool status written.
    let want = ferrolb_api::IPAddressPoolStatus {
        assigned_ipv4: SERVICES as u64,
        available_ipv4: 256 - SERVICES as u64,
        ..Default::default()
    };
    common::eventually("pool status", || async {
        cluster.pool_status("p").await.as_ref() == Some(&want)
    })
    .await;
    for i in 0..SERVICES {
        let name = format!("s{i:02}");
        common::eventually("annotation", || async {
            cluster.recorded_pool(&name).await.is_some()
        })
        .await;
    }
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_replica_writes() {
    let cluster = Cluster::start().await;
    let (a, b) = two_replicas_serving(&cluster).await;
    // Let b run a few election rounds too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let [services, events, pools, leases] = cluster.all_writes_by("ctrl-a");
    assert!(
        services >= 2 * SERVICES,
        "ctrl-a wrote {services} Service changes"
    );
    assert_eq!(events, SERVICES);
    assert!(pools >= 1 && leases >= 2, "{pools} {leases}");
    assert_eq!(cluster.all_writes_by("ctrl-b"), [0, 0, 0, 0]);
    assert!(a.is_leader() && !b.is_leader());
    assert!(a.readiness.is_ready() && b.readiness.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_from_a_dead_leader_and_changes_nothing() {
    let cluster = Cluster::start().await;
    let (a, b) = two_replicas_serving(&cluster).await;
    let before = cluster.all_ips().await;
    a.kill().await;
    let killed = Instant::now();
    cluster.server.store().clear_writes();

    let took_over = poll(Duration::from_secs(10), || async { b.is_leader() }).await;
    let takeover = killed.elapsed();
    assert!(took_over, "ctrl-b never took over");
    // Lease duration 2 s, plus at most one retry period and scheduling.
    assert!(
        takeover < Duration::from_secs(4),
        "took over after {takeover:?}"
    );
    assert_eq!(holder(&cluster).await.as_deref(), Some("ctrl-b"));

    // Give it time to rebuild, reconcile everything and refresh pool status.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let [services, events, pools, _] = cluster.all_writes_by("ctrl-b");
    assert_eq!(
        (services, events, pools),
        (0, 0, 0),
        "the new leader changed something"
    );
    assert_eq!(cluster.all_ips().await, before);

    // It does serve new Services, without reusing any address.
    cluster.service("late", json!({})).await;
    let ip = cluster.wait_ips("late").await;
    assert!(
        !before.values().any(|ips| ips == &ip),
        "late got {ip:?}, already in use"
    );
    assert!(cluster.all_writes_by("ctrl-b")[0] >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_hands_over_at_once() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [10.0.0.0/24]").await;
    let a = Replica::start(&cluster, "ctrl-a");
    assert!(poll(Duration::from_secs(10), || async { a.is_leader() }).await);
    let b = Replica::start(&cluster, "ctrl-b");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.is_leader());
    let stopped = Instant::now();
    a.stop().await;
    assert!(poll(Duration::from_secs(10), || async { b.is_leader() }).await);
    // Released, not expired: b takes it at its next attempt.
    assert!(
        stopped.elapsed() < Duration::from_millis(1500),
        "handover took {:?}",
        stopped.elapsed()
    );
    cluster.service("web", json!({})).await;
    cluster.wait_ips_are("web", &["10.0.0.0"]).await;
}
