//! The processes the demo runs in its namespaces: the real FerroLB
//! daemons, and the stand-in pods and API servers. Each logs to a file in
//! the demo's directory; all are stopped on drop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferrolb_testbed::{Netns, Process};

use crate::cluster::NAMESPACE;
use crate::error::{Error, Result};
use crate::http;
use crate::programs::Programs;
use crate::topology::{node_addr, node_name, router_name, DemoNet};

/// The controller's and speakers' admin API inside their namespaces.
pub const CONTROLLER_ADMIN: &str = "127.0.0.1:9610";
/// Each speaker's admin API inside its node namespace.
pub const SPEAKER_ADMIN: &str = "127.0.0.1:9611";
/// Port of the stand-in pods.
pub const POD_PORT: u16 = 80;
/// Port of the stand-in API servers and of the routers' TCP LB frontend.
pub const APISERVER_PORT: u16 = 6443;
/// The controller's webhook, inside the API server's namespace.
const WEBHOOK: &str = "127.0.0.1:9443";

/// Label of node `i`'s speaker.
pub fn speaker_label(i: usize) -> String {
    format!("speaker@{}", node_name(i))
}

/// Label (and answer) of the stand-in API server on node `i`.
pub fn apiserver_label(i: usize) -> String {
    format!("apiserver@{}", node_name(i))
}

/// Label of the stand-in pods on node `i`.
pub fn pods_label(i: usize) -> String {
    format!("pods@{}", node_name(i))
}

/// Everything the demo started, in start order.
pub struct Daemons {
    programs: Programs,
    dir: PathBuf,
    processes: Vec<Process>,
}

impl std::fmt::Debug for Daemons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.processes.iter().map(|p| (p.label(), p.pid())))
            .finish()
    }
}

impl Daemons {
    /// Nothing running yet; logs and configs go to `dir`.
    pub fn new(programs: Programs, dir: &Path) -> Daemons {
        Daemons {
            programs,
            dir: dir.to_owned(),
            processes: Vec::new(),
        }
    }

    fn spawn(&mut self, ns: &Netns, label: &str, program: &Path, args: &[String]) -> Result<()> {
        let log = self.dir.join(format!("{label}.log"));
        let mut command = ns.command(&program.to_string_lossy());
        command.args(args);
        let process = Process::spawn(label, command, &log)?;
        self.processes.push(process);
        Ok(())
    }

    /// Starts `ferrolb-controller` in the API server's namespace.
    pub fn start_controller(&mut self, net: &DemoNet, kubeconfig: &Path) -> Result<()> {
        let args = [
            "--kubeconfig",
            &kubeconfig.to_string_lossy(),
            "--namespace",
            NAMESPACE,
            "--identity",
            "demo",
            "--admin-listen",
            CONTROLLER_ADMIN,
            "--webhook-listen",
            WEBHOOK,
            "--webhook-url",
            &format!("https://{WEBHOOK}/validate"),
        ]
        .map(String::from);
        let program = self.programs.controller.clone();
        self.spawn(&net.api.ns, "controller", &program, &args)
    }

    /// Starts node `i`'s speaker, in the liveness group keyed by `key`.
    pub fn start_speaker(
        &mut self,
        net: &DemoNet,
        i: usize,
        kubeconfig: &Path,
        key: &Path,
    ) -> Result<()> {
        let args = [
            "--kubeconfig",
            &kubeconfig.to_string_lossy(),
            "--node-name",
            &node_name(i),
            "--namespace",
            NAMESPACE,
            "--memberlist-key-file",
            &key.to_string_lossy(),
            "--drain-period",
            "0s",
            "--admin-listen",
            SPEAKER_ADMIN,
        ]
        .map(String::from);
        let program = self.programs.speaker.clone();
        self.spawn(&net.nodes[i].ns, &speaker_label(i), &program, &args)
    }

    /// Starts node `i`'s stand-ins: pods answering with the node's name on
    /// every address (the Service addresses on `lo` included), and an API
    /// server on the node's address.
    pub fn start_standins(&mut self, net: &DemoNet, i: usize) -> Result<()> {
        let program = self.programs.standin.clone();
        let pods = [
            "serve",
            "--name",
            &node_name(i),
            "--listen",
            &SocketAddr::from(([0, 0, 0, 0], POD_PORT)).to_string(),
        ]
        .map(String::from);
        self.spawn(&net.nodes[i].ns, &pods_label(i), &program, &pods)?;
        let apiserver = [
            "serve",
            "--name",
            &apiserver_label(i),
            "--listen",
            &SocketAddr::from((node_addr(i), APISERVER_PORT)).to_string(),
        ]
        .map(String::from);
        self.spawn(&net.nodes[i].ns, &apiserver_label(i), &program, &apiserver)
    }

