//! Table-driven tests of every tie-break step and multipath rule.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::*;
use crate::attribute::{AsPath, AsSegment, NextHop, PathAttributes};
use crate::rib::path::PathData;
use crate::rib::peer::PeerInfo;

const LOCAL_AS: Asn = 65000;

/// A peer: AS, router id and address (last octets).
#[derive(Clone, Copy)]
struct P(Asn, u8, u8);

/// A route from `peer` (index into the peer list).
#[derive(Clone)]
struct R {
    peer: usize,
    lp: Option<u32>,
    as_path: Vec<AsSegment>,
    origin: Origin,
    med: Option<u32>,
}

fn r(peer: usize, path: &[Asn]) -> R {
    let as_path = if path.is_empty() {
        vec![]
    } else {
        vec![AsSegment::Sequence(path.to_vec())]
    };
    R {
        peer,
        lp: None,
        as_path,
        origin: Origin::Igp,
        med: None,
    }
}

impl R {
    fn lp(mut self, v: u32) -> R {
        self.lp = Some(v);
        self
    }
    fn med(mut self, v: u32) -> R {
        self.med = Some(v);
        self
    }
    fn origin(mut self, o: Origin) -> R {
        self.origin = o;
        self
    }
    fn set(mut self, asns: &[Asn]) -> R {
        self.as_path.push(AsSegment::Set(asns.to_vec()));
        self
    }
}

fn build(peers: &[P], routes: &[R]) -> (PeerTable, Vec<Path>) {
    let mut table = PeerTable::default();
    let ids: Vec<PeerId> = peers
        .iter()
        .map(|&P(asn, rid, addr)| {
            table.insert(PeerInfo::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, addr)),
                asn,
                LOCAL_AS,
                Ipv4Addr::new(rid, rid, rid, rid),
            ))
        })
        .collect();
    let paths = routes
        .iter()
        .map(|rt| {
            let attrs = PathAttributes {
                origin: Some(rt.origin),
                as_path: Some(AsPath {
                    segments: rt.as_path.clone(),
                }),
                med: rt.med,
                local_pref: rt.lp,
                ..PathAttributes::default()
            };
            let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, peers[rt.peer].2));
            Path::new(ids[rt.peer], Arc::new(PathData::new(Arc::new(attrs), nh)))
        })
        .collect();
    (table, paths)
}

struct Case {
    name: &'static str,
    config: DecisionConfig,
    peers: Vec<P>,
    routes: Vec<R>,
    /// Expected forwarding paths (route indices), best first.
    expect: Vec<usize>,
}

fn cfg() -> DecisionConfig {
    DecisionConfig::default()
}

fn run(cases: Vec<Case>) {
    for case in cases {
        let (peers, paths) = build(&case.peers, &case.routes);
        let sel = select(&paths, &peers, &case.config, None).expect("non-empty");
        assert_eq!(sel.multipath, case.expect, "case {:?}", case.name);
        assert_eq!(sel.best, case.expect[0], "case {:?}", case.name);
        // Arrival order must not matter: the reversed list selects the same paths.
        let reversed: Vec<Path> = paths.iter().rev().cloned().collect();
        let sel = select(&reversed, &peers, &case.config, None).expect("non-empty");
        let back: Vec<usize> = sel.multipath.iter().map(|i| paths.len() - 1 - i).collect();
        assert_eq!(back, case.expect, "case {:?} reversed", case.name);
    }
}

fn single() -> DecisionConfig {
    DecisionConfig {
        max_paths: 1,
        ..cfg()
    }
}

