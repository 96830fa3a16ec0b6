//! Which neighbours get a BFD session, with which timers (pure).
//!
//! A neighbour gets a session once its BGP session is Established and its peer group names a
//! BFD profile (`bgp.peerGroups[].bfd`). The session then stays while the neighbour is listed
//! by the BGP instance, so that a session BFD brought down is watched until the path is back,
//! and goes when the neighbour goes (a dynamic neighbour's session ended, a static neighbour
//! removed) or its group no longer asks for BFD.
//!
//! Each unicast peer of a VRRP instance that names a profile (`vrrp.instances[].bfd`) gets a
//! session too, from the start: it tells a backup its master died sooner than VRRP's own
//! Master_Down_Interval. A router that is both keeps the BGP group's timers.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_api::router_config::{BfdProfile, PeerGroup};
use ferrolb_api::RouterConfig;
use ferrolb_bfd::SessionParams;

/// A neighbour as the BGP instance lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Its address.
    pub address: IpAddr,
    /// Whether its BGP session is Established.
    pub established: bool,
}

/// What to change so that the running sessions match the configuration.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sessions to start.
    pub add: Vec<(IpAddr, SessionParams)>,
    /// Running sessions whose timers change (applied with a Poll Sequence).
    pub update: Vec<(IpAddr, SessionParams)>,
    /// Sessions to end.
    pub remove: Vec<IpAddr>,
}

/// The peer group `address` belongs to: the group listing it as a static neighbour, else the
/// first group whose listen ranges contain it (the BGP instance accepts it the same way).
pub fn group_of(config: &RouterConfig, address: IpAddr) -> Option<&PeerGroup> {
    let groups = &config.bgp.peer_groups;
    groups
        .iter()
        .find(|g| g.neighbors.iter().any(|n| n.address == address))
        .or_else(|| {
            groups
                .iter()
                .find(|g| g.listen_ranges.iter().any(|r| r.contains(&address)))
        })
}

/// The BFD profile the group of `address` names, if any.
pub fn profile_for(config: &RouterConfig, address: IpAddr) -> Option<&BfdProfile> {
    profile_named(config, group_of(config, address)?.bfd.as_deref()?)
}

/// The profile of `bfd.profiles` called `name`.
fn profile_named<'a>(config: &'a RouterConfig, name: &str) -> Option<&'a BfdProfile> {
    config.bfd.profiles.iter().find(|p| p.name == name)
}

/// The profile each VRRP peer is monitored with.
pub fn vrrp_profiles(config: &RouterConfig) -> BTreeMap<IpAddr, &BfdProfile> {
    let mut peers = BTreeMap::new();
    for instance in &config.vrrp.instances {
        let Some(name) = instance.bfd.as_deref() else {
            continue;
        };
        let Some(profile) = profile_named(config, name) else {
            continue;
        };
        for peer in &instance.unicast_peers {
            peers.entry(*peer).or_insert(profile);
        }
    }
    peers
}

/// A profile's timers as session parameters (the validator keeps every value in range; a
/// multiplier beyond 255 is clamped rather than wrapped).
pub fn session_params(profile: &BfdProfile) -> SessionParams {
    let spec = profile.to_spec();
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    SessionParams {
        desired_min_tx: ms(spec.effective_transmit_interval()),
        required_min_rx: ms(spec.effective_receive_interval()),
        detect_mult: u8::try_from(spec.effective_detect_multiplier()).unwrap_or(u8::MAX),
        passive: spec.passive_mode,
        min_ttl: u8::try_from(spec.effective_minimum_ttl()).unwrap_or(u8::MAX),
    }
}

