//! FerroLB's side of an interop test: one peer running in-process on a thread inside a
//! namespace, driven from the (blocking) test thread.
//!
//! The namespace thread owns a current-thread tokio runtime with a [`Listener`] on the session
//! address and one peer from [`spawn_peer`]. Session events come back over a channel; the test
//! thread keeps them in order and folds UPDATEs into a table of what FerroLB has learned.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ferrolb_bgp::session::{
    spawn_peer, Listener, Negotiated, PeerConfig, PeerControl, SessionDown, SessionEvent, BGP_PORT,
};
use ferrolb_bgp::{AddressFamily, NextHop, PathAttributes, Update};
use ferrolb_testbed::{Netns, NsThread};
use ipnet::IpNet;
use tokio::sync::oneshot;

/// How long the test thread blocks on the event channel before looking at other things.
const PUMP_SLICE: Duration = Duration::from_millis(100);

/// A route FerroLB learned from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// NEXT_HOP or the MP_REACH_NLRI next hop.
    pub next_hop: NextHop,
    /// The path attributes, without the MP_REACH/MP_UNREACH NLRI.
    pub attributes: PathAttributes,
}

/// What FerroLB currently holds from the peer, by prefix.
pub type Rib = BTreeMap<IpNet, Learned>;

/// A FerroLB peer running inside a namespace.
pub struct Ferro {
    address: IpAddr,
    control: PeerControl,
    events: mpsc::Receiver<SessionEvent>,
    seen: Vec<SessionEvent>,
    cursor: usize,
    rib: Rib,
    /// Ends the namespace thread, whose runtime then drops the session.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl Ferro {
    /// Starts a peer for `config` in `ns`, listening on its local address (port 179), and
    /// starts its session (ManualStart).
    pub fn start(ns: &Netns, config: PeerConfig) -> Ferro {
        let local = config
            .local_address
            .expect("interop peers bind their session address");
        let address = config.address;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = ns
            .spawn_thread_in(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drive(config, local, ready_tx, event_tx, stop_rx));
                // Dropping the runtime drops whatever session is left, without a word to the peer.
                drop(runtime);
            })
            .unwrap();
        let control = match ready_rx.recv_timeout(super::T) {
            Ok(control) => control,
            Err(e) => {
                let panic = thread.join().err();
                panic!("FerroLB peer did not start ({e}): {panic:?}");
            }
        };
        Ferro {
            address,
            control,
            events,
            seen: Vec::new(),
            cursor: 0,
            rib: Rib::new(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Sends UPDATEs (only delivered while the session is Established).
    pub fn send(&self, updates: Vec<Update>) {
        futures::executor::block_on(self.control.send_updates(updates)).unwrap();
    }

    /// Sends End-of-RIB for each family.
    pub fn send_end_of_rib(&self, families: &[AddressFamily]) {
        self.send(families.iter().map(|f| Update::end_of_rib(*f)).collect());
    }

    /// Every event so far, in order.
    pub fn events(&self) -> &[SessionEvent] {
        &self.seen
    }

    /// What FerroLB holds from the peer right now.
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// Receives at most one event, waiting up to `slice` (or until `deadline`); false if none came.
    fn pump(&mut self, deadline: Instant, slice: Duration) -> bool {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(slice);
        match self.events.recv_timeout(wait) {
            Ok(event) => {
                apply(&mut self.rib, &event);
                self.seen.push(event);
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let panic = self.thread.take().and_then(|t| t.join().err());
                panic!(
                    "FerroLB peer {} ended: {panic:?}; events: {:#?}",
                    self.address, self.seen
                );
            }
        }
    }

    /// Takes events in order until one matches `pred` and returns it; `during` runs at least
    /// every [`PUMP_SLICE`] (use it to watch the daemon meanwhile). Panics after `timeout`.
    pub fn wait_event_while(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&SessionEvent) -> bool,
        mut during: impl FnMut(),
    ) -> SessionEvent {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(event) = self.seen.get(self.cursor) {
                self.cursor += 1;
                if pred(event) {
                    return event.clone();
                }
            }
            during();
            if Instant::now() >= deadline {
                panic!(
                    "FerroLB peer {}: no {what} within {timeout:?}; events: {:#?}",
                    self.address, self.seen
                );
            }
            self.pump(deadline, PUMP_SLICE);
        }
    }

    /// Takes events in order until one matches `pred` and returns it; panics after `timeout`.
    pub fn wait_event(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&SessionEvent) -> bool,
    ) -> SessionEvent {
        self.wait_event_while(what, timeout, pred, || {})
    }

    /// Waits for the next Established and returns what was negotiated.
    pub fn wait_established(&mut self, timeout: Duration) -> Negotiated {
        match self.wait_event("Established", timeout, |e| {
            matches!(e, SessionEvent::Established { .. })
        }) {
            SessionEvent::Established { negotiated, .. } => negotiated,
            _ => unreachable!(),
        }
    }

    /// Waits for the next Down and returns it.
    pub fn wait_down(&mut self, timeout: Duration) -> SessionDown {
        match self.wait_event("Down", timeout, |e| matches!(e, SessionEvent::Down(_))) {
            SessionEvent::Down(down) => down,
            _ => unreachable!(),
        }
    }

    /// Waits until what FerroLB learned satisfies `pred`; panics after `timeout`.
    pub fn wait_rib(&mut self, what: &str, timeout: Duration, pred: impl Fn(&Rib) -> bool) {
        let deadline = Instant::now() + timeout;
        while !pred(&self.rib) {
            if Instant::now() >= deadline {
                panic!(
                    "FerroLB peer {}: {what} not within {timeout:?}; learned: {:#?}",
                    self.address, self.rib
                );
            }
            self.pump(deadline, PUMP_SLICE);
        }
    }

    /// Collects events for `duration` and returns the ones that came meanwhile.
    pub fn watch(&mut self, duration: Duration) -> &[SessionEvent] {
        let from = self.seen.len();
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.pump(deadline, duration);
        }
        self.cursor = self.seen.len();
        &self.seen[from..]
    }

    /// Kills the session abruptly: the runtime holding it is dropped, so the connection closes
    /// without a NOTIFICATION, as when FerroLB's process dies. The peer is unusable afterwards.
    pub fn abort(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The thread may already have ended (and reported why through `pump`).
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !std::thread::panicking() {
                joined.unwrap();
            }
        }
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        // The thread must end before its namespace is deleted.
        self.abort();
    }
}

