//! The BGP instance end to end over loopback: a router accepting speakers from a dynamic range,
//! ECMP next hops from several speakers, session loss, graceful restart and originated routes.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferrolb_bgp::attribute::{AsPath, Community, LargeCommunity, NextHop, PathAttributes};
use ferrolb_bgp::fsm::Backoff;
use ferrolb_bgp::instance::{
    ChangeBatch, DynamicNeighborConfig, Instance, InstanceConfig, NeighborConfig,
};
use ferrolb_bgp::rib::{
    ExportPolicy, ImportPolicy, PrefixAction, PrefixList, PrefixListEntry, RibChange,
};
use ferrolb_bgp::session::{DynamicNeighbors, GracefulRestartConfig, PeerConfig};
use ipnet::IpNet;
use tokio::sync::mpsc::UnboundedReceiver;

const ROUTER_ASN: u32 = 64512;
const SPEAKER_ASN: u32 = 4_200_000_001;
const TIMEOUT: Duration = Duration::from_secs(15);

fn service_ip() -> IpNet {
    "10.96.0.10/32".parse().unwrap()
}

fn speaker_addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

fn fast_retry(peer: &mut PeerConfig) {
    peer.session.hold_time = 9;
    peer.session.connect_retry =
        Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
    peer.session.idle_hold = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
}

/// An instance of `asn` listening on `listen`, accepting neighbours of `peer_asn` from
/// 127.0.0.0/8 and exporting to them what `export` permits.
async fn listening(
    asn: u32,
    router_id: Ipv4Addr,
    listen: SocketAddr,
    peer_asn: u32,
    export: ExportPolicy,
    graceful_restart_helper: bool,
) -> (Instance, SocketAddr) {
    let instance = Instance::spawn(InstanceConfig::new(asn, router_id, vec![listen])).unwrap();
    let addr = instance.local_addrs()[0];
    let mut template = PeerConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST), asn, peer_asn, router_id);
    fast_retry(&mut template);
    instance
        .add_dynamic_neighbors(DynamicNeighborConfig {
            range: DynamicNeighbors {
                prefixes: vec!["127.0.0.0/8".parse().unwrap()],
                allowed_asns: vec![peer_asn],
                limit: None,
                template,
            },
            import: ImportPolicy::default(),
            export,
            graceful_restart_helper,
        })
        .await
        .unwrap();
    (instance, addr)
}

/// A router accepting speakers of `SPEAKER_ASN` from 127.0.0.0/8, helping graceful restarts.
async fn router() -> (Instance, SocketAddr) {
    listening(
        ROUTER_ASN,
        Ipv4Addr::new(10, 255, 0, 1),
        "127.0.0.1:0".parse().unwrap(),
        SPEAKER_ASN,
        ExportPolicy::default(),
        true,
    )
    .await
}

/// A speaker at 127.0.0.`n` announcing `prefixes` to the router with next hop self.
async fn speaker(
    n: u8,
    router: SocketAddr,
    gr: Option<GracefulRestartConfig>,
    prefixes: &[IpNet],
) -> Instance {
    let router_id = Ipv4Addr::new(10, 0, 0, n);
    let instance =
        Instance::spawn(InstanceConfig::new(SPEAKER_ASN, router_id, Vec::new())).unwrap();
    let mut peer = PeerConfig::new(router.ip(), SPEAKER_ASN, ROUTER_ASN, router_id);
    peer.port = router.port();
    peer.local_address = Some(IpAddr::V4(speaker_addr(n)));
    peer.session.graceful_restart = gr;
    fast_retry(&mut peer);
    let attributes = PathAttributes {
        communities: vec![Community::new(64512, 100)],
        large_communities: vec![LargeCommunity {
            global_admin: 64512,
            local_data1: 1,
            local_data2: 2,
        }],
        med: Some(10),
        ..PathAttributes::default()
    };
    // Routes first, then the session, as the speaker daemon does: the session's first
    // UPDATEs then carry them before End-of-RIB, which a restarting speaker needs (an
    // End-of-RIB sent before its routes would purge them from the helper as stale).
    instance
        .announce(prefixes.to_vec(), attributes, None)
        .await
        .unwrap();
    instance
        .add_neighbor(NeighborConfig::new(peer))
        .await
        .unwrap();
    instance
}