#[test]
fn best_path_tie_breaks() {
    let e1 = P(65001, 1, 1);
    let e2 = P(65002, 2, 2);
    let e1b = P(65001, 3, 3);
    let i1 = P(LOCAL_AS, 4, 4);
    let i2 = P(LOCAL_AS, 5, 5);
    run(vec![
        Case {
            name: "higher local pref beats shorter as path",
            config: single(),
            peers: vec![i1, i2],
            routes: vec![r(0, &[1]), r(1, &[1, 2, 3]).lp(200)],
            expect: vec![1],
        },
        Case {
            name: "missing local pref counts as 100",
            config: single(),
            peers: vec![i1, i2],
            routes: vec![r(0, &[1]).lp(99), r(1, &[1])],
            expect: vec![1],
        },
        Case {
            name: "configured default local pref",
            config: DecisionConfig {
                default_local_pref: 50,
                ..single()
            },
            peers: vec![i1, i2],
            routes: vec![r(0, &[1]).lp(99), r(1, &[1])],
            expect: vec![0],
        },
        Case {
            name: "shorter as path",
            config: single(),
            peers: vec![e1, e2],
            routes: vec![r(0, &[65001, 7, 8]), r(1, &[65002, 9])],
            expect: vec![1],
        },
        Case {
            name: "an as set counts as one",
            config: single(),
            peers: vec![e1, e2],
            routes: vec![r(0, &[65001]).set(&[7, 8, 9]), r(1, &[65002, 9, 10])],
            expect: vec![0],
        },
        Case {
            name: "igp origin beats egp",
            config: single(),
            peers: vec![e1, e2],
            routes: vec![r(0, &[65001]).origin(Origin::Egp), r(1, &[65002])],
            expect: vec![1],
        },
        Case {
            name: "egp origin beats incomplete",
            config: single(),
            peers: vec![e1, e2],
            routes: vec![
                r(0, &[65001]).origin(Origin::Egp),
                r(1, &[65002]).origin(Origin::Incomplete),
            ],
            expect: vec![0],
        },
        Case {
            name: "lower med from the same neighbour as",
            config: single(),
            peers: vec![e1, e1b],
            routes: vec![r(0, &[65001]).med(20), r(1, &[65001]).med(10)],
            expect: vec![1],
        },
        Case {
            name: "missing med counts as zero",
            config: single(),
            peers: vec![e1, e1b],
            routes: vec![r(0, &[65001]).med(1), r(1, &[65001])],
            expect: vec![1],
        },
        Case {
            name: "med not compared across neighbour ases",
            config: single(),
            peers: vec![e1, e2],
            routes: vec![r(0, &[65001]).med(50), r(1, &[65002]).med(10)],
            expect: vec![0],
        },
        Case {
            name: "always compare med",
            config: DecisionConfig {
                always_compare_med: true,
                ..single()
            },
            peers: vec![e1, e2],
            routes: vec![r(0, &[65001]).med(50), r(1, &[65002]).med(10)],
            expect: vec![1],
        },
        Case {
            // RFC 4271 9.1.2.2 (c): route 0 is eliminated by route 2 (same AS, lower MED);
            // then 1 and 2 go to router id. Pairwise comparison in arrival order could pick 0.
            name: "med elimination is order independent",
            config: single(),
            peers: vec![P(65001, 1, 1), P(65002, 2, 2), P(65001, 3, 3)],
            routes: vec![
                r(0, &[65001]).med(20),
                r(1, &[65002]).med(10),
                r(2, &[65001]).med(10),
            ],
            expect: vec![1],
        },
        Case {
            name: "ebgp beats ibgp",
            config: single(),
            peers: vec![i1, P(65009, 9, 9)],
            routes: vec![r(0, &[65001]), r(1, &[65009])],
            expect: vec![1],
        },
        Case {
            name: "lowest router id",
            config: single(),
            peers: vec![P(65002, 7, 1), P(65003, 6, 2)],
            routes: vec![r(0, &[65002]), r(1, &[65003])],
            expect: vec![1],
        },
        Case {
            name: "lowest peer address when router ids tie",
            config: single(),
            peers: vec![P(65002, 7, 9), P(65003, 7, 8)],
            routes: vec![r(0, &[65002]), r(1, &[65003])],
            expect: vec![1],
        },
    ]);
}

