//! Asking the Service's L2 segment who answers for its addresses, and for
//! the nodes' own addresses there, so an answer can be put to a node.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_l2::MacAddr;

use super::facts::{NeighborFacts, NeighborOutcome};
use crate::facts::NodeFacts;
use crate::neighbor::{self, Link};

/// Node addresses asked for along with the Service's, at most.
const MAX_NODE_ADDRESSES: usize = 512;

/// `explain`'s flags for asking the segment.
#[derive(Debug, Clone, clap::Args)]
pub struct NeighborArgs {
    /// Ask who answers for the Service's addresses (ARP, IPv6 Neighbor
    /// Solicitation) on this interface. Default: an interface whose subnet
    /// holds the address, if this host has one. Needs root.
    #[arg(long, value_name = "IFACE")]
    pub arp_interface: Option<String>,

    /// How long to collect answers.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub arp_timeout: ferrolb_api::Duration,

    /// Do not ask the segment.
    #[arg(long, conflicts_with = "arp_interface")]
    pub no_arp: bool,
}

/// What asking found for each of `addresses`.
pub async fn ask(
    args: &NeighborArgs,
    addresses: &[IpAddr],
    nodes: &BTreeMap<String, NodeFacts>,
) -> Vec<NeighborFacts> {
    if args.no_arp || addresses.is_empty() {
        return Vec::new();
    }
    let links = match neighbor::links() {
        Ok(links) => links,
        Err(e) => {
            return not_asked(
                addresses,
                &format!("cannot list this host's interfaces: {e}"),
            );
        }
    };
    let mut by_link: BTreeMap<&str, (&Link, Vec<IpAddr>)> = BTreeMap::new();
    let mut facts = Vec::new();
    for &address in addresses {
        match neighbor::link_for(&links, args.arp_interface.as_deref(), address) {
            Ok(link) => by_link
                .entry(link.name.as_str())
                .or_insert_with(|| (link, Vec::new()))
                .1
                .push(address),
            Err(why) => facts.extend(not_asked(&[address], &why)),
        }
    }
    for (link, service_addresses) in by_link.into_values() {
        facts.extend(ask_on(link, &service_addresses, nodes, args.arp_timeout.as_std()).await);
    }
    facts.sort_by_key(|f| addresses.iter().position(|a| *a == f.address));
    facts
}

fn not_asked(addresses: &[IpAddr], why: &str) -> Vec<NeighborFacts> {
    addresses
        .iter()
        .map(|&address| NeighborFacts {
            address,
            outcome: NeighborOutcome::NotAsked(why.to_owned()),
        })
        .collect()
}

async fn ask_on(
    link: &Link,
    service_addresses: &[IpAddr],
    nodes: &BTreeMap<String, NodeFacts>,
    timeout: Duration,
) -> Vec<NeighborFacts> {
    let node_addresses: Vec<(&str, IpAddr)> = nodes
        .iter()
        .flat_map(|(name, n)| n.addresses.iter().map(move |a| (name.as_str(), *a)))
        .filter(|(_, a)| link.reaches(*a) && !service_addresses.contains(a))
        .take(MAX_NODE_ADDRESSES)
        .collect();
    let mut targets = service_addresses.to_vec();
    targets.extend(node_addresses.iter().map(|(_, a)| *a));
    let asked = {
        let link = link.clone();
        tokio::task::spawn_blocking(move || neighbor::ask(&link, &targets, timeout)).await
    };
    let answers = match asked {
        Ok(Ok(answers)) => answers,
        Ok(Err(e)) => return failed(link, service_addresses, e.to_string()),
        Err(e) => return failed(link, service_addresses, e.to_string()),
    };
    let mut node_macs: BTreeMap<String, BTreeSet<MacAddr>> = BTreeMap::new();
    for (node, address) in &node_addresses {
        let macs = answers.get(address).cloned().unwrap_or_default();
        node_macs
            .entry((*node).to_owned())
            .or_default()
            .extend(macs);
    }
    service_addresses
        .iter()
        .map(|&address| NeighborFacts {
            address,
            outcome: NeighborOutcome::Asked {
                interface: link.name.clone(),
                waited: timeout,
                macs: answers.get(&address).cloned().unwrap_or_default(),
                node_macs: node_macs.clone(),
            },
        })
        .collect()
}

fn failed(link: &Link, addresses: &[IpAddr], error: String) -> Vec<NeighborFacts> {
    addresses
        .iter()
        .map(|&address| NeighborFacts {
            address,
            outcome: NeighborOutcome::Failed {
                interface: link.name.clone(),
                error: error.clone(),
            },
        })
        .collect()
}
