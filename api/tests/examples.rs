//! Every example in configs/ parses, passes the validator, matches the CRD
//! schemas, and the router and cluster halves of each layout agree.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use common::{committed_crds_by_kind, configs_dir, object_problems};
use ferrolb_api::{validate_objects, AddressBlock, ClusterObjects, RouterConfig, API_VERSION};
use serde::Deserialize;
use serde_json::Value;

/// One example layout: its router configs and cluster objects.
struct Layout {
    routers: Vec<RouterConfig>,
    objects: ClusterObjects,
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Loads a layout directory: `router*.yaml` are router configs (parsed and
/// validated by `RouterConfig::from_file`), every other YAML file holds
/// cluster objects, which are checked against the committed CRD schemas
/// and the validator.
fn load_layout(name: &str) -> Layout {
    let crds = committed_crds_by_kind();
    let mut routers = Vec::new();
    let mut manifests = String::new();
    for path in yaml_files(&configs_dir().join(name)) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.starts_with("router") {
            let config =
                RouterConfig::from_file(&path).unwrap_or_else(|e| panic!("{name}/{file}:\n{e}"));
            routers.push(config);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let doc = Value::deserialize(de)
                .unwrap_or_else(|e| panic!("{name}/{file} document {i}: {e}"));
            if doc["apiVersion"] != API_VERSION {
                continue;
            }
            let kind = doc["kind"].as_str().unwrap_or_default();
            let (_, crd) = crds
                .iter()
                .find(|(k, _)| k == kind)
                .unwrap_or_else(|| panic!("{name}/{file} document {i}: no CRD for kind {kind}"));
            let problems = object_problems(&doc, crd);
            assert!(
                problems.is_empty(),
                "{name}/{file} document {i} ({kind}) does not match the CRD schema:\n{}",
                problems.join("\n")
            );
        }
        manifests.push_str("\n---\n");
        manifests.push_str(&text);
    }
    let objects =
        ClusterObjects::from_yaml_str(&manifests).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors = validate_objects(&objects);
    assert!(
        errors.is_empty(),
        "{name} cluster objects fail validation:\n{}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Layout { routers, objects }
}

/// The speakers' BGPPeers point at the routers with matching AS numbers,
/// and every BGP-announced pool is accepted by every router's import.
fn assert_router_and_cluster_agree(name: &str, layout: &Layout) {
    let router_ids: Vec<IpAddr> = layout
        .routers
        .iter()
        .map(|r| IpAddr::V4(r.router_id))
        .collect();
    for peer in &layout.objects.peers {
        let addr: IpAddr = peer.spec.peer_address.parse().unwrap();
        let router = layout
            .routers
            .iter()
            .find(|r| IpAddr::V4(r.router_id) == addr)
            .unwrap_or_else(|| {
                panic!("{name}: BGPPeer {addr} is none of the routers {router_ids:?}")
            });
        assert_eq!(peer.spec.peer_asn, router.asn, "{name}: peerASN of {addr}");
        let group = router
            .bgp
            .peer_groups
            .iter()
            .find(|g| g.allowed_asns.contains(&peer.spec.my_asn))
            .unwrap_or_else(|| {
                panic!(
                    "{name}: router {addr} does not allow AS {}",
                    peer.spec.my_asn
                )
            });
        assert_eq!(
            peer.spec.hold_time, group.hold_time,
            "{name}: hold time with {addr}"
        );
    }
    assert_eq!(
        layout.objects.peers.len(),
        layout.routers.len(),
        "{name}: one BGPPeer per router"
    );

    for adv in &layout.objects.bgp_advertisements {
        for pool_name in &adv.spec.ip_address_pools {
            let pool = layout
                .objects
                .pools
                .iter()
                .find(|p| p.metadata.name.as_ref() == Some(pool_name))
                .unwrap();
            for block in pool.spec.blocks().unwrap() {
                for router in &layout.routers {
                    let accepted = router
                        .import
                        .service_pools
                        .iter()
                        .any(|net| net.contains(&block.first()) && net.contains(&block.last()));
                    assert!(
                        accepted,
                        "{name}: router {} does not import {block}",
                        router.router_id
                    );
                }
            }
        }
    }
}

#[test]
fn every_example_directory_is_checked() {
    let mut dirs: Vec<String> = std::fs::read_dir(configs_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for dir in &dirs {
        let layout = load_layout(dir);
        assert!(!layout.routers.is_empty(), "{dir}: no router configs");
        assert!(!layout.objects.pools.is_empty(), "{dir}: no IPAddressPool");
        assert_router_and_cluster_agree(dir, &layout);
    }
    assert!(dirs.contains(&"three-routers".to_owned()) && dirs.contains(&"homelab".to_owned()));
}

#[test]
fn three_routers_layout() {
    let layout = load_layout("three-routers");
    assert_eq!(layout.routers.len(), 3);
    let pools = &layout.objects.pools;
    assert_eq!(pools.len(), 1);
    let blocks = pools[0].spec.blocks().unwrap();
    assert!(matches!(blocks.as_slice(), [AddressBlock::Cidr(net)] if net.prefix_len() == 27));
    assert_eq!(layout.objects.bgp_advertisements.len(), 1);
    let mut ids: Vec<String> = layout
        .routers
        .iter()
        .map(|r| r.router_id.to_string())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct router IDs");
    for router in &layout.routers {
        // Peers with every worker: dynamic neighbours from the node subnet.
        assert!(!router.bgp.peer_groups[0].listen_ranges.is_empty());
        // The /27 is announced upstream as an aggregate.
        let AddressBlock::Cidr(pool) = blocks[0] else {
            unreachable!()
        };
        assert!(router.upstream.iter().any(|u| u.aggregates.contains(&pool)));
    }
}

#[test]
fn homelab_layout() {
    let layout = load_layout("homelab");
    assert_eq!(layout.routers.len(), 2);
    assert!(
        !layout.objects.l2_advertisements.is_empty(),
        "includes an L2Advertisement"
    );
    let private_24 = layout.objects.pools.iter().any(|p| {
        matches!(p.spec.blocks().unwrap().as_slice(),
        [AddressBlock::Cidr(net)] if net.prefix_len() == 24 && match net.addr() {
            IpAddr::V4(a) => a.is_private(),
            IpAddr::V6(_) => false,
        })
    });
    assert!(private_24, "a private /24 pool");
    let mut priorities = Vec::new();
    for router in &layout.routers {
        let frontend = &router.load_balancer.frontends[0];
        assert_eq!(frontend.listen[0].port(), 6443);
        assert_eq!(frontend.backends.len(), 3, "three API servers");
        let vrrp = &router.vrrp.instances[0];
        assert_eq!(
            vrrp.addresses,
            vec![frontend.listen[0].ip()],
            "the VIP is the API address"
        );
        assert_eq!(vrrp.track.frontends, vec![frontend.name.clone()]);
        priorities.push(vrrp.priority);
    }
    priorities.dedup();
    assert_eq!(priorities.len(), 2, "one preferred master");
}