#[test]
fn multipath_rules() {
    let a1 = P(65001, 3, 1);
    let a2 = P(65001, 1, 2);
    let a3 = P(65001, 2, 3);
    let b = P(65002, 4, 4);
    let i1 = P(LOCAL_AS, 5, 5);
    let i2 = P(LOCAL_AS, 6, 6);
    let any = DecisionConfig {
        multipath_rule: MultipathRule::AnyAs,
        ..cfg()
    };
    run(vec![
        Case {
            name: "equal ebgp paths from one neighbour as, ordered by router id",
            config: cfg(),
            peers: vec![a1, a2, a3],
            routes: vec![r(0, &[65001]), r(1, &[65001]), r(2, &[65001])],
            expect: vec![1, 2, 0],
        },
        Case {
            name: "max paths caps the set",
            config: DecisionConfig {
                max_paths: 2,
                ..cfg()
            },
            peers: vec![a1, a2, a3],
            routes: vec![r(0, &[65001]), r(1, &[65001]), r(2, &[65001])],
            expect: vec![1, 2],
        },
        Case {
            name: "max paths 1 disables multipath",
            config: single(),
            peers: vec![a1, a2, a3],
            routes: vec![r(0, &[65001]), r(1, &[65001]), r(2, &[65001])],
            expect: vec![1],
        },
        Case {
            name: "other neighbour as excluded by default",
            config: cfg(),
            peers: vec![a1, b],
            routes: vec![r(0, &[65001]), r(1, &[65002])],
            expect: vec![0],
        },
        Case {
            name: "other neighbour as included with any-as",
            config: any.clone(),
            peers: vec![a1, b],
            routes: vec![r(0, &[65001]), r(1, &[65002])],
            expect: vec![0, 1],
        },
        Case {
            name: "any-as still needs equal as path length",
            config: any.clone(),
            peers: vec![a1, b],
            routes: vec![r(0, &[65001]), r(1, &[65002, 7])],
            expect: vec![0],
        },
        Case {
            name: "different local pref excluded",
            config: any.clone(),
            peers: vec![i1, i2],
            routes: vec![r(0, &[]).lp(200), r(1, &[])],
            expect: vec![0],
        },
        Case {
            name: "different origin excluded",
            config: cfg(),
            peers: vec![a1, a2],
            routes: vec![r(0, &[65001]), r(1, &[65001]).origin(Origin::Egp)],
            expect: vec![0],
        },
        Case {
            name: "higher med from the same as excluded",
            config: cfg(),
            peers: vec![a1, a2],
            routes: vec![r(0, &[65001]).med(5), r(1, &[65001]).med(6)],
            expect: vec![0],
        },
        Case {
            name: "different meds across ases combine with any-as",
            config: any.clone(),
            peers: vec![a1, b],
            routes: vec![r(0, &[65001]).med(5), r(1, &[65002]).med(6)],
            expect: vec![0, 1],
        },
        Case {
            name: "always-compare-med splits them again",
            config: DecisionConfig {
                always_compare_med: true,
                ..any.clone()
            },
            peers: vec![a1, b],
            routes: vec![r(0, &[65001]).med(6), r(1, &[65002]).med(5)],
            expect: vec![1],
        },
        Case {
            name: "ebgp and ibgp never mix",
            config: any.clone(),
            peers: vec![i1, a1],
            routes: vec![r(0, &[65001]), r(1, &[65001])],
            expect: vec![1],
        },
        Case {
            name: "ibgp paths with identical as path",
            config: cfg(),
            peers: vec![i2, i1],
            routes: vec![r(0, &[65001, 7]), r(1, &[65001, 7])],
            expect: vec![1, 0],
        },
        Case {
            name: "ibgp paths with different as paths of equal length",
            config: cfg(),
            peers: vec![i1, i2],
            routes: vec![r(0, &[65001, 7]), r(1, &[65001, 8])],
            expect: vec![0],
        },
        Case {
            name: "ibgp paths with different as paths under any-as",
            config: any,
            peers: vec![i1, i2],
            routes: vec![r(0, &[65001, 7]), r(1, &[65002, 8])],
            expect: vec![0, 1],
        },
        Case {
            name: "ibgp paths originated inside the as",
            config: cfg(),
            peers: vec![i2, i1],
            routes: vec![r(0, &[]), r(1, &[])],
            expect: vec![1, 0],
        },
    ]);
}

#[test]
fn empty_and_single() {
    let (peers, paths) = build(&[P(65001, 1, 1)], &[r(0, &[65001])]);
    assert_eq!(select(&[], &peers, &cfg(), None), None);
    assert_eq!(
        select(&paths, &peers, &cfg(), None),
        Some(Selection {
            best: 0,
            multipath: vec![0]
        })
    );
}

#[test]
fn the_current_best_is_kept_among_external_ties() {
    // Two eBGP peers in one AS, one internal peer; equal routes. Router ids 1, 2, 3.
    let peers_spec = [P(65001, 1, 1), P(65001, 2, 2), P(LOCAL_AS, 3, 3)];
    let routes = [r(0, &[65001]), r(1, &[65001]), r(2, &[65001])];
    let (peers, paths) = build(&peers_spec, &routes);
    let id = |i: usize| paths[i].peer;
    let multi = cfg();
    // Without a current best, or with the rule off, the lower router id wins.
    assert_eq!(
        select(&paths, &peers, &multi, None).unwrap().multipath,
        [0, 1]
    );
    let off = DecisionConfig {
        prefer_older_external: false,
        ..cfg()
    };
    assert_eq!(
        select(&paths, &peers, &off, Some(id(1))).unwrap().multipath,
        [0, 1]
    );
    // The current best stays best (and first); the multipath set is the same.
    assert_eq!(
        select(&paths, &peers, &multi, Some(id(1)))
            .unwrap()
            .multipath,
        [1, 0]
    );
    assert_eq!(
        select(&paths, &peers, &single(), Some(id(1)))
            .unwrap()
            .multipath,
        [1]
    );
    // An internal current best is not kept: external paths win at step 5 anyway.
    assert_eq!(
        select(&paths, &peers, &single(), Some(id(2)))
            .unwrap()
            .multipath,
        [0]
    );
}
