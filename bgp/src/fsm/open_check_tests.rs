use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::fsm::config::{GracefulRestartConfig, PeerAsn};
use crate::types::AddressFamily;

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn config() -> SessionConfig {
    SessionConfig::new(65001, PeerAsn::Exact(65002), LOCAL_ID)
}

fn peer_open() -> Open {
    Open {
        version: 4,
        asn: 65002,
        hold_time: 90,
        router_id: PEER_ID,
        capabilities: vec![
            Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
            Capability::Multiprotocol(AddressFamily::Ipv6Unicast),
            Capability::RouteRefresh,
            Capability::FourOctetAs(65002),
        ],
    }
}

fn open_err(sub: u8) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, Vec::new())
}

#[test]
fn rejects_what_rfc_4271_6_2_rejects() {
    type Case = (
        &'static str,
        fn(&mut SessionConfig, &mut Open),
        Notification,
    );
    let cases: Vec<Case> = vec![
        (
            "version 3",
            |_, o| o.version = 3,
            Notification::new(
                ErrorCode::OpenMessage,
                subcode::open::UNSUPPORTED_VERSION_NUMBER,
                vec![0, 4],
            ),
        ),
        (
            "wrong AS",
            |_, o| o.asn = 65003,
            open_err(subcode::open::BAD_PEER_AS),
        ),
        (
            "AS not in the allowed set",
            |c, o| {
                c.peer_asn = PeerAsn::OneOf(vec![65010, 65011]);
                o.asn = 65002;
            },
            open_err(subcode::open::BAD_PEER_AS),
        ),
        (
            "hold time 1",
            |_, o| o.hold_time = 1,
            open_err(subcode::open::UNACCEPTABLE_HOLD_TIME),
        ),
        (
            "hold time 2",
            |_, o| o.hold_time = 2,
            open_err(subcode::open::UNACCEPTABLE_HOLD_TIME),
        ),
        (
            "below configured minimum",
            |c, o| {
                c.min_hold_time = 10;
                o.hold_time = 9;
            },
            open_err(subcode::open::UNACCEPTABLE_HOLD_TIME),
        ),
        (
            "router id zero",
            |_, o| o.router_id = Ipv4Addr::UNSPECIFIED,
            open_err(subcode::open::BAD_BGP_IDENTIFIER),
        ),
        (
            "iBGP with our router id",
            |c, o| {
                c.peer_asn = PeerAsn::Exact(65001);
                o.asn = 65001;
                o.router_id = LOCAL_ID;
            },
            open_err(subcode::open::BAD_BGP_IDENTIFIER),
        ),
    ];
    for (name, mutate, want) in cases {
        let mut c = config();
        let mut o = peer_open();
        mutate(&mut c, &mut o);
        assert_eq!(check_open(&c, &o), Err(want), "{name}");
    }
}

