//! The L2 half of the decision: which addresses this node answers for.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_api::L2AdvertisementSpec;

use super::model::Named;
use super::owner;
use super::select::{advertisement_applies, matches, Target};
use super::{Announced, Decision, InterfaceSelection};

fn selection(spec: &L2AdvertisementSpec) -> InterfaceSelection {
    if spec.interfaces.is_empty() {
        InterfaceSelection::All
    } else {
        InterfaceSelection::Named(spec.interfaces.iter().cloned().collect())
    }
}

/// Records `ip` as owned by this node when it ranks first among the
/// candidates: eligible, alive nodes an applicable L2Advertisement selects
/// that may announce the Service.
pub fn own_ip(target: &Target<'_>, ip: IpAddr, decision: &mut Decision) {
    let state = target.state;
    let problems = &mut decision.problems;
    let advertisements: Vec<&Named<L2AdvertisementSpec>> = state
        .l2_advertisements
        .iter()
        .filter(|adv| {
            advertisement_applies(
                &format!("L2Advertisement {}", adv.name),
                &adv.spec.ip_address_pools,
                &adv.spec.ip_address_pool_selectors,
                &adv.spec.service_selectors,
                target.pool,
                target.service,
                problems,
            )
        })
        .collect();
    if advertisements.is_empty() {
        return;
    }
    // The advertisements that select `node`, for each candidate node.
    let mut selecting = |labels| -> Vec<&Named<L2AdvertisementSpec>> {
        advertisements
            .iter()
            .copied()
            .filter(|adv| {
                let what = format!("L2Advertisement {}", adv.name);
                matches(
                    &what,
                    "nodeSelectors",
                    &adv.spec.node_selectors,
                    labels,
                    problems,
                )
            })
            .collect()
    };
    let mut candidates = BTreeSet::new();
    for (name, node) in &state.nodes {
        let alive = state
            .alive_speakers
            .as_ref()
            .is_none_or(|alive| alive.contains(name));
        if alive && target.may_announce_from(name, node) && !selecting(&node.labels).is_empty() {
            candidates.insert(name.as_str());
        }
    }
    if owner::owner(candidates, ip) != Some(state.node_name.as_str()) {
        return;
    }
    let Some(node) = state.nodes.get(&state.node_name) else {
        return;
    };
    let mut interfaces: Option<InterfaceSelection> = None;
    for adv in selecting(&node.labels) {
        match &mut interfaces {
            Some(i) => i.merge(selection(&adv.spec)),
            None => interfaces = Some(selection(&adv.spec)),
        }
    }
    let Some(interfaces) = interfaces else { return };
    let announced = decision
        .services
        .entry(target.service.id.clone())
        .or_default()
        .l2
        .get_or_insert_with(Announced::default);
    announced.ips.insert(ip);
    if let InterfaceSelection::Named(names) = &interfaces {
        announced.interfaces.extend(names.iter().cloned());
    }
    decision
        .l2
        .entry(ip)
        .and_modify(|i| i.merge(interfaces.clone()))
        .or_insert(interfaces);
}