/// The router's forwarding view, rebuilt from its change stream.
struct Fib {
    changes: UnboundedReceiver<ChangeBatch>,
    routes: HashMap<IpNet, BTreeSet<NextHop>>,
}

impl Fib {
    async fn subscribe(router: &Instance) -> Fib {
        Fib {
            changes: router.subscribe().await.unwrap(),
            routes: HashMap::new(),
        }
    }

    fn apply(&mut self, batch: &ChangeBatch) {
        for change in batch.iter() {
            match &change.best {
                Some(best) => {
                    self.routes
                        .insert(change.prefix, best.next_hops.iter().copied().collect());
                }
                None => {
                    self.routes.remove(&change.prefix);
                }
            }
        }
    }

    /// Waits until the next hops of `prefix` are exactly those of speakers `ns`.
    async fn wait_next_hops(&mut self, prefix: IpNet, ns: &[u8]) {
        let want: BTreeSet<NextHop> = ns.iter().map(|n| NextHop::V4(speaker_addr(*n))).collect();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while self.routes.get(&prefix).cloned().unwrap_or_default() != want {
            match tokio::time::timeout_at(deadline, self.changes.recv()).await {
                Ok(Some(batch)) => self.apply(&batch),
                _ => panic!(
                    "{prefix}: wanted next hops {want:?}, have {:?}",
                    self.routes.get(&prefix)
                ),
            }
        }
    }

    /// Waits until the table holds exactly `prefixes`.
    async fn wait_routes(&mut self, prefixes: &[IpNet]) {
        let want: BTreeSet<IpNet> = prefixes.iter().copied().collect();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while self.routes.keys().copied().collect::<BTreeSet<_>>() != want {
            match tokio::time::timeout_at(deadline, self.changes.recv()).await {
                Ok(Some(batch)) => self.apply(&batch),
                _ => panic!("wanted routes {want:?}, have {:?}", self.routes.keys()),
            }
        }
    }

    /// Asserts that `prefix` keeps the next hops of speakers `ns` for `period`.
    async fn assert_steady(&mut self, prefix: IpNet, ns: &[u8], period: Duration) {
        let want: BTreeSet<NextHop> = ns.iter().map(|n| NextHop::V4(speaker_addr(*n))).collect();
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(batch)) = tokio::time::timeout_at(deadline, self.changes.recv()).await {
            self.apply(&batch);
            assert_eq!(self.routes.get(&prefix), Some(&want), "{prefix} changed");
        }
        assert_eq!(self.routes.get(&prefix), Some(&want));
    }
}

#[tokio::test]
async fn three_speakers_give_one_route_with_three_next_hops_and_a_lost_one_leaves() {
    let (router, addr) = router().await;
    let mut fib = Fib::subscribe(&router).await;
    let speakers = [
        speaker(2, addr, None, &[service_ip()]).await,
        speaker(3, addr, None, &[service_ip()]).await,
        speaker(4, addr, None, &[service_ip()]).await,
    ];
    fib.wait_next_hops(service_ip(), &[2, 3, 4]).await;

    // The attributes arrive as sent, with the speaker's AS prepended (eBGP).
    let routes = router.routes().await.unwrap();
    let (_, best) = routes.iter().find(|(p, _)| *p == service_ip()).unwrap();
    let attrs = best.attributes();
    assert_eq!(attrs.as_path, Some(AsPath::from_sequence([SPEAKER_ASN])));
    assert_eq!(attrs.communities, vec![Community::new(64512, 100)]);
    assert_eq!(attrs.large_communities.len(), 1);
    assert_eq!(attrs.med, Some(10));
    assert_eq!(attrs.local_pref, None);

    let neighbors = router.neighbors().await.unwrap();
    assert_eq!(neighbors.len(), 3, "{neighbors:?}");
    for n in &neighbors {
        assert!(n.is_established(), "{n:?}");
        assert!(n.dynamic);
        assert_eq!(n.asn, Some(SPEAKER_ASN));
        assert_eq!(n.prefixes.accepted, 1, "{n:?}");
    }

    // A speaker that stops (with a Cease) leaves the ECMP set; the others stay.
    speakers[1].shutdown().await.unwrap();
    fib.wait_next_hops(service_ip(), &[2, 4]).await;

    // A withdrawal from one speaker removes only its next hop.
    speakers[0].withdraw(vec![service_ip()]).await.unwrap();
    fib.wait_next_hops(service_ip(), &[4]).await;
    router.shutdown().await.unwrap();
}