    /// Writes router `i`'s configuration and starts it with its admin API
    /// on a Unix socket in the demo's directory.
    pub fn start_router(&mut self, net: &DemoNet, i: usize, config: &str) -> Result<()> {
        let name = router_name(i);
        let path = self.dir.join(format!("{name}.yaml"));
        std::fs::write(&path, config)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        let args = [
            "--config".to_owned(),
            path.to_string_lossy().into_owned(),
            "--admin-listen".to_owned(),
            format!("unix:{}", self.router_socket(i).display()),
        ];
        let program = self.programs.router.clone();
        self.spawn(&net.routers[i].ns, &name, &program, &args)
    }

    /// Router `i`'s admin socket.
    pub fn router_socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{}.sock", router_name(i)))
    }

    /// `GET path` from router `i`'s admin API.
    pub fn router_get(&self, i: usize, path: &str) -> Result<http::Response, String> {
        http::get_unix(&self.router_socket(i), path, Duration::from_secs(2))
    }

    /// Kills the process labelled `label` abruptly (SIGKILL).
    pub fn kill(&mut self, label: &str) -> Result<()> {
        let Some(at) = self.processes.iter().position(|p| p.label() == label) else {
            return Err(Error::Check(format!("no process {label}")));
        };
        let process = self.processes.remove(at);
        process.kill()?;
        Ok(())
    }

    /// Asks the process labelled `label` to exit (SIGTERM, as Kubernetes
    /// stops a pod), killing it after `grace`.
    pub fn stop(&mut self, label: &str, grace: Duration) -> Result<()> {
        let Some(at) = self.processes.iter().position(|p| p.label() == label) else {
            return Err(Error::Check(format!("no process {label}")));
        };
        let process = self.processes.remove(at);
        process.terminate(grace)?;
        Ok(())
    }

    /// `Err` naming the first process that exited, with its log's tail.
    pub fn check_running(&self) -> Result<()> {
        for p in &self.processes {
            if p.exit_status().is_some() {
                return Err(Error::Check(format!(
                    "{} exited; its log ({}):\n{}",
                    p.label(),
                    p.log_path().display(),
                    p.log()
                )));
            }
        }
        Ok(())
    }

    /// Process ids by label.
    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.processes
            .iter()
            .map(|p| (p.label().to_owned(), p.pid()))
            .collect()
    }

    /// The program paths.
    pub fn programs(&self) -> &Programs {
        &self.programs
    }
}

/// `GET /readyz` on `admin` inside `ns`.
pub fn ready_in(ns: &Netns, admin: &str) -> Result<(), String> {
    let addr: SocketAddr = admin.parse().map_err(|e| format!("{admin}: {e}"))?;
    let response = ns
        .run_in(|| http::get_tcp(addr, "/readyz", Duration::from_secs(1)))
        .map_err(|e| e.to_string())??;
    if response.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{admin}/readyz: {} {}",
            response.status,
            response.body.trim()
        ))
    }
}

/// The series names in a Prometheus text exposition: those with samples,
/// and those a `# TYPE` line declares (a labelled family without samples
/// yet, such as a counter of failures that never happened).
pub fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut words = declared.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') {
            if let Some(name) = line.split(['{', ' ']).next().filter(|n| !n.is_empty()) {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The series names every daemon of the demo exports: the controller's,
/// node `0`'s speaker's and router `0`'s.
pub fn exported_metrics(net: &DemoNet, daemons: &Daemons) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let inside = |ns: &Netns, admin: &str| -> String {
        admin
            .parse::<SocketAddr>()
            .ok()
            .and_then(|addr| {
                ns.run_in(|| http::get_tcp(addr, "/metrics", Duration::from_secs(2)))
                    .ok()?
                    .ok()
            })
            .map(|r| r.body)
            .unwrap_or_default()
    };
    names.extend(metric_names(&inside(&net.api.ns, CONTROLLER_ADMIN)));
    if let Some(node) = net.nodes.first() {
        names.extend(metric_names(&inside(&node.ns, SPEAKER_ADMIN)));
    }
    if let Ok(response) = daemons.router_get(0, "/metrics") {
        names.extend(metric_names(&response.body));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_come_from_samples_and_declarations() {
        let text = "# HELP ferrolb_router_nexthop_groups Groups.\n\
                    # TYPE ferrolb_router_nexthop_groups gauge\n\
                    ferrolb_router_nexthop_groups 2\n\
                    ferrolb_router_bgp_session_up{peer=\"198.18.0.2\"} 1\n\
                    # TYPE ferrolb_allocation_failures counter\n\
                    # TYPE ferrolb_router_fib_install_seconds histogram\n\
                    ferrolb_router_fib_install_seconds_bucket{le=\"0.001\"} 4\n\
                    # TYPE broken\n\
                    \n# EOF\n";
        let names: Vec<String> = metric_names(text).into_iter().collect();
        assert_eq!(
            names,
            [
                "ferrolb_allocation_failures_total",
                "ferrolb_router_bgp_session_up",
                "ferrolb_router_fib_install_seconds_bucket",
                "ferrolb_router_fib_install_seconds_count",
                "ferrolb_router_fib_install_seconds_sum",
                "ferrolb_router_nexthop_groups"
            ]
        );
    }
}
