//! The runs behind each row of the table, one router at a time on a fresh [`Lab`]:
//!
//! - [`install_run`]: every worker announces the same N /24s; the clock runs from the first
//!   worker's first UPDATE octet until the FIB routes all N through all the workers. Then the
//!   first worker's speaker stops (its TCP connection closes) and the clock runs until every
//!   prefix is routed through exactly the others. The router's peak RSS is read at the end.
//! - [`bfd_run`]: every worker announces the same /32 VIPs, with BFD on every session. Each
//!   trial takes one worker off the network without a word (its link goes down: no BFD Down, no
//!   FIN) and times until no route uses it, then brings it back and waits for the FIB to heal.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrolb_bfd::SessionParams;
use tokio::sync::watch;

use super::dut::{BfdTimers, RouterKind, RouterPlan, RunningRouter};
use super::events::FibEvents;
use super::fib::Tally;
use super::topology::{Lab, INTERFACE, ROUTER_ADDRESS, SUBNET};
use super::watch::{wait_for, Goal, Observation};
use super::worker::{Worker, WorkerPlan};
use crate::memory::ProcessGroup as _;
use crate::peer::PeerIdentity;
use crate::prefixes::{PrefixSet, DEFAULT_BASE};

/// The router's AS.
pub const ROUTER_ASN: u32 = 65000;
/// The workers' AS.
pub const WORKER_ASN: u32 = 65100;
/// BGP hold time: long, so that only BFD (or a closed connection) takes a worker out quickly.
pub const HOLD_TIME: u16 = 90;
/// How long the router may take to start and accept every session.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long BFD sessions may take to come up before a trial.
const BFD_UP_TIMEOUT: Duration = Duration::from_secs(30);
/// A pause after the workers see BFD Up, so the router's side has certainly followed.
const BFD_SETTLE: Duration = Duration::from_millis(300);

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// How many workers announce every prefix.
    pub workers: usize,
    /// The `ferrolb-router` executable.
    pub ferrolb_router: PathBuf,
    /// How long one measurement may take before it counts as a timeout.
    pub timeout: Duration,
    /// BFD timers of the worker-death trials (router and workers alike).
    pub bfd: BfdTimers,
}

/// One timed change of the FIB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Seconds until the goal was met; `None` on a timeout.
    pub seconds: Option<f64>,
    /// The prefixes as last seen.
    pub tally: Tally,
    /// How many next hops each prefix had to have.
    pub next_hops: usize,
}

/// Rows 1-4 for one router and one size.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallResult {
    /// The router.
    pub router: RouterKind,
    /// How many prefixes.
    pub prefixes: u32,
    /// Installing them all through every worker.
    pub install: Option<Measured>,
    /// Removing the stopped worker from every route.
    pub removal: Option<Measured>,
    /// The router's peak resident memory (`VmHWM`, summed over its processes), in bytes.
    pub peak_rss: Option<u64>,
    /// What went wrong, if anything did.
    pub error: Option<String>,
}

/// Row 5 for one router.
#[derive(Debug, Clone, PartialEq)]
pub struct BfdResult {
    /// The router.
    pub router: RouterKind,
    /// How many VIPs.
    pub vips: u32,
    /// Each trial: until no route used the dead worker.
    pub trials: Vec<Measured>,
    /// What went wrong, if anything did.
    pub error: Option<String>,
}

impl BfdResult {
    /// Seconds of the trials that finished, sorted.
    pub fn times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.trials.iter().filter_map(|m| m.seconds).collect();
        t.sort_by(f64::total_cmp);
        t
    }
}

