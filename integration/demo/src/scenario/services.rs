//! The Services: addresses assigned, routes in the routers' kernels, the
//! L2 owner, and how 1,000 requests to each address spread over the nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};

use super::{Narrator, Runner};
use crate::cancel::Cancel;
use crate::cluster::Cluster;
use crate::daemons::{Daemons, POD_PORT};
use crate::error::{Error, Result};
use crate::fib;
use crate::http::whoami_many;
use crate::manifests::{self, SERVICE_PLAN};
use crate::spread::{join, Spread};
use crate::topology::{node_addr, node_name, router_name, DemoNet, NODES, ROUTERS};

/// Step: addresses.
pub const ASSIGNED: &str = "Service IPs assigned";
/// Step: routes and the L2 owner.
pub const ROUTES: &str = "routes in both routers' FIBs, L2 owner";
/// Steps: traffic to each Service.
pub const TRAFFIC: [&str; 3] = [
    "web (BGP, Cluster): traffic on 3 nodes",
    "shop (BGP, Local): traffic on its 2 nodes",
    "printer (L2): traffic on the owner",
];

/// Each Service's pool (`configs/demo/cluster.yaml`): first and last address.
const POOL_RANGES: [(&str, [u8; 4], [u8; 4]); 3] = [
    ("web", [198, 51, 100, 0], [198, 51, 100, 15]),
    ("shop", [198, 51, 100, 0], [198, 51, 100, 15]),
    ("printer", [198, 18, 0, 200], [198, 18, 0, 209]),
];

/// How long the controller, speakers and routers get.
const PATIENCE: Duration = Duration::from_secs(30);
/// Time allowed per request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Least share of the requests each serving node must get.
const MIN_PERCENT: usize = 10;