/// A speaker on a runtime and thread of its own, so ending that runtime kills it the way a
/// crashed or restarted process dies: its TCP connections close without a NOTIFICATION.
struct SpeakerProcess {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl SpeakerProcess {
    fn start(
        n: u8,
        router: SocketAddr,
        gr: Option<GracefulRestartConfig>,
        prefixes: Vec<IpNet>,
    ) -> SpeakerProcess {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let instance = rt.block_on(speaker(n, router, gr, &prefixes));
            let _ = stopped.recv();
            // Dropping the runtime first kills the instance's tasks without a Cease.
            drop(rt);
            drop(instance);
        });
        SpeakerProcess { stop, thread }
    }

    async fn kill(self) {
        let _ = self.stop.send(());
        tokio::task::spawn_blocking(move || self.thread.join().unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_routes_until_end_of_rib() {
    let (router, addr) = router().await;
    let mut fib = Fib::subscribe(&router).await;
    let other: IpNet = "10.96.0.11/32".parse().unwrap();
    let gr = GracefulRestartConfig {
        restart_time: 30,
        restarting: false,
        forwarding_preserved: true,
    };
    let process = SpeakerProcess::start(2, addr, Some(gr), vec![service_ip(), other]);
    fib.wait_next_hops(service_ip(), &[2]).await;
    fib.wait_next_hops(other, &[2]).await;

    // The speaker dies without a NOTIFICATION: its routes stay, stale, for forwarding.
    tokio::task::spawn_blocking(move || drop(process))
        .await
        .unwrap();
    fib.assert_steady(service_ip(), &[2], Duration::from_secs(1))
        .await;

    // It comes back announcing only one of the two: after its End-of-RIB the other is gone and
    // the one it announced again never left.
    let restarted = GracefulRestartConfig {
        restarting: true,
        ..gr
    };
    let process = SpeakerProcess::start(2, addr, Some(restarted), vec![service_ip()]);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while fib.routes.contains_key(&other) {
        let batch = tokio::time::timeout_at(deadline, fib.changes.recv())
            .await
            .expect("stale route never purged")
            .unwrap();
        fib.apply(&batch);
        assert!(
            fib.routes.contains_key(&service_ip()),
            "the re-announced route left during the restart"
        );
    }
    fib.assert_steady(service_ip(), &[2], Duration::from_millis(500))
        .await;
    process.kill().await;
    router.shutdown().await.unwrap();
}

/// A router with speaker 3 (no graceful restart) and speaker 2 (graceful restart, 120 s) both
/// announcing the service address, once it has both next hops.
async fn two_speakers_one_restarting() -> (
    Instance,
    SocketAddr,
    Fib,
    GracefulRestartConfig,
    Instance,
    Instance,
) {
    let (router, addr) = router().await;
    let mut fib = Fib::subscribe(&router).await;
    let gr = GracefulRestartConfig {
        restart_time: 120,
        restarting: false,
        forwarding_preserved: true,
    };
    let alive = speaker(3, addr, None, &[service_ip()]).await;
    let graceful = speaker(2, addr, Some(gr), &[service_ip()]).await;
    fib.wait_next_hops(service_ip(), &[2, 3]).await;
    (router, addr, fib, gr, alive, graceful)
}

/// BFD reporting the path down closes the session at once: the routes go even though the
/// speaker could restart gracefully, and come back when the session does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bfd_down_removes_routes_at_once_and_the_session_comes_back() {
    let (router, _, mut fib, _, _alive, _flapping) = two_speakers_one_restarting().await;

    router.bfd_down(IpAddr::V4(speaker_addr(2))).await.unwrap();
    fib.wait_next_hops(service_ip(), &[3]).await;
    // The session is not shut for good: the speaker connects again and its route is back.
    fib.wait_next_hops(service_ip(), &[2, 3]).await;
    assert!(router
        .bfd_down("192.0.2.99".parse().unwrap())
        .await
        .is_err());
    router.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_graceful_restart_a_dead_speaker_is_withdrawn_at_once() {
    let (router, addr) = router().await;
    let mut fib = Fib::subscribe(&router).await;
    let _alive = speaker(3, addr, None, &[service_ip()]).await;
    let process = SpeakerProcess::start(2, addr, None, vec![service_ip()]);
    fib.wait_next_hops(service_ip(), &[2, 3]).await;
    process.kill().await;
    fib.wait_next_hops(service_ip(), &[3]).await;
    router.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_late_subscriber_gets_the_whole_table_first() {
    let (router, addr) = router().await;
    let _s = speaker(2, addr, None, &[service_ip()]).await;
    let mut early = Fib::subscribe(&router).await;
    early.wait_next_hops(service_ip(), &[2]).await;
    let mut late = Fib::subscribe(&router).await;
    late.wait_next_hops(service_ip(), &[2]).await;
    // A latest-state subscriber too starts from the whole table.
    let mut latest = router.subscribe_latest().await.unwrap();
    let table = latest.recv().await.unwrap();
    assert_eq!(table.len(), 1, "{table:?}");
    let hops: Vec<NextHop> = table[0]
        .best
        .as_ref()
        .unwrap()
        .next_hops
        .iter()
        .copied()
        .collect();
    assert_eq!(hops, [NextHop::V4(speaker_addr(2))]);
    router.shutdown().await.unwrap();
    // Its stream ends with the instance.
    assert!(latest.recv().await.is_none());
}

/// A latest-state subscriber hears that a speaker's routes are going no later than it sees
/// them go, and hears it is back when its session is established again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latest_subscriber_hears_a_speaker_go_before_its_prefixes_and_come_back() {
    let (router, addr) = router().await;
    let mut latest = router.subscribe_latest().await.unwrap();
    let _two = speaker(2, addr, None, &[service_ip()]).await;
    let _three = speaker(3, addr, None, &[service_ip()]).await;
    let two = IpAddr::V4(speaker_addr(2));
    let next_hops = |change: &RibChange| -> Vec<NextHop> {
        change
            .best
            .as_ref()
            .map(|b| b.next_hops.iter().copied().collect())
            .unwrap_or_default()
    };
    let both = [NextHop::V4(speaker_addr(2)), NextHop::V4(speaker_addr(3))];
    let mut two_up = false;
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let update = latest.recv_update().await.unwrap();
            two_up |= update.neighbors_up.contains(&two);
            if update.changes.iter().any(|c| next_hops(c) == both) {
                break;
            }
        }
    })
    .await
    .expect("both next hops");
    assert!(two_up, "speaker 2 was never reported up");

    // BFD reports speaker 2's path down: its session closes and its routes go.
    router.bfd_down(two).await.unwrap();
    let (down_first, back) = tokio::time::timeout(TIMEOUT, async {
        let mut down = false;
        let mut down_first = None;
        loop {
            let update = latest.recv_update().await.unwrap();
            down |= update.neighbors_down.contains(&two);
            let without = update
                .changes
                .iter()
                .any(|c| next_hops(c) == [NextHop::V4(speaker_addr(3))]);
            if without && down_first.is_none() {
                down_first = Some(down);
            }
            if down_first.is_some() && update.neighbors_up.contains(&two) {
                return (down_first, true);
            }
        }
    })
    .await
    .expect("speaker 2 gone, then back");
    assert_eq!(
        down_first,
        Some(true),
        "the prefix went before the speaker was reported down"
    );
    assert!(back);
    router.shutdown().await.unwrap();
}