/// Compares the wanted sessions with the `running` ones (by neighbour, with their timers).
pub fn plan(
    config: &RouterConfig,
    listed: &[Listed],
    running: &BTreeMap<IpAddr, SessionParams>,
) -> Plan {
    let mut plan = Plan::default();
    let mut wanted = BTreeMap::new();
    for n in listed {
        let Some(profile) = profile_for(config, n.address) else {
            continue;
        };
        if n.established || running.contains_key(&n.address) {
            wanted.insert(n.address, session_params(profile));
        }
    }
    for (address, profile) in vrrp_profiles(config) {
        wanted
            .entry(address)
            .or_insert_with(|| session_params(profile));
    }
    for (address, params) in &wanted {
        match running.get(address) {
            None => plan.add.push((*address, *params)),
            Some(old) if old != params => plan.update.push((*address, *params)),
            Some(_) => {}
        }
    }
    plan.remove = running
        .keys()
        .filter(|a| !wanted.contains_key(a))
        .copied()
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "
routerId: 192.0.2.1
asn: 64512
import: {servicePools: [10.96.0.0/24]}
bfd:
  profiles:
    - {name: fast, transmitInterval: 50, receiveInterval: 100, detectMultiplier: 4}
    - {name: quiet, passiveMode: true, minimumTtl: 250}
bgp:
  peerGroups:
    - name: nodes
      listenRanges: [198.18.0.0/24]
      allowedAsns: [64513]
      bfd: fast
    - name: tor
      neighbors: [{address: 198.18.0.254, asn: 64700}, {address: 198.19.0.1, asn: 64700}]
      bfd: quiet
    - name: plain
      neighbors: [{address: 198.20.0.1, asn: 64701}]
";

    fn config(yaml: &str) -> RouterConfig {
        RouterConfig::from_yaml_str(yaml).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn listed(address: &str, established: bool) -> Listed {
        Listed {
            address: ip(address),
            established,
        }
    }

    #[test]
    fn profiles_become_session_parameters() {
        let c = config(CONFIG);
        let fast = session_params(profile_for(&c, ip("198.18.0.7")).unwrap());
        assert_eq!(fast.desired_min_tx, Duration::from_millis(50));
        assert_eq!(fast.required_min_rx, Duration::from_millis(100));
        assert_eq!((fast.detect_mult, fast.passive), (4, false));
        // Defaults of the BFDProfile: 300 ms x 3.
        let quiet = session_params(profile_for(&c, ip("198.19.0.1")).unwrap());
        assert_eq!(quiet.desired_min_tx, Duration::from_millis(300));
        assert_eq!((quiet.detect_mult, quiet.passive), (3, true));
        assert_eq!(quiet.min_ttl, 250);
    }

    #[test]
    fn groups_by_static_neighbour_before_listen_range() {
        let c = config(CONFIG);
        let cases = [
            ("198.18.0.7", Some("nodes")),
            // Inside the nodes range but listed by tor: tor's session settings apply.
            ("198.18.0.254", Some("tor")),
            ("198.20.0.1", Some("plain")),
            ("203.0.113.1", None),
        ];
        for (address, want) in cases {
            assert_eq!(
                group_of(&c, ip(address)).map(|g| g.name.as_str()),
                want,
                "{address}"
            );
        }
        assert!(profile_for(&c, ip("198.20.0.1")).is_none());
    }

    #[test]
    fn sessions_follow_established_neighbours_and_the_config() {
        let c = config(CONFIG);
        let fast = session_params(&c.bfd.profiles[0]);
        let quiet = session_params(&c.bfd.profiles[1]);
        let running = |entries: &[(&str, SessionParams)]| -> BTreeMap<IpAddr, SessionParams> {
            entries.iter().map(|(a, p)| (ip(a), *p)).collect()
        };
        type Case = (
            &'static str,
            Vec<Listed>,
            BTreeMap<IpAddr, SessionParams>,
            Plan,
        );
        let cases: Vec<Case> = vec![
            (
                "only established neighbours of groups with BFD start one",
                vec![
                    listed("198.18.0.7", true),
                    listed("198.18.0.8", false),
                    listed("198.19.0.1", true),
                    listed("198.20.0.1", true),
                ],
                running(&[]),
                Plan {
                    add: vec![(ip("198.18.0.7"), fast), (ip("198.19.0.1"), quiet)],
                    ..Plan::default()
                },
            ),
            (
                "a session stays while its BGP session is down, and goes with the neighbour",
                vec![listed("198.18.0.7", false)],
                running(&[("198.18.0.7", fast), ("198.18.0.9", fast)]),
                Plan {
                    remove: vec![ip("198.18.0.9")],
                    ..Plan::default()
                },
            ),
            (
                "changed timers are updated in place",
                vec![listed("198.18.0.7", true)],
                running(&[("198.18.0.7", quiet)]),
                Plan {
                    update: vec![(ip("198.18.0.7"), fast)],
                    ..Plan::default()
                },
            ),
            (
                "a group without BFD ends its sessions",
                vec![listed("198.20.0.1", true)],
                running(&[("198.20.0.1", fast)]),
                Plan {
                    remove: vec![ip("198.20.0.1")],
                    ..Plan::default()
                },
            ),
        ];
        for (name, listed, running, want) in cases {
            assert_eq!(plan(&c, &listed, &running), want, "{name}");
        }
    }

    #[test]
    fn vrrp_peers_get_sessions_from_the_start() {
        let yaml = format!(
            "{CONFIG}vrrp:
  instances:
    - {{name: api, interface: eth0, vrid: 51, addresses: [198.18.0.100],
       unicastPeers: [198.18.0.2, 198.19.0.1], bfd: fast}}
    - {{name: plain, interface: eth0, vrid: 52, addresses: [198.18.0.101],
       unicastPeers: [198.18.0.3]}}
"
        );
        let c = config(&yaml);
        let fast = session_params(&c.bfd.profiles[0]);
        let quiet = session_params(&c.bfd.profiles[1]);
        // 198.19.0.1 is also a BGP neighbour: its group's timers win once it is Established.
        assert_eq!(
            plan(&c, &[], &BTreeMap::new()),
            Plan {
                add: vec![(ip("198.18.0.2"), fast), (ip("198.19.0.1"), fast)],
                ..Plan::default()
            }
        );
        let running: BTreeMap<IpAddr, SessionParams> =
            [(ip("198.18.0.2"), fast), (ip("198.19.0.1"), fast)].into();
        assert_eq!(
            plan(&c, &[listed("198.19.0.1", true)], &running),
            Plan {
                update: vec![(ip("198.19.0.1"), quiet)],
                ..Plan::default()
            }
        );
        // An instance that stops asking for BFD ends its peers' sessions.
        let without = config(&yaml.replace(", bfd: fast}", "}"));
        assert_eq!(
            plan(&without, &[], &running),
            Plan {
                remove: vec![ip("198.18.0.2"), ip("198.19.0.1")],
                ..Plan::default()
            }
        );
    }
}
