//! Breaking things while a client keeps sending requests: an API server
//! process dies behind the routers' TCP load balancer, then a whole node
//! dies (its link goes down and its processes are killed, like a power
//! cut), and the demo measures how long until traffic avoids it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Narrator, Runner};
use crate::cancel::Cancel;
use crate::cluster::Cluster;
use crate::daemons::{
    apiserver_label, pods_label, speaker_label, Daemons, APISERVER_PORT, POD_PORT,
};
use crate::error::{Error, Result};
use crate::failover::{measure, Failover};
use crate::fib;
use crate::http::{whoami, whoami_many, Timeouts};
use crate::spread::Spread;
use crate::topology::{node_addr, node_name, router_name, DemoNet, API_VIP, NODES, ROUTERS};

/// Step: the TCP LB.
pub const APISERVER: &str = "TCP LB takes a dead API server out";
/// Step: a node dies, BGP side.
pub const NODE_BGP: &str = "node dies: BGP traffic (web) moves off it";
/// Step: a node dies, L2 side.
pub const NODE_L2: &str = "node dies: L2 address (printer) moves";
/// Step: the API server VIP moves.
pub const VIP: &str = "router-1 dies: VRRP moves the API server VIP";

/// The API server the demo kills.
const DEAD_APISERVER: usize = NODES - 1;
/// Requests through the TCP LB before and after.
const LB_REQUESTS: usize = 30;
/// Clean requests in a row that end a failover measurement.
const CLEAN_RUN: usize = 40;
/// Time allowed per request while measuring: a dead next hop drops SYNs, so connecting
/// gets little time; an answer on a connection that was accepted may come late when the
/// machine is busy (a virtual machine's host taking its CPUs away) without being a failure.
const PROBE_TIMEOUT: Timeouts = Timeouts {
    connect: Duration::from_millis(300),
    response: Duration::from_secs(3),
};
/// Longest a failover may take.
const FAILOVER_LIMIT: Duration = Duration::from_secs(20);

/// What a node's death looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailover {
    /// The node that died (the L2 address's owner).
    pub victim: String,
    /// Requests to the BGP Service `web` while it happened.
    pub bgp: Failover,
    /// Requests to the L2 Service `printer` while it happened.
    pub l2: Option<Failover>,
    /// The node that answers ARP for `printer` afterwards.
    pub new_l2_owner: Option<String>,
    /// When each router's kernel route for `web` lost the node.
    pub fib: BTreeMap<String, Duration>,
}

/// Both outages, each a step.
pub(super) fn run(
    runner: &mut Runner<'_>,
    net: &DemoNet,
    cluster: &Cluster,
    daemons: &mut Daemons,
    addresses: &BTreeMap<String, String>,
) {
    let cancel = runner.cancel;
    let lb = runner.step(APISERVER, |n| apiserver_outage(cancel, net, daemons, n));
    if let Some((before, failover, after)) = lb {
        runner.report.apiserver_before = Some(before);
        runner.report.apiserver_failover = Some(failover);
        runner.report.apiserver_after = Some(after);
    }
    // Every daemon is alive and has served traffic: read what they export.
    runner.report.metrics = crate::daemons::exported_metrics(net, daemons);
    let Some(victim) = runner.report.l2_owner.clone() else {
        return;
    };
    let node = runner.step(NODE_BGP, |n| {
        node_outage(cancel, net, cluster, daemons, addresses, &victim, n)
    });
    let Some(node) = node else { return };
    let l2 = node.l2.clone();
    let new_owner = node.new_l2_owner.clone();
    runner.report.node_failover = Some(node);
    let _ = runner.step(NODE_L2, |_| match (l2, new_owner) {
        (Some(l2), Some(owner)) => Ok((
            (),
            format!(
                "{owner} answers after {} ms ({} requests failed)",
                l2.settled_after.as_millis(),
                l2.failed
            ),
        )),
        (_, None) => Err(Error::Check("no new owner".into())),
        (None, _) => Err(Error::Check("printer traffic never recovered".into())),
    });
    if let Some(failover) = runner.step(VIP, |n| vip_failover(cancel, net, daemons, n)) {
        runner.report.vip_failover = Some(failover);
    }
}

/// The result of a client thread that measured a failover.
fn joined(
    thread: std::thread::ScopedJoinHandle<'_, ferrolb_testbed::Result<Result<Failover>>>,
) -> Result<Failover> {
    let in_namespace = thread
        .join()
        .map_err(|_| Error::Check("client thread panicked".into()))?;
    in_namespace?
}

/// Router `i`'s view of the API server backends: address to up.
fn backends(daemons: &Daemons, i: usize) -> Result<BTreeMap<String, bool>, String> {
    let response = daemons.router_get(i, "/api/v1/loadbalancer")?;
    let lb: Value = serde_json::from_str(&response.body).map_err(|e| e.to_string())?;
    Ok(lb["frontends"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["backends"].as_array().into_iter().flatten())
        .filter_map(|b| Some((b["address"].as_str()?.to_owned(), b["up"].as_bool()?)))
        .collect())
}

