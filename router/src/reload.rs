//! What a configuration reload (SIGHUP) changes, and what it cannot change in place.
//!
//! Applied in place, without touching unaffected sessions:
//! - `import` (service pools, allowed prefixes): every learned route is judged again at once,
//!   including routes received before the change;
//! - peer groups: added groups, added listen ranges and added or removed static neighbours; a
//!   group whose session settings changed has its static neighbours re-created (only those
//!   sessions restart);
//! - `bfd` profiles, the groups' `bfd` and the VRRP instances' `bfd` (or their unicast peers):
//!   BFD sessions start, stop or change their timers (with a Poll Sequence) without resetting
//!   any BGP session;
//! - `fib.multipathHashPolicy`, `fib.nexthopCompatMode`, `fib.setForwardingSysctls` (applied
//!   again), `fib.keepRoutesOnShutdown`, `admin.tokenFile` (read again);
//! - `upstream`: neighbours added, removed or re-created when changed; when the import section
//!   changes what `learned` upstreams may receive, their export policy is replaced in place
//!   (the session stays up); aggregates followed;
//! - `loadBalancer`: frontends and backends added, removed or changed in place; no
//!   established connection is closed (removed backends and frontends only take no new ones).
//! - `vrrp`: instances added, removed, or changed in place (priority, preemption, interval,
//!   tracked frontends; other changes replace the instance), applied by [`crate::vrrp::Vrrp`].
//!
//! Needing a restart (reported in the log, the running values stay): `routerId`, `asn`,
//! `bgp.listenAddresses`, `bgp.port`, removed listen ranges and removed peer groups with
//! listen ranges (the BGP instance cannot drop a dynamic range), changed session settings of
//! dynamic neighbours, `fib.routeProtocol`, `fib.nexthopGroups`, `admin.listen`, `metrics`,
//! `logging`, `import.kubernetes`, and a first peer group on a router started without any (it listens nowhere).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrolb_api::router_config::{AnnounceMode, PeerGroup, StaticNeighbor};
use ferrolb_api::RouterConfig;
use ipnet::IpNet;

use crate::upstream;

/// One change a reload applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Judge the learned routes by the new `import` section.
    SetImportPolicy,
    /// Accept dynamic neighbours from new ranges of a group.
    AddRanges {
        /// The peer group.
        group: String,
        /// The new ranges.
        ranges: Vec<IpNet>,
    },
    /// Configure a static neighbour.
    AddNeighbor {
        /// Its peer group.
        group: String,
        /// The neighbour.
        neighbor: StaticNeighbor,
    },
    /// Remove a static neighbour (its session is closed).
    RemoveNeighbor(IpAddr),
    /// Check and set the forwarding and hash-policy sysctls again.
    ApplySysctls,
    /// New `fib.keepRoutesOnShutdown`.
    SetKeepRoutes(bool),
    /// Configure an upstream neighbour (after the removal of its old settings, if any).
    AddUpstream(IpAddr),
    /// Give an unchanged `learned` upstream the export policy of the new import section.
    SetUpstreamExport(IpAddr),
    /// Originate the new set of upstream aggregates, under the new import policy.
    SetAggregates,
    /// Apply the new BFD profiles and the groups' `bfd` to the BFD sessions.
    SetBfd,
    /// Read `admin.tokenFile` again.
    ReloadToken,
    /// Apply the new `loadBalancer` section.
    ApplyLoadBalancer,
}

/// The outcome of comparing two configurations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reload {
    /// Changes applied now, in order.
    pub actions: Vec<Action>,
    /// Changes that need a restart, described for the log.
    pub restart_needed: Vec<String>,
}

/// Everything of a peer group except its members and BFD: what its BGP sessions are made of.
fn session_settings(g: &PeerGroup) -> PeerGroup {
    PeerGroup {
        listen_ranges: Vec::new(),
        neighbors: Vec::new(),
        bfd: None,
        ..g.clone()
    }
}

/// The BFD profile name of each group using BFD, by group.
fn bfd_of_groups(c: &RouterConfig) -> BTreeMap<&str, &str> {
    c.bgp
        .peer_groups
        .iter()
        .filter_map(|g| Some((g.name.as_str(), g.bfd.as_deref()?)))
        .collect()
}

