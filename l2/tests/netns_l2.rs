//! L2 announcements on the real kernel: namespaces on a bridge act as two nodes and a client;
//! the client's own ARP/NDP must resolve service IPs to exactly the owner node's MAC.
//!
//! Service IPs are also put on the nodes' `lo` (with `arp_ignore=1`, `arp_announce=2`) so the
//! client's pings are answered once resolved; the kernel itself never answers ARP/NDP for them
//! on `eth0`, which each test checks before anything is owned.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrolb_l2::{L2Announcer, L2Config};
use ferrolb_testbed::{Netns, NsRuntime, Topology};

const SERVICE_V4: &str = "198.18.0.100";
const SERVICE_V6: &str = "2001:db8::100";
const NOT_OWNED_V4: &str = "198.18.0.101";
const NOT_OWNED_V6: &str = "2001:db8::101";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Owned IPs on every eligible interface.
fn owning(ips: &[&str]) -> BTreeMap<IpAddr, Vec<String>> {
    ips.iter().map(|s| (ip(s), Vec::new())).collect()
}

fn test_config() -> L2Config {
    L2Config {
        gratuitous_spacing: Duration::from_millis(100),
        refresh_interval: Duration::from_secs(1),
        link_poll_interval: Duration::from_millis(200),
        ..L2Config::default()
    }
}

/// An announcer running on its own runtime inside a node namespace. Dropping it shuts the
/// announcer down and joins the thread (before the namespace goes).
struct Speaker(NsRuntime<Arc<L2Announcer>>);

impl Speaker {
    fn start(ns: &Netns, config: L2Config) -> Speaker {
        let running = NsRuntime::start(
            ns,
            Duration::from_secs(10),
            move || async move {
                let announcer = Arc::new(L2Announcer::start(config).await.unwrap());
                (announcer.clone(), announcer)
            },
            |announcer| async move {
                // The test's handle is gone by now.
                if let Ok(announcer) = Arc::try_unwrap(announcer) {
                    announcer.shutdown().await;
                }
            },
        )
        .unwrap();
        Speaker(running)
    }

    fn get(&self) -> &L2Announcer {
        self.0.handle()
    }
}

fn mac_of(ns: &Netns, dev: &str) -> String {
    ns.exec("cat", &[&format!("/sys/class/net/{dev}/address")])
        .unwrap()
        .trim()
        .to_owned()
}

/// Puts the service IPs on `lo` so the node accepts traffic for them, and keeps its kernel
/// from answering ARP for them on other interfaces or using them as ARP source addresses.
fn prepare_node(ns: &Netns) {
    ns.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
    ns.sysctl("net.ipv4.conf.all.arp_announce", "2").unwrap();
    ns.add_loopback_addr(format!("{SERVICE_V4}/32").parse().unwrap())
        .unwrap();
    ns.add_loopback_addr(format!("{SERVICE_V6}/128").parse().unwrap())
        .unwrap();
}

/// The multicast groups (link-layer and IPv6) eth0 of a node is subscribed to.
fn joined_groups(ns: &Netns) -> String {
    ns.ip(&["maddr", "show", "dev", "eth0"]).unwrap()
}

/// The link-layer address of the client's neighbour entry for `addr`, if it has one.
fn neighbour(client: &Netns, addr: &str) -> Option<String> {
    let out = client
        .ip(&["neigh", "show", "to", addr, "dev", "eth0"])
        .unwrap();
    let mut words = out.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_owned)
}

/// Makes the client's kernel resolve `addr` from scratch (its own ARP / NDP, triggered by a
/// ping) and returns the MAC it resolved to, and whether the ping was answered. Any earlier
/// entry is flushed first: even a failed one would take an unsolicited announcement.
fn resolve(client: &Netns, addr: &str) -> (Option<String>, bool) {
    client
        .ip(&["neigh", "flush", "to", addr, "dev", "eth0"])
        .unwrap();
    let answered = client.ping(ip(addr)).is_ok();
    (neighbour(client, addr), answered)
}

