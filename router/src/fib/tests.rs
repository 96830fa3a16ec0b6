//! Table tests of the desired-state diff: group identity, in-place rewrites, ordering, and
//! reconciliation with what the kernel reports.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::kernel::{KernelNextHop, KernelRoute, KernelState, NextHopKind};
use super::*;

const PROTO: u8 = 200;
const B: u32 = NEXTHOP_ID_BASE;

fn node(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

/// Next hops `ns`, all on interface 2.
fn via(ns: &[u8]) -> Option<Resolved> {
    Some(ns.iter().map(|n| (node(*n), 2)).collect())
}

fn net(p: &str) -> IpNet {
    p.parse().unwrap()
}

fn service(i: u32) -> IpNet {
    let [_, _, a, b] = i.to_be_bytes();
    IpNet::new(IpAddr::V4(Ipv4Addr::new(10, 96, a, b)), 32).unwrap()
}

fn kinds(ops: &[Op]) -> Vec<&'static str> {
    ops.iter().map(Op::kind).collect()
}

fn count(ops: &[Op], kind: &str) -> usize {
    ops.iter().filter(|o| o.kind() == kind).count()
}

#[test]
fn first_route_creates_objects_group_and_route_in_order() {
    let mut fib = Fib::new(Mode::Groups);
    let ops = fib.plan(vec![(net("10.96.0.10/32"), via(&[3, 2, 4]))]);
    assert_eq!(
        ops,
        vec![
            Op::NewNextHop {
                id: B,
                gateway: node(2),
                oif: 2
            },
            Op::NewNextHop {
                id: B + 1,
                gateway: node(3),
                oif: 2
            },
            Op::NewNextHop {
                id: B + 2,
                gateway: node(4),
                oif: 2
            },
            Op::NewGroup {
                id: B + 3,
                members: vec![B, B + 1, B + 2]
            },
            Op::ReplaceRoute {
                prefix: net("10.96.0.10/32"),
                target: Target::Group(B + 3)
            },
        ]
    );
    assert_eq!(
        fib.route(&net("10.96.0.10/32")),
        Some(planner::InstalledRoute {
            next_hops: vec![node(2), node(3), node(4)],
            group: Some(B + 3)
        })
    );
    // The same state again is no work.
    assert_eq!(
        fib.plan(vec![(net("10.96.0.10/32"), via(&[2, 3, 4]))]),
        vec![]
    );
}

#[test]
fn a_node_leaving_rewrites_the_shared_group_once_and_moves_no_route() {
    let mut fib = Fib::new(Mode::Groups);
    let all: Vec<u8> = (2..12).collect();
    let ops = fib.plan((0..1000).map(|i| (service(i), via(&all))).collect());
    assert_eq!(count(&ops, "new-nexthop"), 10);
    assert_eq!(count(&ops, "new-group"), 1);
    assert_eq!(count(&ops, "replace-route"), 1000);
    assert_eq!(fib.group_count(), 1);

    // Node 5 dies: all 1,000 routes lose it in one batch.
    let rest: Vec<u8> = all.iter().copied().filter(|n| *n != 5).collect();
    let ops = fib.plan((0..1000).map(|i| (service(i), via(&rest))).collect());
    assert_eq!(kinds(&ops), vec!["replace-group", "delete-nexthop"]);
    let Op::ReplaceGroup { id, members } = &ops[0] else {
        panic!("{ops:?}")
    };
    assert_eq!(*id, B + 10);
    assert_eq!(members.len(), 9);
    assert_eq!(ops[1], Op::DeleteNextHop { id: B + 3 });
    assert_eq!(fib.route(&service(7)).unwrap().next_hops.len(), 9);
    assert_eq!(
        fib.widths().into_iter().collect::<Vec<_>>(),
        vec![(9, 1000)]
    );

    // It comes back: again one rewrite (plus its new nexthop object), no route moves.
    let ops = fib.plan((0..1000).map(|i| (service(i), via(&all))).collect());
    assert_eq!(kinds(&ops), vec!["new-nexthop", "replace-group"]);
    assert_eq!(fib.group_count(), 1);
}

