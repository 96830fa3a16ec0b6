//! BFD on the speaker's BGP session, against FRR (bgpd + bfdd) in a router
//! namespace: a BGPPeer naming a BFDProfile gets a BFD session with the
//! profile's timers; when the whole FRR instance freezes (SIGSTOP), BFD
//! detects it and the speaker closes the BGP session at once (Cease/BFD
//! Down), long before the 90 s hold time; the status objects say so. When
//! FRR thaws, BGP and BFD come back by themselves.
//!
//! LAN: node 0 runs the fake API server, node 1 the speaker of Node `n1`,
//! node 2 FRR.

mod common;

use common::{block_in, ApiServerOnLan, Scratch};

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_api::{
    BFDProfile, BGPAdvertisement, BGPPeer, BGPSessionState, BfdState, IPAddressPool,
    ServiceAnnouncement, SessionState,
};
use ferrolb_testbed::{BgpConfig, BgpDaemon, Frr, Neighbor, Process, Topology};
use kube::api::ListParams;
use kube::{Api, Client};

const SPEAKER_AS: u32 = 64512;
const FRR_AS: u32 = 64513;
/// For steps that take a second or two on an idle machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// The hold time both sides use: far longer than what BFD needs.
const HOLD_SECONDS: u16 = 90;
/// The bound on noticing the frozen router: BFD detection (300 ms here),
/// the status poll and the status write, with room for a loaded machine;
/// an order of magnitude below the hold time.
const DETECTION_BOUND: Duration = Duration::from_secs(10);
/// The BFDProfile's intervals (ms) and multiplier.
const INTERVAL_MS: u32 = 100;
const MULTIPLIER: u32 = 3;

async fn seed(client: &Client, lan: &ferrolb_testbed::Lan) {
    common::seed_nodes(client, lan, 1).await;
    let ns = common::NAMESPACE;
    let router = lan.nodes[2].v4;
    common::apply::<IPAddressPool>(
        client,
        &format!("{{metadata: {{name: p, namespace: {ns}}}, spec: {{addresses: [192.0.2.0/24]}}}}"),
    )
    .await;
    common::apply::<BFDProfile>(
        client,
        &format!(
            "{{metadata: {{name: fast, namespace: {ns}}}, spec: {{receiveInterval: {INTERVAL_MS}, \
              transmitInterval: {INTERVAL_MS}, detectMultiplier: {MULTIPLIER}}}}}"
        ),
    )
    .await;
    common::apply::<BGPPeer>(
        client,
        &format!(
            "{{metadata: {{name: router, namespace: {ns}}}, spec: {{myASN: {SPEAKER_AS}, peerASN: {FRR_AS}, \
              peerAddress: \"{router}\", holdTime: {HOLD_SECONDS}s, connectTime: 1s, bfdProfile: fast}}}}"
        ),
    )
    .await;
    common::apply::<BGPAdvertisement>(
        client,
        &format!("{{metadata: {{name: adv, namespace: {ns}}}, spec: {{}}}}"),
    )
    .await;
    common::seed_service(client, "web", "Cluster", "192.0.2.10", Some(&["n1"])).await;
}

/// n1's session to the router as its BGPSessionState reports it.
async fn session_state(client: &Client) -> Option<ferrolb_api::BGPSessionStateStatus> {
    let api: Api<BGPSessionState> = Api::namespaced(client.clone(), common::NAMESPACE);
    let list = api
        .list(&ListParams::default().labels("ferrolb.io/node=n1"))
        .await
        .ok()?;
    list.items
        .into_iter()
        .find(|s| s.spec.peer == "router")
        .and_then(|s| s.status)
}

/// The (BGP, BFD) states n1's ServiceAnnouncement of `web` reports for the
/// router.
async fn announced_session(client: &Client) -> Option<(SessionState, Option<BfdState>)> {
    let api: Api<ServiceAnnouncement> = Api::namespaced(client.clone(), common::NAMESPACE);
    let list = api
        .list(&ListParams::default().labels("ferrolb.io/node=n1"))
        .await
        .ok()?;
    let status = list
        .items
        .into_iter()
        .find(|a| a.spec.service.name == "web")?
        .status?;
    let session = status.peer_sessions.iter().find(|s| s.peer == "router")?;
    Some((session.state, session.bfd_state))
}