fn lb_requests(net: &DemoNet, frontend: SocketAddr, n: &Narrator, what: &str) -> Result<Spread> {
    let spread = Spread::tally(whoami_many(
        &net.client.ns,
        frontend,
        LB_REQUESTS,
        Duration::from_secs(2),
    )?);
    n.say(&format!(
        "client -> {frontend} x{LB_REQUESTS} {what}:\n{}",
        spread.render().trim_end()
    ));
    Ok(spread)
}

fn apiserver_outage(
    cancel: &Cancel,
    net: &DemoNet,
    daemons: &mut Daemons,
    n: &Narrator,
) -> Result<((Spread, Failover, Spread), String)> {
    let frontend = SocketAddr::new(IpAddr::V4(API_VIP), APISERVER_PORT);
    let all: BTreeSet<String> = (0..NODES).map(apiserver_label).collect();
    cancel.wait_for(
        "every API server backend up on both routers",
        Duration::from_secs(10),
        || {
            for i in 0..ROUTERS {
                let up = backends(daemons, i)?.values().filter(|up| **up).count();
                if up != NODES {
                    return Err(format!("{}: {up} backends up", router_name(i)));
                }
            }
            Ok(())
        },
    )?;
    let before = lb_requests(net, frontend, n, "(round robin)")?;
    before.check(&all, 10).map_err(Error::Check)?;
    let dead = apiserver_label(DEAD_APISERVER);
    let dead_addr =
        SocketAddr::new(IpAddr::V4(node_addr(DEAD_APISERVER)), APISERVER_PORT).to_string();
    let killed = Instant::now();
    daemons.kill(&dead)?;
    n.say(&format!("killed {dead} (SIGKILL)"));
    let (failover, marked) = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            net.client.ns.run_in(|| {
                measure(cancel, killed, &dead, CLEAN_RUN, FAILOVER_LIMIT, || {
                    whoami(frontend, PROBE_TIMEOUT)
                })
            })
        });
        let mut marked = BTreeMap::new();
        let watched = cancel.wait_for(
            "both routers to mark the API server down",
            FAILOVER_LIMIT,
            || {
                for i in 0..ROUTERS {
                    if !marked.contains_key(&i)
                        && backends(daemons, i)?.get(&dead_addr) == Some(&false)
                    {
                        let after = killed.elapsed();
                        n.say(&format!(
                            "{}: health checks took {dead_addr} out after {} ms",
                            router_name(i),
                            after.as_millis()
                        ));
                        marked.insert(i, after);
                    }
                }
                (marked.len() == ROUTERS)
                    .then_some(())
                    .ok_or_else(|| format!("marked: {marked:?}"))
            },
        );
        (joined(client), watched.map(|()| marked))
    });
    let failover = failover?;
    let marked = marked?;
    n.say(&format!(
        "client: no request failed or reached {dead} {}",
        failover.describe()
    ));
    let after = lb_requests(net, frontend, n, "(after)")?;
    let alive: BTreeSet<String> = all.iter().filter(|a| **a != dead).cloned().collect();
    after.check(&alive, 10).map_err(Error::Check)?;
    let taken_out: Vec<String> = marked
        .iter()
        .map(|(i, after)| format!("{} {} ms", router_name(*i), after.as_millis()))
        .collect();
    let detail = format!(
        "{dead} out ({}), {} client requests failed",
        taken_out.join(", "),
        failover.failed
    );
    Ok(((before, failover, after), detail))
}

