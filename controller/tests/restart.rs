//! Killing the controller in the middle of allocating 1,000 Services and
//! starting it again: no Service shares another's address, and no address
//! already written changes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{config, poll, status_ips, Cluster, Replica};
use ferrolb_fake_apiserver::{ResourceRef, Store};
use k8s_openapi::api::core::v1::Service;
use serde_json::json;

const SERVICES: usize = 1_000;

/// Stores Service `i` directly (creating 1,000 through HTTP only adds time);
/// every tenth is dual-stack from the "dual" pool.
fn seed_service(store: &Store, i: usize) {
    let mut svc = json!({
        "metadata": {"name": format!("svc-{i:04}"), "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    });
    if i.is_multiple_of(10) {
        svc["metadata"]["annotations"] = json!({"ferrolb.io/address-pool": "dual"});
        svc["spec"]["ipFamilies"] = json!(["IPv4", "IPv6"]);
        svc["spec"]["ipFamilyPolicy"] = json!("RequireDualStack");
    }
    store.seed(&ResourceRef::core("services"), svc).unwrap();
}

/// The addresses of every Service that has some, read from the store.
fn allocated(cluster: &Cluster) -> BTreeMap<String, Vec<String>> {
    cluster
        .server
        .store()
        .list(&ResourceRef::core("services"), Some("default"))
        .into_iter()
        .map(|v| serde_json::from_value::<Service>(v).unwrap())
        .map(|s| (s.metadata.name.clone().unwrap_or_default(), status_ips(&s)))
        .filter(|(_, ips)| !ips.is_empty())
        .collect()
}

/// Status writes to Services so far.
fn status_writes(cluster: &Cluster) -> usize {
    cluster
        .server
        .store()
        .writes()
        .iter()
        .filter(|w| {
            w.changed
                && w.subresource.as_deref() == Some("status")
                && w.resource == ResourceRef::core("services")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_allocation_restarts_without_changing_anything() {
    let cluster = Cluster::start().await;
    cluster.pool("v4", "addresses: [10.0.0.0/16]").await;
    cluster
        .pool(
            "dual",
            "{addresses: [10.1.0.0/24, \"2001:db8:1::/112\"], autoAssign: false}",
        )
        .await;
    // Half exist before the controller starts, half arrive while it works.
    for i in 0..SERVICES / 2 {
        seed_service(cluster.server.store(), i);
    }
    let first = Replica::start(&cluster, "ctrl");
    let seeding = {
        let store = cluster.server.store().clone();
        tokio::spawn(async move {
            for i in SERVICES / 2..SERVICES {
                seed_service(&store, i);
                tokio::task::yield_now().await;
            }
        })
    };

    // Kill it once a good part, but not all, is written.
    let going = poll(Duration::from_secs(180), || async {
        status_writes(&cluster) >= 300
    })
    .await;
    assert!(going, "the controller did not get going");
    first.kill().await;
    // Let requests already sent land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = allocated(&cluster);
    assert!(
        before.len() < SERVICES,
        "everything was done before the kill; the test proves nothing"
    );

    // Start again, as the same pod would after a crash, under another field
    // manager so its writes can be told apart.
    let mut again = config("ctrl");
    again.field_manager = "ctrl-restarted".into();
    let _second = Replica::start_with(&cluster, again);
    seeding.await.unwrap();
    let done = poll(Duration::from_secs(90), || async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        allocated(&cluster).len() == SERVICES
    })
    .await;
    let after = allocated(&cluster);
    assert!(done, "only {} of {SERVICES} have addresses", after.len());

    // Nothing written before the kill changed.
    for (name, ips) in &before {
        assert_eq!(after.get(name), Some(ips), "{name} changed");
    }
    // No address is listed twice.
    let mut seen = BTreeSet::new();
    for (name, ips) in &after {
        for ip in ips {
            assert!(
                seen.insert(ip.clone()),
                "{ip} listed twice (again by {name})"
            );
        }
    }
    // Dual-stack Services got both families from their pool.
    for (name, ips) in after.iter().filter(|(n, _)| n.ends_with('0')) {
        assert_eq!(ips.len(), 2, "{name}: {ips:?}");
        assert!(
            ips[0].starts_with("10.1.0.") && ips[1].starts_with("2001:db8:1::"),
            "{name}: {ips:?}"
        );
    }
    // The restarted controller never rewrote the status of a Service that
    // already had its addresses.
    let rewritten: Vec<String> = cluster
        .server
        .store()
        .writes()
        .iter()
        .filter(|w| {
            w.actor() == "ctrl-restarted"
                && w.changed
                && w.resource == ResourceRef::core("services")
                && w.subresource.as_deref() == Some("status")
                && before.contains_key(&w.name)
        })
        .map(|w| w.name.clone())
        .collect();
    assert!(rewritten.is_empty(), "status rewritten for {rewritten:?}");
}