#[test]
fn routes_changing_differently_move_to_the_group_of_their_new_set() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![
        (service(1), via(&[2, 3])),
        (service(2), via(&[2, 3])),
        (service(3), via(&[2, 3])),
    ]);
    let shared = fib.route(&service(1)).unwrap().group.unwrap();

    // Only two of the group's three routes gain node 4: they move to a new group.
    let ops = fib.plan(vec![
        (service(1), via(&[2, 3, 4])),
        (service(2), via(&[2, 3, 4])),
    ]);
    assert_eq!(
        kinds(&ops),
        vec!["new-nexthop", "new-group", "replace-route", "replace-route"]
    );
    let moved = fib.route(&service(1)).unwrap().group.unwrap();
    assert_ne!(moved, shared);
    assert_eq!(fib.route(&service(2)).unwrap().group, Some(moved));
    assert_eq!(fib.route(&service(3)).unwrap().group, Some(shared));

    // The third follows alone: its group (of one route now) is rewritten in place, which
    // leaves two groups with equal members...
    let ops = fib.plan(vec![(service(3), via(&[2, 3, 4]))]);
    assert_eq!(kinds(&ops), vec!["replace-group"]);
    assert_eq!(fib.group_count(), 2);
    // ...until they are consolidated into the one with more routes.
    let ops = fib.consolidate();
    assert_eq!(
        ops,
        vec![
            Op::ReplaceRoute {
                prefix: service(3),
                target: Target::Group(moved)
            },
            Op::DeleteGroup { id: shared },
        ]
    );
    assert_eq!(fib.group_count(), 1);
    assert_eq!(fib.consolidate(), vec![]);
}

#[test]
fn rewritten_groups_may_share_members_and_new_routes_join_the_lowest() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![(service(1), via(&[2])), (service(2), via(&[2, 3]))]);
    let g1 = fib.route(&service(1)).unwrap().group.unwrap();
    let g2 = fib.route(&service(2)).unwrap().group.unwrap();
    // Node 3 leaves: {2,3} becomes {2} in place, next to the existing {2}.
    let ops = fib.plan(vec![(service(2), via(&[2]))]);
    assert_eq!(kinds(&ops), vec!["replace-group", "delete-nexthop"]);
    assert_eq!(fib.group_count(), 2);
    let ops = fib.plan(vec![(service(3), via(&[2]))]);
    assert_eq!(
        ops,
        vec![Op::ReplaceRoute {
            prefix: service(3),
            target: Target::Group(g1.min(g2))
        }]
    );
    // Consolidation keeps the group with more routes.
    assert_eq!(
        fib.consolidate(),
        vec![
            Op::ReplaceRoute {
                prefix: service(2),
                target: Target::Group(g1)
            },
            Op::DeleteGroup { id: g2 },
        ]
    );
}

#[test]
fn withdrawing_the_last_route_removes_route_group_and_objects_last() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![(service(1), via(&[2, 3])), (service(2), via(&[3]))]);
    let ops = fib.plan(vec![
        (service(1), None),
        (service(2), Some(Resolved::new())),
    ]);
    assert_eq!(
        kinds(&ops),
        vec![
            "delete-route",
            "delete-route",
            "delete-group",
            "delete-group",
            "delete-nexthop",
            "delete-nexthop"
        ]
    );
    assert!(ops.iter().skip(2).all(Op::is_removal));
    assert_eq!(fib.route_count(), 0);
    assert_eq!(fib.group_count(), 0);
    // Withdrawing again is no work; ids are reused after the deletions.
    assert_eq!(fib.plan(vec![(service(1), None)]), vec![]);
    let ops = fib.plan(vec![(service(1), via(&[2]))]);
    assert_eq!(
        ops[0],
        Op::NewNextHop {
            id: B,
            gateway: node(2),
            oif: 2
        }
    );
}

#[test]
fn an_interface_change_replaces_the_nexthop_object_only() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![(service(1), via(&[2, 3]))]);
    let moved: Resolved = [(node(2), 7), (node(3), 2)].into_iter().collect();
    let ops = fib.plan(vec![(service(1), Some(moved))]);
    assert_eq!(
        ops,
        vec![Op::ReplaceNextHop {
            id: B,
            gateway: node(2),
            oif: 7
        }]
    );
}

#[test]
fn multipath_mode_puts_next_hops_on_every_route() {
    let mut fib = Fib::new(Mode::Multipath);
    let ops = fib.plan(vec![(service(1), via(&[3, 2])), (service(2), via(&[2]))]);
    assert_eq!(
        ops,
        vec![
            Op::ReplaceRoute {
                prefix: service(1),
                target: Target::Paths(vec![(node(2), 2), (node(3), 2)])
            },
            Op::ReplaceRoute {
                prefix: service(2),
                target: Target::Paths(vec![(node(2), 2)])
            },
        ]
    );
    // A node leaving costs one route update per prefix here.
    let ops = fib.plan(vec![(service(1), via(&[2])), (service(2), None)]);
    assert_eq!(kinds(&ops), vec!["replace-route", "delete-route"]);
    assert_eq!(fib.group_count(), 0);
}

