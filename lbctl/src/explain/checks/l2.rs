//! L2: which node owns the address, and who answers for it on the segment.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_l2::MacAddr;

use super::announce::speaker_hint;
use super::L2_OWNER;
use crate::explain::facts::{ExplainFacts, NeighborFacts, NeighborOutcome};
use crate::explain::verdict::{Check, Verdict};

/// The nodes whose speakers report announcing the Service over L2.
fn owners(f: &ExplainFacts) -> Vec<&str> {
    f.announcements
        .iter()
        .filter(|a| a.protocol == "l2")
        .map(|a| a.node.as_str())
        .collect()
}

pub(super) fn l2_owner(f: &ExplainFacts) -> Check {
    let owners: Vec<_> = f
        .announcements
        .iter()
        .filter(|a| a.protocol == "l2")
        .collect();
    match owners.as_slice() {
        [] => Check::fail(
            L2_OWNER,
            "no speaker reports owning the address, so no node answers ARP/NDP for it",
            speaker_hint(f),
        ),
        [one] if f.service.external_traffic_policy == "Local" && !has_ready_endpoint(f, &one.node) => {
            Check::fail(
                L2_OWNER,
                format!(
                    "node {} owns it but runs no ready endpoint, and with externalTrafficPolicy: Local it drops the Service's traffic",
                    one.node
                ),
                "only nodes with a ready endpoint should own a Local Service's address: check the speakers' endpoint view (kubectl get endpointslices) and their logs",
            )
        }
        [one] => Check::ok(
            L2_OWNER,
            format!(
                "node {} owns it and answers ARP/NDP on {}",
                one.node,
                if one.interfaces.is_empty() {
                    "its interfaces".to_owned()
                } else {
                    one.interfaces.join(", ")
                },
            ),
        ),
        many => Check::warn(
            L2_OWNER,
            format!(
                "{} nodes claim the address at once: {}",
                many.len(),
                many.iter()
                    .map(|a| a.node.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "only one node should own an L2 address; check the speakers' membership logs",
        ),
    }
}

fn has_ready_endpoint(f: &ExplainFacts, node: &str) -> bool {
    f.endpoints
        .iter()
        .any(|e| e.ready && e.node.as_deref() == Some(node))
}

/// One check per Service address asked for on the segment.
pub(super) fn l2_answers(f: &ExplainFacts) -> Vec<Check> {
    let owners = owners(f);
    let owner = match owners.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    f.neighbors.iter().map(|n| l2_answer(f, n, owner)).collect()
}

/// `arp ADDR` or `ndp ADDR`, and the request's name.
fn names(address: IpAddr) -> (String, &'static str) {
    match address {
        IpAddr::V4(_) => (format!("arp {address}"), "an ARP request"),
        IpAddr::V6(_) => (format!("ndp {address}"), "a Neighbor Solicitation"),
    }
}

/// The nodes whose own address answered with `mac`.
fn nodes_with<'a>(n: &'a NeighborOutcome, mac: &MacAddr) -> Vec<&'a str> {
    match n {
        NeighborOutcome::Asked { node_macs, .. } => node_macs
            .iter()
            .filter(|(_, macs)| macs.contains(mac))
            .map(|(node, _)| node.as_str())
            .collect(),
        _ => Vec::new(),
    }
}

/// `02:00:00:00:00:0a (node a)`.
fn described(n: &NeighborOutcome, mac: &MacAddr) -> String {
    match nodes_with(n, mac).as_slice() {
        [] => mac.to_string(),
        nodes => format!("{mac} (node {})", nodes.join(", ")),
    }
}

fn join(macs: &BTreeSet<MacAddr>) -> String {
    macs.iter()
        .map(MacAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn l2_answer(f: &ExplainFacts, n: &NeighborFacts, owner: Option<&str>) -> Check {
    let (check, request) = names(n.address);
    let address = n.address;
    let (interface, waited, macs, node_macs) = match &n.outcome {
        NeighborOutcome::NotAsked(why) => {
            return Check::new(
                check,
                Verdict::Skip,
                format!("not asked: {why}"),
                Some("run lbctl as root on a host of that segment, or name the interface with --arp-interface IFACE".to_owned()),
            )
        }
        NeighborOutcome::Failed { interface, error } => {
            return Check::warn(
                check,
                format!("cannot send {request} on {interface}: {error}"),
                "asking needs CAP_NET_RAW (run lbctl as root) and the interface up",
            )
        }
        NeighborOutcome::Asked {
            interface,
            waited,
            macs,
            node_macs,
        } => (interface, waited, macs, node_macs),
    };
    let mac = match macs.iter().collect::<Vec<_>>().as_slice() {
        [] => {
            let hint = match owner {
                Some(o) => format!(
                    "node {o}'s speaker claims the address but is not heard here: check its logs, that its L2Advertisement's interfaces include the one on this segment, and that node {o} is attached to it"
                ),
                None => speaker_hint(f),
            };
            return Check::fail(
                check,
                format!("nobody answered {request} for {address} on {interface} within {waited:?}"),
                hint,
            );
        }
        [one] => **one,
        many => {
            return Check::fail(
                check,
                format!(
                    "{} hosts answer for {address} on {interface}: {}; clients switch between them",
                    many.len(),
                    many.iter()
                        .map(|m| described(&n.outcome, m))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "only the owner may answer: find the others by MAC (ip neigh, the switch's MAC table) and remove the duplicate address, or stop a stale speaker",
            );
        }
    };
    let answered = format!("{} answered on {interface}", described(&n.outcome, &mac));
    let others = nodes_with(&n.outcome, &mac);
    let Some(owner) = owner else {
        return Check::warn(
            check,
            format!("{answered}, but the speakers do not agree on one owner"),
            speaker_hint(f),
        );
    };
    let owner_macs = node_macs.get(owner).filter(|m| !m.is_empty());
    if others.contains(&owner) {
        Check::ok(check, format!("{answered}: the owner's MAC"))
    } else if !others.is_empty() {
        Check::fail(
            check,
            format!("{answered}, but node {owner} owns the address"),
            format!(
                "node {} answers for an address it does not own: a stale speaker, or the address set on its interface (ip addr)",
                others.join(", ")
            ),
        )
    } else if let Some(owner_macs) = owner_macs {
        Check::warn(
            check,
            format!(
                "{answered}, not node {owner}'s MAC ({}): another host answers, or {owner} answers from another interface",
                join(owner_macs)
            ),
            "find the host by MAC (ip neigh, the switch's MAC table); if it is not the owner, remove its duplicate address",
        )
    } else {
        Check::ok(
            check,
            format!("{answered} (node {owner}'s own MAC is not known here: none of its addresses is on this segment)"),
        )
    }
}
