//! The BGP half of the decision: sessions and routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::{BGPAdvertisementSpec, BGPPeerSpec, BgpCommunity};
use ipnet::IpNet;

use super::model::{ClusterState, NodeInfo};
use super::select::{advertisement_applies, matches, Target};
use super::{Announced, Decision, RouteAttributes};

/// The BGPPeers whose node selectors pick this node.
pub fn session_peers(
    state: &ClusterState,
    node: &NodeInfo,
    problems: &mut BTreeSet<String>,
) -> BTreeMap<String, BGPPeerSpec> {
    state
        .peers
        .iter()
        .filter(|p| {
            let what = format!("BGPPeer {}", p.name);
            if p.spec.peer_ip().is_none() {
                problems.insert(format!(
                    "{what}: peerAddress {:?} is not an IP address",
                    p.spec.peer_address
                ));
                return false;
            }
            matches(
                &what,
                "nodeSelectors",
                &p.spec.node_selectors,
                &node.labels,
                problems,
            )
        })
        .map(|p| (p.name.clone(), p.spec.clone()))
        .collect()
}

/// Whether a session to `peer` carries `prefix`: its own family always,
/// the other one only with `dualStackAddressFamily`.
fn carries(peer: &BGPPeerSpec, prefix: &IpNet) -> bool {
    let same_family = matches!(
        (peer.peer_ip(), prefix),
        (Some(IpAddr::V4(_)), IpNet::V4(_)) | (Some(IpAddr::V6(_)), IpNet::V6(_))
    );
    same_family || peer.dual_stack_address_family
}

/// The prefix `ip` is announced as under `adv`'s aggregation length.
fn aggregate(adv: &BGPAdvertisementSpec, ip: IpAddr) -> Result<IpNet, String> {
    let len = match ip {
        IpAddr::V4(_) => adv.effective_aggregation_length(),
        IpAddr::V6(_) => adv.effective_aggregation_length_v6(),
    };
    IpNet::new(ip, len)
        .map(|net| net.trunc())
        .map_err(|_| format!("aggregation length {len} is too long for {ip}"))
}

/// The attributes `adv` puts on routes to `peer`.
fn attributes(adv: &BGPAdvertisementSpec, peer: &BGPPeerSpec) -> Result<RouteAttributes, String> {
    let mut attrs = RouteAttributes {
        local_pref: adv.local_pref.filter(|_| peer.is_ibgp()),
        ..RouteAttributes::default()
    };
    for community in adv.parsed_communities().map_err(|e| e.to_string())? {
        match community {
            BgpCommunity::Standard(c) => attrs.communities.insert(c),
            BgpCommunity::Large(c) => attrs.large_communities.insert(c),
        };
    }
    Ok(attrs)
}

/// Adds the routes for `ip` of the target Service, per applicable
/// BGPAdvertisement, to `decision`.
pub fn announce_ip(target: &Target<'_>, node: &NodeInfo, ip: IpAddr, decision: &mut Decision) {
    for adv in &target.state.bgp_advertisements {
        let what = format!("BGPAdvertisement {}", adv.name);
        let spec = &adv.spec;
        let problems = &mut decision.problems;
        if !advertisement_applies(
            &what,
            &spec.ip_address_pools,
            &spec.ip_address_pool_selectors,
            &spec.service_selectors,
            target.pool,
            target.service,
            problems,
        ) || !matches(
            &what,
            "nodeSelectors",
            &spec.node_selectors,
            &node.labels,
            problems,
        ) {
            continue;
        }
        let prefix = match aggregate(spec, ip) {
            Ok(prefix) => prefix,
            Err(e) => {
                problems.insert(format!("{what}: {e}"));
                continue;
            }
        };
        let peers = decision.peers.iter().filter(|(name, peer)| {
            (spec.peers.is_empty() || spec.peers.contains(name)) && carries(peer, &prefix)
        });
        for (name, peer) in peers {
            let attrs = match attributes(spec, peer) {
                Ok(attrs) => attrs,
                Err(e) => {
                    decision.problems.insert(format!("{what}: {e}"));
                    break;
                }
            };
            decision
                .routes
                .entry(name.clone())
                .or_default()
                .entry(prefix)
                .or_default()
                .merge(attrs);
            let announced = decision
                .services
                .entry(target.service.id.clone())
                .or_default()
                .bgp
                .get_or_insert_with(Announced::default);
            announced.ips.insert(ip);
            announced.peers.insert(name.clone());
        }
    }
}