#[test]
fn accepts_what_the_rfcs_allow() {
    type Case = (&'static str, fn(&mut SessionConfig, &mut Open));
    let cases: Vec<Case> = vec![
        ("plain", |_, _| {}),
        ("hold time 3", |_, o| o.hold_time = 3),
        ("hold time 0", |_, o| o.hold_time = 0),
        ("eBGP with our router id (RFC 6286)", |_, o| {
            o.router_id = LOCAL_ID
        }),
        ("AS in the allowed set", |c, _| {
            c.peer_asn = PeerAsn::OneOf(vec![65010, 65002])
        }),
        ("unknown capability", |_, o| {
            o.capabilities.push(Capability::Unknown {
                code: 200,
                value: vec![1, 2, 3],
            })
        }),
        ("no capabilities at all", |_, o| o.capabilities.clear()),
    ];
    for (name, mutate) in cases {
        let mut c = config();
        let mut o = peer_open();
        mutate(&mut c, &mut o);
        assert!(check_open(&c, &o).is_ok(), "{name}");
    }
}

#[test]
fn negotiates_hold_time_and_keepalive() {
    // (ours, theirs, configured keepalive, hold, keepalive)
    let cases: [(u16, u16, Option<u64>, u64, u64); 7] = [
        (90, 90, None, 90, 30),
        (90, 30, None, 30, 10),
        (9, 180, None, 9, 3),
        (90, 0, None, 0, 0),
        (0, 90, None, 0, 0),
        (90, 90, Some(5), 90, 5),
        (9, 90, Some(20), 9, 3),
    ];
    for (ours, theirs, ka, hold, keepalive) in cases {
        let mut c = config();
        c.hold_time = ours;
        c.keepalive = ka.map(Duration::from_secs);
        let mut o = peer_open();
        o.hold_time = theirs;
        let n = check_open(&c, &o).unwrap();
        assert_eq!(n.hold_time, Duration::from_secs(hold), "{ours}/{theirs}");
        assert_eq!(
            n.keepalive,
            Duration::from_secs(keepalive),
            "{ours}/{theirs}/{ka:?}"
        );
    }
}

#[test]
fn negotiates_capabilities() {
    let mut c = config();
    c.families = vec![AddressFamily::Ipv6Unicast];
    c.extended_message = true;
    let mut o = peer_open();
    o.capabilities
        .push(Capability::GracefulRestart(GracefulRestartCapability {
            restarting: true,
            restart_time: 120,
            families: vec![
                GracefulRestartFamily {
                    family: AddressFamily::Ipv4Unicast,
                    forwarding_preserved: true,
                },
                GracefulRestartFamily {
                    family: AddressFamily::Ipv6Unicast,
                    forwarding_preserved: true,
                },
            ],
        }));
    let n = check_open(&c, &o).unwrap();
    assert_eq!(n.families, vec![AddressFamily::Ipv6Unicast]);
    assert!(n.four_octet_as);
    assert!(n.route_refresh);
    assert!(!n.extended_message, "the peer did not offer it");
    assert_eq!(n.peer_asn, 65002);
    assert_eq!(n.peer_router_id, PEER_ID);
    assert!(!n.internal);
    let gr = n.graceful_restart.unwrap();
    assert_eq!(gr.restart_time, Duration::from_secs(120));
    assert!(gr.restarting);
    assert_eq!(
        gr.families,
        vec![GracefulRestartFamily {
            family: AddressFamily::Ipv6Unicast,
            forwarding_preserved: true
        }]
    );

    // A peer without capabilities speaks IPv4 unicast with 2-octet ASNs only.
    let mut o = peer_open();
    o.capabilities.clear();
    let n = check_open(&config(), &o).unwrap();
    assert_eq!(n.families, vec![AddressFamily::Ipv4Unicast]);
    assert!(!n.four_octet_as && !n.route_refresh && n.graceful_restart.is_none());
}

#[test]
fn builds_our_open() {
    let mut c = SessionConfig::new(4_200_000_000, PeerAsn::Exact(65002), LOCAL_ID);
    c.hold_time = 2;
    c.extended_message = true;
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 5000,
        restarting: true,
        forwarding_preserved: false,
    });
    let open = build_open(&c);
    assert_eq!(open.version, 4);
    assert_eq!(open.asn, 4_200_000_000);
    assert_eq!(open.hold_time, 3, "1 and 2 are not valid hold times");
    assert_eq!(open.router_id, LOCAL_ID);
    assert_eq!(open.families(), AddressFamily::ALL.to_vec());
    assert!(open.route_refresh() && open.extended_message() && open.four_octet_as());
    let gr = open.graceful_restart().unwrap();
    assert_eq!(gr.restart_time, 0x0FFF);
    assert!(gr.restarting);
    assert_eq!(gr.families.len(), 2);
    assert!(gr.families.iter().all(|f| !f.forwarding_preserved));
    assert!(open
        .capabilities
        .contains(&Capability::FourOctetAs(4_200_000_000)));

    // Our own OPEN passes our own check when the peer mirrors us.
    let mut mirror = SessionConfig::new(65002, PeerAsn::Exact(4_200_000_000), PEER_ID);
    mirror.hold_time = 90;
    let n = check_open(&mirror, &open).unwrap();
    assert_eq!(n.hold_time, Duration::from_secs(3));
}
