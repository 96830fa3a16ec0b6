//! `lbctl pools` against the fake API server.

mod common;

use common::{Cluster, NAMESPACE};
use serde_json::json;

async fn cluster_with_pools() -> Cluster {
    let c = Cluster::start().await;
    c.pool(
        "public",
        json!({"addresses": ["192.0.2.0/28", "192.0.2.100-192.0.2.109", "2001:db8::/124"]}),
    );
    c.pool(
        "private",
        json!({"addresses": ["10.10.0.0/30"], "autoAssign": false,
                             "serviceAllocation": {"priority": 10, "namespaces": ["db"]}}),
    );
    c.lb_service(
        "web/front",
        Some("public"),
        &["192.0.2.1", "2001:db8::1"],
        json!({}),
    );
    c.lb_service("web/api", Some("public"), &["192.0.2.105"], json!({}));
    c.lb_service("default/pg", Some("private"), &["10.10.0.2"], json!({}));
    c.service_event(
        "web/front",
        "Normal",
        "IPAllocated",
        "Assigned 192.0.2.1 from pool public",
        "2026-11-22T06:00:00Z",
    );
    c
}

#[tokio::test]
async fn list_shows_usage_per_family() {
    let c = cluster_with_pools().await;
    let out = c.lbctl(&["pools", "list"]).await.expect_code(0);
    assert_eq!(
        out.stdout,
        "NAME      ADDRESSES                                             FAMILIES    AUTO-ASSIGN   IPV4 USED            IPV6 USED            SERVICES\n\
         private   10.10.0.0/30                                          IPv4        no            1/4 ███░░░░░░░ 25%   -                    1\n\
         public    192.0.2.0/28,192.0.2.100-192.0.2.109,2001:db8::/124   IPv4,IPv6   yes           2/26 █░░░░░░░░░ 8%   1/16 █░░░░░░░░░ 6%   2\n"
    );
    let wide = c
        .lbctl(&["pools", "list", "-o", "wide"])
        .await
        .expect_code(0);
    assert!(wide
        .stdout
        .lines()
        .next()
        .unwrap()
        .ends_with("SERVICES   AVOID-BUGGY-IPS   PRIORITY   NAMESPACES"));
    wide.stdout_has("   no                10         db\n");

    let json = c
        .lbctl(&["pools", "list", "-o", "json"])
        .await
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[1]["name"], "public");
    assert_eq!(v[1]["ipv4"], json!({"used": 2, "total": 26}));
    let yaml = c
        .lbctl(&["pools", "list", "-o", "yaml"])
        .await
        .expect_code(0);
    let v: serde_json::Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    assert_eq!(v[0]["name"], "private");
    assert_eq!(v[0]["priority"], 10);
}