/// The middle value of sorted times (the mean of the two middle ones for an even count).
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0),
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The topology or a daemon.
    #[error(transparent)]
    Testbed(#[from] ferrolb_testbed::Error),
    /// Reading the FIB.
    #[error(transparent)]
    Fib(#[from] super::fib::FibError),
    /// The prefix set.
    #[error(transparent)]
    Prefixes(#[from] crate::prefixes::PrefixSetError),
    /// Anything else (a worker, a timeout).
    #[error("{0}")]
    Other(String),
}

/// A router with its workers on a fresh lab. Dropped in reverse order of the fields: workers
/// first, then the router, then the network.
struct Bench {
    workers: Vec<Worker>,
    router: RunningRouter,
    lab: Lab,
    plans: Vec<WorkerPlan>,
    prefixes: Arc<Vec<ipnet::IpNet>>,
    go: watch::Sender<bool>,
    events: FibEvents,
}

impl Bench {
    fn start(
        config: &BenchConfig,
        kind: RouterKind,
        set: &PrefixSet,
        bfd: Option<BfdTimers>,
    ) -> Result<Bench, RunError> {
        let lab = Lab::new(config.workers)?;
        let plan = RouterPlan {
            asn: ROUTER_ASN,
            address: ROUTER_ADDRESS,
            subnet: SUBNET,
            worker_asn: WORKER_ASN,
            workers: lab.worker_addresses(),
            pool: pool(),
            hold_time: HOLD_TIME,
            bfd,
        };
        let router = RunningRouter::start(kind, &lab.router, &plan, &config.ferrolb_router)?;
        let plans = lab
            .worker_addresses()
            .into_iter()
            .map(|address| WorkerPlan {
                identity: PeerIdentity {
                    address,
                    asn: WORKER_ASN,
                    hold_time: HOLD_TIME,
                },
                router: ROUTER_ADDRESS,
                interface: INTERFACE.to_owned(),
                bfd: bfd.map(|t| {
                    SessionParams::new(
                        Duration::from_millis(u64::from(t.interval_ms)),
                        t.multiplier,
                    )
                }),
                setup_timeout: SETUP_TIMEOUT,
            })
            .collect();
        let (go, _) = watch::channel(false);
        let events = FibEvents::start(&lab.router)
            .map_err(|e| RunError::Other(format!("watching the router's FIB: {e}")))?;
        let mut bench = Bench {
            workers: Vec::new(),
            router,
            lab,
            plans,
            prefixes: Arc::new(set.to_vec()),
            go,
            events,
        };
        for i in 0..bench.plans.len() {
            let worker = bench.start_worker(i)?;
            bench.workers.push(worker);
        }
        Ok(bench)
    }

    fn start_worker(&self, i: usize) -> Result<Worker, RunError> {
        let (Some(site), Some(plan)) = (self.lab.workers.get(i), self.plans.get(i)) else {
            return Err(RunError::Other(format!("no worker {i}")));
        };
        Worker::start(
            &site.ns,
            plan.clone(),
            self.prefixes.clone(),
            self.go.subscribe(),
        )
        .map_err(|e| self.failed(e))
    }

    /// An error with the router's state and log attached.
    fn failed(&self, why: String) -> RunError {
        let running = self.router.check_running().err();
        tracing::warn!(log = %self.router.log(), "router log");
        RunError::Other(match running {
            Some(e) => format!("{why} ({e})"),
            None => why,
        })
    }

    /// Starts a timed change: FIB changes before this one are forgotten.
    fn timing_starts(&self) {
        self.events.clear();
    }

    /// Waits for `goal`, failing if the router died.
    fn wait(&self, goal: &Goal, timeout: Duration) -> Result<Observation, RunError> {
        let mut observation = wait_for(&self.lab.router, goal, timeout)?;
        observation.changed = observation.reached.and_then(|t| self.events.last_change(t));
        if observation.reached.is_none() {
            if let Err(e) = self.router.check_running() {
                return Err(RunError::Other(e.to_string()));
            }
        }
        Ok(observation)
    }

    fn goal(&self, set: PrefixSet, without: Option<usize>) -> Goal {
        let all = self.lab.worker_addresses();
        let avoided = without.and_then(|i| all.get(i).copied());
        Goal {
            set,
            expected: all.into_iter().filter(|a| Some(*a) != avoided).collect(),
            avoided,
        }
    }

    /// Stops every worker still running; the first error any of them had.
    fn finish_workers(&mut self) -> Result<Vec<crate::injector::InjectorReport>, String> {
        let mut reports = Vec::new();
        let mut first_error = None;
        for w in self.workers.iter_mut().filter(|w| w.is_running()) {
            match w.finish() {
                Ok(r) => reports.push(r),
                Err(e) => {
                    first_error.get_or_insert(format!("worker {}: {e}", w.identity.address));
                }
            }
        }
        first_error.map_or(Ok(reports), Err)
    }
}

/// The service pool all benchmark prefixes come from (16.0.0.0/4 holds a million /24s).
fn pool() -> ipnet::Ipv4Net {
    ipnet::Ipv4Net::new(DEFAULT_BASE, 4).unwrap_or_default()
}

fn measured(observation: &Observation, since: Instant, next_hops: usize) -> Measured {
    Measured {
        seconds: observation
            .changed
            .or(observation.reached)
            .map(|t| t.saturating_duration_since(since).as_secs_f64()),
        tally: observation.last,
        next_hops,
    }
}

/// Rows 1, 2, 3 and 4 for `kind` with `prefixes` /24s. Never panics; failures end up in
/// [`InstallResult::error`]. Everything it creates is gone when it returns.
pub fn install_run(config: &BenchConfig, kind: RouterKind, prefixes: u32) -> InstallResult {
    let mut result = InstallResult {
        router: kind,
        prefixes,
        install: None,
        removal: None,
        peak_rss: None,
        error: None,
    };
    if let Err(e) = try_install(config, kind, prefixes, &mut result) {
        result.error = Some(e.to_string());
    }
    result
}

fn try_install(
    config: &BenchConfig,
    kind: RouterKind,
    prefixes: u32,
    result: &mut InstallResult,
) -> Result<(), RunError> {
    let set = PrefixSet::new(DEFAULT_BASE, 24, prefixes)?;
    let mut bench = Bench::start(config, kind, &set, None)?;
    let n = bench.workers.len();
    bench.timing_starts();
    let go_time = Instant::now();
    let _ = bench.go.send(true);
    let installed = bench.wait(&bench.goal(set, None), config.timeout)?;
    // The clock starts at the first UPDATE octet any worker sent (just after the go).
    let victim_report = if installed.reached.is_some() && n > 1 {
        bench.timing_starts();
        let killed = Instant::now();
        let report = bench.workers.first_mut().map(Worker::finish);
        let removed = bench.wait(&bench.goal(set, Some(0)), config.timeout)?;
        result.removal = Some(measured(&removed, killed, n - 1));
        report
    } else {
        None
    };
    result.peak_rss = bench.router.resident().ok().map(|r| r.peak);
    let mut reports = match bench.finish_workers() {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(e);
            Vec::new()
        }
    };
    reports.extend(victim_report.and_then(Result::ok));
    let start = reports
        .iter()
        .filter_map(|r| r.started)
        .map(tokio::time::Instant::into_std)
        .min()
        .unwrap_or(go_time);
    result.install = Some(measured(&installed, start, n));
    if installed.reached.is_none() {
        tracing::warn!(log = %bench.router.log(), "router log after a timeout");
    }
    Ok(())
}

/// Row 5 for `kind`: `trials` worker deaths with `vips` /32s announced by every worker.
pub fn bfd_run(config: &BenchConfig, kind: RouterKind, vips: u32, trials: u32) -> BfdResult {
    let mut result = BfdResult {
        router: kind,
        vips,
        trials: Vec::new(),
        error: None,
    };
    if let Err(e) = try_bfd(config, kind, vips, trials, &mut result) {
        result.error = Some(e.to_string());
    }
    result
}

fn try_bfd(
    config: &BenchConfig,
    kind: RouterKind,
    vips: u32,
    trials: u32,
    result: &mut BfdResult,
) -> Result<(), RunError> {
    let set = PrefixSet::new(DEFAULT_BASE, 32, vips)?;
    let mut bench = Bench::start(config, kind, &set, Some(config.bfd))?;
    let n = bench.workers.len();
    if n < 2 {
        return Err(RunError::Other("worker death needs two workers".into()));
    }
    let _ = bench.go.send(true);
    for trial in 0..trials as usize {
        let healed = bench.wait(&bench.goal(set, None), config.timeout)?;
        if healed.reached.is_none() {
            return Err(bench.failed(format!(
                "trial {trial}: the FIB did not hold every VIP through every worker: {:?}",
                healed.last
            )));
        }
        wait_bfd_up(&bench.workers)?;
        std::thread::sleep(BFD_SETTLE);
        let victim = trial % n;
        let site = bench
            .lab
            .workers
            .get(victim)
            .ok_or_else(|| RunError::Other(format!("no worker {victim}")))?;
        bench.timing_starts();
        let killed = Instant::now();
        site.iface.set_down()?;
        let gone = bench.wait(&bench.goal(set, Some(victim)), config.timeout)?;
        let m = measured(&gone, killed, n - 1);
        tracing::info!(router = %kind, trial, seconds = ?m.seconds, "worker death");
        result.trials.push(m);
        // Bring the worker back as a new node: a fresh speaker and BFD session.
        if let Some(w) = bench.workers.get_mut(victim) {
            let _ = w.finish();
        }
        site.iface.set_up()?;
        let worker = bench.start_worker(victim)?;
        if let Some(slot) = bench.workers.get_mut(victim) {
            *slot = worker;
        }
        if m.seconds.is_none() {
            return Err(bench.failed(format!("trial {trial}: the dead worker stayed in the FIB")));
        }
    }
    Ok(())
}

/// Waits until every worker's BFD session is Up.
fn wait_bfd_up(workers: &[Worker]) -> Result<(), RunError> {
    let deadline = Instant::now() + BFD_UP_TIMEOUT;
    while !workers.iter().all(Worker::bfd_up) {
        if Instant::now() >= deadline {
            let down: Vec<Ipv4Addr> = workers
                .iter()
                .filter(|w| !w.bfd_up())
                .map(|w| w.identity.address)
                .collect();
            return Err(RunError::Other(format!("BFD not Up with {down:?}")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_sorted_times() {
        let cases: [(&[f64], Option<f64>); 4] = [
            (&[], None),
            (&[0.2], Some(0.2)),
            (&[0.1, 0.3], Some(0.2)),
            (&[0.1, 0.2, 0.9], Some(0.2)),
        ];
        for (times, want) in cases {
            assert_eq!(median(times), want, "{times:?}");
        }
    }

    #[test]
    fn the_pool_covers_a_million_slash_24s_and_the_vips() {
        let p = pool();
        assert_eq!(p.to_string(), "16.0.0.0/4");
        let set = PrefixSet::new(DEFAULT_BASE, 24, 1_000_000).unwrap();
        assert!(set.iter().all(|n| p.contains(&n)));
    }
}
