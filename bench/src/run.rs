//! One benchmark run: a scenario against one device under test, from an empty topology to the
//! measurements.
//!
//! ```text
//!  namespace "dut"                    namespace "peers"
//!  +--------------------+   veth   +------------------------------------------+
//!  | DUT 198.18.0.1     |----------| monitor 198.18.0.2 (AS 65002)            |
//!  | AS 65000           |          | injectors 198.18.0.11.. (AS 65101..)     |
//!  +--------------------+          +------------------------------------------+
//! ```
//!
//! The peers run on one thread inside their namespace (a current-thread tokio runtime): they
//! connect to the DUT, are Established, encode their UPDATEs, and then wait for the go. The
//! main thread reads the DUT's memory at that point (the baseline), gives the go, and waits.
//! The clock runs from the first injector's first UPDATE octet to the moment the monitor holds
//! every prefix.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use ferrolb_bgp::codec::EncodeError;
use ferrolb_testbed::{Netns, VethPair};
use ipnet::{IpNet, Ipv4Net};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::dut::{DutKind, DutPlan, RunningDut};
use crate::injector::{inject, Feed, InjectorReport};
use crate::memory::ProcessGroup as _;
use crate::memory::Resident;
use crate::monitor::{monitor, MonitorReport};
use crate::peer::{establish, PeerError, PeerIdentity};
use crate::prefixes::{PrefixSet, PrefixSetError};
use crate::scenario::Scenario;

/// The DUT's AS.
pub const DUT_ASN: u32 = 65000;
/// The monitor's AS.
pub const MONITOR_ASN: u32 = 65002;
/// The first injector's AS; the others follow.
pub const FIRST_INJECTOR_ASN: u32 = 65101;
/// Hold time on every session: long enough that a DUT busy for a minute keeps its sessions.
pub const HOLD_TIME: u16 = 90;
/// How long the DUT may take to start and establish every session.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

const SUBNET_LEN: u8 = 24;
const DUT_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const MONITOR_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const FIRST_INJECTOR_HOST: u8 = 11;

/// How one run is done.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// What is sent.
    pub scenario: Scenario,
    /// Who is measured.
    pub dut: DutKind,
    /// The `ferrolb-routeserver` executable.
    pub routeserver: PathBuf,
    /// How long the DUT gets to deliver every prefix once the injectors start.
    pub timeout: Duration,
    /// FRR: run zebra too (`bgpd -n`) instead of `bgpd -Z`.
    pub frr_zebra: bool,
    /// FerroLB: transparent route server (RFC 7947) instead of plain eBGP.
    pub transparent: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The monitor held every prefix after this long.
    Converged {
        /// Seconds from the first UPDATE octet to the last prefix at the monitor.
        seconds: f64,
    },
    /// The monitor did not hold every prefix within the time limit.
    Timeout {
        /// The limit, in seconds.
        limit: f64,
        /// Prefixes it held by then.
        held: u32,
    },
    /// Something broke (a session, the DUT, the topology).
    Failed(String),
}

/// The DUT's memory at the go and at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// Once every session was up, before the first UPDATE.
    pub baseline: Resident,
    /// After the run (its `peak` is the high-water mark over the whole run).
    pub end: Resident,
}

/// Everything measured in one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// What was sent.
    pub scenario: Scenario,
    /// Who was measured.
    pub dut: DutKind,
    /// How it ended.
    pub outcome: Outcome,
    /// The DUT's processes whose memory was summed.
    pub processes: Vec<String>,
    /// Memory, when it could be read.
    pub memory: Option<MemoryUse>,
    /// Seconds until the last injector's socket took its End-of-RIB.
    pub injected_seconds: Option<f64>,
    /// Seconds until the monitor received its first prefix.
    pub first_route_seconds: Option<f64>,
    /// UPDATEs each injector sent.
    pub updates_per_injector: usize,
    /// Fewest and most prefixes per UPDATE sent.
    pub prefixes_per_update: (usize, usize),
    /// What the monitor ended up holding (distinct prefixes of the set).
    pub monitor_held: u32,
    /// Prefix announcements (repeats included) the monitor received.
    pub monitor_announcements: u64,
    /// Announcements of prefixes outside the set the monitor received.
    pub monitor_foreign: u64,
    /// Prefixes the DUT announced to the injectors, all together (should be none).
    pub injectors_received: u64,
    /// Fastest and slowest converged time when this result is the median of several runs.
    pub time_range: Option<(f64, f64)>,
}

