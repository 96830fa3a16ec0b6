//! Bringing the demo up: namespaces, the API server with the demo's
//! objects, the controller, the speakers with their stand-in pods, the
//! routers, and the BGP sessions between them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::{Narrator, Options};
use crate::cancel::Cancel;
use crate::cluster::Cluster;
use crate::daemons::{ready_in, Daemons, CONTROLLER_ADMIN, SPEAKER_ADMIN};
use crate::error::{Error, Result};
use crate::manifests;
use crate::state::{alive, DemoState, StateFile};
use crate::topology::{
    node_addr, node_name, router_name, DemoNet, API_ADDR, API_VIP, NODES, ROUTERS,
};

/// Step: the namespaces.
pub const NETWORK: &str = "network namespaces created";
/// Step: the API server.
pub const API_SERVER: &str = "API server up with configs/demo";
/// Step: the controller.
pub const CONTROLLER: &str = "ferrolb-controller ready";
/// Step: the speakers.
pub const SPEAKERS: &str = "ferrolb-speaker ready on 3 nodes";
/// Step: the routers.
pub const ROUTERS_READY: &str = "ferrolb-router ready x2";
/// Step: BGP.
pub const SESSIONS: &str = "BGP sessions established";

/// The API server's port in the `api` namespace.
const API_PORT: u16 = 6443;
/// How long daemons get to become ready.
const READY: Duration = Duration::from_secs(30);
/// The speakers' liveness group key (the demo's own, 32 bytes).
const MEMBERLIST_KEY: &str = "ferrolb-demo liveness group key!";

/// Creates the namespaces.
pub fn network(n: &Narrator) -> Result<(DemoNet, String)> {
    let net = DemoNet::create()?;
    for host in net.hosts() {
        n.say(&format!(
            "{:<9} {:<15} namespace {}",
            host.role,
            host.addr,
            host.ns.name()
        ));
    }
    let count = net.namespaces().len();
    Ok((net, format!("{count} namespaces, segment 198.18.0.0/24")))
}

/// Prepares the demo's directory and state file, starts the API server and
/// seeds it with the Nodes and FerroLB's objects.
pub fn api_server(
    options: &Options,
    net: &DemoNet,
    n: &Narrator,
) -> Result<((StateFile, Cluster), String)> {
    let dir = &options.dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    if let Some(old) = DemoState::read(dir)? {
        if old.pid != std::process::id() && alive(old.pid) {
            return Err(Error::Check(format!(
                "a demo is already running (pid {}); remove it with `lbctl demo down`",
                old.pid
            )));
        }
        n.say(&format!(
            "replacing the state of an earlier demo (pid {}, gone)",
            old.pid
        ));
    }
    remove_old_logs(dir);
    let kubeconfig = dir.join("kubeconfig");
    let state = StateFile::create(DemoState {
        pid: std::process::id(),
        dir: dir.clone(),
        namespaces: net.namespaces().into_iter().collect(),
        processes: BTreeMap::new(),
        kubeconfig: kubeconfig.clone(),
        routers: (0..ROUTERS)
            .map(|i| {
                let socket = dir.join(format!("{}.sock", router_name(i)));
                (router_name(i), format!("unix:{}", socket.display()))
            })
            .collect(),
    })?;
    let cluster = Cluster::start(&net.api.ns, SocketAddr::from((API_ADDR, API_PORT)))?;
    std::fs::write(&kubeconfig, cluster.kubeconfig())
        .map_err(|e| Error::io(format!("writing {}", kubeconfig.display()), e))?;
    n.say(&format!(
        "fake API server on http://{API_ADDR}:{API_PORT} (in namespace {}), FerroLB's CRDs installed",
        net.api.ns.name()
    ));
    let nodes = cluster.apply_yaml(manifests::NODES)?;
    n.say(&format!(
        "{nodes} Nodes from configs/demo/nodes.yaml: node-1..3, Ready"
    ));
    let objects = cluster.apply_yaml(manifests::CLUSTER)?;
    n.say(&format!(
        "{objects} objects from configs/demo/cluster.yaml: pools demo-bgp (198.51.100.0/28) and demo-l2 \
         (198.18.0.200-209), BGPPeers router-1/2, BGP and L2 advertisements"
    ));
    Ok((
        (state, cluster),
        format!("CRDs, {nodes} Nodes, {objects} FerroLB objects"),
    ))
}

/// Removes the logs of an earlier demo (each run's logs stay until the next).
fn remove_old_logs(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|e| e == "log") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Starts the controller and waits until it is ready.
pub fn controller(
    cancel: &Cancel,
    net: &DemoNet,
    state: &StateFile,
    daemons: &mut Daemons,
    n: &Narrator,
) -> Result<((), String)> {
    daemons.start_controller(net, &state.state.kubeconfig)?;
    cancel.wait_for("ferrolb-controller /readyz", READY, || {
        daemons.check_running().map_err(|e| e.to_string())?;
        ready_in(&net.api.ns, CONTROLLER_ADMIN)
    })?;
    n.say(
        "ferrolb-controller is leader and ready (admission webhook registered with the API server)",
    );
    Ok(((), "leader, webhook registered".into()))
}