/// An export policy permitting exactly `prefixes`.
fn export_only(prefixes: &[IpNet]) -> ExportPolicy {
    let entries = prefixes
        .iter()
        .map(|p| PrefixListEntry::exact(*p, PrefixAction::Permit))
        .collect();
    ExportPolicy {
        prefix_list: Some(PrefixList::new(entries, PrefixAction::Deny).unwrap()),
        ..ExportPolicy::default()
    }
}

/// A new export policy reaches an established neighbour as the difference (learned and
/// originated routes alike), without resetting its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_policy_change_is_applied_without_a_session_reset() {
    let (router, addr) = router().await;
    let learned_a: IpNet = "10.96.0.10/32".parse().unwrap();
    let learned_b: IpNet = "10.96.0.11/32".parse().unwrap();
    let originated: IpNet = "10.97.0.0/24".parse().unwrap();
    let _speaker = speaker(2, addr, None, &[learned_a, learned_b]).await;
    router
        .announce(vec![originated], PathAttributes::default(), None)
        .await
        .unwrap();

    // The upstream side: a third AS accepting the router's from loopback.
    const UPSTREAM_ASN: u32 = 65009;
    let (upstream, upstream_addr) = listening(
        UPSTREAM_ASN,
        Ipv4Addr::new(10, 255, 0, 9),
        SocketAddr::new(IpAddr::V4(speaker_addr(9)), 0),
        ROUTER_ASN,
        export_only(&[]),
        false,
    )
    .await;
    let mut seen = Fib::subscribe(&upstream).await;

    let mut peer = PeerConfig::new(
        upstream_addr.ip(),
        ROUTER_ASN,
        UPSTREAM_ASN,
        Ipv4Addr::new(10, 255, 0, 1),
    );
    peer.port = upstream_addr.port();
    peer.local_address = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    fast_retry(&mut peer);
    let mut neighbor = NeighborConfig::new(peer);
    neighbor.export = export_only(&[learned_a]);
    router.add_neighbor(neighbor).await.unwrap();
    seen.wait_routes(&[learned_a]).await;

    router
        .set_export_policy(upstream_addr.ip(), export_only(&[learned_b, originated]))
        .await
        .unwrap();
    seen.wait_routes(&[learned_b, originated]).await;
    let status = router.neighbors().await.unwrap();
    let to_upstream = status
        .iter()
        .find(|n| n.address == upstream_addr.ip())
        .unwrap();
    assert!(to_upstream.is_established());
    assert_eq!(to_upstream.last_down, None, "the session was reset");
    assert_eq!(to_upstream.prefixes.advertised, 2);

    assert!(router
        .set_export_policy("192.0.2.99".parse().unwrap(), ExportPolicy::default())
        .await
        .is_err());
    router.shutdown().await.unwrap();
    upstream.shutdown().await.unwrap();
}

