//! The BFD driver: sockets and timers for many sessions on one OS thread of its own, running a
//! current-thread tokio runtime, so that no other work in the process (route installation,
//! BGP UPDATE processing) can delay a transmission or a detection. Optionally the thread runs
//! at real-time priority (SCHED_FIFO) when the process may do so.
//!
//! The thread inherits the network namespace of the thread that calls [`BfdDriver::start`].
//!
//! Clients (BGP sessions, VRRP tracking) add a session per peer and watch its
//! [`SessionStatus`]; [`SessionStatus::failure`] turning true is the RFC 5882 signal to drop
//! whatever depends on the path.

mod event_loop;
mod handle;
mod metrics;
mod socket;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, watch};

use crate::error::BfdError;
use crate::packet::{Diag, State};
use crate::session::{SessionParams, SessionStatus};

pub use handle::{Failures, SessionHandle};
use metrics::Metrics;

/// Destination port of single-hop Control packets (RFC 5881 section 4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// Destination port of multihop Control packets (RFC 5883 section 5).
pub const MULTIHOP_PORT: u16 = 4784;

/// The default SCHED_FIFO priority of the driver thread: low among real-time threads, above
/// every normal one.
pub const DEFAULT_REALTIME_PRIORITY: u8 = 10;

/// Single-hop (RFC 5881) or multihop (RFC 5883).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HopMode {
    /// A directly connected peer: port 3784, packets must arrive with TTL 255.
    SingleHop,
    /// A peer several hops away: port 4784, packets must arrive with at least
    /// [`SessionParams::min_ttl`].
    Multihop,
}

impl fmt::Display for HopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HopMode::SingleHop => "single-hop",
            HopMode::Multihop => "multihop",
        })
    }
}

/// What identifies a session: the two addresses, the interface and the mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The peer's address.
    pub peer: IpAddr,
    /// Our address (the source of our packets, and where the peer's must arrive).
    pub local: IpAddr,
    /// For single-hop sessions: the interface packets go out of and must arrive on.
    pub interface: Option<String>,
    /// Single-hop or multihop.
    pub mode: HopMode,
}

impl SessionKey {
    /// A single-hop session between `local` and `peer`.
    pub fn single_hop(peer: IpAddr, local: IpAddr) -> SessionKey {
        SessionKey {
            peer,
            local,
            interface: None,
            mode: HopMode::SingleHop,
        }
    }

    /// A multihop session between `local` and `peer`.
    pub fn multihop(peer: IpAddr, local: IpAddr) -> SessionKey {
        SessionKey {
            mode: HopMode::Multihop,
            ..SessionKey::single_hop(peer, local)
        }
    }

    /// The same session bound to `interface`.
    pub fn on_interface(mut self, interface: &str) -> SessionKey {
        self.interface = Some(interface.to_owned());
        self
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.mode, self.local, self.peer)?;
        if let Some(interface) = &self.interface {
            write!(f, " on {interface}")?;
        }
        Ok(())
    }
}

/// How the driver runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// Where single-hop packets are received (3784).
    pub single_hop_port: u16,
    /// Where multihop packets are received (4784).
    pub multihop_port: u16,
    /// Where single-hop packets are sent to (3784; differs only in tests running two drivers
    /// in one namespace).
    pub peer_single_hop_port: u16,
    /// Where multihop packets are sent to (4784).
    pub peer_multihop_port: u16,
    /// Whether to listen on IPv6 as well (a failure to do so is logged, not fatal).
    pub ipv6: bool,
    /// SCHED_FIFO priority (1-99) for the driver thread, so that timers of 10 ms hold even
    /// while other threads keep every core busy; silently not applied where not permitted
    /// (no CAP_SYS_NICE). `None`: the normal scheduler.
    pub realtime_priority: Option<u8>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            single_hop_port: SINGLE_HOP_PORT,
            multihop_port: MULTIHOP_PORT,
            peer_single_hop_port: SINGLE_HOP_PORT,
            peer_multihop_port: MULTIHOP_PORT,
            ipv6: true,
            realtime_priority: Some(DEFAULT_REALTIME_PRIORITY),
        }
    }
}

impl DriverConfig {
    /// The port packets of `mode` are sent to.
    pub fn peer_port(&self, mode: HopMode) -> u16 {
        match mode {
            HopMode::SingleHop => self.peer_single_hop_port,
            HopMode::Multihop => self.peer_multihop_port,
        }
    }
}

/// Requests from the API to the driver thread.
#[derive(Debug)]
pub(crate) enum Command {
    Add {
        key: SessionKey,
        params: SessionParams,
        status: Arc<watch::Sender<SessionStatus>>,
    },
    SetParams(SessionKey, SessionParams),
    AdminDown(SessionKey),
    AdminUp(SessionKey),
    Remove(SessionKey),
    /// Tell every peer AdminDown, then stop.
    Shutdown,
}