/// The namespace thread's work: bind, start the peer, forward events until told to stop.
async fn drive(
    config: PeerConfig,
    local: IpAddr,
    ready: mpsc::Sender<PeerControl>,
    events_out: mpsc::Sender<SessionEvent>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = Listener::bind(&[SocketAddr::new(local, BGP_PORT)]).unwrap();
    let peer = spawn_peer(config, Some(&listener)).unwrap();
    peer.start().await.unwrap();
    let (control, mut events) = peer.into_parts();
    // The test thread's clone keeps the peer running: a peer whose every handle is gone
    // shuts down gracefully, which is not what `abort` is for.
    if ready.send(control).is_err() {
        return;
    }
    loop {
        tokio::select! {
            _ = &mut stop => return,
            event = events.recv() => match event {
                Some(event) => {
                    if events_out.send(event).is_err() {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

/// Folds one session event into what FerroLB holds from the peer.
fn apply(rib: &mut Rib, event: &SessionEvent) {
    match event {
        SessionEvent::Update(update) => {
            for prefix in update.withdrawn_prefixes() {
                rib.remove(&prefix);
            }
            let attributes = update.attributes.without_nlri();
            for (prefix, next_hop) in update.announced() {
                let learned = Learned {
                    next_hop,
                    attributes: attributes.clone(),
                };
                rib.insert(prefix, learned);
            }
        }
        // Without graceful restart on FerroLB's receiving side, a session's routes go with it.
        SessionEvent::Down(_) => rib.clear(),
        _ => {}
    }
}
