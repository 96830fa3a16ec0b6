//! The demo's scenario, step by step: build the network, start the API
//! server and every daemon, create Services, show where their traffic
//! goes, then break things and show how fast traffic moves. Used by the
//! `ferrolb-demo` binary and by the end-to-end test.

mod keep;
mod outages;
pub(crate) mod services;
pub(crate) mod setup;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::failover::Failover;
use crate::programs::Programs;
use crate::spread::Spread;
use crate::summary::{Outcome, Step};

pub use outages::NodeFailover;

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The programs it starts.
    pub programs: Programs,
    /// Its directory: state file, kubeconfig, router configs and sockets,
    /// logs. Created if missing; its files are removed at the end.
    pub dir: PathBuf,
    /// Requests sent to each Service address.
    pub requests: usize,
    /// Leave everything up until Ctrl-C, SIGTERM or `lbctl demo down`.
    pub keep: bool,
}

/// What the demo saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Each Service's assigned address.
    pub addresses: BTreeMap<String, String>,
    /// How each Service's requests spread over the nodes.
    pub spreads: BTreeMap<String, Spread>,
    /// The node answering ARP for the L2 Service.
    pub l2_owner: Option<String>,
    /// The routers' TCP LB losing an API server: requests through
    /// router-1 before, during and after.
    pub apiserver_before: Option<Spread>,
    /// See [`Report::apiserver_before`].
    pub apiserver_failover: Option<Failover>,
    /// See [`Report::apiserver_before`].
    pub apiserver_after: Option<Spread>,
    /// Router-1 dying: requests to the API server VIP until router-2
    /// answers them.
    pub vip_failover: Option<Failover>,
    /// A node dying.
    pub node_failover: Option<NodeFailover>,
    /// The namespaces the demo created (all removed when it returns).
    pub namespaces: Vec<String>,
    /// Series names the controller, a speaker and a router export (read
    /// after the traffic steps).
    pub metrics: std::collections::BTreeSet<String>,
}

impl Report {
    /// Whether every step worked.
    pub fn all_ok(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(Step::is_ok)
    }
}

/// The steps, in order, as the summary names them.
pub const PLAN: [&str; 15] = [
    setup::NETWORK,
    setup::API_SERVER,
    setup::CONTROLLER,
    setup::ROUTERS_READY,
    setup::SPEAKERS,
    setup::SESSIONS,
    services::ASSIGNED,
    services::ROUTES,
    services::TRAFFIC[0],
    services::TRAFFIC[1],
    services::TRAFFIC[2],
    outages::APISERVER,
    outages::NODE_BGP,
    outages::NODE_L2,
    outages::VIP,
];

/// Prints what happens, with the time since the demo started.
#[derive(Debug, Clone, Copy)]
pub struct Narrator {
    start: Instant,
}

impl Narrator {
    /// Times lines from now.
    pub fn new() -> Narrator {
        Narrator {
            start: Instant::now(),
        }
    }

    /// Prints one line.
    pub fn say(&self, text: &str) {
        let t = self.start.elapsed().as_secs_f64();
        for (i, line) in text.lines().enumerate() {
            if i == 0 {
                println!("[{t:6.2}s] {line}");
            } else {
                println!("          {line}");
            }
        }
    }
}

impl Default for Narrator {
    fn default() -> Narrator {
        Narrator::new()
    }
}

/// Runs steps in order; after a failure the rest are skipped.
struct Runner<'a> {
    cancel: &'a Cancel,
    narrator: Narrator,
    report: Report,
    failed: bool,
}

impl<'a> Runner<'a> {
    /// Runs step `name`: `f` returns a value and the summary's detail.
    fn step<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&Narrator) -> Result<(T, String)>,
    ) -> Option<T> {
        if self.failed {
            return None;
        }
        if self.cancel.is_cancelled() {
            // Interrupted between steps: say so where it stopped.
            self.failed = true;
            self.report.steps.push(Step {
                name: name.to_owned(),
                outcome: Outcome::Failed("interrupted".into()),
                took: Duration::ZERO,
            });
            return None;
        }
        println!("\n==> {name}");
        let started = Instant::now();
        let result = f(&self.narrator);
        let took = started.elapsed();
        let (value, outcome) = match result {
            Ok((value, detail)) => (Some(value), Outcome::Ok(detail)),
            Err(Error::Interrupted) => {
                self.failed = true;
                (None, Outcome::Failed("interrupted".into()))
            }
            Err(e) => {
                self.failed = true;
                self.narrator.say(&format!("FAILED: {e}"));
                (None, Outcome::Failed(first_line(&e.to_string())))
            }
        };
        self.report.steps.push(Step {
            name: name.to_owned(),
            outcome,
            took,
        });
        value
    }

    /// The report, with every step that did not run marked skipped.
    fn finish(mut self) -> Report {
        for name in PLAN {
            if !self.report.steps.iter().any(|s| s.name == name) {
                self.report.steps.push(Step {
                    name: name.to_owned(),
                    outcome: Outcome::Skipped,
                    took: Duration::ZERO,
                });
            }
        }
        self.report
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Runs the whole demo and removes everything it created before
/// returning (unless `--keep`, which waits for `cancel` first).
pub fn run(options: &Options, cancel: &Cancel) -> Report {
    let mut runner = Runner {
        cancel,
        narrator: Narrator::new(),
        report: Report::default(),
        failed: false,
    };
    // Locals drop in reverse order: processes stop first, then the API
    // server, the state file, and last the namespaces.
    let Some(net) = runner.step(setup::NETWORK, setup::network) else {
        return runner.finish();
    };
    runner.report.namespaces = net.namespaces().into_iter().map(|(_, ns)| ns).collect();
    let Some((mut state, cluster)) =
        runner.step(setup::API_SERVER, |n| setup::api_server(options, &net, n))
    else {
        return runner.finish();
    };
    let mut daemons = crate::daemons::Daemons::new(options.programs.clone(), state.dir());
    let _ = runner.step(setup::CONTROLLER, |n| {
        setup::controller(cancel, &net, &state, &mut daemons, n)
    });
    let _ = runner.step(setup::ROUTERS_READY, |n| {
        setup::routers(cancel, &net, &mut daemons, n)
    });
    let _ = runner.step(setup::SPEAKERS, |n| {
        setup::speakers(cancel, &net, &state, &mut daemons, n)
    });
    let _ = state.record(daemons.pids());
    let _ = runner.step(setup::SESSIONS, |n| setup::sessions(cancel, &daemons, n));
    let addresses = runner.step(services::ASSIGNED, |n| {
        services::assign(cancel, &net, &cluster, n)
    });
    if let Some(addresses) = addresses {
        runner.report.addresses = addresses.clone();
        services::run_traffic(
            &mut runner,
            &net,
            &cluster,
            &daemons,
            &addresses,
            options.requests,
        );
        outages::run(&mut runner, &net, &cluster, &mut daemons, &addresses);
    }
    let ok = !runner.failed;
    if options.keep && !cancel.is_cancelled() {
        let _ = state.record(daemons.pids());
        keep::wait(
            &net,
            &state,
            &daemons,
            runner.report.addresses.clone(),
            ok,
            cancel,
        );
    }
    drop(daemons);
    drop(cluster);
    drop(state);
    drop(net);
    runner.finish()
}
