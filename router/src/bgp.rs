//! The router's BGP side: the configuration's peer groups as the BGP instance's dynamic
//! neighbour ranges and configured neighbours.
//!
//! Every peer group becomes one dynamic range per listen range (speakers connect from the node
//! subnet and need no per-node configuration) plus one neighbour per static entry, all with the
//! group's timers, TCP MD5 password, GTSM, prefix limit and graceful-restart helper setting.
//! The router learns from its peer groups and announces nothing back to them.
//!
//! Prefix filtering is not done here but by the router on the instance's Loc-RIB (see
//! [`crate::import`]): the BGP layer keeps what the speakers send (up to `maxPrefixes`), so a
//! reloaded import policy applies at once to what was already received.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::Context;
use ferrolb_api::router_config::{MaxPrefixAction, PeerGroup, Secret, StaticNeighbor};
use ferrolb_api::{Duration as ApiDuration, RouterConfig};
use ferrolb_bgp::instance::{DynamicNeighborConfig, InstanceConfig, NeighborConfig};
use ferrolb_bgp::rib::{
    DecisionConfig, ExportPolicy, ImportPolicy, MaxPrefixAction as RibMaxPrefixAction, MaxPrefixes,
    MultipathRule, PrefixAction, PrefixList,
};
use ferrolb_bgp::session::{DynamicNeighbors, GracefulRestartConfig, PeerAsn, PeerConfig, TtlMode};
use ipnet::IpNet;

/// Most next hops of one ECMP route: one per announcing node. The kernel accepts far larger
/// groups; beyond this many nodes announcing one address, more paths add little.
pub const MAX_ECMP_PATHS: usize = 128;

/// Hold time when a peer group sets none (RFC 4271's suggestion).
const DEFAULT_HOLD_TIME: u16 = 90;

/// TCP MD5 passwords of the peer groups, by group name.
pub type Passwords = BTreeMap<String, String>;

/// Reads the password files of the peer groups (`passwordFile`; inline `password`s are taken
/// as they are).
pub fn read_passwords(config: &RouterConfig) -> anyhow::Result<Passwords> {
    let mut passwords = Passwords::new();
    for group in &config.bgp.peer_groups {
        let password = read_password(group.password.as_ref(), group.password_file.as_deref())
            .with_context(|| format!("peer group {:?}: cannot read passwordFile", group.name))?;
        if let Some(p) = password {
            passwords.insert(group.name.clone(), p);
        }
    }
    Ok(passwords)
}

/// An inline `password`, else the contents of `passwordFile`, else none.
pub fn read_password(
    inline: Option<&Secret>,
    file: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    Ok(match (inline, file) {
        (Some(secret), _) => Some(secret.expose().to_owned()),
        (None, Some(path)) => Some(read_password_file(path)?),
        (None, None) => None,
    })
}

fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    anyhow::ensure!(!password.is_empty(), "{} is empty", path.display());
    Ok(password.to_owned())
}

/// The instance settings: identity, multipath and where to listen. Without peer groups the
/// router listens nowhere.
pub fn instance_config(config: &RouterConfig) -> InstanceConfig {
    let listen = if config.bgp.peer_groups.is_empty() {
        Vec::new()
    } else {
        config
            .bgp
            .listen_addresses
            .iter()
            .map(|a| SocketAddr::new(*a, config.bgp.port))
            .collect()
    };
    InstanceConfig {
        local_asn: config.asn,
        router_id: config.router_id,
        decision: DecisionConfig {
            max_paths: MAX_ECMP_PATHS,
            // Nodes may use different AS numbers (allowedAsns); all are equal candidates.
            multipath_rule: MultipathRule::AnyAs,
            ..DecisionConfig::default()
        },
        listen,
    }
}

/// The session settings of a peer group, for a peer at `address` in `peer_asn`.
fn peer_config(
    config: &RouterConfig,
    group: &PeerGroup,
    password: Option<&str>,
    address: IpAddr,
    peer_asn: PeerAsn,
) -> PeerConfig {
    let mut peer = PeerConfig::new(address, config.asn, config.asn, config.router_id);
    peer.session.peer_asn = peer_asn;
    set_timers(&mut peer, group.hold_time, group.keepalive_time);
    peer.session.graceful_restart =
        group
            .graceful_restart
            .as_ref()
            .map(|gr| GracefulRestartConfig {
                restart_time: gr
                    .restart_time
                    .whole_seconds()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(120),
                restarting: false,
                forwarding_preserved: config.fib.keep_routes_on_shutdown,
            });
    peer.md5_password = password.map(str::to_owned);
    if let Some(hops) = group.ttl_security {
        peer.ttl = TtlMode::Gtsm { hops };
    }
    peer
}