impl RunResult {
    pub(crate) fn failed(config: &RunConfig, why: String) -> RunResult {
        RunResult {
            scenario: config.scenario,
            dut: config.dut,
            outcome: Outcome::Failed(why),
            processes: Vec::new(),
            memory: None,
            injected_seconds: None,
            first_route_seconds: None,
            updates_per_injector: 0,
            prefixes_per_update: (0, 0),
            monitor_held: 0,
            monitor_announcements: 0,
            monitor_foreign: 0,
            injectors_received: 0,
            time_range: None,
        }
    }

    /// Prefixes per second delivered to the monitor, when the run converged.
    pub fn rate(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Converged { seconds } if seconds > 0.0 => {
                Some(f64::from(self.scenario.prefixes) / seconds)
            }
            _ => None,
        }
    }

    /// Memory the routes took, per path held: peak minus baseline over prefixes x injectors.
    pub fn bytes_per_path(&self) -> Option<f64> {
        let m = self.memory?;
        let paths = self.scenario.paths();
        (paths > 0).then(|| m.end.peak.saturating_sub(m.baseline.now) as f64 / paths as f64)
    }
}

/// The median of repeated runs of one (scenario, DUT) by time to converge; timeouts count as
/// slower than any converged run, failures as slower still. With several converged runs, their
/// fastest and slowest times go into [`RunResult::time_range`]. `None` for no runs.
pub fn median(mut runs: Vec<RunResult>) -> Option<RunResult> {
    let key = |r: &RunResult| match r.outcome {
        Outcome::Converged { seconds } => (0, seconds),
        Outcome::Timeout { .. } => (1, 0.0),
        Outcome::Failed(_) => (2, 0.0),
    };
    runs.sort_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let times: Vec<f64> = runs
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Converged { seconds } => Some(seconds),
            _ => None,
        })
        .collect();
    let range = match (times.first(), times.last()) {
        (Some(&fastest), Some(&slowest)) if times.len() > 1 => Some((fastest, slowest)),
        _ => None,
    };
    let middle = runs.len() / 2;
    let mut chosen = runs.into_iter().nth(middle)?;
    chosen.time_range = range;
    Some(chosen)
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The topology or a daemon failed.
    #[error(transparent)]
    Testbed(#[from] ferrolb_testbed::Error),
    /// A benchmark peer's session failed.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The UPDATEs could not be encoded.
    #[error("encoding UPDATEs: {0}")]
    Encode(#[from] EncodeError),
    /// The scenario's prefixes do not fit.
    #[error(transparent)]
    Prefixes(#[from] PrefixSetError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The benchmark peers' addresses and ASNs for `injectors` injectors.
pub fn plan(config: &RunConfig) -> DutPlan {
    let peer = |address, asn| PeerIdentity {
        address,
        asn,
        hold_time: HOLD_TIME,
    };
    let injectors = (0..config.scenario.injectors)
        .map(|i| {
            let host = u32::from(FIRST_INJECTOR_HOST) + i;
            let address = Ipv4Addr::from(u32::from(DUT_ADDRESS) - 1 + host);
            peer(address, FIRST_INJECTOR_ASN + i)
        })
        .collect();
    DutPlan {
        asn: DUT_ASN,
        address: DUT_ADDRESS,
        hold_time: HOLD_TIME,
        monitor: peer(MONITOR_ADDRESS, MONITOR_ASN),
        injectors,
        frr_zebra: config.frr_zebra,
        transparent: config.transparent,
    }
}

/// Carries out one run. Never panics on a misbehaving DUT: failures become
/// [`Outcome::Failed`]. Everything it creates is gone when it returns.
pub fn run(config: &RunConfig) -> RunResult {
    match try_run(config) {
        Ok(result) => result,
        Err(e) => RunResult::failed(config, e.to_string()),
    }
}

fn host_net(address: Ipv4Addr) -> Result<IpNet, RunError> {
    Ipv4Net::new(address, SUBNET_LEN)
        .map(IpNet::V4)
        .map_err(|e| RunError::Other(e.to_string()))
}

/// What the peers thread tells the main thread once it is ready to start.
struct Ready {
    updates: usize,
    prefixes_per_update: (usize, usize),
}

/// What the peers thread hands back at the end.
struct PeersOutcome {
    monitor: MonitorReport,
    injectors: Vec<InjectorReport>,
    timed_out: bool,
    abort: Option<String>,
}

fn try_run(config: &RunConfig) -> Result<RunResult, RunError> {
    let set = config.scenario.prefix_set()?;
    let plan = plan(config);
    let dut_ns = Netns::new("dut")?;
    let peers_ns = Netns::new("peers")?;
    let veth = VethPair::create(&dut_ns, "eth0", &peers_ns, "eth0")?;
    veth.a.add_addr(host_net(plan.address)?)?;
    veth.b.add_addr(host_net(plan.monitor.address)?)?;
    for i in &plan.injectors {
        veth.b.add_addr(host_net(i.address)?)?;
    }
    let dut = RunningDut::start(config.dut, &dut_ns, &plan, &config.routeserver)?;
    tracing::info!(scenario = %config.scenario, dut = %config.dut, processes = ?dut.labels(), "started");

    let (ready_tx, ready_rx) = std_mpsc::channel::<Result<Ready, String>>();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let peers_plan = plan.clone();
    let timeout = config.timeout;
    let peers = peers_ns.spawn_thread_in(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::Other(format!("building the peers' runtime: {e}")))?;
        runtime.block_on(drive_peers(peers_plan, set, timeout, ready_tx, go_rx))
    })?;

    let ready = match ready_rx.recv_timeout(SETUP_TIMEOUT + Duration::from_secs(30)) {
        Ok(Ok(ready)) => ready,
        Ok(Err(e)) => return Err(abandon(peers, &dut, e)),
        Err(_) => return Err(abandon(peers, &dut, "the peers never became ready".into())),
    };
    let baseline = dut.resident().ok();
    if go_tx.send(()).is_err() {
        return Err(abandon(peers, &dut, "the peers quit before the go".into()));
    }
    let outcome = peers
        .join()
        .map_err(|_| RunError::Other("the peers thread panicked".into()))??;
    let end = dut.resident().ok();
    let still_running = dut.check_running();

    let start = outcome.injectors.iter().filter_map(|r| r.started).min();
    let since_start = |t: Option<Instant>| -> Option<f64> {
        let (t, s) = (t?, start?);
        Some(t.saturating_duration_since(s).as_secs_f64())
    };
    let injected = if outcome.injectors.iter().all(|r| r.finished.is_some()) {
        since_start(outcome.injectors.iter().filter_map(|r| r.finished).max())
    } else {
        None
    };
    let problems: Vec<String> = outcome
        .abort
        .iter()
        .cloned()
        .chain(
            outcome
                .monitor
                .error
                .iter()
                .map(|e| format!("monitor: {e}")),
        )
        .chain(
            outcome
                .injectors
                .iter()
                .filter_map(|r| r.error.as_ref().map(|e| format!("injector: {e}"))),
        )
        .chain(still_running.err().map(|e| e.to_string()))
        .collect();
    let result_outcome = match (since_start(outcome.monitor.complete), outcome.timed_out) {
        (Some(seconds), _) => Outcome::Converged { seconds },
        (None, true) => Outcome::Timeout {
            limit: config.timeout.as_secs_f64(),
            held: outcome.monitor.counter.held(),
        },
        (None, false) => Outcome::Failed(if problems.is_empty() {
            "the monitor stopped before holding every prefix".into()
        } else {
            problems.join("; ")
        }),
    };
    if !problems.is_empty() {
        tracing::warn!(dut = %config.dut, ?problems, "problems during the run");
        if !matches!(result_outcome, Outcome::Converged { .. }) {
            tracing::warn!(log = %dut.log(), "DUT log");
        }
    }
    let injectors_received = outcome.injectors.iter().map(|r| r.prefixes_received).sum();
    let result = RunResult {
        scenario: config.scenario,
        dut: config.dut,
        outcome: result_outcome,
        processes: dut.labels(),
        memory: baseline
            .zip(end)
            .map(|(baseline, end)| MemoryUse { baseline, end }),
        injected_seconds: injected,
        first_route_seconds: since_start(outcome.monitor.first_route),
        updates_per_injector: ready.updates,
        prefixes_per_update: ready.prefixes_per_update,
        monitor_held: outcome.monitor.counter.held(),
        monitor_announcements: outcome.monitor.counter.announcements,
        monitor_foreign: outcome.monitor.counter.foreign,
        injectors_received,
        time_range: None,
    };
    // Stop the DUT before the namespaces go.
    drop(dut);
    Ok(result)
}

/// Gives up on a run whose peers never got going: waits for the peers thread (it ends once its
/// go channel is dropped or its setup fails) and reports why, with the DUT's log.
fn abandon(
    peers: ferrolb_testbed::NsThread<Result<PeersOutcome, RunError>>,
    dut: &RunningDut,
    why: String,
) -> RunError {
    let detail = match peers.join() {
        Ok(Err(e)) => e.to_string(),
        _ => why,
    };
    tracing::warn!(log = %dut.log(), "DUT log");
    let running = dut.check_running().err().map(|e| format!(" ({e})"));
    RunError::Other(format!("{detail}{}", running.unwrap_or_default()))
}

/// The peers' side of a run, on the peers thread.
async fn drive_peers(
    plan: DutPlan,
    set: PrefixSet,
    timeout: Duration,
    ready: std_mpsc::Sender<Result<Ready, String>>,
    go: oneshot::Receiver<()>,
) -> Result<PeersOutcome, RunError> {
    let setup = async {
        let dut = SocketAddrV4::new(plan.address, ferrolb_bgp::session::BGP_PORT);
        let monitor_session = establish(plan.monitor, dut, SETUP_TIMEOUT).await?;
        let mut sessions = Vec::new();
        for id in &plan.injectors {
            sessions.push((id, establish(*id, dut, SETUP_TIMEOUT).await?));
        }
        let prefixes = set.to_vec();
        let mut feeds = Vec::new();
        for (id, session) in &sessions {
            feeds.push(Arc::new(Feed::encode(
                &prefixes,
                id.asn,
                id.address,
                session.opts,
            )?));
        }
        Ok::<_, RunError>((monitor_session, sessions, feeds))
    };
    let setup = tokio::time::timeout(SETUP_TIMEOUT, setup)
        .await
        .unwrap_or_else(|_| {
            Err(RunError::Other(format!(
                "sessions not established within {SETUP_TIMEOUT:?}"
            )))
        });
    let (monitor_session, sessions, feeds) = match setup {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return Err(e);
        }
    };
    let first = feeds.first();
    let _ = ready.send(Ok(Ready {
        updates: first.map_or(0, |f| f.updates),
        prefixes_per_update: first.map_or((0, 0), |f| f.prefixes_per_update),
    }));
    go.await
        .map_err(|_| RunError::Other("the run was called off before the go".into()))?;

    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (complete_tx, mut complete_rx) = watch::channel(false);
    let (abort_tx, mut abort_rx) = mpsc::unbounded_channel::<String>();
    let monitor_task = {
        let abort = abort_tx.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let report = monitor(monitor_session, set, complete_tx, stop).await;
            if let Some(e) = &report.error {
                let _ = abort.send(format!("monitor: {e}"));
            }
            report
        })
    };
    let injector_tasks: Vec<_> = sessions
        .into_iter()
        .zip(feeds)
        .map(|((_, session), feed)| {
            let (go, stop, abort) = (go_rx.clone(), stop_rx.clone(), abort_tx.clone());
            tokio::spawn(async move {
                let report = inject(session, feed, go, stop).await;
                if let Some(e) = &report.error {
                    let _ = abort.send(format!("injector: {e}"));
                }
                report
            })
        })
        .collect();
    let _ = go_tx.send(true);
    let deadline = tokio::time::sleep(timeout);
    let (timed_out, abort) = tokio::select! {
        _ = crate::peer::fired(&mut complete_rx) => (false, None),
        why = abort_rx.recv() => (false, why),
        _ = deadline => (true, None),
    };
    let _ = stop_tx.send(true);
    let monitor = monitor_task
        .await
        .map_err(|e| RunError::Other(format!("monitor task: {e}")))?;
    let mut injectors = Vec::new();
    for t in injector_tasks {
        injectors.push(
            t.await
                .map_err(|e| RunError::Other(format!("injector task: {e}")))?,
        );
    }
    Ok(PeersOutcome {
        monitor,
        injectors,
        timed_out,
        abort,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(injectors: u32) -> RunConfig {
        RunConfig {
            scenario: Scenario::new(injectors, 1000, 24),
            dut: DutKind::Ferrolb,
            routeserver: PathBuf::from("/nonexistent"),
            timeout: Duration::from_secs(1),
            frr_zebra: false,
            transparent: false,
        }
    }

    #[test]
    fn peers_get_distinct_addresses_and_asns_on_the_subnet() {
        let p = plan(&config(10));
        assert_eq!(p.injectors.len(), 10);
        assert_eq!(p.injectors[0].address, Ipv4Addr::new(198, 18, 0, 11));
        assert_eq!(p.injectors[9].address, Ipv4Addr::new(198, 18, 0, 20));
        assert_eq!(p.injectors[9].asn, 65110);
        let mut all: Vec<Ipv4Addr> = p.injectors.iter().map(|i| i.address).collect();
        all.extend([p.address, p.monitor.address]);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 12);
        let last = plan(&config(crate::scenario::MAX_INJECTORS));
        assert_eq!(
            last.injectors.last().unwrap().address,
            Ipv4Addr::new(198, 18, 0, 110)
        );
    }

    #[test]
    fn the_median_run_is_picked_by_time_with_failures_last() {
        let with = |outcome| RunResult {
            outcome,
            ..RunResult::failed(&config(1), String::new())
        };
        let converged = |seconds| with(Outcome::Converged { seconds });
        let timeout = || {
            with(Outcome::Timeout {
                limit: 1.0,
                held: 0,
            })
        };
        let failed = || with(Outcome::Failed("x".into()));
        let cases = vec![
            (vec![], None),
            (
                vec![converged(3.0)],
                Some(Outcome::Converged { seconds: 3.0 }),
            ),
            (
                vec![converged(3.0), converged(1.0), converged(2.0)],
                Some(Outcome::Converged { seconds: 2.0 }),
            ),
            (
                vec![failed(), timeout(), converged(5.0)],
                Some(Outcome::Timeout {
                    limit: 1.0,
                    held: 0,
                }),
            ),
            (
                vec![failed(), converged(4.0), converged(5.0)],
                Some(Outcome::Converged { seconds: 5.0 }),
            ),
        ];
        for (runs, want) in cases {
            assert_eq!(median(runs).map(|r| r.outcome), want);
        }
        let ranged = median(vec![converged(3.0), failed(), converged(1.0)]).unwrap();
        assert_eq!(ranged.time_range, Some((1.0, 3.0)));
        assert_eq!(
            median(vec![converged(3.0), failed()]).unwrap().time_range,
            None
        );
    }

    #[test]
    fn rates_and_memory_per_path_follow_the_outcome() {
        let mut r = RunResult::failed(&config(10), "x".into());
        assert_eq!((r.rate(), r.bytes_per_path()), (None, None));
        r.outcome = Outcome::Converged { seconds: 0.5 };
        r.memory = Some(MemoryUse {
            baseline: Resident {
                now: 1_000_000,
                peak: 1_000_000,
            },
            end: Resident {
                now: 2_000_000,
                peak: 3_000_000,
            },
        });
        assert_eq!(r.rate(), Some(2000.0));
        // (3 MB - 1 MB) / (1000 prefixes x 10 injectors)
        assert_eq!(r.bytes_per_path(), Some(200.0));
    }
}
