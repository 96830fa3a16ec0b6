//! Members on loopback addresses with real UDP sockets: joining, failure detection, restart,
//! leaving, and authentication.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{expected, median, start, wait_all, KEY};
use ferrolb_membership::envelope::{self, AuthKey};
use ferrolb_membership::{MemberView, Membership};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

/// A free-port address on its own loopback IP, so members are distinct hosts to each other.
fn loopback(host: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, host], 0))
}

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("node-{i}")).collect()
}

async fn cluster(names: &[String], first_host: u8) -> Vec<Membership> {
    let mut members = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let host = first_host + u8::try_from(i).unwrap();
        members.push(start(name, loopback(host), &KEY).await);
    }
    let listed: Vec<(&str, &Membership)> = names.iter().map(String::as_str).zip(&members).collect();
    let all = expected(&listed);
    for m in &members {
        m.set_expected(all.clone());
    }
    members
}

fn everyone_alive(n: usize) -> impl Fn(&MemberView) -> bool + Clone {
    move |v: &MemberView| v.alive.len() == n && v.has_quorum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_is_dropped_by_everyone_and_comes_back_when_restarted() {
    const MEMBERS: usize = 4;
    const TRIALS: usize = 5;
    let names = names(MEMBERS);
    let mut members: Vec<Option<Membership>> =
        cluster(&names, 11).await.into_iter().map(Some).collect();
    let views = |members: &[Option<Membership>], except: usize| -> Vec<_> {
        members
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != except)
            .filter_map(|(_, m)| m.as_ref().map(Membership::view))
            .collect()
    };
    // Restarts reuse the same addresses, so Kubernetes' listing never changes.
    let listing: std::collections::BTreeMap<String, SocketAddr> = names
        .iter()
        .cloned()
        .zip(members.iter().flatten().map(Membership::local_addr))
        .collect();
    let all_views = views(&members, usize::MAX);
    let joined = wait_all(
        "everyone to join",
        &all_views,
        Instant::now(),
        Duration::from_secs(3),
        everyone_alive(MEMBERS),
    )
    .await;
    println!("{MEMBERS} members joined in {joined:?}");

    let mut detections = Vec::new();
    let mut rejoins = Vec::new();
    for trial in 0..TRIALS {
        let victim = trial % MEMBERS;
        let name = names[victim].clone();
        let victim_addr = members[victim].as_ref().unwrap().local_addr();
        let survivors = views(&members, victim);

        // SIGKILL-like: the member vanishes without a goodbye.
        let killed_at = Instant::now();
        drop(members[victim].take());
        let gone = {
            let name = name.clone();
            move |v: &MemberView| !v.alive.contains(&name)
        };
        let detected = wait_all(
            "the killed member to be dropped",
            &survivors,
            killed_at,
            Duration::from_secs(3),
            gone,
        )
        .await;
        println!("trial {trial}: {name} killed, dropped by all survivors after {detected:?}");
        detections.push(detected);
        for v in &survivors {
            // Three of four alive is still a majority.
            assert!(v.borrow().has_quorum);
        }

        // Restart under the same name and address: it must come back as alive.
        let restarted_at = Instant::now();
        let restarted = loop {
            let config = ferrolb_membership::MembershipConfig::new(
                &name,
                victim_addr,
                victim_addr,
                KEY.to_vec(),
            );
            match Membership::start(config).await {
                Ok(m) => break m,
                // The killed member's socket closes as its task is torn down.
                Err(_) if restarted_at.elapsed() < Duration::from_secs(1) => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("restarting {name}: {e}"),
            }
        };
        restarted.set_expected(listing.clone());
        members[victim] = Some(restarted);
        let all = views(&members, usize::MAX);
        let back = wait_all(
            "the restarted member to be alive everywhere",
            &all,
            restarted_at,
            Duration::from_secs(3),
            everyone_alive(MEMBERS),
        )
        .await;
        println!("trial {trial}: {name} restarted, alive everywhere after {back:?}");
        rejoins.push(back);
    }
    let worst = detections.iter().max().copied().unwrap();
    println!(
        "failure detection over {TRIALS} trials: median {:?}, max {worst:?}; restart to alive: median {:?}",
        median(detections.clone()),
        median(rejoins)
    );
    assert!(worst < Duration::from_secs(3), "detections {detections:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_member_is_dropped_at_once() {
    let names = names(3);
    let mut members = cluster(&names, 21).await;
    let views: Vec<_> = members.iter().map(Membership::view).collect();
    wait_all(
        "everyone to join",
        &views,
        Instant::now(),
        Duration::from_secs(3),
        everyone_alive(3),
    )
    .await;

    let leaving = members.remove(0);
    let leaving_addr = leaving.local_addr();
    let left_at = Instant::now();
    leaving.leave().await;
    let survivors: Vec<_> = members.iter().map(Membership::view).collect();
    let name = names[0].clone();
    let dropped = wait_all(
        "the leaving member to be dropped",
        &survivors,
        left_at,
        Duration::from_secs(3),
        move |v| !v.alive.contains(&name),
    )
    .await;
    println!("a leaving member was dropped by all after {dropped:?}");
    // Failure detection alone takes a probe period plus the suspicion timeout (300 ms).
    assert!(dropped < Duration::from_millis(250), "took {dropped:?}");

    // A rolling update: the same node's new speaker joins again at once.
    let restarted_at = Instant::now();
    let back = start(&names[0], leaving_addr, &KEY).await;
    let mut listed: Vec<(&str, &Membership)> = vec![(&names[0], &back)];
    listed.extend(names[1..].iter().map(String::as_str).zip(&members));
    let all = expected(&listed);
    for m in members.iter().chain([&back]) {
        m.set_expected(all.clone());
    }
    let views: Vec<_> = members
        .iter()
        .chain([&back])
        .map(Membership::view)
        .collect();
    let rejoined = wait_all(
        "the restarted member to rejoin",
        &views,
        restarted_at,
        Duration::from_secs(3),
        everyone_alive(3),
    )
    .await;
    println!("the restarted member rejoined in {rejoined:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_the_wrong_key_never_joins() {
    let names = names(3);
    let members = cluster(&names, 31).await;
    let intruder = start(
        "intruder",
        loopback(34),
        b"some-other-key-of-32-bytes-long!",
    )
    .await;
    let mut listed: Vec<(&str, &Membership)> =
        names.iter().map(String::as_str).zip(&members).collect();
    listed.push(("intruder", &intruder));
    let all = expected(&listed);
    for m in members.iter().chain([&intruder]) {
        m.set_expected(all.clone());
    }
    let views: Vec<_> = members.iter().map(Membership::view).collect();
    wait_all(
        "the honest members to join",
        &views,
        Instant::now(),
        Duration::from_secs(3),
        |v| v.alive.len() == 3 && v.has_quorum,
    )
    .await;
    // Give the intruder a few rejoin periods to try.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    for (name, m) in names.iter().zip(&members) {
        let view = m.view().borrow().clone();
        assert!(
            !view.alive.contains("intruder"),
            "{name} sees the intruder: {view:?}"
        );
        assert_eq!(view.alive.len(), 3, "{name}: {view:?}");
    }
    let seen = intruder.view().borrow().clone();
    assert_eq!(seen.alive.len(), 1, "the intruder sees {seen:?}");
    assert!(!seen.has_quorum);
    let failures: u64 = members.iter().map(|m| m.stats().auth_failures).sum();
    println!("honest members dropped {failures} datagrams from the intruder");
    assert!(
        failures >= 2,
        "the intruder's announcements were not counted"
    );
    assert!(intruder.stats().auth_failures > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_stale_and_forged_datagrams_are_counted_and_dropped() {
    let member = start("node-1", loopback(41), &KEY).await;
    let mut registry = Registry::with_prefix("ferrolb_speaker");
    member.register_metrics(&mut registry);
    let sender = tokio::net::UdpSocket::bind(loopback(42)).await.unwrap();
    let key = AuthKey::new(&KEY).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Authentic but not a SWIM message: accepted by the envelope, ignored by SWIM.
    let authentic = envelope::seal(&key, now, 7, b"not swim");
    let stale = envelope::seal(&key, now - 60_000, 8, b"not swim");
    let forged = envelope::seal(&AuthKey::new(&[9; 32]).unwrap(), now, 9, b"not swim");
    let mut tampered = envelope::seal(&key, now, 10, b"not swim");
    tampered[30] ^= 1;
    for datagram in [
        &authentic,
        &authentic,
        &stale,
        &forged,
        &tampered,
        &b"junk"[..].to_vec(),
    ] {
        sender.send_to(datagram, member.local_addr()).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while member.stats().datagrams_received < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = member.stats();
    assert_eq!(stats.datagrams_received, 6);
    assert_eq!(stats.auth_failures, 5);

    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    for (reason, count) in [
        ("replayed", 1),
        ("stale", 1),
        ("bad_mac", 2),
        ("malformed", 1),
    ] {
        let line = format!(
            "ferrolb_speaker_membership_auth_failures_total{{reason=\"{reason}\"}} {count}"
        );
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("ferrolb_speaker_members_alive 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_group_stays_whole() {
    // Short timers must not turn scheduling hiccups into false failures.
    const MEMBERS: usize = 5;
    let names = names(MEMBERS);
    let members = cluster(&names, 51).await;
    let views: Vec<_> = members.iter().map(Membership::view).collect();
    wait_all(
        "everyone to join",
        &views,
        Instant::now(),
        Duration::from_secs(3),
        everyone_alive(MEMBERS),
    )
    .await;
    let watchers: Vec<_> = views
        .into_iter()
        .map(|mut view| {
            tokio::spawn(async move {
                let mut smallest = MEMBERS;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
                while let Ok(Ok(())) = tokio::time::timeout_at(deadline, view.changed()).await {
                    smallest = smallest.min(view.borrow_and_update().alive.len());
                }
                smallest
            })
        })
        .collect();
    for (name, watcher) in names.iter().zip(watchers) {
        let smallest = watcher.await.unwrap();
        assert_eq!(
            smallest, MEMBERS,
            "{name} saw a member drop out of a healthy group"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_over_ipv6() {
    let names = names(3);
    let mut members = Vec::new();
    for name in &names {
        members.push(start(name, "[::1]:0".parse().unwrap(), &KEY).await);
    }
    let listed: Vec<(&str, &Membership)> = names.iter().map(String::as_str).zip(&members).collect();
    let all = expected(&listed);
    for m in &members {
        m.set_expected(all.clone());
    }
    let views: Vec<_> = members.iter().map(Membership::view).collect();
    wait_all(
        "everyone to join over IPv6",
        &views,
        Instant::now(),
        Duration::from_secs(3),
        everyone_alive(3),
    )
    .await;
}
