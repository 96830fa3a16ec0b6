//! The whole system up, as the demo's setup steps leave it: namespaces, the
//! API server with `configs/demo`, the controller, both routers, a speaker
//! per node and every BGP session Established. Tests drive it further
//! (Services changing, daemons restarting) and read what a user would: the
//! API server's objects, the routers' kernel FIBs and admin APIs, and
//! answers to the client's requests. Everything is removed on drop, also
//! when a test panics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferrolb_api::admin::{PeerView, PeersResponse};

use crate::cancel::Cancel;
use crate::cluster::Cluster;
use crate::daemons::{ready_in, speaker_label, Daemons, CONTROLLER_ADMIN, SPEAKER_ADMIN};
use crate::error::Result;
use crate::fib::{self, KernelRoute};
use crate::manifests;
use crate::scenario::{services, setup, Narrator, Options};
use crate::state::StateFile;
use crate::topology::{router_name, DemoNet};

/// How long a stopped daemon gets to exit before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// How a daemon is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM, as Kubernetes stops a pod, so it shuts down in order.
    Terminate,
    /// SIGKILL, as a crash or an OOM kill: no goodbye to anyone.
    Kill,
}

/// The running system; see the module documentation.
pub struct System {
    // Fields drop in order: processes stop first, then the API server, the
    // state file, and last the namespaces.
    /// Every process the system runs.
    pub daemons: Daemons,
    /// The API server.
    pub cluster: Cluster,
    state: StateFile,
    /// The namespaces.
    pub net: DemoNet,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("daemons", &self.daemons)
            .field("net", &self.net)
            .finish_non_exhaustive()
    }
}

impl System {
    /// Brings everything up through the demo's own setup steps (no
    /// Services yet), narrating to `n`.
    pub fn start(options: &Options, cancel: &Cancel, n: &Narrator) -> Result<System> {
        let (net, _) = setup::network(n)?;
        let ((state, cluster), _) = setup::api_server(options, &net, n)?;
        let mut daemons = Daemons::new(options.programs.clone(), state.dir());
        setup::controller(cancel, &net, &state, &mut daemons, n)?;
        setup::routers(cancel, &net, &mut daemons, n)?;
        setup::speakers(cancel, &net, &state, &mut daemons, n)?;
        setup::sessions(cancel, &daemons, n)?;
        Ok(System {
            daemons,
            cluster,
            state,
            net,
        })
    }

    /// Every namespace's name (all deleted on drop).
    pub fn namespaces(&self) -> Vec<String> {
        self.net
            .namespaces()
            .into_iter()
            .map(|(_, ns)| ns)
            .collect()
    }

    /// Stops node `i`'s speaker as `how` says and starts a new one, without
    /// waiting for it (see [`System::speaker_ready`]).
    pub fn restart_speaker(&mut self, i: usize, how: Stop) -> Result<()> {
        self.stop(&speaker_label(i), how)?;
        let key = setup::memberlist_key(self.state.dir());
        self.daemons
            .start_speaker(&self.net, i, &self.state.state.kubeconfig, &key)
    }

    /// `Ok` once node `i`'s speaker says it is ready.
    pub fn speaker_ready(&self, i: usize) -> Result<(), String> {
        self.daemons.check_running().map_err(|e| e.to_string())?;
        ready_in(&self.net.nodes[i].ns, SPEAKER_ADMIN)
    }

    /// Stops the controller as `how` says.
    pub fn stop_controller(&mut self, how: Stop) -> Result<()> {
        self.stop("controller", how)
    }

    /// Starts the controller (after [`System::stop_controller`]), without
    /// waiting for it (see [`System::controller_ready`]).
    pub fn start_controller(&mut self) -> Result<()> {
        self.daemons
            .start_controller(&self.net, &self.state.state.kubeconfig)
    }

    /// `Ok` once the controller says it is ready (leader, webhook served).
    pub fn controller_ready(&self) -> Result<(), String> {
        self.daemons.check_running().map_err(|e| e.to_string())?;
        ready_in(&self.net.api.ns, CONTROLLER_ADMIN)
    }

    /// Stops router `i` as `how` says.
    pub fn stop_router(&mut self, i: usize, how: Stop) -> Result<()> {
        self.stop(&router_name(i), how)
    }

    /// Starts router `i` again with its `configs/demo` configuration,
    /// without waiting for it.
    pub fn start_router(&mut self, i: usize) -> Result<()> {
        let config = manifests::ROUTERS.get(i).copied().unwrap_or_default();
        self.daemons.start_router(&self.net, i, config)
    }

    /// The peers router `i` has Established BGP sessions with.
    pub fn established(&self, i: usize) -> Result<BTreeSet<String>, String> {
        setup::established(&self.daemons, i)
    }

    /// Router `i`'s BGP neighbours as its admin API shows them.
    pub fn peers(&self, i: usize) -> Result<Vec<PeerView>, String> {
        let response = self.daemons.router_get(i, "/api/v1/peers")?;
        let peers: PeersResponse =
            serde_json::from_str(&response.body).map_err(|e| format!("/api/v1/peers: {e}"))?;
        Ok(peers.peers)
    }

    /// Applies the demo's Services (`configs/demo/services.yaml`), waits
    /// until each has an address and puts the addresses on every node's
    /// `lo`. Returns the addresses by Service name.
    pub fn create_demo_services(
        &self,
        cancel: &Cancel,
        n: &Narrator,
    ) -> Result<BTreeMap<String, String>> {
        let (addresses, _) = services::assign(cancel, &self.net, &self.cluster, n)?;
        Ok(addresses)
    }

    /// FerroLB's IPv4 routes in router `i`'s kernel FIB.
    pub fn fib(&self, i: usize) -> Result<Vec<KernelRoute>> {
        fib::routes(&self.net.routers[i].ns)
    }

    /// Waits until the routers' FIBs match `want` on every router:
    /// each address routed via exactly its gateways (no route for an empty
    /// set). Returns the last FIBs seen on failure.
    pub fn wait_routes(
        &self,
        cancel: &Cancel,
        what: &str,
        want: &BTreeMap<String, BTreeSet<String>>,
        timeout: Duration,
    ) -> Result<()> {
        cancel.wait_for(what, timeout, || {
            for i in 0..self.net.routers.len() {
                let routes = self.fib(i).map_err(|e| e.to_string())?;
                for (ip, gateways) in want {
                    let now = routes
                        .iter()
                        .find(|r| &r.dst == ip)
                        .map(|r| r.gateways.clone())
                        .unwrap_or_default();
                    if &now != gateways {
                        return Err(format!("{}: {ip} via {now:?}", router_name(i)));
                    }
                }
            }
            Ok(())
        })
    }

    fn stop(&mut self, label: &str, how: Stop) -> Result<()> {
        match how {
            Stop::Terminate => self.daemons.stop(label, GRACE),
            Stop::Kill => self.daemons.kill(label),
        }
    }
}
