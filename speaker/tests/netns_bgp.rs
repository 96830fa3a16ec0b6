//! Three nodes' `ferrolb-speaker` processes, each in its own network
//! namespace, peer over BGP with BIRD in a router namespace; the fake API
//! server runs in a fourth namespace on the same LAN. Asserts what the
//! router learns: next hops per traffic policy and endpoints, attributes,
//! graceful restart across a speaker crash and across SIGTERM (a rollout),
//! and withdraw-before-close on SIGTERM without graceful restart.

mod common;

use common::{block_in, ApiServerOnLan, Scratch};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_api::{BGPAdvertisement, BGPPeer, BGPSessionState, IPAddressPool, ServiceAnnouncement};
use ferrolb_testbed::{paths_to, BgpConfig, BgpDaemon, Bird, Lan, Neighbor, Process, Topology};
use ipnet::IpNet;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};

const ASN: u32 = 64512;
const PATIENCE: Duration = Duration::from_secs(20);

/// Addresses of the paths BIRD has for `prefix`.
fn next_hops(bird: &Bird, prefix: &str) -> BTreeSet<IpAddr> {
    let prefix: IpNet = prefix.parse().unwrap();
    let routes = bird.routes().unwrap();
    paths_to(&routes, prefix).filter_map(|r| r.peer).collect()
}