#[tokio::test]
async fn get_lists_every_allocation() {
    let c = cluster_with_pools().await;
    let out = c
        .lbctl(&["pools", "get", "public", "-o", "wide"])
        .await
        .expect_code(0);
    let allocations: Vec<&str> = out.stdout.split("\n\n").nth(1).unwrap().lines().collect();
    assert_eq!(
        allocations[0].split_whitespace().collect::<Vec<_>>(),
        ["IP", "SERVICE", "AGE", "SINCE"]
    );
    let rows: Vec<Vec<&str>> = allocations[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    assert_eq!(
        (rows[0][0], rows[0][1], rows[0][3]),
        ("192.0.2.1", "web/front", "2026-11-22T06:00:00Z")
    );
    // Without an IPAllocated Event, the Service's creation time.
    let api = c
        .server
        .store()
        .get(
            &ferrolb_fake_apiserver::ResourceRef::core("services"),
            Some("web"),
            "api",
        )
        .unwrap();
    let created = api["metadata"]["creationTimestamp"].as_str().unwrap();
    assert_eq!(
        (rows[1][0], rows[1][1], rows[1][3]),
        ("192.0.2.105", "web/api", created)
    );
    assert_eq!((rows[2][0], rows[2][1]), ("2001:db8::1", "web/front"));

    let missing = c.lbctl(&["pools", "get", "gold"]).await.expect_code(1);
    missing.stderr_has("IPAddressPool \"gold\" not found in namespace ferrolb-system; existing pools: private, public");
}

#[tokio::test]
async fn create_runs_the_validator_first() {
    let c = cluster_with_pools().await;
    let out = c
        .lbctl(&[
            "pools",
            "create",
            "lab",
            "--addresses",
            "198.51.100.0/28,198.51.100.32-198.51.100.40",
            "--no-auto-assign",
            "--avoid-buggy-ips",
            "--namespace",
            "lab",
        ])
        .await
        .expect_code(0);
    assert_eq!(out.stdout, "IPAddressPool \"lab\" created\n");
    let stored = c
        .server
        .store()
        .get(
            &ferrolb_fake_apiserver::ResourceRef::new("ferrolb.io", "v1alpha1", "ipaddresspools"),
            Some(NAMESPACE),
            "lab",
        )
        .unwrap();
    assert_eq!(
        stored["spec"],
        json!({"addresses": ["198.51.100.0/28", "198.51.100.32-198.51.100.40"],
        "autoAssign": false, "avoidBuggyIPs": true, "serviceAllocation": {"namespaces": ["lab"]}})
    );

    // Overlapping another pool: refused, nothing written.
    let out = c
        .lbctl(&["pools", "create", "dup", "--addresses", "192.0.2.8/29"])
        .await
        .expect_code(1);
    out.stderr_has("the validator found");
    out.stderr_has("IPAddressPool \"dup\"");
    assert_eq!(c.pool_addresses("dup"), None);

    let out = c
        .lbctl(&["pools", "create", "bad", "--addresses", "192.0.2.300/32"])
        .await
        .expect_code(1);
    out.stderr_has("spec.addresses[0]");

    let out = c
        .lbctl(&["pools", "create", "public", "--addresses", "203.0.113.0/28"])
        .await
        .expect_code(1);
    out.stderr_has("already exists");
}

#[tokio::test]
async fn add_range_validates() {
    let c = cluster_with_pools().await;
    c.lbctl(&["pools", "add-range", "private", "10.10.1.0/30"])
        .await
        .expect_code(0);
    assert_eq!(
        c.pool_addresses("private").unwrap(),
        ["10.10.0.0/30", "10.10.1.0/30"]
    );
    let out = c
        .lbctl(&["pools", "add-range", "private", "192.0.2.4/30"])
        .await
        .expect_code(1);
    out.stderr_has("overlap");
    assert_eq!(
        c.pool_addresses("private").unwrap(),
        ["10.10.0.0/30", "10.10.1.0/30"]
    );
}

#[tokio::test]
async fn remove_range_guards_addresses_in_use() {
    let c = cluster_with_pools().await;
    // web/api holds 192.0.2.105: refused, and the Service is named.
    let out = c
        .lbctl(&["pools", "remove-range", "public", "192.0.2.100-192.0.2.109"])
        .await
        .expect_code(1);
    out.stderr_has("refusing to remove 192.0.2.100-192.0.2.109 from IPAddressPool \"public\"");
    out.stderr_has("  web/api (192.0.2.105)");
    out.stderr_has("--force");
    assert_eq!(c.pool_addresses("public").unwrap().len(), 3);

    // An entry not in the pool.
    let out = c
        .lbctl(&["pools", "remove-range", "public", "192.0.2.0/24"])
        .await
        .expect_code(1);
    out.stderr_has("has no entry \"192.0.2.0/24\"");

    // Forced: done, with the Services that will move listed.
    let out = c
        .lbctl(&[
            "pools",
            "remove-range",
            "public",
            "192.0.2.100-192.0.2.109",
            "--force",
        ])
        .await
        .expect_code(0);
    out.stderr_has("these Services will lose their addresses");
    out.stderr_has("web/api (192.0.2.105)");
    assert_eq!(
        c.pool_addresses("public").unwrap(),
        ["192.0.2.0/28", "2001:db8::/124"]
    );

    // An unused entry goes without --force.
    c.lbctl(&["pools", "add-range", "public", "192.0.2.200-192.0.2.210"])
        .await
        .expect_code(0);
    let out = c
        .lbctl(&["pools", "remove-range", "public", "192.0.2.200-192.0.2.210"])
        .await
        .expect_code(0);
    assert_eq!(out.stderr, "");
}

#[tokio::test]
async fn delete_guards_addresses_in_use() {
    let c = cluster_with_pools().await;
    let out = c
        .lbctl(&["pools", "delete", "private"])
        .await
        .expect_code(1);
    out.stderr_has("refusing to delete IPAddressPool \"private\"");
    out.stderr_has("default/pg (10.10.0.2)");
    assert!(c.pool_addresses("private").is_some());
    let out = c
        .lbctl(&["pools", "delete", "private", "--force"])
        .await
        .expect_code(0);
    assert_eq!(out.stdout, "IPAddressPool \"private\" deleted\n");
    assert!(c.pool_addresses("private").is_none());

    c.pool("empty", json!({"addresses": ["203.0.113.0/28"]}));
    c.lbctl(&["pools", "delete", "empty"]).await.expect_code(0);
    assert!(c.pool_addresses("empty").is_none());
    c.lbctl(&["pools", "delete", "public", "--force"])
        .await
        .expect_code(0);
    let out = c.lbctl(&["pools", "list"]).await.expect_code(0);
    assert_eq!(
        out.stdout,
        "No IPAddressPools in namespace ferrolb-system. Create one: lbctl pools create NAME --addresses 192.0.2.0/28\n"
    );
}