/// Sets a session's hold time (default [`DEFAULT_HOLD_TIME`]) and keepalive interval (default
/// a third of the hold time).
pub fn set_timers(
    peer: &mut PeerConfig,
    hold: Option<ApiDuration>,
    keepalive: Option<ApiDuration>,
) {
    peer.session.hold_time = hold
        .and_then(|h| h.whole_seconds())
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(DEFAULT_HOLD_TIME);
    peer.session.keepalive = keepalive.map(|k| k.as_std());
}

/// What the router accepts from a group's peers at the BGP level: everything, up to the
/// group's prefix limit.
fn import_policy(group: &PeerGroup) -> ImportPolicy {
    ImportPolicy {
        prefix_list: None,
        max_prefixes: group.max_prefixes.as_ref().map(|m| MaxPrefixes {
            limit: m.limit,
            action: match m.action {
                MaxPrefixAction::Warn => RibMaxPrefixAction::Warn,
                MaxPrefixAction::Teardown => RibMaxPrefixAction::Teardown,
            },
        }),
        actions: Vec::new(),
    }
}

/// Nothing is announced to the cluster's speakers.
pub fn export_nothing() -> ExportPolicy {
    ExportPolicy {
        prefix_list: PrefixList::new(Vec::new(), PrefixAction::Deny).ok(),
        ..ExportPolicy::default()
    }
}

fn graceful_restart_helper(group: &PeerGroup) -> bool {
    group.graceful_restart.as_ref().is_some_and(|gr| gr.helper)
}

/// The dynamic neighbour range for `ranges` of `group` (all of its listen ranges at start-up,
/// or the ones a reload added); `None` without ranges.
pub fn dynamic_neighbors(
    config: &RouterConfig,
    group: &PeerGroup,
    ranges: &[IpNet],
    password: Option<&str>,
) -> Option<DynamicNeighborConfig> {
    let first = ranges.first()?;
    let mut template = peer_config(
        config,
        group,
        password,
        first.network(),
        PeerAsn::OneOf(group.allowed_asns.clone()),
    );
    template.session.passive = true;
    Some(DynamicNeighborConfig {
        range: DynamicNeighbors {
            prefixes: ranges.to_vec(),
            allowed_asns: group.allowed_asns.clone(),
            limit: None,
            template,
        },
        import: import_policy(group),
        export: export_nothing(),
        graceful_restart_helper: graceful_restart_helper(group),
    })
}

