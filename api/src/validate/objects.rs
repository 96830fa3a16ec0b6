//! Rules for the cluster's FerroLB objects: each object on its own and the
//! rules that span objects. They mirror MetalLB's admission webhook.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use kube::Resource;

use super::common::{
    check_asn, check_bfd_profile, check_bgp_timers, check_selectors, check_whole_seconds,
    find_overlaps, interface_name_problem,
};
use super::{ClusterObjects, ObjectKind, Report, ValidationError};
use crate::address::{AddressBlock, AddressFamily};
use crate::community::BgpCommunity;
use crate::crd::advertisement::{BGPAdvertisement, L2Advertisement};
use crate::crd::peer::BGPPeer;
use crate::crd::pool::IPAddressPool;
use crate::crd::selector::{any_selector_matches, LabelSelector};

/// The parsed, valid address blocks of one pool with their index in
/// `spec.addresses`.
type PoolBlocks = Vec<(usize, AddressBlock)>;

fn name_of<K: Resource>(obj: &K) -> &str {
    obj.meta().name.as_deref().unwrap_or_default()
}

fn namespace_of<K: Resource>(obj: &K) -> Option<&str> {
    obj.meta().namespace.as_deref()
}

fn report<'a, K: Resource>(
    kind: ObjectKind,
    obj: &'a K,
    errors: &'a mut Vec<ValidationError>,
) -> Report<'a> {
    Report::new(kind, name_of(obj), errors)
}

pub(super) fn validate(objects: &ClusterObjects, errors: &mut Vec<ValidationError>) {
    check_object_names(ObjectKind::IPAddressPool, &objects.pools, errors);
    check_object_names(ObjectKind::BGPPeer, &objects.peers, errors);
    check_object_names(
        ObjectKind::BGPAdvertisement,
        &objects.bgp_advertisements,
        errors,
    );
    check_object_names(
        ObjectKind::L2Advertisement,
        &objects.l2_advertisements,
        errors,
    );
    check_object_names(ObjectKind::BFDProfile, &objects.bfd_profiles, errors);

    let blocks: Vec<PoolBlocks> = objects
        .pools
        .iter()
        .map(|pool| validate_pool(pool, &mut report(ObjectKind::IPAddressPool, pool, errors)))
        .collect();
    check_pool_overlaps(&objects.pools, &blocks, errors);

    for peer in &objects.peers {
        validate_peer(
            peer,
            objects,
            &mut report(ObjectKind::BGPPeer, peer, errors),
        );
    }
    check_duplicate_peers(&objects.peers, errors);
    for adv in &objects.bgp_advertisements {
        let mut r = report(ObjectKind::BGPAdvertisement, adv, errors);
        validate_bgp_advertisement(adv, objects, &blocks, &mut r);
    }
    for adv in &objects.l2_advertisements {
        validate_l2_advertisement(
            adv,
            objects,
            &mut report(ObjectKind::L2Advertisement, adv, errors),
        );
    }
    for profile in &objects.bfd_profiles {
        let mut r = report(ObjectKind::BFDProfile, profile, errors);
        check_bfd_profile(&mut r, "spec.", &profile.spec);
    }
}

/// Every object needs a name, unique within its kind and namespace.
fn check_object_names<K: Resource>(
    kind: ObjectKind,
    objs: &[K],
    errors: &mut Vec<ValidationError>,
) {
    let mut seen: BTreeSet<(Option<&str>, &str)> = BTreeSet::new();
    for obj in objs {
        let name = name_of(obj);
        let mut r = report(kind, obj, errors);
        if name.is_empty() {
            r.error("metadata.name", "name is required");
        } else if !seen.insert((namespace_of(obj), name)) {
            r.error(
                "metadata.name",
                format!("another {kind} in the same namespace is also named {name:?}"),
            );
        }
    }
}

fn validate_pool(pool: &IPAddressPool, r: &mut Report<'_>) -> PoolBlocks {
    let spec = &pool.spec;
    if spec.addresses.is_empty() {
        r.error("spec.addresses", "at least one address block is required");
    }
    let mut blocks = Vec::new();
    for (i, entry) in spec.addresses.iter().enumerate() {
        match entry.parse::<AddressBlock>() {
            Ok(block) => blocks.push((i, block)),
            Err(e) => r.error(format!("spec.addresses[{i}]"), e.to_string()),
        }
    }
    if let Some(alloc) = &spec.service_allocation {
        for (i, ns) in alloc.namespaces.iter().enumerate() {
            if !is_dns_label(ns) {
                r.error(
                    format!("spec.serviceAllocation.namespaces[{i}]"),
                    format!("{ns:?} is not a valid namespace name"),
                );
            }
        }
        check_selectors(
            r,
            "spec.serviceAllocation.namespaceSelectors",
            &alloc.namespace_selectors,
        );
        check_selectors(
            r,
            "spec.serviceAllocation.serviceSelectors",
            &alloc.service_selectors,
        );
    }
    blocks
}

