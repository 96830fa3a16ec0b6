//! `--keep`: the demo stays up, says how to look around, and waits for
//! Ctrl-C, SIGTERM or `lbctl demo down`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::daemons::{Daemons, CONTROLLER_ADMIN, SPEAKER_ADMIN};
use crate::state::StateFile;
use crate::topology::DemoNet;

/// Prints the instructions, then waits until cancelled.
pub fn wait(
    net: &DemoNet,
    state: &StateFile,
    daemons: &Daemons,
    addresses: BTreeMap<String, String>,
    all_ok: bool,
    cancel: &Cancel,
) {
    println!(
        "\n{}",
        instructions(net, state, daemons, &addresses, all_ok)
    );
    while cancel.sleep(Duration::from_secs(3600)).is_ok() {}
    println!("\nremoving the demo");
}

fn instructions(
    net: &DemoNet,
    state: &StateFile,
    daemons: &Daemons,
    addresses: &BTreeMap<String, String>,
    all_ok: bool,
) -> String {
    let lbctl = daemons
        .programs()
        .lbctl
        .as_ref()
        .map_or_else(|| "lbctl".to_owned(), |p| p.display().to_string());
    let client = net.client.ns.name();
    let api = net.api.ns.name();
    let kubeconfig = state.state.kubeconfig.display();
    let routers: Vec<String> = state
        .state
        .routers
        .iter()
        .map(|(name, url)| format!("--router {name}={url}"))
        .collect();
    let routers = routers.join(" ");
    let ip = |s: &str| addresses.get(s).cloned().unwrap_or_else(|| "<ip>".into());
    let mut out = String::new();
    if !all_ok {
        out.push_str("Some steps failed; everything is left as it was for a look.\n");
    }
    out.push_str(&format!(
        "The demo is up (pid {pid}); files and logs in {dir}. One node is dead (the failover step).\n\
         \n\
         Requests from the client:\n  \
           ip netns exec {client} curl -s http://{web}/       # web (BGP, Cluster)\n  \
           ip netns exec {client} curl -s http://{shop}/      # shop (BGP, Local)\n  \
           ip netns exec {client} curl -s http://{printer}/   # printer (L2)\n  \
           ip netns exec {client} curl -s http://198.18.0.10:6443/  # API servers through the VIP (VRRP) and the TCP LB\n\
         Routes in a router's kernel:\n  \
           ip -n {r1} route show proto 200\n\
         lbctl against the fake API server (it listens inside namespace {api}) and the routers:\n  \
           ip netns exec {api} {lbctl} --kubeconfig {kubeconfig} {routers} services -A\n  \
           ip netns exec {api} {lbctl} --kubeconfig {kubeconfig} {routers} explain default/web\n  \
           {lbctl} {routers} routes\n\
         Admin APIs: controller http://{CONTROLLER_ADMIN} in {api}, each speaker http://{SPEAKER_ADMIN} in its node namespace.\n\
         \n\
         Remove it with Ctrl-C here, or from another shell: {lbctl} demo down\n",
        pid = state.state.pid,
        dir = state.dir().display(),
        web = ip("web"),
        shop = ip("shop"),
        printer = ip("printer"),
        r1 = net.routers.first().map_or("", |r| r.ns.name()),
    ));
    out
}