/// Compares the running configuration with the new one.
pub fn diff(old: &RouterConfig, new: &RouterConfig) -> Reload {
    let mut r = Reload::default();
    let mut restart = |what: String| r.restart_needed.push(what);
    if old.router_id != new.router_id {
        restart(format!("routerId {} -> {}", old.router_id, new.router_id));
    }
    if old.asn != new.asn {
        restart(format!("asn {} -> {}", old.asn, new.asn));
    }
    if old.bgp.listen_addresses != new.bgp.listen_addresses || old.bgp.port != new.bgp.port {
        restart("bgp.listenAddresses or bgp.port".to_owned());
    }
    if old.bgp.peer_groups.is_empty() && !new.bgp.peer_groups.is_empty() {
        restart(
            "the first peer group (a router without peer groups does not listen or route)"
                .to_owned(),
        );
    }
    if old.fib.route_protocol != new.fib.route_protocol {
        restart("fib.routeProtocol".to_owned());
    }
    if old.fib.nexthop_groups != new.fib.nexthop_groups {
        restart("fib.nexthopGroups".to_owned());
    }
    if old.admin.listen != new.admin.listen {
        restart("admin.listen".to_owned());
    }
    if old.metrics != new.metrics {
        restart("metrics".to_owned());
    }
    if old.logging != new.logging {
        restart("logging".to_owned());
    }
    if old.import.kubernetes != new.import.kubernetes {
        restart("import.kubernetes".to_owned());
    }
    if !old.bgp.peer_groups.is_empty() && !new.bgp.peer_groups.is_empty() {
        diff_peer_groups(old, new, &mut r);
    }
    if old.import != new.import {
        r.actions.push(Action::SetImportPolicy);
    }
    diff_upstream(old, new, &mut r);
    if old.fib.multipath_hash_policy != new.fib.multipath_hash_policy
        || old.fib.nexthop_compat_mode != new.fib.nexthop_compat_mode
        || old.fib.set_forwarding_sysctls != new.fib.set_forwarding_sysctls
    {
        r.actions.push(Action::ApplySysctls);
    }
    if old.fib.keep_routes_on_shutdown != new.fib.keep_routes_on_shutdown {
        r.actions
            .push(Action::SetKeepRoutes(new.fib.keep_routes_on_shutdown));
    }
    if old.bfd != new.bfd
        || bfd_of_groups(old) != bfd_of_groups(new)
        || crate::bfd::vrrp_profiles(old) != crate::bfd::vrrp_profiles(new)
    {
        r.actions.push(Action::SetBfd);
    }
    if old.load_balancer != new.load_balancer {
        r.actions.push(Action::ApplyLoadBalancer);
    }
    if old.admin.token_file != new.admin.token_file || new.admin.token_file.is_some() {
        r.actions.push(Action::ReloadToken);
    }
    r
}

/// Upstream neighbours added, removed or changed; a change of import safety changes what
/// `learned` upstreams may be sent, which their sessions take in place.
fn diff_upstream(old: &RouterConfig, new: &RouterConfig, r: &mut Reload) {
    let import_changed = old.import != new.import;
    for u in &old.upstream {
        let now = new.upstream.iter().find(|n| n.address == u.address);
        let recreate = now.is_some_and(|n| n != u);
        if now.is_none() || recreate {
            r.actions.push(Action::RemoveNeighbor(u.address));
        }
        if recreate {
            r.actions.push(Action::AddUpstream(u.address));
        } else if now.is_some() && import_changed && u.announce == AnnounceMode::Learned {
            r.actions.push(Action::SetUpstreamExport(u.address));
        }
    }
    for n in &new.upstream {
        if !old.upstream.iter().any(|u| u.address == n.address) {
            r.actions.push(Action::AddUpstream(n.address));
        }
    }
    let aggregates = upstream::aggregates(new);
    if upstream::aggregates(old) != aggregates || (import_changed && !aggregates.is_empty()) {
        r.actions.push(Action::SetAggregates);
    }
}