/// The status of a session the driver has not picked up yet.
fn initial_status() -> SessionStatus {
    SessionStatus {
        state: State::Down,
        remote_state: State::Down,
        diag: Diag::None,
        local_discriminator: 0,
        remote_discriminator: 0,
        failure: false,
        failures: 0,
        detection_time: std::time::Duration::ZERO,
    }
}

/// A running BFD driver. Dropping it stops the thread abruptly, as if the process had died
/// (peers detect a failure); [`BfdDriver::shutdown`] tells them first.
#[derive(Debug)]
pub struct BfdDriver {
    commands: mpsc::UnboundedSender<Command>,
    thread: Option<JoinHandle<()>>,
    /// Dropping this sender stops the thread without a word to the peers.
    abort: Option<tokio::sync::oneshot::Sender<()>>,
    statuses: Mutex<HashMap<SessionKey, Arc<watch::Sender<SessionStatus>>>>,
    metrics: Metrics,
}

impl BfdDriver {
    /// Binds the listeners and starts the driver thread (in the caller's network namespace).
    pub fn start(config: DriverConfig) -> Result<BfdDriver, BfdError> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (abort, abort_rx) = tokio::sync::oneshot::channel();
        let metrics = Metrics::default();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread_metrics = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("bfd".into())
            .spawn(move || event_loop::run(config, command_rx, abort_rx, thread_metrics, ready_tx))
            .map_err(|e| BfdError::io("spawning the BFD thread", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(BfdDriver {
                commands,
                thread: Some(thread),
                abort: Some(abort),
                statuses: Mutex::new(HashMap::new()),
                metrics,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(BfdError::DriverGone)
            }
        }
    }

    fn statuses(&self) -> MutexGuard<'_, HashMap<SessionKey, Arc<watch::Sender<SessionStatus>>>> {
        // Poisoning only means a panic elsewhere; the map is still consistent.
        self.statuses.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, command: Command) -> Result<(), BfdError> {
        self.commands
            .send(command)
            .map_err(|_| BfdError::DriverGone)
    }

    /// Starts a session with `key` (or, if it exists, applies `params` to it) and returns a
    /// handle to watch and control it.
    pub fn add_session(
        &self,
        key: SessionKey,
        params: SessionParams,
    ) -> Result<SessionHandle, BfdError> {
        params.validate()?;
        let mut statuses = self.statuses();
        let status = match statuses.get(&key) {
            Some(status) => {
                self.send(Command::SetParams(key.clone(), params))?;
                status.subscribe()
            }
            None => {
                let (tx, rx) = watch::channel(initial_status());
                let tx = Arc::new(tx);
                self.send(Command::Add {
                    key: key.clone(),
                    params,
                    status: tx.clone(),
                })?;
                statuses.insert(key.clone(), tx);
                rx
            }
        };
        Ok(SessionHandle::new(key, status, self.commands.clone()))
    }

    /// Ends the session with `key`, telling the peer AdminDown first (so that its clients do
    /// not take it for a failure, RFC 5882 section 3.2). Handles report the session AdminDown,
    /// then their status channels close.
    pub fn remove_session(&self, key: &SessionKey) {
        if self.statuses().remove(key).is_some() {
            // If the driver is gone, so is the session.
            let _ = self.send(Command::Remove(key.clone()));
        }
    }

    /// Every session and its current status, sorted by key (for admin APIs).
    pub fn sessions(&self) -> Vec<(SessionKey, SessionStatus)> {
        let mut all: Vec<(SessionKey, SessionStatus)> = self
            .statuses()
            .iter()
            .map(|(key, status)| (key.clone(), *status.borrow()))
            .collect();
        all.sort_by_key(|(key, _)| (key.peer, key.local, key.interface.clone(), key.mode as u8));
        all
    }

    /// Registers the BFD metrics (`session_state`, `state_changes`, `detection_events`,
    /// `packets_received`, `packets_sent`, `packets_dropped`, per session) without a prefix:
    /// pass a sub-registry such as the daemon's `bfd`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.metrics.register(registry);
    }

    /// Tells every peer AdminDown and stops the thread.
    pub fn shutdown(mut self) {
        let _ = self.send(Command::Shutdown);
        self.join();
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the BFD driver thread panicked");
            }
        }
    }
}

impl Drop for BfdDriver {
    fn drop(&mut self) {
        if let Some(abort) = self.abort.take() {
            let _ = abort.send(());
        }
        self.join();
    }
}