/// Waits until the router's session from speaker `n` is Established (`up`) or not.
async fn wait_session(router: &Instance, n: u8, up: bool) {
    let address = IpAddr::V4(speaker_addr(n));
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let neighbors = router.neighbors().await.unwrap();
        let established = neighbors
            .iter()
            .any(|s| s.address == address && s.is_established());
        if established == up {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session of speaker {n} never became established={up}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A speaker stopping for a restart ends its sessions without a NOTIFICATION: a graceful
/// restart helper keeps its routes until it is back. A plain shutdown (Cease) withdraws them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_stopping_for_a_restart_keeps_its_routes_at_the_helper() {
    let (router, addr, mut fib, gr, _alive, restarting) = two_speakers_one_restarting().await;

    restarting.shutdown_for_restart().await.unwrap();
    wait_session(&router, 2, false).await;
    fib.assert_steady(service_ip(), &[2, 3], Duration::from_millis(500))
        .await;

    let back = speaker(
        2,
        addr,
        Some(GracefulRestartConfig {
            restarting: true,
            ..gr
        }),
        &[service_ip()],
    )
    .await;
    wait_session(&router, 2, true).await;
    fib.assert_steady(service_ip(), &[2, 3], Duration::from_millis(500))
        .await;

    back.shutdown().await.unwrap();
    fib.wait_next_hops(service_ip(), &[3]).await;
    router.shutdown().await.unwrap();
}