/// The neighbour config of one of `group`'s static neighbours.
pub fn static_neighbor(
    config: &RouterConfig,
    group: &PeerGroup,
    neighbor: &StaticNeighbor,
    password: Option<&str>,
) -> NeighborConfig {
    NeighborConfig {
        peer: peer_config(
            config,
            group,
            password,
            neighbor.address,
            PeerAsn::Exact(neighbor.asn),
        ),
        import: import_policy(group),
        export: export_nothing(),
        graceful_restart_helper: graceful_restart_helper(group),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferrolb_api::router_config::{GracefulRestart, MaxPrefixes as ApiMaxPrefixes};

    use super::*;

    fn config(yaml: &str) -> RouterConfig {
        RouterConfig::from_yaml_str(yaml).unwrap()
    }

    const BASE: &str = "
routerId: 192.0.2.1
asn: 64512
import: {servicePools: [10.96.0.0/24]}
bgp:
  port: 1179
  peerGroups:
    - name: nodes
      listenRanges: [198.18.0.0/24, 2001:db8::/64]
      allowedAsns: [64513, 64514]
      holdTime: 6s
      keepaliveTime: 2s
      password: s3cret
      ttlSecurity: 1
      maxPrefixes: {limit: 100}
      gracefulRestart: {restartTime: 30s}
      neighbors:
        - {address: 198.18.1.1, asn: 64600}
    - name: plain
      neighbors:
        - {address: 198.18.2.1, asn: 64512}
";

    #[test]
    fn instance_listens_only_with_peer_groups() {
        let c = config(BASE);
        let i = instance_config(&c);
        assert_eq!(
            (i.local_asn, i.router_id.to_string()),
            (64512, "192.0.2.1".into())
        );
        assert_eq!(
            i.listen,
            vec![
                "0.0.0.0:1179".parse::<SocketAddr>().unwrap(),
                "[::]:1179".parse().unwrap()
            ]
        );
        assert_eq!(i.decision.max_paths, MAX_ECMP_PATHS);
        assert_eq!(i.decision.multipath_rule, MultipathRule::AnyAs);
        let bare = config("routerId: 192.0.2.1\nasn: 64512\n");
        assert!(instance_config(&bare).listen.is_empty());
    }

    #[test]
    fn peer_group_settings_reach_dynamic_and_static_neighbours() {
        let c = config(BASE);
        let passwords = read_passwords(&c).unwrap();
        let group = &c.bgp.peer_groups[0];
        let password = passwords.get("nodes").map(String::as_str);
        let d = dynamic_neighbors(&c, group, &group.listen_ranges, password).unwrap();
        assert_eq!(d.range.prefixes, group.listen_ranges);
        assert_eq!(d.range.allowed_asns, vec![64513, 64514]);
        let t = &d.range.template;
        assert!(t.session.passive);
        assert_eq!(t.session.peer_asn, PeerAsn::OneOf(vec![64513, 64514]));
        assert_eq!(t.session.hold_time, 6);
        assert_eq!(t.session.keepalive, Some(Duration::from_secs(2)));
        assert_eq!(t.md5_password.as_deref(), Some("s3cret"));
        assert_eq!(t.ttl, TtlMode::Gtsm { hops: 1 });
        assert_eq!(t.session.graceful_restart.map(|g| g.restart_time), Some(30));
        assert!(t.validate().is_ok());
        assert!(d.graceful_restart_helper);
        assert_eq!(
            d.import.max_prefixes,
            Some(MaxPrefixes {
                limit: 100,
                action: RibMaxPrefixAction::Teardown
            })
        );
        assert!(d.import.prefix_list.is_none());
        let export = d.export.prefix_list.as_ref().unwrap();
        assert!(!export.permits(&"10.96.0.10/32".parse().unwrap()));

        let n = static_neighbor(&c, group, &group.neighbors[0], password);
        assert_eq!(n.peer.address.to_string(), "198.18.1.1");
        assert_eq!(n.peer.session.peer_asn, PeerAsn::Exact(64600));
        assert!(!n.peer.session.passive);
        assert_eq!(n.peer.session.hold_time, 6);

        // Defaults: no password, GTSM, limit or graceful restart; hold time 90 s.
        let plain = &c.bgp.peer_groups[1];
        assert!(dynamic_neighbors(&c, plain, &plain.listen_ranges, None).is_none());
        let n = static_neighbor(&c, plain, &plain.neighbors[0], None);
        assert_eq!(n.peer.session.hold_time, DEFAULT_HOLD_TIME);
        assert_eq!(n.peer.ttl, TtlMode::Default);
        assert!(n.peer.md5_password.is_none() && n.import.max_prefixes.is_none());
        assert!(n.peer.session.graceful_restart.is_none() && !n.graceful_restart_helper);
    }

    #[test]
    fn graceful_restart_and_limits_map_field_by_field() {
        let mut c = config(BASE);
        let group = &mut c.bgp.peer_groups[0];
        group.max_prefixes = Some(ApiMaxPrefixes {
            limit: 5,
            action: MaxPrefixAction::Warn,
        });
        group.graceful_restart = Some(GracefulRestart {
            helper: false,
            restart_time: ApiDuration::from_secs(60),
        });
        let group = c.bgp.peer_groups[0].clone();
        let n = static_neighbor(&c, &group, &group.neighbors[0], None);
        assert_eq!(
            n.import.max_prefixes.map(|m| m.action),
            Some(RibMaxPrefixAction::Warn)
        );
        assert!(!n.graceful_restart_helper);
        assert_eq!(
            n.peer.session.graceful_restart.map(|g| g.restart_time),
            Some(60)
        );
    }

    #[test]
    fn password_files_lose_their_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("ferrolb-router-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        let empty = dir.join("empty");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::write(&empty, "\n").unwrap();
        let yaml = |path: &Path| {
            format!(
                "routerId: 192.0.2.1\nasn: 64512\nimport: {{servicePools: [10.96.0.0/24]}}\n\
                 bgp:\n  peerGroups:\n    - name: g\n      neighbors: [{{address: 198.18.0.2, asn: 64513}}]\n      passwordFile: {}\n",
                path.display()
            )
        };
        let passwords = read_passwords(&config(&yaml(&file))).unwrap();
        assert_eq!(passwords.get("g").map(String::as_str), Some("from-file"));
        let error = read_passwords(&config(&yaml(&empty))).unwrap_err();
        assert!(format!("{error:#}").contains("is empty"), "{error:#}");
        let error = read_passwords(&config(&yaml(&dir.join("missing")))).unwrap_err();
        assert!(format!("{error:#}").contains("passwordFile"), "{error:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