/// Starts each node's stand-ins and speaker and waits until the speakers
/// are ready.
pub fn speakers(
    cancel: &Cancel,
    net: &DemoNet,
    state: &StateFile,
    daemons: &mut Daemons,
    n: &Narrator,
) -> Result<((), String)> {
    let key = memberlist_key(state.dir());
    std::fs::write(&key, MEMBERLIST_KEY)
        .map_err(|e| Error::io("writing the liveness group key", e))?;
    for i in 0..NODES {
        daemons.start_speaker(net, i, &state.state.kubeconfig, &key)?;
    }
    for i in 0..NODES {
        cancel.wait_for(
            &format!("{}'s speaker /readyz", node_name(i)),
            READY,
            || {
                daemons.check_running().map_err(|e| e.to_string())?;
                ready_in(&net.nodes[i].ns, SPEAKER_ADMIN)
            },
        )?;
        n.say(&format!("{}: ferrolb-speaker ready", node_name(i)));
    }
    Ok(((), "3 speakers in one liveness group".into()))
}

/// The file holding the speakers' liveness group key in the demo's directory.
pub fn memberlist_key(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("memberlist.key")
}

/// Starts the routers and waits until their admin APIs say ready.
pub fn routers(
    cancel: &Cancel,
    net: &DemoNet,
    daemons: &mut Daemons,
    n: &Narrator,
) -> Result<((), String)> {
    // The API servers first: a router hands the VIP over while none of its
    // load balancer's backends is healthy.
    for i in 0..NODES {
        daemons.start_standins(net, i)?;
    }
    n.say("stand-in pods (:80) and API servers (:6443) running on node-1..3");
    for (i, config) in manifests::ROUTERS.iter().enumerate() {
        daemons.start_router(net, i, config)?;
    }
    for i in 0..ROUTERS {
        cancel.wait_for(&format!("{} /readyz", router_name(i)), READY, || {
            daemons.check_running().map_err(|e| e.to_string())?;
            let response = daemons.router_get(i, "/readyz")?;
            (response.status == 200)
                .then_some(())
                .ok_or_else(|| format!("{} {}", response.status, response.body.trim()))
        })?;
        n.say(&format!(
            "{}: ferrolb-router ready (BGP on {}:179, TCP LB on {API_VIP}:6443, admin API {})",
            router_name(i),
            net.routers[i].addr,
            daemons.router_socket(i).display()
        ));
    }
    let master = cancel.wait_for("a VRRP master for the API server VIP", READY, || {
        for (i, router) in net.routers.iter().enumerate() {
            if router.has_addr(API_VIP).map_err(|e| e.to_string())? {
                return Ok(i);
            }
        }
        Err("no router holds it yet".into())
    })?;
    n.say(&format!(
        "{} holds the API server VIP {API_VIP} (VRRP master)",
        router_name(master)
    ));
    Ok(((), format!("{} holds VIP {API_VIP}", router_name(master))))
}

/// The peers router `i` has Established sessions with.
pub fn established(daemons: &Daemons, i: usize) -> Result<BTreeSet<String>, String> {
    let response = daemons.router_get(i, "/api/v1/peers")?;
    let peers: Value = serde_json::from_str(&response.body).map_err(|e| e.to_string())?;
    Ok(peers["peers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|p| p["state"] == "Established")
                .filter_map(|p| p["address"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Waits until every router has a session with every node, printing each
/// as it comes up.
pub fn sessions(cancel: &Cancel, daemons: &Daemons, n: &Narrator) -> Result<((), String)> {
    let nodes: BTreeMap<String, String> = (0..NODES)
        .map(|i| (node_addr(i).to_string(), node_name(i)))
        .collect();
    let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); ROUTERS];
    cancel.wait_for("BGP sessions between every router and node", READY, || {
        for (i, seen) in seen.iter_mut().enumerate() {
            for peer in established(daemons, i)? {
                if seen.insert(peer.clone()) {
                    let name = nodes.get(&peer).map_or("?", String::as_str);
                    n.say(&format!(
                        "{} <-> {name} ({peer}): Established",
                        router_name(i)
                    ));
                }
            }
        }
        let up: usize = seen.iter().map(BTreeSet::len).sum();
        if up == ROUTERS * NODES {
            Ok(())
        } else {
            Err(format!("{up} of {} sessions up", ROUTERS * NODES))
        }
    })?;
    Ok(((), format!("{} sessions", ROUTERS * NODES)))
}