fn diff_peer_groups(old: &RouterConfig, new: &RouterConfig, r: &mut Reload) {
    let before: BTreeMap<&str, &PeerGroup> = old
        .bgp
        .peer_groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    let after: BTreeMap<&str, &PeerGroup> = new
        .bgp
        .peer_groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    for (name, g) in &before {
        if after.contains_key(name) {
            continue;
        }
        for n in &g.neighbors {
            r.actions.push(Action::RemoveNeighbor(n.address));
        }
        if !g.listen_ranges.is_empty() {
            r.restart_needed.push(format!(
                "removing peer group {name:?}: its dynamic neighbours stay until a restart"
            ));
        }
    }
    for (name, g) in &after {
        let group = (*name).to_owned();
        let Some(was) = before.get(name) else {
            if !g.listen_ranges.is_empty() {
                r.actions.push(Action::AddRanges {
                    group: group.clone(),
                    ranges: g.listen_ranges.clone(),
                });
            }
            for n in &g.neighbors {
                r.actions.push(Action::AddNeighbor {
                    group: group.clone(),
                    neighbor: n.clone(),
                });
            }
            continue;
        };
        let settings_changed = session_settings(was) != session_settings(g);
        if settings_changed && !was.listen_ranges.is_empty() {
            r.restart_needed.push(format!(
                "session settings of peer group {name:?} for its dynamic neighbours"
            ));
        }
        let removed_ranges: Vec<String> = was
            .listen_ranges
            .iter()
            .filter(|n| !g.listen_ranges.contains(n))
            .map(ToString::to_string)
            .collect();
        if !removed_ranges.is_empty() {
            r.restart_needed.push(format!(
                "removing listen ranges {} of peer group {name:?}",
                removed_ranges.join(", ")
            ));
        }
        let added_ranges: Vec<IpNet> = g
            .listen_ranges
            .iter()
            .filter(|n| !was.listen_ranges.contains(n))
            .copied()
            .collect();
        if !added_ranges.is_empty() {
            r.actions.push(Action::AddRanges {
                group: group.clone(),
                ranges: added_ranges,
            });
        }
        for n in &was.neighbors {
            if settings_changed || !g.neighbors.contains(n) {
                r.actions.push(Action::RemoveNeighbor(n.address));
            }
        }
        for n in &g.neighbors {
            if settings_changed || !was.neighbors.contains(n) {
                r.actions.push(Action::AddNeighbor {
                    group: group.clone(),
                    neighbor: n.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrolb_api::router_config::UpstreamNeighbor;

    use super::*;

    const BASE: &str = "
routerId: 192.0.2.1
asn: 64512
import: {servicePools: [10.96.0.0/24]}
bgp:
  peerGroups:
    - name: nodes
      listenRanges: [198.18.0.0/24]
      allowedAsns: [64513]
      holdTime: 6s
      neighbors:
        - {address: 198.18.1.1, asn: 64600}
        - {address: 198.18.1.2, asn: 64600}
    - name: tor
      neighbors:
        - {address: 198.18.2.1, asn: 64700}
";

    fn config(edit: impl FnOnce(&mut RouterConfig)) -> RouterConfig {
        let mut c = RouterConfig::from_yaml_str(BASE).unwrap();
        edit(&mut c);
        c
    }

    fn neighbor(a: &str, asn: u32) -> StaticNeighbor {
        StaticNeighbor {
            address: a.parse().unwrap(),
            asn,
        }
    }

    fn upstream(a: &str, asn: u32) -> UpstreamNeighbor {
        UpstreamNeighbor {
            address: a.parse().unwrap(),
            asn,
            password: None,
            password_file: None,
            hold_time: None,
            keepalive_time: None,
            announce: AnnounceMode::Learned,
            aggregates: Vec::new(),
        }
    }

    #[test]
    fn upstream_changes() {
        let with = |edit: &dyn Fn(&mut RouterConfig)| {
            config(|c| {
                c.upstream = vec![upstream("203.0.113.1", 65000)];
                edit(c);
            })
        };
        let base = with(&|_| {});
        let addr = |a: &str| a.parse::<IpAddr>().unwrap();
        let cases: Vec<(&str, RouterConfig, Vec<Action>)> = vec![
            ("unchanged", with(&|_| {}), vec![]),
            (
                "removed",
                config(|_| {}),
                vec![Action::RemoveNeighbor(addr("203.0.113.1"))],
            ),
            (
                "its hold time changed",
                with(&|c| c.upstream[0].hold_time = Some(ferrolb_api::Duration::from_secs(30))),
                vec![
                    Action::RemoveNeighbor(addr("203.0.113.1")),
                    Action::AddUpstream(addr("203.0.113.1")),
                ],
            ),
            (
                "a pool added: what it may be sent changed, in place",
                with(&|c| c.import.service_pools.push("10.97.0.0/24".parse().unwrap())),
                vec![
                    Action::SetImportPolicy,
                    Action::SetUpstreamExport(addr("203.0.113.1")),
                ],
            ),
            (
                "switched to aggregates",
                with(&|c| {
                    c.upstream[0].announce = AnnounceMode::Aggregates;
                    c.upstream[0].aggregates = vec!["10.96.0.0/24".parse().unwrap()];
                }),
                vec![
                    Action::RemoveNeighbor(addr("203.0.113.1")),
                    Action::AddUpstream(addr("203.0.113.1")),
                    Action::SetAggregates,
                ],
            ),
        ];
        for (name, new, want) in cases {
            assert_eq!(diff(&base, &new).actions, want, "{name}");
        }
    }

    #[test]
    fn reload_actions_and_restarts() {
        let base = config(|_| {});
        type Case = (&'static str, RouterConfig, Vec<Action>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            ("nothing", config(|_| {}), vec![], vec![]),
            (
                "a new service pool",
                config(|c| c.import.service_pools.push("10.97.0.0/24".parse().unwrap())),
                vec![Action::SetImportPolicy],
                vec![],
            ),
            (
                "a neighbour added and one removed",
                config(|c| {
                    c.bgp.peer_groups[0].neighbors.remove(0);
                    c.bgp.peer_groups[0]
                        .neighbors
                        .push(neighbor("198.18.1.3", 64600));
                }),
                vec![
                    Action::RemoveNeighbor("198.18.1.1".parse().unwrap()),
                    Action::AddNeighbor {
                        group: "nodes".into(),
                        neighbor: neighbor("198.18.1.3", 64600),
                    },
                ],
                vec![],
            ),
            (
                "hold time of a group with static neighbours only",
                config(|c| {
                    c.bgp.peer_groups[1].hold_time = Some(ferrolb_api::Duration::from_secs(9))
                }),
                vec![
                    Action::RemoveNeighbor("198.18.2.1".parse().unwrap()),
                    Action::AddNeighbor {
                        group: "tor".into(),
                        neighbor: neighbor("198.18.2.1", 64700),
                    },
                ],
                vec![],
            ),
            (
                "ranges added and removed",
                config(|c| {
                    c.bgp.peer_groups[0].listen_ranges = vec!["198.19.0.0/24".parse().unwrap()]
                }),
                vec![Action::AddRanges {
                    group: "nodes".into(),
                    ranges: vec!["198.19.0.0/24".parse().unwrap()],
                }],
                vec!["removing listen ranges 198.18.0.0/24"],
            ),
            (
                "group removed",
                config(|c| {
                    c.bgp.peer_groups.remove(0);
                }),
                vec![
                    Action::RemoveNeighbor("198.18.1.1".parse().unwrap()),
                    Action::RemoveNeighbor("198.18.1.2".parse().unwrap()),
                ],
                vec!["removing peer group \"nodes\""],
            ),
            (
                "BFD switched on for a group: no BGP session restarts",
                config(|c| {
                    c.bfd.profiles.push(ferrolb_api::router_config::BfdProfile {
                        name: "fast".into(),
                        receive_interval: Some(50),
                        transmit_interval: Some(50),
                        detect_multiplier: None,
                        echo_interval: None,
                        echo_mode: false,
                        passive_mode: false,
                        minimum_ttl: None,
                    });
                    c.bgp.peer_groups[0].bfd = Some("fast".into());
                    c.bgp.peer_groups[1].bfd = Some("fast".into());
                }),
                vec![Action::SetBfd],
                vec![],
            ),
            (
                "upstreams: one added, one changed, import changed for learned ones",
                config(|c| {
                    c.import.service_pools.push("10.97.0.0/24".parse().unwrap());
                    c.upstream = vec![
                        upstream("203.0.113.1", 65000),
                        upstream("203.0.113.2", 65001),
                    ];
                }),
                vec![
                    Action::SetImportPolicy,
                    Action::AddUpstream("203.0.113.1".parse().unwrap()),
                    Action::AddUpstream("203.0.113.2".parse().unwrap()),
                ],
                vec![],
            ),
            (
                "identity and fib",
                config(|c| {
                    c.asn = 64999;
                    c.fib.route_protocol = 201;
                    c.fib.keep_routes_on_shutdown = true;
                    c.fib.multipath_hash_policy =
                        Some(ferrolb_api::router_config::MultipathHashPolicy::L4);
                }),
                vec![Action::ApplySysctls, Action::SetKeepRoutes(true)],
                vec!["asn 64512 -> 64999", "fib.routeProtocol"],
            ),
        ];
        for (name, new, actions, restarts) in cases {
            let r = diff(&base, &new);
            assert_eq!(r.actions, actions, "{name}");
            assert_eq!(
                r.restart_needed.len(),
                restarts.len(),
                "{name}: {:?}",
                r.restart_needed
            );
            for (got, want) in r.restart_needed.iter().zip(restarts) {
                assert!(
                    got.contains(want),
                    "{name}: {got:?} should mention {want:?}"
                );
            }
        }
    }

    #[test]
    fn vrrp_peers_watched_by_bfd_follow_a_reload() {
        let vrrp = |extra: &str| {
            RouterConfig::from_yaml_str(&format!(
                "{BASE}bfd: {{profiles: [{{name: fast}}]}}\nvrrp: {{instances: [{{name: api, \
                 interface: eth0, vrid: 51, addresses: [192.0.2.10]{extra}}}]}}\n"
            ))
            .unwrap()
        };
        let plain = vrrp(", unicastPeers: [192.0.2.3]");
        let watched = vrrp(", unicastPeers: [192.0.2.3], bfd: fast");
        let other_peer = vrrp(", unicastPeers: [192.0.2.4], bfd: fast");
        let set_bfd = |old: &RouterConfig, new: &RouterConfig| {
            diff(old, new).actions.contains(&Action::SetBfd)
        };
        assert!(set_bfd(&plain, &watched), "BFD switched on");
        assert!(set_bfd(&watched, &plain), "BFD switched off");
        assert!(set_bfd(&watched, &other_peer), "another peer");
        assert!(!set_bfd(&watched, &watched.clone()), "nothing changed");
        let mut priority = watched.clone();
        priority.vrrp.instances[0].priority = 150;
        assert!(!set_bfd(&watched, &priority), "a change BFD does not see");
    }

    #[test]
    fn dynamic_session_settings_need_a_restart() {
        let base = config(|_| {});
        let new =
            config(|c| c.bgp.peer_groups[0].hold_time = Some(ferrolb_api::Duration::from_secs(9)));
        let r = diff(&base, &new);
        assert_eq!(r.restart_needed.len(), 1, "{r:?}");
        assert!(r.restart_needed[0].contains("dynamic neighbours"));
        // Its static neighbours are re-created with the new settings.
        assert_eq!(r.actions.len(), 4, "{r:?}");
    }

    #[test]
    fn the_first_peer_group_needs_a_restart() {
        let bare = RouterConfig::from_yaml_str("routerId: 192.0.2.1\nasn: 64512\n").unwrap();
        let r = diff(&bare, &config(|_| {}));
        assert!(
            r.restart_needed
                .iter()
                .any(|w| w.contains("first peer group")),
            "{r:?}"
        );
        assert_eq!(r.actions, vec![Action::SetImportPolicy]);
    }
}