/// Addresses are global: no block may overlap another, in the same pool or
/// any other. The later block (in object, then list order) is reported.
fn check_pool_overlaps(
    pools: &[IPAddressPool],
    blocks: &[PoolBlocks],
    errors: &mut Vec<ValidationError>,
) {
    let flat: Vec<(usize, usize, AddressBlock)> = blocks
        .iter()
        .enumerate()
        .flat_map(|(p, list)| list.iter().map(move |(a, b)| (p, *a, *b)))
        .collect();
    let only_blocks: Vec<AddressBlock> = flat.iter().map(|(_, _, b)| *b).collect();
    for (later, earlier) in find_overlaps(&only_blocks) {
        let (Some(&(p, a, block)), Some(&(op, oa, other))) = (flat.get(later), flat.get(earlier))
        else {
            continue;
        };
        let (Some(pool), Some(other_pool)) = (pools.get(p), pools.get(op)) else {
            continue;
        };
        let whose = if p == op {
            String::new()
        } else {
            format!(" of IPAddressPool {:?}", name_of(other_pool))
        };
        report(ObjectKind::IPAddressPool, pool, errors).error(
            format!("spec.addresses[{a}]"),
            format!("{block} overlaps {other} (spec.addresses[{oa}]{whose})"),
        );
    }
}

fn validate_peer(peer: &BGPPeer, objects: &ClusterObjects, r: &mut Report<'_>) {
    let spec = &peer.spec;
    check_asn(r, "spec.myASN", spec.my_asn);
    check_asn(r, "spec.peerASN", spec.peer_asn);
    let peer_ip = spec.peer_ip();
    if peer_ip.is_none() {
        r.error(
            "spec.peerAddress",
            format!("{:?} is not an IP address", spec.peer_address),
        );
    }
    if spec.peer_port == 0 {
        r.error("spec.peerPort", "port 0 is not valid");
    }
    if let Some(source) = &spec.source_address {
        match (source.trim().parse::<IpAddr>(), peer_ip) {
            (Err(_), _) => r.error(
                "spec.sourceAddress",
                format!("{source:?} is not an IP address"),
            ),
            (Ok(src), Some(dst)) if AddressFamily::of(src) != AddressFamily::of(dst) => r.error(
                "spec.sourceAddress",
                format!(
                    "source address {src} is {} but peer address {dst} is {}",
                    AddressFamily::of(src),
                    AddressFamily::of(dst)
                ),
            ),
            _ => {}
        }
    }
    if let Some(id) = &spec.router_id {
        match id.trim().parse::<Ipv4Addr>() {
            Ok(ip) if ip.is_unspecified() => {
                r.error("spec.routerID", "router ID 0.0.0.0 is not valid")
            }
            Ok(_) => {}
            Err(_) => r.error(
                "spec.routerID",
                format!("{id:?} is not an IPv4 address (a BGP identifier is written as one)"),
            ),
        }
    }
    if spec.ebgp_multi_hop && spec.is_ibgp() {
        r.error(
            "spec.ebgpMultiHop",
            format!(
                "ebgpMultiHop applies only to eBGP, but myASN and peerASN are both {}",
                spec.my_asn
            ),
        );
    }
    check_bgp_timers(r, "spec.", spec.hold_time, spec.keepalive_time);
    if let Some(connect) = spec.connect_time {
        check_whole_seconds(
            r,
            "spec.connectTime",
            "connect time",
            connect,
            1,
            u64::from(u16::MAX),
        );
    }
    check_selectors(r, "spec.nodeSelectors", &spec.node_selectors);
    if let Some(secret) = &spec.password_secret {
        if secret.name.as_deref().unwrap_or_default().is_empty() {
            r.error("spec.passwordSecret.name", "the Secret's name is required");
        }
    }
    if let Some(profile_name) = &spec.bfd_profile {
        let profile = objects
            .bfd_profiles
            .iter()
            .find(|p| name_of(*p) == profile_name && namespace_of(*p) == namespace_of(peer));
        match profile {
            None => r.error(
                "spec.bfdProfile",
                format!("BFDProfile {profile_name:?} does not exist"),
            ),
            Some(p) if p.spec.echo_mode && spec.ebgp_multi_hop => r.error(
                "spec.bfdProfile",
                format!(
                    "BFDProfile {profile_name:?} enables echo mode, which multi-hop \
                     (ebgpMultiHop) sessions cannot use"
                ),
            ),
            Some(_) => {}
        }
    }
}

/// Two peers with the same address and port for the same nodes would open
/// the same session twice.
fn check_duplicate_peers(peers: &[BGPPeer], errors: &mut Vec<ValidationError>) {
    let mut seen: BTreeMap<(Option<&str>, String, u16, String), &str> = BTreeMap::new();
    for peer in peers {
        let Some(ip) = peer.spec.peer_ip() else {
            continue;
        };
        let selectors = serde_json::to_string(&peer.spec.node_selectors).unwrap_or_default();
        let key = (
            namespace_of(peer),
            ip.to_string(),
            peer.spec.peer_port,
            selectors,
        );
        if let Some(first) = seen.get(&key) {
            report(ObjectKind::BGPPeer, peer, errors).error(
                "spec.peerAddress",
                format!(
                    "BGPPeer {first:?} already peers with {ip} port {} from the same nodes",
                    peer.spec.peer_port
                ),
            );
        } else {
            seen.insert(key, name_of(peer));
        }
    }
}