/// Creates the Services and waits for the controller to assign every one
/// an address; then puts the addresses on the nodes' `lo`, which is
/// kube-proxy's part in a real cluster.
pub fn assign(
    cancel: &Cancel,
    net: &DemoNet,
    cluster: &Cluster,
    n: &Narrator,
) -> Result<(BTreeMap<String, String>, String)> {
    let applied = cluster.apply_yaml(manifests::SERVICES)?;
    n.say(&format!(
        "created {applied} objects from configs/demo/services.yaml: Services web, shop, printer and their EndpointSlices"
    ));
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    cancel.wait_for("every Service to get an address", PATIENCE, || {
        for (name, ips) in cluster.service_ips().map_err(|e| e.to_string())? {
            if let Some(ip) = ips.first() {
                if let std::collections::btree_map::Entry::Vacant(entry) = seen.entry(name) {
                    n.say(&format!("{:<8} got {ip}", entry.key()));
                    entry.insert(ip.clone());
                }
            }
        }
        let missing: Vec<&str> = SERVICE_PLAN
            .iter()
            .map(|(name, _, _)| *name)
            .filter(|name| !seen.contains_key(*name))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("no address yet for {}", missing.join(", ")))
        }
    })?;
    for (name, first, last) in POOL_RANGES {
        let ip = seen.get(name).and_then(|ip| ip.parse::<Ipv4Addr>().ok());
        if !ip.is_some_and(|ip| (Ipv4Addr::from(first)..=Ipv4Addr::from(last)).contains(&ip)) {
            return Err(Error::Check(format!(
                "{name} got {:?}, outside its pool {}-{}",
                seen.get(name),
                Ipv4Addr::from(first),
                Ipv4Addr::from(last)
            )));
        }
    }
    for node in &net.nodes {
        for ip in seen.values() {
            let ip: Ipv4Addr = ip
                .parse()
                .map_err(|e| Error::Format(format!("{ip}: {e}")))?;
            let net = Ipv4Net::new(ip, 32).map_err(|e| Error::Format(e.to_string()))?;
            node.ns.add_loopback_addr(IpNet::V4(net))?;
        }
    }
    n.say("Service addresses added to every node's lo (kube-proxy's part in a real cluster)");
    let detail = seen
        .iter()
        .map(|(s, ip)| format!("{s} {ip}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((seen, detail))
}

/// Waits until both routers route `web` over all nodes and `shop` over the
/// nodes with endpoints, printing each change, and until one node owns
/// the L2 address. Returns the owner.
pub fn routes(
    cancel: &Cancel,
    net: &DemoNet,
    cluster: &Cluster,
    addresses: &BTreeMap<String, String>,
    n: &Narrator,
) -> Result<(String, String)> {
    let names: BTreeMap<String, String> = (0..NODES)
        .map(|i| (node_addr(i).to_string(), node_name(i)))
        .collect();
    let name_of = |gateways: &BTreeSet<String>| -> BTreeSet<String> {
        gateways
            .iter()
            .map(|g| names.get(g).cloned().unwrap_or_else(|| g.clone()))
            .collect()
    };
    let want: Vec<(String, BTreeSet<String>)> = SERVICE_PLAN
        .iter()
        .filter(|(_, _, nodes)| !nodes.is_empty())
        .filter_map(|(service, _, nodes)| {
            let ip = addresses.get(*service)?.clone();
            Some((ip, nodes.iter().map(|s| s.to_string()).collect()))
        })
        .collect();
    let mut last: Vec<BTreeMap<String, BTreeSet<String>>> = vec![BTreeMap::new(); ROUTERS];
    cancel.wait_for(
        "the routes of both BGP Services on both routers",
        PATIENCE,
        || {
            let mut done = true;
            for (i, router) in net.routers.iter().enumerate() {
                let routes = fib::routes(&router.ns).map_err(|e| e.to_string())?;
                for (ip, nodes) in &want {
                    let now = routes
                        .iter()
                        .find(|r| &r.dst == ip)
                        .map(|r| name_of(&r.gateways))
                        .unwrap_or_default();
                    if last[i].get(ip) != Some(&now) {
                        n.say(&format!(
                            "{}: kernel route {ip}/32 via {}",
                            router_name(i),
                            join(&now)
                        ));
                        last[i].insert(ip.clone(), now.clone());
                    }
                    done &= &now == nodes;
                }
            }
            done.then_some(())
                .ok_or_else(|| format!("routes now: {last:?}"))
        },
    )?;
    for (i, router) in net.routers.iter().enumerate() {
        n.say(&format!(
            "{}# ip route show proto {}\n{}",
            router_name(i),
            fib::PROTOCOL,
            fib::routes_text(&router.ns)?.trim_end()
        ));
    }
    let printer = addresses.get("printer").cloned().unwrap_or_default();
    let owner = cancel.wait_for(
        "one node to answer ARP for the L2 address",
        PATIENCE,
        || match cluster
            .l2_owners(&printer)
            .map_err(|e| e.to_string())?
            .as_slice()
        {
            [owner] => Ok(owner.clone()),
            other => Err(format!("owners: {other:?}")),
        },
    )?;
    n.say(&format!(
        "printer {printer}: {owner} answers ARP for it (its speaker's ServiceAnnouncement says so)"
    ));
    Ok((
        owner.clone(),
        format!("web via 3 nodes, shop via 2; printer on {owner}"),
    ))
}

/// Sends the requests to one Service and checks who answered.
fn traffic(
    net: &DemoNet,
    ip: &str,
    expected: &BTreeSet<String>,
    requests: usize,
    n: &Narrator,
) -> Result<(Spread, String)> {
    let addr: IpAddr = ip
        .parse()
        .map_err(|e| Error::Format(format!("{ip}: {e}")))?;
    let results = whoami_many(
        &net.client.ns,
        SocketAddr::new(addr, POD_PORT),
        requests,
        REQUEST_TIMEOUT,
    )?;
    let spread = Spread::tally(results);
    n.say(&format!(
        "client -> http://{ip}/ x{requests}:\n{}",
        spread.render().trim_end()
    ));
    spread.check(expected, MIN_PERCENT).map_err(Error::Check)?;
    let detail = spread
        .answers
        .iter()
        .map(|(node, count)| format!("{node} {count}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((spread, detail))
}

/// The routes step and one traffic step per Service.
pub(super) fn run_traffic(
    runner: &mut Runner<'_>,
    net: &DemoNet,
    cluster: &Cluster,
    daemons: &Daemons,
    addresses: &BTreeMap<String, String>,
    requests: usize,
) {
    let cancel = runner.cancel;
    let owner = runner.step(ROUTES, |n| {
        daemons.check_running()?;
        routes(cancel, net, cluster, addresses, n)
    });
    let Some(owner) = owner else { return };
    runner.report.l2_owner = Some(owner.clone());
    for (step, (service, _, nodes)) in TRAFFIC.iter().zip(SERVICE_PLAN) {
        let expected: BTreeSet<String> = if nodes.is_empty() {
            [owner.clone()].into()
        } else {
            nodes.iter().map(|s| s.to_string()).collect()
        };
        let ip = addresses.get(service).cloned().unwrap_or_default();
        if let Some(spread) = runner.step(step, |n| traffic(net, &ip, &expected, requests, n)) {
            runner.report.spreads.insert(service.to_owned(), spread);
        }
    }
}