fn gateway(n: u8) -> KernelNextHop {
    KernelNextHop {
        protocol: PROTO,
        kind: NextHopKind::Gateway {
            address: node(n),
            oif: 2,
        },
    }
}

#[test]
fn reconcile_recreates_what_the_kernel_lost_and_sweeps_leftovers() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![(service(1), via(&[2, 3]))]);
    let group = fib.route(&service(1)).unwrap().group.unwrap();
    // The kernel flushed node 3's object (its link went down) and with it the route; a
    // previous run left a route and a nexthop behind; another program uses id 5.
    let mut kernel = KernelState::default();
    kernel.next_hops.insert(B, gateway(2));
    kernel.next_hops.insert(
        group,
        KernelNextHop {
            protocol: PROTO,
            kind: NextHopKind::Group(vec![B]),
        },
    );
    kernel.next_hops.insert(B + 100, gateway(9));
    kernel.next_hops.insert(
        5,
        KernelNextHop {
            protocol: 3,
            kind: NextHopKind::Other,
        },
    );
    kernel.routes.push(KernelRoute {
        prefix: net("10.96.9.9/32"),
        metric: ROUTE_METRIC,
        nhid: Some(B + 100),
        paths: vec![(node(9), 2)],
    });

    let keep = fib.reconcile(&kernel, PROTO, false);
    assert_eq!(
        keep,
        vec![
            Op::NewNextHop {
                id: B + 1,
                gateway: node(3),
                oif: 2
            },
            Op::ReplaceGroup {
                id: group,
                members: vec![B, B + 1]
            },
            Op::ReplaceRoute {
                prefix: service(1),
                target: Target::Group(group)
            },
        ]
    );
    // Leftover ids are not handed out while they are kept.
    let ops = fib.plan(vec![(service(2), via(&[4]))]);
    let ids: Vec<u32> = ops
        .iter()
        .filter_map(|o| match o {
            Op::NewNextHop { id, .. } | Op::NewGroup { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert!(ids.iter().all(|id| *id != B + 100 && *id != 5), "{ids:?}");

    let swept = fib.reconcile(&kernel, PROTO, true);
    let tail: Vec<&Op> = swept.iter().filter(|o| o.is_removal()).collect();
    assert_eq!(
        tail,
        vec![
            &Op::DeleteRoute {
                prefix: net("10.96.9.9/32"),
                metric: ROUTE_METRIC
            },
            &Op::DeleteNextHop { id: B + 100 },
        ]
    );
}

#[test]
fn reconcile_is_quiet_when_the_kernel_matches() {
    let mut fib = Fib::new(Mode::Groups);
    let ops = fib.plan(vec![(service(1), via(&[2, 3]))]);
    let mut kernel = KernelState::default();
    for op in &ops {
        match op {
            Op::NewNextHop { id, gateway, oif } => {
                kernel.next_hops.insert(
                    *id,
                    KernelNextHop {
                        protocol: PROTO,
                        kind: NextHopKind::Gateway {
                            address: *gateway,
                            oif: *oif,
                        },
                    },
                );
            }
            Op::NewGroup { id, members } => {
                let kind = NextHopKind::Group(members.iter().rev().copied().collect());
                kernel.next_hops.insert(
                    *id,
                    KernelNextHop {
                        protocol: PROTO,
                        kind,
                    },
                );
            }
            Op::ReplaceRoute {
                prefix,
                target: Target::Group(g),
            } => kernel.routes.push(KernelRoute {
                prefix: *prefix,
                metric: ROUTE_METRIC,
                nhid: Some(*g),
                paths: vec![],
            }),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(fib.reconcile(&kernel, PROTO, true), vec![]);
}

#[test]
fn an_id_taken_by_another_program_moves_our_objects() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![(service(1), via(&[2, 3]))]);
    let mut kernel = KernelState::default();
    // Someone else created nexthop B (our object for node 2) while the kernel lost ours.
    kernel.next_hops.insert(
        B,
        KernelNextHop {
            protocol: 4,
            kind: NextHopKind::Other,
        },
    );
    let ops = fib.reconcile(&kernel, PROTO, true);
    assert!(
        ops.iter()
            .all(|o| !matches!(o, Op::NewNextHop { id, .. } if *id == B)),
        "{ops:?}"
    );
    assert!(
        !ops.iter()
            .any(|o| matches!(o, Op::DeleteNextHop { id } if *id == B)),
        "{ops:?}"
    );
    assert_eq!(count(&ops, "new-nexthop"), 2);
    assert_eq!(count(&ops, "new-group"), 1);
    assert_eq!(count(&ops, "replace-route"), 1);
    let group = fib.route(&service(1)).unwrap().group.unwrap();
    assert_ne!(group, B);
}

#[test]
fn multipath_reconcile_compares_paths() {
    let mut fib = Fib::new(Mode::Multipath);
    fib.plan(vec![(service(1), via(&[2, 3]))]);
    let mut kernel = KernelState::default();
    kernel.routes.push(KernelRoute {
        prefix: service(1),
        metric: ROUTE_METRIC,
        nhid: None,
        paths: vec![(node(3), 2), (node(2), 2)],
    });
    assert_eq!(fib.reconcile(&kernel, PROTO, true), vec![]);
    kernel.routes[0].paths.pop();
    assert_eq!(
        kinds(&fib.reconcile(&kernel, PROTO, true)),
        vec!["replace-route"]
    );
}

#[test]
fn flush_deletes_everything_of_ours_in_order() {
    let mut kernel = KernelState::default();
    kernel.next_hops.insert(B, gateway(2));
    kernel.next_hops.insert(
        B + 1,
        KernelNextHop {
            protocol: PROTO,
            kind: NextHopKind::Group(vec![B]),
        },
    );
    kernel.next_hops.insert(
        7,
        KernelNextHop {
            protocol: 11,
            kind: NextHopKind::Group(vec![]),
        },
    );
    kernel.routes.push(KernelRoute {
        prefix: service(1),
        metric: ROUTE_METRIC,
        nhid: Some(B + 1),
        paths: vec![],
    });
    assert_eq!(
        Fib::flush(&kernel, PROTO),
        vec![
            Op::DeleteRoute {
                prefix: service(1),
                metric: ROUTE_METRIC
            },
            Op::DeleteGroup { id: B + 1 },
            Op::DeleteNextHop { id: B },
        ]
    );
}

#[test]
fn a_withdrawn_next_hop_leaves_every_group_at_once_and_empty_routes_go() {
    let mut fib = Fib::new(Mode::Groups);
    fib.plan(vec![
        (service(1), via(&[2, 3, 4])),
        (service(2), via(&[2, 3, 4])),
        (service(3), via(&[2])),
        (service(4), via(&[3, 4])),
    ]);
    let group_of = |fib: &Fib, i| fib.route(&service(i)).unwrap().group.unwrap();
    let (shared, alone, other) = (group_of(&fib, 1), group_of(&fib, 3), group_of(&fib, 4));

    let ops = fib.withdraw_next_hop(node(2));
    assert_eq!(
        kinds(&ops),
        vec![
            "replace-group",
            "delete-route",
            "delete-group",
            "delete-nexthop"
        ]
    );
    assert_eq!(
        ops[0],
        Op::ReplaceGroup {
            id: shared,
            members: vec![B + 1, B + 2]
        }
    );
    assert_eq!(
        ops[1],
        Op::DeleteRoute {
            prefix: service(3),
            metric: ROUTE_METRIC
        }
    );
    assert_eq!(ops[2], Op::DeleteGroup { id: alone });
    assert_eq!(ops[3], Op::DeleteNextHop { id: B });
    for i in [1, 2] {
        let route = fib.route(&service(i)).unwrap();
        assert_eq!(route.next_hops, vec![node(3), node(4)]);
        assert_eq!(route.group, Some(shared));
    }
    assert_eq!(fib.route(&service(3)), None);
    assert_eq!(group_of(&fib, 4), other);

    // The Loc-RIB's withdrawals that follow change nothing more.
    assert_eq!(
        fib.plan(vec![
            (service(1), via(&[3, 4])),
            (service(2), via(&[3, 4])),
            (service(3), None),
        ]),
        vec![]
    );
    // An unknown next hop is no work.
    assert_eq!(fib.withdraw_next_hop(node(9)), vec![]);
}

#[test]
fn without_groups_a_withdrawn_next_hop_replaces_each_route_through_it() {
    let mut fib = Fib::new(Mode::Multipath);
    fib.plan(vec![
        (service(1), via(&[2, 3])),
        (service(2), via(&[2])),
        (service(3), via(&[3])),
    ]);
    let ops = fib.withdraw_next_hop(node(2));
    assert_eq!(kinds(&ops), vec!["replace-route", "delete-route"]);
    assert_eq!(
        ops[0],
        Op::ReplaceRoute {
            prefix: service(1),
            target: Target::Paths(vec![(node(3), 2)])
        }
    );
    assert_eq!(fib.route(&service(2)), None);
    assert_eq!(fib.route(&service(3)).unwrap().next_hops, vec![node(3)]);
}