/// Polls `check` (inside the API server's namespace) until it returns
/// `Ok`, for at most `limit`; returns the value and how long it took.
fn wait_for<T: Send, F: Future<Output = Result<T, String>> + Send>(
    lan: &ferrolb_testbed::Lan,
    api: &ApiServerOnLan,
    what: &str,
    limit: Duration,
    mut check: impl FnMut(Client) -> F + Send,
) -> (T, Duration) {
    block_in(&lan.nodes[0].ns, async {
        let client = api.client();
        let start = Instant::now();
        loop {
            match check(client.clone()).await {
                Ok(v) => return (v, start.elapsed()),
                Err(last) => assert!(
                    start.elapsed() < limit,
                    "{what}: not within {limit:?}; last: {last}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Both states as the status objects report them, when both agree with
/// `bgp_ok` and `bfd`.
async fn both_report(
    client: &Client,
    bgp_ok: fn(SessionState) -> bool,
    bfd: BfdState,
) -> Result<ferrolb_api::BGPSessionStateStatus, String> {
    let session = session_state(client).await;
    let announced = announced_session(client).await;
    let session_ok = session
        .as_ref()
        .is_some_and(|s| bgp_ok(s.state) && s.bfd.as_ref().is_some_and(|b| b.state == bfd));
    let announced_ok = announced.is_some_and(|(state, b)| bgp_ok(state) && b == Some(bfd));
    match (session, session_ok && announced_ok) {
        (Some(session), true) => Ok(session),
        (session, _) => Err(format!(
            "BGPSessionState {session:?}, ServiceAnnouncement {announced:?}"
        )),
    }
}

/// Every FRR daemon stopped (SIGSTOP) until dropped, also on a panic, so
/// that FRR can be stopped for good afterwards.
struct Frozen<'a>(&'a [Process]);

impl<'a> Frozen<'a> {
    fn freeze(frr: &'a Frr) -> Frozen<'a> {
        let processes = frr.processes();
        for p in processes {
            p.pause().unwrap();
        }
        Frozen(processes)
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        for p in self.0 {
            let _ = p.resume();
        }
    }
}

#[test]
fn netns_bfd_down_closes_the_bgp_session_long_before_the_hold_time() {
    let lan = Topology::lan(3).unwrap();
    lan.wait_connected(PATIENCE).unwrap();
    let scratch = Scratch::new();
    let api = ApiServerOnLan::start(&lan, &scratch);
    let speaker_ip = IpAddr::V4(lan.nodes[1].v4);
    let router = &lan.nodes[2];
    let frr = Frr::start(
        &router.ns,
        BgpConfig::new(FRR_AS, router.v4).neighbor(
            Neighbor::new(speaker_ip, SPEAKER_AS)
                .passive()
                .hold_time(HOLD_SECONDS)
                .bfd(),
        ),
    )
    .unwrap();
    block_in(&lan.nodes[0].ns, async { seed(&api.client(), &lan).await });
    let speaker = common::start_speaker(
        &lan,
        &scratch,
        0,
        &[
            "--no-l2",
            "--drain-period",
            "0s",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    );

    // Established with BFD Up, as FRR and both status objects see it.
    frr.wait_established(speaker_ip, PATIENCE)
        .unwrap_or_else(|e| panic!("{e}\n{}", frr.log()));
    let (up, _) = wait_for(
        &lan,
        &api,
        "Established with BFD Up",
        PATIENCE,
        |c| async move { both_report(&c, |s| s == SessionState::Established, BfdState::Up).await },
    );
    assert_eq!(up.bfd.as_ref().unwrap().profile, "fast");
    // FRR runs the session with the profile's timers (what we asked it for).
    let peers = frr.vtysh_json("show bfd peers json").unwrap();
    let peer = peers
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|p| p["peer"].as_str() == Some(&speaker_ip.to_string()))
        })
        .unwrap_or_else(|| panic!("FRR has no BFD peer {speaker_ip}: {peers:#}"));
    assert_eq!(peer["status"].as_str(), Some("up"), "{peer:#}");
    assert_eq!(
        peer["remote-receive-interval"].as_u64(),
        Some(u64::from(INTERVAL_MS)),
        "{peer:#}"
    );
    assert_eq!(
        peer["remote-detect-multiplier"].as_u64(),
        Some(u64::from(MULTIPLIER)),
        "{peer:#}"
    );

    // Freeze the whole router: only BFD can notice before the hold time.
    let frozen = Frozen::freeze(&frr);
    let (down, took) = wait_for(
        &lan,
        &api,
        "BGP down with BFD Down",
        DETECTION_BOUND,
        |c| async move { both_report(&c, |s| s != SessionState::Established, BfdState::Down).await },
    );
    drop(frozen);
    println!("status objects showed the session down {took:?} after FRR froze: {down:?}");
    let bfd = down.bfd.as_ref().unwrap();
    assert_eq!(
        bfd.diagnostic.as_deref(),
        Some("ControlDetectionTimeExpired")
    );
    assert!(bfd.failures >= 1, "{bfd:?}");
    let error = down.last_error.clone().unwrap_or_default();
    assert!(error.contains("BFD Down"), "last error {error:?}");

    // Thawed: both come back without help.
    let (_, took) = wait_for(
        &lan,
        &api,
        "Established with BFD Up again",
        PATIENCE,
        |c| async move { both_report(&c, |s| s == SessionState::Established, BfdState::Up).await },
    );
    println!("back up {took:?} after FRR resumed");
    drop(speaker);
    drop(frr);
    drop(api);
}