fn wait_next_hops(bird: &Bird, prefix: &str, want: &BTreeSet<IpAddr>) {
    let start = Instant::now();
    loop {
        let got = next_hops(bird, prefix);
        if &got == want {
            return;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{prefix}: next hops {got:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until BIRD's session with `node` is Established.
fn wait_established(bird: &Bird, node: IpAddr) {
    let start = Instant::now();
    while !bird
        .session_state(node)
        .is_ok_and(|s| s == ferrolb_testbed::SessionState::Established)
    {
        assert!(start.elapsed() < PATIENCE, "no session with {node}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn seed(client: &Client, lan: &Lan) {
    common::seed_nodes(client, lan, 3).await;
    let ns = common::NAMESPACE;
    let router = lan.nodes[4].v4;
    common::apply::<IPAddressPool>(
        client,
        &format!("{{metadata: {{name: p, namespace: {ns}}}, spec: {{addresses: [192.0.2.0/24]}}}}"),
    )
    .await;
    common::apply::<BGPPeer>(
        client,
        &format!(
            "{{metadata: {{name: router, namespace: {ns}}}, spec: {{myASN: {ASN}, peerASN: {ASN}, peerAddress: \"{router}\", \
              connectTime: 1s, enableGracefulRestart: true}}}}"
        ),
    )
    .await;
    common::apply::<BGPAdvertisement>(
        client,
        &format!("{{metadata: {{name: adv, namespace: {ns}}}, spec: {{localPref: 250, communities: [\"64512:100\", \"large:64512:1:2\"]}}}}"),
    )
    .await;
    for (name, policy, ip, endpoints) in [
        ("cluster-svc", "Cluster", "192.0.2.10", Some(&["n1"][..])),
        ("local-svc", "Local", "192.0.2.11", Some(&["n2", "n3"][..])),
        ("idle-svc", "Cluster", "192.0.2.12", None),
    ] {
        common::seed_service(client, name, policy, ip, endpoints).await;
    }
}

/// Starts the speaker of node `i`, BGP only.
fn start_speaker(lan: &Lan, scratch: &Scratch, i: usize) -> Process {
    common::start_speaker(
        lan,
        scratch,
        i,
        &[
            "--no-l2",
            "--drain-period",
            "2s",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    )
}

#[test]
fn speakers_announce_services_to_the_router() {
    let lan = Topology::lan(5).unwrap();
    lan.wait_connected(PATIENCE).unwrap();
    let scratch = Scratch::new();
    let api_ns = &lan.nodes[0].ns;
    let api = ApiServerOnLan::start(&lan, &scratch);
    let client = || api.client();

    let router = &lan.nodes[4];
    let mut bird_config = BgpConfig::new(ASN, router.v4);
    for node in &lan.nodes[1..4] {
        bird_config = bird_config.neighbor(
            Neighbor::new(IpAddr::V4(node.v4), ASN)
                .passive()
                .graceful_restart(120)
                .ipv4(),
        );
    }
    let bird = Bird::start(&router.ns, bird_config).unwrap();
    block_in(api_ns, async { seed(&client(), &lan).await });
    let mut speakers: Vec<Process> = (0..3).map(|i| start_speaker(&lan, &scratch, i)).collect();
    let node_ip = |i: usize| IpAddr::V4(lan.nodes[i + 1].v4);
    let all: BTreeSet<IpAddr> = (0..3).map(node_ip).collect();

    // Cluster: every node; Local: only the endpoints' nodes.
    wait_next_hops(&bird, "192.0.2.10/32", &all);
    wait_next_hops(
        &bird,
        "192.0.2.11/32",
        &BTreeSet::from([node_ip(1), node_ip(2)]),
    );
    // No endpoints: not announced (checked after the others arrived).
    assert!(next_hops(&bird, "192.0.2.12/32").is_empty());

    // Attributes as configured.
    let routes = bird.routes().unwrap();
    let prefix: IpNet = "192.0.2.10/32".parse().unwrap();
    for path in paths_to(&routes, prefix) {
        assert_eq!(path.local_pref, Some(250), "{path:?}");
        assert_eq!(path.communities, vec![(64512, 100)], "{path:?}");
        assert_eq!(path.large_communities, vec![(64512, 1, 2)], "{path:?}");
    }

    // Endpoints move: the next hops follow.
    block_in(api_ns, async {
        common::apply::<EndpointSlice>(&client(), &common::slice_yaml("local-svc", &["n1"])).await;
    });
    wait_next_hops(&bird, "192.0.2.11/32", &BTreeSet::from([node_ip(0)]));

    // Status objects and the Event.
    block_in(api_ns, async {
        let c = client();
        let start = Instant::now();
        loop {
            let anns: Api<ServiceAnnouncement> = Api::namespaced(c.clone(), common::NAMESPACE);
            let sessions: Api<BGPSessionState> = Api::namespaced(c.clone(), common::NAMESPACE);
            let events: Api<Event> = Api::namespaced(c.clone(), "default");
            let of_n1 = ListParams::default().labels("ferrolb.io/node=n1");
            let anns = anns.list(&of_n1).await.unwrap().items;
            let local = anns.iter().find(|a| a.spec.service.name == "local-svc");
            let ok_ann = local.and_then(|a| a.status.as_ref()).is_some_and(|s| {
                s.ips == ["192.0.2.11"]
                    && s.peers == ["router"]
                    && s.peer_sessions.iter().any(|p| {
                        p.peer == "router"
                            && p.state == ferrolb_api::SessionState::Established
                            && p.bfd_state.is_none()
                    })
            });
            let ok_session = sessions.list(&of_n1).await.unwrap().items.iter().any(|s| {
                s.status
                    .as_ref()
                    .is_some_and(|st| st.state == ferrolb_api::SessionState::Established)
            });
            let ok_event = events
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("AnnouncingFromNode")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("local-svc")
                });
            if ok_ann && ok_session && ok_event {
                break;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "status: announcement {ok_ann}, session {ok_session}, event {ok_event}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    // Graceful restart: n1 alone announces local-svc; crash and restart its
    // speaker while watching that the router never loses the route.
    speakers[0].kill().unwrap();
    let restarted = Instant::now();
    speakers[0] = start_speaker(&lan, &scratch, 0);
    let mut reestablished = false;
    while restarted.elapsed() < Duration::from_secs(8) {
        let hops = next_hops(&bird, "192.0.2.11/32");
        assert_eq!(
            hops,
            BTreeSet::from([node_ip(0)]),
            "route lost during the restart"
        );
        reestablished = bird
            .session_state(node_ip(0))
            .is_ok_and(|s| s == ferrolb_testbed::SessionState::Established);
        if reestablished && restarted.elapsed() > Duration::from_secs(3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        reestablished,
        "the restarted speaker did not re-establish its session"
    );
    wait_next_hops(&bird, "192.0.2.11/32", &BTreeSet::from([node_ip(0)]));

    // SIGTERM with graceful restart, as a DaemonSet rollout stops a pod: the
    // session ends without a NOTIFICATION and nothing is drained, so the
    // router keeps n2's route (stale) until the new speaker is back.
    speakers[1].signal(libc::SIGTERM).unwrap();
    let stopping = Instant::now();
    while speakers[1].is_running() {
        assert!(stopping.elapsed() < PATIENCE, "the speaker did not exit");
        assert_eq!(
            next_hops(&bird, "192.0.2.10/32"),
            all,
            "route dropped on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        speakers[1]
            .log()
            .contains("stopping for a graceful restart"),
        "{}",
        speakers[1].log()
    );
    assert_eq!(next_hops(&bird, "192.0.2.10/32"), all, "route dropped");
    speakers[1] = start_speaker(&lan, &scratch, 1);
    wait_established(&bird, node_ip(1));
    assert_eq!(next_hops(&bird, "192.0.2.10/32"), all);

    // Without graceful restart, SIGTERM drains: routes are withdrawn while
    // the process is still running.
    block_in(api_ns, async {
        let ns = common::NAMESPACE;
        let router = lan.nodes[4].v4;
        common::apply::<BGPPeer>(
            &client(),
            &format!(
                "{{metadata: {{name: router, namespace: {ns}}}, spec: {{myASN: {ASN}, peerASN: {ASN}, peerAddress: \"{router}\", \
                  connectTime: 1s, enableGracefulRestart: false}}}}"
            ),
        )
        .await;
    });
    let start = Instant::now();
    while speakers[2].log().matches("BGP session configured").count() < 2 {
        assert!(start.elapsed() < PATIENCE, "session not re-created");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_established(&bird, node_ip(2));
    wait_next_hops(&bird, "192.0.2.10/32", &all);
    speakers[2].signal(libc::SIGTERM).unwrap();
    wait_next_hops(
        &bird,
        "192.0.2.10/32",
        &BTreeSet::from([node_ip(0), node_ip(1)]),
    );
    assert!(
        speakers[2].is_running(),
        "withdrawn only after the process ended"
    );

    drop(speakers);
    drop(bird);
    drop(api);
}
