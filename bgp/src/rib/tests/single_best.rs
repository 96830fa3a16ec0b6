//! The single-path shortcut (`max_paths` 1: a new path is compared with the best only, removing
//! a non-best path changes nothing) must choose exactly what the whole decision process chooses.
//! Random announcements and withdrawals from peers with varied AS, kind and attributes; after
//! each UPDATE the best path of every prefix is checked against [`select`] over all of its
//! candidates, and the change stream is checked to describe the table.

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::support::*;
use crate::attribute::Origin;
use crate::rib::{select, DecisionConfig, LocRib, PeerId};

const PREFIXES: [&str; 4] = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"];

/// (peer, attribute set address) of a prefix's best path.
type Best = (PeerId, usize);

fn best_of(rib: &LocRib, prefix: &IpNet) -> Option<Best> {
    rib.best(prefix)
        .map(|b| (b.peer, Arc::as_ptr(&b.path) as usize))
}

fn run(seed: u64, config: DecisionConfig, med_values: &[Option<u32>]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rib = LocRib::new(config.clone());
    // Peers 1..=8 in three external ASes and ours (iBGP); router ids follow the peer number.
    let asns = [65001, 65002, 65003, LOCAL_AS];
    let peers: Vec<(PeerId, u32)> = (1..=8u8)
        .map(|n| {
            let asn = asns[rng.gen_range(0..asns.len())];
            (add_peer(&mut rib, n, asn), asn)
        })
        .collect();
    let mut seen: HashMap<IpNet, Best> = HashMap::new();
    for step in 0..400 {
        let (peer, asn) = peers[rng.gen_range(0..peers.len())];
        let prefix = PREFIXES[rng.gen_range(0..PREFIXES.len())];
        let update = if rng.gen_bool(0.25) {
            withdraw(&[prefix])
        } else {
            let mut as_path = vec![asn; rng.gen_range(1..=3)];
            if asn == LOCAL_AS {
                // iBGP: the path starts in a neighbouring AS (or is empty: our own).
                as_path = vec![asns[rng.gen_range(0..3)]; rng.gen_range(0..=2)];
            }
            let hop = format!("192.0.2.{}", peer.index() + 1);
            let origin = [Origin::Igp, Origin::Egp, Origin::Incomplete][rng.gen_range(0..3)];
            let local_pref = [None, Some(100), Some(200)][rng.gen_range(0..3)];
            let med = med_values[rng.gen_range(0..med_values.len())];
            announce_with(&[prefix], &hop, &as_path, |a| {
                a.origin = Some(origin);
                a.local_pref = local_pref;
                a.med = med;
            })
        };
        // The best of each prefix before this UPDATE, which the decision keeps among
        // external paths that tie up to the router ID (RFC 5004).
        let current: HashMap<IpNet, PeerId> = seen.iter().map(|(p, b)| (*p, b.0)).collect();
        for change in apply(&mut rib, peer, &update) {
            match change.best {
                Some(b) => seen.insert(change.prefix, (b.peer, Arc::as_ptr(&b.path) as usize)),
                None => seen.remove(&change.prefix),
            };
        }
        for p in PREFIXES.iter().map(|p| net(p)) {
            let paths = rib.paths(&p);
            let kept = current
                .get(&p)
                .copied()
                .filter(|b| paths.iter().any(|path| path.peer == *b));
            let want = select(paths, rib.peers(), &config, kept)
                .and_then(|s| paths.get(s.best))
                .map(|b| (b.peer, Arc::as_ptr(&b.data) as usize));
            let got = best_of(&rib, &p);
            assert_eq!(got, want, "seed {seed} step {step} prefix {p}: {paths:#?}");
            assert_eq!(
                seen.get(&p).copied(),
                got,
                "seed {seed} step {step}: change stream"
            );
        }
    }
}

fn single_path() -> DecisionConfig {
    DecisionConfig {
        max_paths: 1,
        ..DecisionConfig::default()
    }
}

#[test]
fn shortcut_matches_the_whole_decision_without_med() {
    for seed in 0..40 {
        run(seed, single_path(), &[None]);
    }
}

#[test]
fn shortcut_matches_the_whole_decision_with_meds() {
    // Differing MEDs compared per neighbouring AS: the shortcut must step aside.
    for seed in 0..40 {
        run(
            seed,
            single_path(),
            &[None, None, Some(0), Some(5), Some(10)],
        );
    }
}

#[test]
fn shortcut_matches_the_whole_decision_always_comparing_med() {
    let config = DecisionConfig {
        always_compare_med: true,
        ..single_path()
    };
    for seed in 0..40 {
        run(seed, config.clone(), &[None, Some(5), Some(10)]);
    }
}