fn node_outage(
    cancel: &Cancel,
    net: &DemoNet,
    cluster: &Cluster,
    daemons: &mut Daemons,
    addresses: &BTreeMap<String, String>,
    victim: &str,
    n: &Narrator,
) -> Result<(NodeFailover, String)> {
    let index = (0..NODES)
        .find(|i| node_name(*i) == victim)
        .ok_or_else(|| Error::Check(format!("no node {victim}")))?;
    let ip_of = |service: &str| -> Result<IpAddr> {
        addresses
            .get(service)
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| Error::Check(format!("no address for {service}")))
    };
    let web = SocketAddr::new(ip_of("web")?, POD_PORT);
    let printer = SocketAddr::new(ip_of("printer")?, POD_PORT);
    let victim_addr = node_addr(index).to_string();

    n.say(&format!(
        "{victim} dies: its link goes down, then its processes are killed"
    ));
    let killed = Instant::now();
    net.nodes[index].iface.set_down()?;
    for label in [
        speaker_label(index),
        pods_label(index),
        apiserver_label(index),
    ] {
        // The API server may be dead already (the previous step).
        let _ = daemons.kill(&label);
    }
    let (bgp, l2, fib) = std::thread::scope(|scope| {
        let probe = |target: SocketAddr| {
            move || {
                net.client.ns.run_in(|| {
                    measure(cancel, killed, victim, CLEAN_RUN, FAILOVER_LIMIT, || {
                        whoami(target, PROBE_TIMEOUT)
                    })
                })
            }
        };
        let bgp = scope.spawn(probe(web));
        let l2 = scope.spawn(probe(printer));
        let mut fib = BTreeMap::new();
        let watched = cancel.wait_for("both routers to drop the dead node's next hop", FAILOVER_LIMIT, || {
            for (i, router) in net.routers.iter().enumerate() {
                let name = router_name(i);
                if fib.contains_key(&name) {
                    continue;
                }
                let routes = fib::routes(&router.ns).map_err(|e| e.to_string())?;
                let route = routes.iter().find(|r| r.dst == web.ip().to_string());
                if route.is_some_and(|r| !r.gateways.contains(&victim_addr) && !r.gateways.is_empty()) {
                    let after = killed.elapsed();
                    n.say(&format!(
                        "{name}: hold timer expired, kernel route {} now via {} next hops (after {} ms)",
                        web.ip(),
                        route.map_or(0, |r| r.gateways.len()),
                        after.as_millis()
                    ));
                    fib.insert(name, after);
                }
            }
            (fib.len() == ROUTERS).then_some(()).ok_or_else(|| format!("updated: {fib:?}"))
        });
        (joined(bgp), joined(l2), watched.map(|()| fib))
    });
    let bgp = bgp?;
    let l2 = l2.ok();
    let fib = fib?;
    n.say(&format!(
        "client -> web {}: no request failed or reached {victim} {}",
        web.ip(),
        bgp.describe()
    ));
    if let Some(l2) = &l2 {
        n.say(&format!(
            "client -> printer {}: answered again {}",
            printer.ip(),
            l2.describe()
        ));
    }
    let printer_ip = printer.ip().to_string();
    let new_l2_owner = cancel
        .wait_for("a new L2 owner", Duration::from_secs(10), || {
            // The dead node's own status object still names it: nobody is
            // left to update it.
            let owners = cluster.l2_owners(&printer_ip).map_err(|e| e.to_string())?;
            match owners
                .iter()
                .filter(|o| *o != victim)
                .collect::<Vec<_>>()
                .as_slice()
            {
                [owner] => Ok((*owner).clone()),
                other => Err(format!("owners besides {victim}: {other:?}")),
            }
        })
        .ok();
    if let Some(owner) = &new_l2_owner {
        n.say(&format!(
            "printer {printer_ip}: {owner} answers ARP for it now"
        ));
    }
    for (i, router) in net.routers.iter().enumerate() {
        n.say(&format!(
            "{}# ip route show proto {}\n{}",
            router_name(i),
            fib::PROTOCOL,
            fib::routes_text(&router.ns)?.trim_end()
        ));
    }
    let detail = format!(
        "{victim}: off after {} ms (hold timer), {} requests failed",
        bgp.settled_after.as_millis(),
        bgp.failed
    );
    Ok((
        NodeFailover {
            victim: victim.to_owned(),
            bgp,
            l2,
            new_l2_owner,
            fib,
        },
        detail,
    ))
}

/// Router-1 dies (link down, then SIGKILL): router-2 takes the API server
/// VIP over, and requests to it are answered again.
fn vip_failover(
    cancel: &Cancel,
    net: &DemoNet,
    daemons: &mut Daemons,
    n: &Narrator,
) -> Result<(Failover, String)> {
    let (master, backup) = (&net.routers[0], &net.routers[1]);
    if !master.has_addr(API_VIP)? {
        return Err(Error::Check(format!("router-1 does not hold {API_VIP}")));
    }
    let vip = SocketAddr::new(IpAddr::V4(API_VIP), APISERVER_PORT);
    n.say("router-1 dies: its link goes down, then ferrolb-router is killed");
    let killed = Instant::now();
    master.iface.set_down()?;
    daemons.kill(&router_name(0))?;
    let (failover, took_over) = std::thread::scope(|scope| {
        // No API server is dead here: every failed request counts.
        let client = scope.spawn(|| {
            net.client.ns.run_in(|| {
                measure(cancel, killed, "-", CLEAN_RUN, FAILOVER_LIMIT, || {
                    whoami(vip, PROBE_TIMEOUT)
                })
            })
        });
        let took_over =
            cancel.wait_for("router-2 to take the VIP", FAILOVER_LIMIT, || match backup
                .has_addr(API_VIP)
            {
                Ok(true) => Ok(killed.elapsed()),
                Ok(false) => Err("not yet".into()),
                Err(e) => Err(e.to_string()),
            });
        (joined(client), took_over)
    });
    let took_over = took_over?;
    n.say(&format!(
        "router-2 is VRRP master and holds {API_VIP} after {} ms",
        took_over.as_millis()
    ));
    let failover = failover?;
    n.say(&format!(
        "client -> {vip}: answered again {}",
        failover.describe()
    ));
    let after = lb_requests(net, vip, n, "(through router-2)")?;
    if after.failures > 0 || after.total() == 0 {
        return Err(Error::Check(format!("through router-2: {after:?}")));
    }
    let detail = format!(
        "router-2 master after {} ms, VIP answers after {} ms",
        took_over.as_millis(),
        failover.settled_after.as_millis()
    );
    Ok((failover, detail))
}
