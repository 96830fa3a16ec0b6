//! The allocation rules end to end: a real reconciler against the fake API
//! server, checked through what a user sees — Service status, the
//! ip-allocated-from-pool annotation, Events and pool status.

mod common;

use common::{eventually, Cluster, Replica};
use serde_json::json;

#[tokio::test]
async fn ipv4_ipv6_and_dual_stack() {
    let cluster = Cluster::start().await;
    cluster.pool("a-v4", "addresses: [192.0.2.0/29]").await;
    cluster
        .pool("b-dual", "addresses: [198.51.100.0/30, \"2001:db8::/126\"]")
        .await;
    let _ctrl = Replica::start(&cluster, "ctrl");

    // One at a time: Services created together are served in whatever
    // order their reconciles run.
    cluster.service("plain", json!({})).await;
    cluster.wait_ips_are("plain", &["192.0.2.0"]).await;
    cluster
        .service("v6", json!({"spec": {"ipFamilies": ["IPv6"]}}))
        .await;
    cluster.wait_ips_are("v6", &["2001:db8::"]).await;
    cluster
        .service(
            "require",
            json!({"spec": {"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "RequireDualStack"}}),
        )
        .await;
    cluster
        .wait_ips_are("require", &["198.51.100.0", "2001:db8::1"])
        .await;
    // a-v4 comes first by name but has no IPv6: PreferDualStack with an
    // IPv6 primary family goes to b-dual and gets both.
    cluster
        .service(
            "prefer6",
            json!({"spec": {"ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "PreferDualStack"}}),
        )
        .await;
    cluster
        .wait_ips_are("prefer6", &["2001:db8::2", "198.51.100.1"])
        .await;
    // An IPv4-first PreferDualStack Service settles for a-v4's IPv4.
    cluster
        .service(
            "prefer4",
            json!({"spec": {"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack"}}),
        )
        .await;
    cluster.wait_ips_are("prefer4", &["192.0.2.1"]).await;

    assert_eq!(
        cluster.recorded_pool("plain").await.as_deref(),
        Some("a-v4")
    );
    assert_eq!(
        cluster.recorded_pool("require").await.as_deref(),
        Some("b-dual")
    );
    assert_eq!(
        cluster.wait_event("require", "IPAllocated").await,
        "Assigned 198.51.100.0, 2001:db8::1 from IPAddressPool \"b-dual\""
    );

    // Pool status and metrics count both families.
    let want = ferrolb_api::IPAddressPoolStatus {
        assigned_ipv4: 2,
        assigned_ipv6: 3,
        available_ipv4: 2,
        available_ipv6: 1,
    };
    eventually("b-dual status", || async {
        cluster.pool_status("b-dual").await.as_ref() == Some(&want)
    })
    .await;
    // b-dual's status was final before prefer4 was served: wait for a-v4's too, written
    // (like the pool metrics, just before it) after prefer4's addresses.
    let want_a = ferrolb_api::IPAddressPoolStatus {
        assigned_ipv4: 2,
        available_ipv4: 6,
        ..Default::default()
    };
    eventually("a-v4 status", || async {
        cluster.pool_status("a-v4").await.as_ref() == Some(&want_a)
    })
    .await;
    let metrics = _ctrl.metrics_text();
    for line in [
        "ferrolb_pool_addresses_total{pool=\"b-dual\",family=\"ipv6\"} 4.0",
        "ferrolb_pool_addresses_in_use{pool=\"b-dual\",family=\"ipv6\"} 3.0",
        "ferrolb_pool_addresses_in_use{pool=\"a-v4\",family=\"ipv4\"} 2.0",
        "ferrolb_allocations_total 5",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}

#[tokio::test]
async fn requests_pool_annotation_and_their_failures() {
    let cluster = Cluster::start().await;
    cluster.pool("auto", "addresses: [10.0.0.0/30]").await;
    cluster
        .pool("manual", "{addresses: [10.0.1.0/30], autoAssign: false}")
        .await;
    let _ctrl = Replica::start(&cluster, "ctrl");

    cluster
        .service("by-field", json!({"spec": {"loadBalancerIP": "10.0.1.2"}}))
        .await;
    cluster
        .service(
            "by-annotation",
            json!({"metadata": {"annotations": {"ferrolb.io/loadBalancerIPs": "10.0.0.3"}}}),
        )
        .await;
    cluster
        .service(
            "by-pool",
            json!({"metadata": {"annotations": {"metallb.universe.tf/address-pool": "manual"}}}),
        )
        .await;
    cluster.wait_ips_are("by-field", &["10.0.1.2"]).await;
    cluster.wait_ips_are("by-annotation", &["10.0.0.3"]).await;
    cluster.wait_ips_are("by-pool", &["10.0.1.0"]).await;
    assert_eq!(
        cluster.recorded_pool("by-pool").await.as_deref(),
        Some("manual")
    );

    // Overlapping request: the address is taken.
    cluster
        .service("same-ip", json!({"spec": {"loadBalancerIP": "10.0.1.2"}}))
        .await;
    assert_eq!(
        cluster.wait_event("same-ip", "AllocationFailed").await,
        "requested address 10.0.1.2 is in use: default/by-field holds it and does not allow \
         sharing (no allow-shared-ip annotation)"
    );
    // Outside every pool.
    cluster
        .service(
            "outside",
            json!({"metadata": {"annotations": {"ferrolb.io/loadBalancerIPs": "203.0.113.9"}}}),
        )
        .await;
    assert_eq!(
        cluster.wait_event("outside", "AllocationFailed").await,
        "requested address 203.0.113.9 is not in any IPAddressPool"
    );
    // A pool that does not exist.
    cluster
        .service(
            "missing-pool",
            json!({"metadata": {"annotations": {"ferrolb.io/address-pool": "nope"}}}),
        )
        .await;
    assert_eq!(
        cluster.wait_event("missing-pool", "AllocationFailed").await,
        "IPAddressPool \"nope\" does not exist"
    );
    // An unusable annotation.
    cluster
        .service(
            "garbled",
            json!({"metadata": {"annotations": {"ferrolb.io/loadBalancerIPs": "ten.0.0.1"}}}),
        )
        .await;
    assert_eq!(
        cluster.wait_event("garbled", "AllocationFailed").await,
        "annotation ferrolb.io/loadBalancerIPs: \"ten.0.0.1\" is not an IP address"
    );
    for name in ["same-ip", "outside", "missing-pool", "garbled"] {
        assert!(cluster.ips(name).await.is_empty(), "{name} got an address");
        assert_eq!(cluster.recorded_pool(name).await, None, "{name}");
    }

    // The missing pool appears: the failed Service is served.
    cluster
        .pool("nope", "{addresses: [10.0.9.0/30], autoAssign: false}")
        .await;
    cluster.wait_ips_are("missing-pool", &["10.0.9.0"]).await;
    // The holder of 10.0.1.2 goes: the waiting Service gets it.
    cluster.delete_service("by-field").await;
    cluster.wait_ips_are("same-ip", &["10.0.1.2"]).await;
    // Each failure was reported once.
    let failures = cluster
        .events("missing-pool")
        .await
        .iter()
        .filter(|(r, _)| r == "AllocationFailed")
        .count();
    assert_eq!(failures, 1);
    // The rest never change.
    assert!(cluster.ips("outside").await.is_empty());
}

#[tokio::test]
async fn shared_addresses() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [10.0.0.0/29]").await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    let shared = |port: i32, protocol: &str| {
        json!({
            "metadata": {"annotations": {"ferrolb.io/allow-shared-ip": "web"}},
            "spec": {"ports": [{"port": port, "protocol": protocol}]},
        })
    };
    cluster.service("http", shared(80, "TCP")).await;
    cluster.wait_ips_are("http", &["10.0.0.0"]).await;
    cluster.service("https", shared(443, "TCP")).await;
    cluster.service("dns", shared(53, "UDP")).await;
    cluster.wait_ips_are("https", &["10.0.0.0"]).await;
    cluster.wait_ips_are("dns", &["10.0.0.0"]).await;
    // Same port: cannot share, gets the next address.
    cluster.service("http2", shared(80, "TCP")).await;
    cluster.wait_ips_are("http2", &["10.0.0.1"]).await;
    // Asking for the shared address with a clashing port fails.
    let mut clash = shared(443, "TCP");
    clash["spec"]["loadBalancerIP"] = json!("10.0.0.0");
    cluster.service("clash", clash).await;
    assert_eq!(
        cluster.wait_event("clash", "AllocationFailed").await,
        "requested address 10.0.0.0 is in use: default/https already uses TCP/443 on it"
    );
}

#[tokio::test]
async fn deleting_a_pool_moves_its_services_or_fails_them() {
    let cluster = Cluster::start().await;
    cluster.pool("a", "addresses: [10.0.0.0/30]").await;
    cluster.pool("b", "addresses: [10.0.1.0/30]").await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    cluster.service("s1", json!({})).await;
    cluster.wait_ips_are("s1", &["10.0.0.0"]).await;
    cluster.service("s2", json!({})).await;
    cluster.wait_ips_are("s2", &["10.0.0.1"]).await;

    cluster.delete_pool("a").await;
    cluster.wait_ips_are("s1", &["10.0.1.0"]).await;
    cluster.wait_ips_are("s2", &["10.0.1.1"]).await;
    assert_eq!(cluster.recorded_pool("s1").await.as_deref(), Some("b"));
    eventually("the move Event", || async {
        cluster.events("s1").await.iter().any(|(r, n)| {
            r == "IPAllocated" && n == "Assigned 10.0.1.0 from IPAddressPool \"b\" (was 10.0.0.0)"
        })
    })
    .await;

    cluster.delete_pool("b").await;
    assert_eq!(
        cluster.wait_event("s1", "AllocationFailed").await,
        "no IPAddressPool assigns addresses to this Service automatically (none has autoAssign \
         and a serviceAllocation that selects it); name one with the address-pool annotation"
    );
    cluster.wait_ips_are("s1", &[]).await;
    cluster.wait_ips_are("s2", &[]).await;
    assert_eq!(cluster.recorded_pool("s2").await, None);
}

#[tokio::test]
async fn shrinking_a_pool_moves_only_services_outside_it() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [10.0.0.0/29]").await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    for i in 0..4 {
        let name = format!("s{i}");
        cluster.service(&name, json!({})).await;
        cluster.wait_ips_are(&name, &[&format!("10.0.0.{i}")]).await;
    }
    let before = cluster.get_service("s0").await.metadata.resource_version;

    cluster.pool("p", "addresses: [10.0.0.0/31]").await;
    for name in ["s2", "s3"] {
        assert_eq!(
            cluster.wait_event(name, "AllocationFailed").await,
            "no eligible IPAddressPool has a free IPv4 address (tried p)"
        );
        cluster.wait_ips_are(name, &[]).await;
    }
    cluster.wait_ips_are("s0", &["10.0.0.0"]).await;
    cluster.wait_ips_are("s1", &["10.0.0.1"]).await;
    // s0 was not touched at all.
    assert_eq!(
        cluster.get_service("s0").await.metadata.resource_version,
        before
    );
    let want = ferrolb_api::IPAddressPoolStatus {
        assigned_ipv4: 2,
        ..Default::default()
    };
    eventually("pool status after the shrink", || async {
        cluster.pool_status("p").await.as_ref() == Some(&want)
    })
    .await;

    // Growing it back serves the waiting Services.
    cluster.pool("p", "addresses: [10.0.0.0/30]").await;
    cluster.wait_ips_are("s2", &["10.0.0.2"]).await;
    cluster.wait_ips_are("s3", &["10.0.0.3"]).await;
}

#[tokio::test]
async fn classes_and_type_changes() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [10.0.0.0/31]").await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    cluster
        .service(
            "foreign",
            json!({"spec": {"loadBalancerClass": "example.com/other"}}),
        )
        .await;
    cluster.service("lb", json!({})).await;
    cluster.wait_ips_are("lb", &["10.0.0.0"]).await;

    cluster
        .patch_service("lb", json!({"spec": {"type": "ClusterIP"}}))
        .await;
    assert_eq!(
        cluster.wait_event("lb", "IPReleased").await,
        "Released 10.0.0.0: the Service is no longer of type LoadBalancer"
    );
    cluster.wait_ips_are("lb", &[]).await;
    eventually("annotation removed", || async {
        cluster.recorded_pool("lb").await.is_none()
    })
    .await;
    // The address is free again.
    cluster.service("next", json!({})).await;
    cluster.wait_ips_are("next", &["10.0.0.0"]).await;

    // The other class's Service was never touched.
    assert!(cluster.ips("foreign").await.is_empty());
    assert!(cluster.events("foreign").await.is_empty());
}

#[tokio::test]
async fn only_the_configured_class() {
    let cluster = Cluster::start().await;
    cluster.pool("p", "addresses: [10.0.0.0/31]").await;
    let mut config = common::config("ctrl");
    config.load_balancer_class = Some("ferrolb.io/ferrolb".into());
    let _ctrl = Replica::start_with(&cluster, config);
    cluster.service("classless", json!({})).await;
    cluster
        .service(
            "ours",
            json!({"spec": {"loadBalancerClass": "ferrolb.io/ferrolb"}}),
        )
        .await;
    cluster.wait_ips_are("ours", &["10.0.0.0"]).await;
    assert!(cluster.ips("classless").await.is_empty());
    assert!(cluster.events("classless").await.is_empty());
}

#[tokio::test]
async fn namespace_labels_select_pools() {
    let cluster = Cluster::start().await;
    cluster
        .pool(
            "gold",
            "{addresses: [10.0.5.0/30], serviceAllocation: {priority: 1, namespaceSelectors: [{matchLabels: {tier: gold}}]}}",
        )
        .await;
    cluster.namespace("shop", &[]).await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    cluster.service("shop/web", json!({})).await;
    assert_eq!(
        cluster.wait_event("shop/web", "AllocationFailed").await,
        "no IPAddressPool assigns addresses to this Service automatically (none has autoAssign \
         and a serviceAllocation that selects it); name one with the address-pool annotation"
    );
    // Labelling the namespace re-evaluates its Services.
    cluster.label_namespace("shop", &[("tier", "gold")]).await;
    cluster.wait_ips_are("shop/web", &["10.0.5.0"]).await;
    assert_eq!(
        cluster.recorded_pool("shop/web").await.as_deref(),
        Some("gold")
    );
}

#[tokio::test]
async fn invalid_and_overlapping_pools_get_a_warning_event() {
    let cluster = Cluster::start().await;
    // Stored before any webhook could refuse them (e.g. with --no-webhook).
    cluster.pool("a", "addresses: [10.0.0.0/28]").await;
    cluster.pool("b", "addresses: [10.0.0.8/29]").await;
    let _ctrl = Replica::start(&cluster, "ctrl");
    let note = cluster
        .wait_event(&format!("{}/b", common::NAMESPACE), "InvalidPool")
        .await;
    assert_eq!(
        note,
        "spec.addresses[0]: 10.0.0.8/29 overlaps 10.0.0.0/28 (spec.addresses[0] of IPAddressPool \"a\")"
    );
    // The pool that came first is fine and says nothing.
    assert!(cluster
        .events(&format!("{}/a", common::NAMESPACE))
        .await
        .is_empty());
    // A pool with host bits set gets its own Event.
    cluster.pool("c", "addresses: [10.1.0.1/24]").await;
    let note = cluster
        .wait_event(&format!("{}/c", common::NAMESPACE), "InvalidPool")
        .await;
    assert!(note.contains("host bits"), "{note}");
}
