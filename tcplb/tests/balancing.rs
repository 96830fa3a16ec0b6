//! Connections spread by algorithm over three real backends on loopback, through the proxy.

mod support;

use std::collections::BTreeMap;

use ferrolb_tcplb::AdminState;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_counts_within_one_and_drain_keeps_established() {
    let pki = Pki::new();
    let b: Vec<Server> = futures_join(&pki, &["b0", "b1", "b2"], "127.0.0.1").await;
    let fe = free_port("127.0.0.1");
    let lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], backends: {}}}]",
        backends_yaml(&[&b[0], &b[1], &b[2]])
    ));
    let mut counts = BTreeMap::new();
    for _ in 0..31 {
        *counts.entry(which(fe, None).await.unwrap()).or_insert(0) += 1;
    }
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(max - min <= 1, "round robin spread {counts:?}");

    // Drain b1: an open connection to it keeps working, new ones avoid it.
    let mut open = None;
    for _ in 0..3 {
        let (name, conn) = hello(fe, None).await.unwrap();
        if name == "b1" {
            open = Some(conn);
        }
    }
    let mut open = open.expect("one of three went to b1");
    lb.set_admin_state("api", b[1].address, AdminState::Drain)
        .unwrap();
    for _ in 0..10 {
        assert_ne!(which(fe, None).await.unwrap(), "b1");
    }
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    open.get_mut().write_all(b"still").await.unwrap();
    let mut back = [0u8; 5];
    open.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"still");
    lb.set_admin_state("api", b[1].address, AdminState::Ready)
        .unwrap();
    let names: Vec<String> = futures::future::join_all((0..6).map(|_| which(fe, None)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        names.iter().any(|n| n == "b1"),
        "b1 back in rotation: {names:?}"
    );
    assert!(lb
        .set_admin_state("api", "127.0.0.9:1".parse().unwrap(), AdminState::Maint)
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_fills_the_idlest() {
    let pki = Pki::new();
    let b = futures_join(&pki, &["b0", "b1", "b2"], "127.0.0.1").await;
    let fe = free_port("127.0.0.1");
    let lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], algorithm: leastConnections, backends: {}}}]",
        backends_yaml(&[&b[0], &b[1], &b[2]])
    ));
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(hello(fe, None).await.unwrap());
    }
    let count = |held: &[(String, _)], n: &str| held.iter().filter(|(h, _)| h == n).count();
    for n in ["b0", "b1", "b2"] {
        assert_eq!(count(&held, n), 2, "two each while all are held");
    }
    // Close both connections of b0: the next two go there.
    held.retain(|(n, _)| n != "b0");
    let b0_idle = || {
        lb.status()[0]
            .backends
            .iter()
            .any(|s| s.address == b[0].address && s.active_connections == 0)
    };
    wait_until(std::time::Duration::from_secs(10), b0_idle)
        .await
        .expect("the proxy sees b0's connections close");
    for _ in 0..2 {
        let next = hello(fe, None).await.unwrap();
        assert_eq!(next.0, "b0");
        held.push(next);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_hash_sticks_and_moves_about_a_third_on_removal() {
    let pki = Pki::new();
    let b = futures_join(&pki, &["b0", "b1", "b2"], "127.0.0.1").await;
    let fe = free_port("127.0.0.1");
    let yaml = |servers: &[&Server]| {
        format!(
            "frontends: [{{name: api, listen: ['{fe}'], algorithm: sourceHash, backends: {}}}]",
            backends_yaml(servers)
        )
    };
    let lb = load_balancer(&yaml(&[&b[0], &b[1], &b[2]]));
    let clients: Vec<String> = (1..=90).map(|i| format!("127.0.1.{i}")).collect();
    let mut first = BTreeMap::new();
    for c in &clients {
        let a = which(fe, Some(c)).await.unwrap();
        let again = which(fe, Some(c)).await.unwrap();
        assert_eq!(a, again, "client {c} stays on one backend");
        first.insert(c.clone(), a);
    }
    let per_backend =
        |m: &BTreeMap<String, String>, n: &str| m.values().filter(|v| *v == n).count();
    for n in ["b0", "b1", "b2"] {
        assert!(per_backend(&first, n) >= 15, "{n} has a share: {first:?}");
    }
    lb.apply(&config(&yaml(&[&b[0], &b[2]]))).unwrap();
    let (mut moved, mut moved_others) = (0, 0);
    for c in &clients {
        let now = which(fe, Some(c)).await.unwrap();
        assert_ne!(now, "b1");
        if now != first[c] {
            moved += 1;
            if first[c] != "b1" {
                moved_others += 1;
            }
        }
    }
    // Maglev moves a removed backend's clients and, by design, at most a sliver of others.
    assert!(
        moved_others <= 3,
        "{moved_others} clients of kept backends moved"
    );
    assert!(
        moved >= per_backend(&first, "b1"),
        "all of b1's clients moved"
    );
}

/// Starts servers named `names` on `ip`.
async fn futures_join(pki: &Pki, names: &[&str], ip: &str) -> Vec<Server> {
    let mut v = Vec::new();
    for n in names {
        v.push(Server::start(pki, n, ip).await);
    }
    v
}
