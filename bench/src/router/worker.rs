//! A worker: one node's BGP speaker announcing the benchmark's prefixes with itself as next hop,
//! optionally with a BFD session to the router, on a thread inside the worker's own namespace.
//!
//! It reuses `bgp-bench`'s peer and injector: the session comes up, the UPDATEs are encoded,
//! and the worker waits for the go, then sends them as fast as the router reads and keeps the
//! session alive until told to stop. Stopping closes its TCP connection (the router sees the
//! speaker go away); a worker that dies silently is modelled by taking its link down first (see
//! [`super::topology`]), so that neither BFD nor TCP says a word.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use ferrolb_bfd::{BfdDriver, DriverConfig, SessionKey, SessionParams, SessionStatus, State};
use ferrolb_testbed::{Netns, NsThread};
use ipnet::IpNet;
use tokio::sync::watch;

use crate::injector::{inject, Feed, InjectorReport};
use crate::peer::{establish, PeerIdentity};

/// How often a worker retries binding its BFD port while its previous incarnation lets go.
const BFD_BIND_RETRY: Duration = Duration::from_millis(100);
/// How many times.
const BFD_BIND_ATTEMPTS: u32 = 50;

/// What a worker is.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    /// Its BGP identity (address, AS, hold time).
    pub identity: PeerIdentity,
    /// The router's address.
    pub router: Ipv4Addr,
    /// Its interface on the segment (for a single-hop BFD session).
    pub interface: String,
    /// BFD towards the router, when set.
    pub bfd: Option<SessionParams>,
    /// How long the router may take to accept the session.
    pub setup_timeout: Duration,
}

/// A worker whose session is Established and whose UPDATEs are ready to go.
#[derive(Debug)]
pub struct Worker {
    /// Who it is.
    pub identity: PeerIdentity,
    /// Its BFD session's status, when it runs BFD.
    pub bfd: Option<watch::Receiver<SessionStatus>>,
    stop: watch::Sender<bool>,
    thread: Option<NsThread<Result<InjectorReport, String>>>,
}

/// What the worker thread reports once it is ready.
type Ready = Result<Option<watch::Receiver<SessionStatus>>, String>;

impl Worker {
    /// Starts the worker in `netns` and waits until its session is up and its `prefixes` are
    /// encoded; it sends them once `go` turns true.
    pub fn start(
        netns: &Netns,
        plan: WorkerPlan,
        prefixes: Arc<Vec<IpNet>>,
        go: watch::Receiver<bool>,
    ) -> Result<Worker, String> {
        let (ready_tx, ready_rx) = std_mpsc::channel::<Ready>();
        let (stop, stop_rx) = watch::channel(false);
        let identity = plan.identity;
        let timeout = plan.setup_timeout;
        let thread = netns
            .spawn_thread_in(move || run(plan, prefixes, go, stop_rx, ready_tx))
            .map_err(|e| e.to_string())?;
        let mut worker = Worker {
            identity,
            bfd: None,
            stop,
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(timeout + Duration::from_secs(10)) {
            Ok(Ok(bfd)) => {
                worker.bfd = bfd;
                Ok(worker)
            }
            Ok(Err(e)) => Err(format!("worker {}: {e}", identity.address)),
            Err(_) => {
                // The thread may have failed before reporting: its own error says why.
                let why = worker.finish().err();
                Err(format!(
                    "worker {}: {}",
                    identity.address,
                    why.unwrap_or_else(|| "never became ready".into())
                ))
            }
        }
    }

    /// Whether its BFD session is Up (false without BFD).
    pub fn bfd_up(&self) -> bool {
        self.bfd
            .as_ref()
            .is_some_and(|s| s.borrow().state == State::Up)
    }

    /// Whether it has not been stopped yet.
    pub fn is_running(&self) -> bool {
        self.thread.is_some()
    }

    /// Stops the worker: its session closes (the router sees the TCP connection end). Returns
    /// what it saw; an error if its session had failed.
    pub fn finish(&mut self) -> Result<InjectorReport, String> {
        let _ = self.stop.send(true);
        let Some(thread) = self.thread.take() else {
            return Err("already stopped".into());
        };
        match thread.join() {
            Ok(report) => report,
            Err(_) => Err("the worker thread panicked".into()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.finish();
        }
    }
}

/// The worker thread.
fn run(
    plan: WorkerPlan,
    prefixes: Arc<Vec<IpNet>>,
    go: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
    ready: std_mpsc::Sender<Ready>,
) -> Result<InjectorReport, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"));
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    runtime.block_on(async move {
        let setup = async {
            // The driver's thread starts here, so it lives in this worker's namespace.
            let bfd = match plan.bfd {
                Some(params) => Some(start_bfd(&plan, params).await?),
                None => None,
            };
            let router = SocketAddrV4::new(plan.router, ferrolb_bgp::session::BGP_PORT);
            let session = establish(plan.identity, router, plan.setup_timeout)
                .await
                .map_err(|e| e.to_string())?;
            let feed = Feed::encode(
                &prefixes,
                plan.identity.asn,
                plan.identity.address,
                session.opts,
            )
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((bfd, session, feed))
        };
        let (bfd, session, feed) = match setup.await {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e.clone()));
                return Err(e);
            }
        };
        let _ = ready.send(Ok(bfd.as_ref().map(|(_, status)| status.clone())));
        let report = inject(session, Arc::new(feed), go, stop).await;
        // Dropping the driver stops it without telling the router (a dead node says nothing).
        drop(bfd);
        match &report.error {
            Some(e) => Err(e.clone()),
            None => Ok(report),
        }
    })
}

/// Starts a BFD driver and the session with the router; retries while an earlier worker on the
/// same address still holds the BFD port.
async fn start_bfd(
    plan: &WorkerPlan,
    params: SessionParams,
) -> Result<(BfdDriver, watch::Receiver<SessionStatus>), String> {
    let config = DriverConfig {
        ipv6: false,
        ..DriverConfig::default()
    };
    let mut attempt = 0;
    let driver = loop {
        match BfdDriver::start(config.clone()) {
            Ok(driver) => break driver,
            Err(e) if attempt < BFD_BIND_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(error = %e, "BFD driver not started yet; retrying");
                tokio::time::sleep(BFD_BIND_RETRY).await;
            }
            Err(e) => return Err(format!("starting BFD: {e}")),
        }
    };
    let key = SessionKey::single_hop(IpAddr::V4(plan.router), IpAddr::V4(plan.identity.address))
        .on_interface(&plan.interface);
    let handle = driver
        .add_session(key, params)
        .map_err(|e| format!("adding the BFD session: {e}"))?;
    Ok((driver, handle.state()))
}
