use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::*;
use crate::codec::{decode_message, frame_length};
use crate::message::{Message, Update};
use crate::rib::tests::support::{add_peer, announce, apply, net, peer_info, LOCAL_AS};
use crate::rib::LocRib;

const OPTS: CodecOptions = CodecOptions {
    four_octet_as: true,
    extended_message: false,
};

/// An exporter towards eBGP peer 9 (AS 65009, registered in `rib`), next hop self 192.0.2.254.
fn exporter(rib: &mut LocRib) -> Exporter {
    let info = peer_info(9, 65009);
    let target = add_peer(rib, 9, 65009);
    let policy = ExportPolicy {
        local_ipv4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        ..ExportPolicy::default()
    };
    Exporter {
        out: AdjRibOut::new(target, info, policy),
        packer: UpdatePacker::new(OPTS),
        internal: false,
        local_asn: LOCAL_AS,
        local: LocalRoutes::default(),
        state: Arc::default(),
    }
}

/// The UPDATEs in an encoded buffer.
fn updates(mut bytes: &[u8]) -> Vec<Update> {
    let mut out = Vec::new();
    while let Some(len) = frame_length(bytes, OPTS).expect("valid header") {
        let (frame, rest) = bytes.split_at(len);
        match decode_message(frame, OPTS).expect("valid message") {
            Message::Update(u) => out.push(u),
            other => panic!("not an UPDATE: {other:?}"),
        }
        bytes = rest;
    }
    assert!(bytes.is_empty(), "a partial message was left over");
    out
}

fn announced(updates: &[Update]) -> BTreeSet<String> {
    updates
        .iter()
        .flat_map(|u| u.announced().map(|(p, _)| p.to_string()))
        .collect()
}

fn withdrawn(updates: &[Update]) -> BTreeSet<String> {
    updates
        .iter()
        .flat_map(|u| u.withdrawn_prefixes().map(|p| p.to_string()))
        .collect()
}

fn set(prefixes: &[&str]) -> BTreeSet<String> {
    prefixes.iter().map(|p| p.to_string()).collect()
}

fn originated(all: &[&str], announce: &[&str], withdraw: &[&str]) -> Originated {
    let route = LocalRoute {
        attributes: Arc::new(PathAttributes::default()),
        next_hop: None,
    };
    Originated {
        all: Arc::new(all.iter().map(|p| (net(p), route.clone())).collect()),
        announce: announce.iter().map(|p| net(p)).collect(),
        withdraw: withdraw.iter().map(|p| net(p)).collect(),
    }
}

#[test]
fn originated_prefixes_win_over_learned_ones_and_both_are_counted() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let mut e = exporter(&mut rib);

    // The session comes up while 10.0.0.0/24 is both learned and originated.
    let learned = apply(
        &mut rib,
        a,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], "10.0.0.1", &[65001]),
    );
    assert_eq!(learned.len(), 2);
    let sent = updates(&e.run(Job::Resync {
        routes: Arc::new(rib.snapshot()),
        policy: None,
        refresh: false,
        originated: originated(
            &["10.0.0.0/24", "10.9.0.0/24"],
            &["10.0.0.0/24", "10.9.0.0/24"],
            &[],
        ),
    }));
    assert_eq!(
        announced(&sent),
        set(&["10.0.0.0/24", "10.0.1.0/24", "10.9.0.0/24"])
    );
    // The originated 10.0.0.0/24 went out once, with our AS alone (not the learned AS_PATH).
    let with_path: Vec<String> = sent
        .iter()
        .filter(|u| u.announced().any(|(p, _)| p == net("10.0.0.0/24")))
        .map(|u| format!("{:?}", u.attributes.as_path))
        .collect();
    assert_eq!(with_path.len(), 1, "{sent:?}");
    assert!(!with_path[0].contains("65001"), "{with_path:?}");
    assert_eq!(e.state.advertised.load(Ordering::Relaxed), 3);

    // A learned change for the originated prefix is not sent; a withdrawal of it is not either.
    let changes = apply(
        &mut rib,
        a,
        &crate::rib::tests::support::withdraw(&["10.0.0.0/24", "10.0.1.0/24"]),
    );
    let sent = updates(&e.run(Job::Changes(Arc::new(changes))));
    assert_eq!(withdrawn(&sent), set(&["10.0.1.0/24"]));
    assert_eq!(e.state.advertised.load(Ordering::Relaxed), 2);

    // Withdrawing an originated route withdraws it.
    let sent = updates(&e.run(Job::Originated(originated(
        &["10.0.0.0/24"],
        &[],
        &["10.9.0.0/24"],
    ))));
    assert_eq!(withdrawn(&sent), set(&["10.9.0.0/24"]));
    assert!(announced(&sent).is_empty());
    assert_eq!(e.state.advertised.load(Ordering::Relaxed), 1);
}

#[test]
fn a_resync_sends_only_differences_and_a_refresh_sends_everything() {
    let mut rib = LocRib::default();
    let a = add_peer(&mut rib, 1, 65001);
    let mut e = exporter(&mut rib);
    apply(
        &mut rib,
        a,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], "10.0.0.1", &[65001]),
    );
    let resync = |rib: &LocRib, refresh: bool| Job::Resync {
        routes: Arc::new(rib.snapshot()),
        policy: None,
        refresh,
        originated: originated(&[], &[], &[]),
    };
    assert_eq!(announced(&updates(&e.run(resync(&rib, false)))).len(), 2);
    assert!(e.run(resync(&rib, false)).is_empty());
    assert_eq!(announced(&updates(&e.run(resync(&rib, true)))).len(), 2);
    // A prefix gone from the Loc-RIB while nobody told this exporter is withdrawn by a resync.
    rib.peer_down(a).expect("registered peer");
    let sent = updates(&e.run(resync(&rib, false)));
    assert_eq!(withdrawn(&sent), set(&["10.0.0.0/24", "10.0.1.0/24"]));
    assert_eq!(e.state.advertised.load(Ordering::Relaxed), 0);
}

#[test]
fn end_of_rib_markers_follow_in_one_buffer() {
    let mut e = exporter(&mut LocRib::default());
    let sent = updates(&e.run(Job::EndOfRib(vec![
        AddressFamily::Ipv4Unicast,
        AddressFamily::Ipv6Unicast,
    ])));
    let families: Vec<_> = sent.iter().map(Update::end_of_rib_family).collect();
    assert_eq!(
        families,
        [
            Some(AddressFamily::Ipv4Unicast),
            Some(AddressFamily::Ipv6Unicast)
        ]
    );
}
