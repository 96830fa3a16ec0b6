//! Three speakers in their own network namespaces on one bridged LAN: cutting one node's link
//! takes quorum away from it while the other two keep it, and healing the link brings it back.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::{start, wait_view, KEY};
use ferrolb_membership::{MemberView, DEFAULT_PORT};
use ferrolb_testbed::{Netns, NsRuntime, Topology};
use tokio::sync::watch;

/// A member running on its own tokio runtime inside a namespace; it leaves the group on drop.
struct Speaker(NsRuntime<watch::Receiver<MemberView>>);

impl Speaker {
    fn spawn(
        ns: &Netns,
        name: &str,
        addr: SocketAddr,
        expected: BTreeMap<String, SocketAddr>,
    ) -> Speaker {
        let name = name.to_owned();
        let running = NsRuntime::start(
            ns,
            Duration::from_secs(5),
            move || async move {
                let member = start(&name, addr, &KEY).await;
                member.set_expected(expected);
                let view = member.view();
                (member, view)
            },
            |member| async move { member.leave().await },
        )
        .unwrap();
        Speaker(running)
    }

    fn view(&self) -> &watch::Receiver<MemberView> {
        self.0.handle()
    }
}

#[test]
fn a_partitioned_node_loses_quorum_and_rejoins_when_healed() {
    let lan = Topology::lan(3).unwrap();
    lan.wait_connected(Duration::from_secs(5)).unwrap();
    let addrs: Vec<SocketAddr> = lan
        .nodes
        .iter()
        .map(|n| SocketAddr::new(IpAddr::V4(n.v4), DEFAULT_PORT))
        .collect();
    let names: Vec<String> = (1..=3).map(|i| format!("node-{i}")).collect();
    let expected: BTreeMap<String, SocketAddr> =
        names.iter().cloned().zip(addrs.iter().copied()).collect();
    let speakers: Vec<Speaker> = lan
        .nodes
        .iter()
        .zip(&names)
        .zip(&addrs)
        .map(|((node, name), addr)| Speaker::spawn(&node.ns, name, *addr, expected.clone()))
        .collect();

    let whole = |v: &MemberView| v.alive.len() == 3 && v.has_quorum;
    for s in &speakers {
        wait_view("all three alive", s.view(), Duration::from_secs(3), whole);
    }

    // Cut node-3's cable.
    lan.nodes[2].iface.set_down().unwrap();
    let cut = Instant::now();
    let isolated = wait_view(
        "node-3 to lose quorum",
        speakers[2].view(),
        Duration::from_secs(3),
        |v| !v.has_quorum,
    );
    println!("node-3 lost quorum {isolated:?} after its link went down");
    for s in &speakers[..2] {
        wait_view(
            "the majority to drop node-3",
            s.view(),
            Duration::from_secs(3),
            |v| v.has_quorum && v.alive.len() == 2 && !v.alive.contains("node-3"),
        );
    }
    println!("the majority dropped node-3 after {:?}", cut.elapsed());
    assert!(isolated < Duration::from_millis(1500), "took {isolated:?}");
    // The majority never lost quorum, and the minority stays without it while cut off.
    std::thread::sleep(Duration::from_millis(500));
    for s in &speakers[..2] {
        assert!(s.view().borrow().has_quorum);
    }
    assert!(!speakers[2].view().borrow().has_quorum);
    assert_eq!(speakers[2].view().borrow().alive.len(), 1);

    // Heal.
    lan.nodes[2].iface.set_up().unwrap();
    let healed = Instant::now();
    for s in &speakers {
        wait_view(
            "all three alive again",
            s.view(),
            Duration::from_secs(5),
            whole,
        );
    }
    println!(
        "all three alive again {:?} after the link came back",
        healed.elapsed()
    );
}