/// Pools an advertisement applies to: those named, plus those matching a
/// selector; all pools of its namespace when it names none.
fn selected_pools(
    namespace: Option<&str>,
    names: &[String],
    selectors: &[LabelSelector],
    pools: &[IPAddressPool],
) -> Vec<usize> {
    let select_all = names.is_empty() && selectors.is_empty();
    pools
        .iter()
        .enumerate()
        .filter(|(_, pool)| namespace_of(*pool) == namespace)
        .filter(|(_, pool)| {
            let labels = pool.metadata.labels.clone().unwrap_or_default();
            select_all
                || names.iter().any(|n| n == name_of(*pool))
                || (!selectors.is_empty()
                    && any_selector_matches(selectors, &labels).unwrap_or(false))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Each named pool must exist in the advertisement's namespace.
fn check_pool_references(
    r: &mut Report<'_>,
    namespace: Option<&str>,
    names: &[String],
    pools: &[IPAddressPool],
) {
    for (i, name) in names.iter().enumerate() {
        if !pools
            .iter()
            .any(|p| name_of(p) == name && namespace_of(p) == namespace)
        {
            r.error(
                format!("spec.ipAddressPools[{i}]"),
                format!("IPAddressPool {name:?} does not exist"),
            );
        }
    }
}

fn validate_bgp_advertisement(
    adv: &BGPAdvertisement,
    objects: &ClusterObjects,
    blocks: &[PoolBlocks],
    r: &mut Report<'_>,
) {
    let spec = &adv.spec;
    let ns = namespace_of(adv);
    check_pool_references(r, ns, &spec.ip_address_pools, &objects.pools);
    check_selectors(
        r,
        "spec.ipAddressPoolSelectors",
        &spec.ip_address_pool_selectors,
    );
    check_selectors(r, "spec.nodeSelectors", &spec.node_selectors);
    check_selectors(r, "spec.serviceSelectors", &spec.service_selectors);
    for (i, peer) in spec.peers.iter().enumerate() {
        if !objects
            .peers
            .iter()
            .any(|p| name_of(p) == peer && namespace_of(p) == ns)
        {
            r.error(
                format!("spec.peers[{i}]"),
                format!("BGPPeer {peer:?} does not exist"),
            );
        }
    }
    for (i, community) in spec.communities.iter().enumerate() {
        if let Err(e) = community.parse::<BgpCommunity>() {
            r.error(format!("spec.communities[{i}]"), e.to_string());
        }
    }
    let selected = selected_pools(
        ns,
        &spec.ip_address_pools,
        &spec.ip_address_pool_selectors,
        &objects.pools,
    );
    let lengths = [
        (
            "spec.aggregationLength",
            spec.aggregation_length,
            AddressFamily::V4,
        ),
        (
            "spec.aggregationLengthV6",
            spec.aggregation_length_v6,
            AddressFamily::V6,
        ),
    ];
    for (field, length, family) in lengths {
        let Some(length) = length else { continue };
        if length > family.max_prefix_len() {
            r.error(
                field,
                format!(
                    "aggregation length {length} is out of range for {family} (0-{})",
                    family.max_prefix_len()
                ),
            );
            continue;
        }
        for &p in &selected {
            let (Some(pool), Some(pool_blocks)) = (objects.pools.get(p), blocks.get(p)) else {
                continue;
            };
            let too_wide = pool_blocks
                .iter()
                .filter(|(_, b)| b.family() == family)
                .find(|(_, b)| length < b.widest_prefix_len());
            if let Some((a, block)) = too_wide {
                r.error(
                    field,
                    format!(
                        "aggregation length {length} is shorter than /{}, the widest CIDR in \
                         {block} (spec.addresses[{a}] of IPAddressPool {:?}), so it would \
                         announce addresses outside the pool",
                        block.widest_prefix_len(),
                        name_of(pool)
                    ),
                );
            }
        }
    }
}

fn validate_l2_advertisement(adv: &L2Advertisement, objects: &ClusterObjects, r: &mut Report<'_>) {
    let spec = &adv.spec;
    check_pool_references(r, namespace_of(adv), &spec.ip_address_pools, &objects.pools);
    check_selectors(
        r,
        "spec.ipAddressPoolSelectors",
        &spec.ip_address_pool_selectors,
    );
    check_selectors(r, "spec.nodeSelectors", &spec.node_selectors);
    check_selectors(r, "spec.serviceSelectors", &spec.service_selectors);
    for (i, interface) in spec.interfaces.iter().enumerate() {
        if let Some(problem) = interface_name_problem(interface) {
            r.error(format!("spec.interfaces[{i}]"), problem);
        }
    }
}

/// An RFC 1123 label, as namespace names are.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-')
}