/// The MACs that answer `count` ARP requests for `addr` from the client (arping's raw output).
fn arping(client: &Netns, addr: &str, count: u32) -> BTreeSet<String> {
    let out = client
        .command("arping")
        .args([
            "-i",
            "eth0",
            "-r",
            "-c",
            &count.to_string(),
            "-W",
            "0.2",
            "-w",
            "2",
            addr,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Polls the client's neighbour entry until it shows `mac`; returns how long that took.
fn wait_neighbour(client: &Netns, addr: &str, mac: &str, since: Instant) -> Duration {
    while since.elapsed() < Duration::from_secs(5) {
        if neighbour(client, addr).as_deref() == Some(mac) {
            return since.elapsed();
        }
        thread::sleep(Duration::from_millis(2));
    }
    panic!(
        "client's entry for {addr} is {:?}, not {mac}, after 5 s",
        neighbour(client, addr)
    );
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("ferrolb_l2=debug")
        .with_test_writer()
        .try_init();
}

#[test]
fn client_resolves_to_the_owner_and_follows_a_takeover() {
    init_tracing();
    let lan = Topology::lan(3).unwrap();
    let (node_a, node_b, client) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    prepare_node(&node_a.ns);
    prepare_node(&node_b.ns);
    lan.wait_connected(Duration::from_secs(10)).unwrap();
    let (mac_a, mac_b) = (mac_of(&node_a.ns, "eth0"), mac_of(&node_b.ns, "eth0"));
    let speaker_a = Speaker::start(&node_a.ns, test_config());
    let speaker_b = Speaker::start(&node_b.ns, test_config());

    // Nothing owned yet: neither the announcers nor the nodes' kernels answer.
    assert_eq!(arping(&client.ns, SERVICE_V4, 1), BTreeSet::new());
    assert_eq!(resolve(&client.ns, SERVICE_V6), (None, false));

    speaker_a.get().set_owned(owning(&[SERVICE_V4, SERVICE_V6]));
    // A's burst announces both IPs; wait for it, so the client's entries below are created by
    // its own resolution.
    thread::sleep(Duration::from_millis(400));
    assert_eq!(resolve(&client.ns, SERVICE_V4), (Some(mac_a.clone()), true));
    assert_eq!(resolve(&client.ns, SERVICE_V6), (Some(mac_a.clone()), true));
    // A joined the service IPv6's solicited-node group (B did not).
    assert!(joined_groups(&node_a.ns).contains("ff02::1:ff00:100"));
    assert!(!joined_groups(&node_b.ns).contains("ff02::1:ff00:100"));
    // Exactly one node answers, with its eth0 MAC.
    assert_eq!(
        arping(&client.ns, SERVICE_V4, 3),
        BTreeSet::from([mac_a.clone()])
    );

    // Not owned: no answer, no neighbour entry.
    assert_eq!(arping(&client.ns, NOT_OWNED_V4, 1), BTreeSet::new());
    assert_eq!(resolve(&client.ns, NOT_OWNED_V6), (None, false));

    // Takeover by B. The client already has entries for both IPs, and Linux applies a
    // gratuitous ARP / an NA with Override to an existing entry (arp_accept and
    // accept_untracked_na only matter for creating entries), so no client sysctl is needed.
    let t0 = Instant::now();
    speaker_b.get().set_owned(owning(&[SERVICE_V4, SERVICE_V6]));
    speaker_a.get().set_owned(BTreeMap::new());
    let v4 = wait_neighbour(&client.ns, SERVICE_V4, &mac_b, t0);
    let v6 = wait_neighbour(&client.ns, SERVICE_V6, &mac_b, t0);
    println!("takeover: client neighbour entry moved to the new owner after {v4:?} (IPv4), {v6:?} (IPv6)");
    client
        .ns
        .wait_reachable(ip(SERVICE_V4), Duration::from_secs(3))
        .unwrap();
    client
        .ns
        .wait_reachable(ip(SERVICE_V6), Duration::from_secs(3))
        .unwrap();
    assert_eq!(
        arping(&client.ns, SERVICE_V4, 3),
        BTreeSet::from([mac_b.clone()])
    );

    let a = speaker_a.get().stats().totals();
    assert!(a.arp_requests >= 5, "{a:?}");
    assert!(a.arp_replies >= 3, "{a:?}");
    assert!(a.ns_received >= 1, "{a:?}");
    assert!(a.na_sent >= 1, "{a:?}");
    assert!(
        a.gratuitous_sent >= 6,
        "3 announcements each for 2 IPs: {a:?}"
    );
    // The segment carried pings, ARP replies and advertisements too: the kernel's filter kept
    // all of them (and the nodes' own transmissions) away from the announcers.
    assert_eq!(a.invalid_received, 0, "{a:?}");
    assert_eq!(speaker_b.get().stats().totals().invalid_received, 0);
    let b = speaker_b.get().stats();
    assert_eq!(b.interfaces.keys().collect::<Vec<_>>(), ["eth0"]);
    let burst_done = b.totals();
    assert!(burst_done.gratuitous_sent >= 6, "{burst_done:?}");
    assert!(burst_done.arp_replies >= 3, "{burst_done:?}");
    // The periodic refresh (1 s here) announces both IPs again.
    thread::sleep(Duration::from_millis(1500));
    let refreshed = speaker_b.get().stats().totals();
    assert!(
        refreshed.gratuitous_sent >= burst_done.gratuitous_sent + 2,
        "{burst_done:?} -> {refreshed:?}"
    );
    // A released the IPs: it left the group, no longer answers, and stops refreshing them.
    assert!(!joined_groups(&node_a.ns).contains("ff02::1:ff00:100"));
    assert!(joined_groups(&node_b.ns).contains("ff02::1:ff00:100"));
    let a_after = speaker_a.get().stats().totals();
    assert_eq!(a_after.gratuitous_sent, a.gratuitous_sent);
    assert_eq!(a_after.arp_replies, a.arp_replies);

    let mut registry = prometheus_client::registry::Registry::with_prefix("ferrolb_speaker");
    speaker_b.get().register_metrics(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let line = format!(
        "ferrolb_speaker_gratuitous_sent_total{{interface=\"eth0\"}} {}",
        speaker_b.get().stats().totals().gratuitous_sent
    );
    assert!(text.contains(&line), "{text}");
    drop((speaker_a, speaker_b));
}

#[test]
fn excluded_interfaces_never_answer() {
    init_tracing();
    let lan = Topology::lan(2).unwrap();
    let (node, client) = (&lan.nodes[0], &lan.nodes[1]);
    // A second port on the same segment, named like a CNI bridge.
    let cni = lan.bridge.attach(&node.ns, "cni0").unwrap();
    prepare_node(&node.ns);
    lan.wait_connected(Duration::from_secs(10)).unwrap();
    let mac_eth0 = mac_of(&node.ns, "eth0");
    let mac_cni = mac_of(&node.ns, cni.name());
    assert_ne!(mac_eth0, mac_cni);
    let speaker = Speaker::start(&node.ns, test_config());

    // Requested on cni0 only: excluded, so nobody answers.
    speaker.get().set_owned(BTreeMap::from([
        (ip(SERVICE_V4), vec!["cni0".to_owned()]),
        (ip(SERVICE_V6), vec!["cni0".to_owned()]),
    ]));
    thread::sleep(Duration::from_millis(100));
    assert_eq!(arping(&client.ns, SERVICE_V4, 1), BTreeSet::new());
    assert_eq!(resolve(&client.ns, SERVICE_V6), (None, false));

    // On every eligible interface: answered from eth0 only, although cni0 hears the requests.
    speaker.get().set_owned(owning(&[SERVICE_V4, SERVICE_V6]));
    assert_eq!(
        arping(&client.ns, SERVICE_V4, 3),
        BTreeSet::from([mac_eth0.clone()])
    );
    assert_eq!(
        resolve(&client.ns, SERVICE_V6),
        (Some(mac_eth0.clone()), true)
    );
    let stats = speaker.get().stats();
    assert_eq!(
        stats.interfaces.keys().collect::<Vec<_>>(),
        ["eth0"],
        "{stats:?}"
    );
    assert!(stats.totals().arp_replies >= 3);
}

#[test]
fn interfaces_appearing_later_are_served() {
    init_tracing();
    let lan = Topology::lan(2).unwrap();
    let (node, client) = (&lan.nodes[0], &lan.nodes[1]);
    prepare_node(&node.ns);
    // The node's eth0 is down when the announcer starts.
    node.iface.set_down().unwrap();
    let speaker = Speaker::start(&node.ns, test_config());
    speaker.get().set_owned(owning(&[SERVICE_V4]));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(arping(&client.ns, SERVICE_V4, 1), BTreeSet::new());
    assert!(speaker.get().stats().interfaces.is_empty());

    node.iface.set_up().unwrap();
    let mac = mac_of(&node.ns, "eth0");
    let since = Instant::now();
    // Picked up by the next link poll and announced at once: the client learns the entry from
    // the gratuitous ARP only if arp_accept is set, so ask instead.
    let mut seen = BTreeSet::new();
    while seen.is_empty() && since.elapsed() < Duration::from_secs(5) {
        seen = arping(&client.ns, SERVICE_V4, 1);
    }
    assert_eq!(seen, BTreeSet::from([mac]));
    assert!(speaker.get().stats().interfaces["eth0"].gratuitous_sent >= 1);
}
