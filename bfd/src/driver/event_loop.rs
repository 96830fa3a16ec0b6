//! The driver thread: a current-thread tokio runtime multiplexing the listeners, the API's
//! commands and one timer queue over every session.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot, watch};

use super::metrics::{labels, Labels, Metrics};
use super::socket::{self, Datagram};
use super::{Command, DriverConfig, HopMode, SessionKey};
use crate::error::BfdError;
use crate::packet::{ControlPacket, Diag, State};
use crate::session::{Action, Event, Session, SessionParams, SessionStatus};

/// Receive buffer: a Control packet is 24 octets, at most 255 with authentication.
const BUFFER: usize = 256;

/// A listener on one family and port.
struct Listener {
    mode: HopMode,
    fd: AsyncFd<Socket>,
}

/// The thread's body: binds the listeners, reports readiness, runs until told to stop.
pub(super) fn run(
    config: DriverConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    abort: oneshot::Receiver<()>,
    metrics: Metrics,
    ready: SyncSender<Result<(), BfdError>>,
) {
    set_realtime_priority(config.realtime_priority);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(BfdError::io("building the BFD runtime", e)));
            return;
        }
    };
    runtime.block_on(async move {
        let listeners = match bind_listeners(&config) {
            Ok(listeners) => listeners,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok(())).is_err() {
            return;
        }
        let driver = Driver {
            config,
            sessions: HashMap::new(),
            by_key: HashMap::new(),
            timers: BTreeSet::new(),
            rng: StdRng::from_entropy(),
            metrics,
        };
        driver.run(listeners, commands, abort).await;
    });
}

/// SCHED_FIFO for this thread when asked for and permitted; otherwise the normal scheduler.
fn set_realtime_priority(priority: Option<u8>) {
    let Some(priority) = priority else { return };
    let param = libc::sched_param {
        sched_priority: libc::c_int::from(priority.clamp(1, 99)),
    };
    // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        tracing::info!(priority, "BFD thread runs at real-time priority");
    } else {
        tracing::debug!(priority, error = %io::Error::last_os_error(), "no real-time priority for the BFD thread");
    }
}

fn bind_listeners(config: &DriverConfig) -> Result<Vec<Listener>, BfdError> {
    let mut listeners = Vec::new();
    for ipv6 in [false, true] {
        if ipv6 && !config.ipv6 {
            continue;
        }
        for (mode, port) in [
            (HopMode::SingleHop, config.single_hop_port),
            (HopMode::Multihop, config.multihop_port),
        ] {
            let socket = match socket::listener(ipv6, port) {
                Ok(socket) => socket,
                Err(e) if ipv6 => {
                    tracing::warn!(error = %e, "BFD runs without IPv6");
                    continue;
                }
                Err(e) => return Err(e),
            };
            // SAFETY: the socket owns its descriptor, which stays open and unchanged until the
            // AsyncFd (and with it the socket) is dropped.
            let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
                .map_err(|e| BfdError::io("registering a BFD listener", e.into_parts().1))?;
            listeners.push(Listener { mode, fd });
        }
    }
    Ok(listeners)
}

/// Waits for the next datagram on `listener` (forever if there is none).
async fn receive(listener: Option<&Listener>) -> (HopMode, io::Result<(Datagram, [u8; BUFFER])>) {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    loop {
        let mut guard = match listener.fd.readable().await {
            Ok(guard) => guard,
            Err(e) => return (listener.mode, Err(e)),
        };
        let mut buf = [0u8; BUFFER];
        if let Ok(result) = guard.try_io(|fd| socket::receive(fd.get_ref(), &mut buf)) {
            return (listener.mode, result.map(|d| (d, buf)));
        }
    }
}

/// One session and what the driver keeps beside it.
struct Entry {
    key: SessionKey,
    session: Session,
    status: Arc<watch::Sender<SessionStatus>>,
    labels: Labels,
    destination: SocketAddr,
    /// Created on first use, so that a session may be added before its address exists.
    sender: Option<Socket>,
    /// The last send error, to log each kind once rather than at every packet.
    send_error: Option<io::ErrorKind>,
    interface_index: Option<u32>,
    deadline: Option<Instant>,
}

impl Entry {
    fn transmit(&mut self, packet: &ControlPacket, metrics: &Metrics) {
        if self.sender.is_none() {
            match socket::sender(self.key.local, self.key.interface.as_deref()) {
                Ok(sender) => self.sender = Some(sender),
                Err(e) => return self.send_failed(e, metrics),
            }
        }
        let Some(sender) = &self.sender else { return };
        match sender.send_to(&packet.encode(), &self.destination.into()) {
            Ok(_) => {
                self.send_error = None;
                metrics.sent(&self.labels);
            }
            Err(e) => self.send_failed(e, metrics),
        }
    }

    fn send_failed(&mut self, error: io::Error, metrics: &Metrics) {
        metrics.dropped("send-error");
        if self.send_error != Some(error.kind()) {
            tracing::warn!(session = %self.key, %error, "cannot send BFD packets");
            self.send_error = Some(error.kind());
        }
    }

    /// Whether a packet that arrived on interface `ifindex` may belong to this session.
    fn interface_matches(&mut self, ifindex: Option<u32>) -> bool {
        let Some(name) = &self.key.interface else {
            return true;
        };
        if self.interface_index.is_none() {
            self.interface_index = socket::interface_index(name);
        }
        self.interface_index.is_some() && self.interface_index == ifindex
    }
}

struct Driver {
    config: DriverConfig,
    sessions: HashMap<u32, Entry>,
    by_key: HashMap<SessionKey, u32>,
    /// (deadline, local discriminator) of every session with a deadline.
    timers: BTreeSet<(Instant, u32)>,
    rng: StdRng,
    metrics: Metrics,
}

impl Driver {
    async fn run(
        mut self,
        listeners: Vec<Listener>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut abort: oneshot::Receiver<()>,
    ) {
        let listener = |i: usize| listeners.get(i);
        loop {
            let deadline = self.timers.first().map(|(at, _)| *at);
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = &mut abort => return,
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => return self.shutdown(),
                    Some(command) => self.command(command),
                },
                _ = sleep => {}
                (mode, received) = receive(listener(0)) => self.received(mode, received),
                (mode, received) = receive(listener(1)) => self.received(mode, received),
                (mode, received) = receive(listener(2)) => self.received(mode, received),
                (mode, received) = receive(listener(3)) => self.received(mode, received),
            }
            self.expire_timers(Instant::now());
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Add {
                key,
                params,
                status,
            } => self.add(key, params, status, now),
            Command::SetParams(key, params) => self.event(&key, Event::SetParams(params), now),
            Command::AdminDown(key) => self.event(&key, Event::AdminDown, now),
            Command::AdminUp(key) => self.event(&key, Event::AdminUp, now),
            Command::Remove(key) => self.remove(&key, now),
            Command::Shutdown => {}
        }
    }

    fn add(
        &mut self,
        key: SessionKey,
        params: SessionParams,
        status: Arc<watch::Sender<SessionStatus>>,
        now: Instant,
    ) {
        if self.by_key.contains_key(&key) {
            return self.event(&key, Event::SetParams(params), now);
        }
        let discr = loop {
            let candidate: u32 = self.rng.gen();
            if candidate != 0 && !self.sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        tracing::info!(session = %key, discriminator = discr, ?params, "BFD session added");
        let entry = Entry {
            destination: SocketAddr::new(key.peer, self.config.peer_port(key.mode)),
            labels: labels(&key),
            session: Session::new(discr, params, now),
            key: key.clone(),
            status,
            sender: None,
            send_error: None,
            interface_index: None,
            deadline: None,
        };
        self.sessions.insert(discr, entry);
        self.by_key.insert(key, discr);
        self.apply(discr, Vec::new());
    }

    fn remove(&mut self, key: &SessionKey, now: Instant) {
        self.event(key, Event::AdminDown, now);
        if let Some(discr) = self.by_key.remove(key) {
            if let Some(entry) = self.sessions.remove(&discr) {
                if let Some(at) = entry.deadline {
                    self.timers.remove(&(at, discr));
                }
                self.metrics.remove(&entry.labels);
                tracing::info!(session = %key, "BFD session removed");
            }
        }
    }

    /// Graceful stop: every peer hears AdminDown.
    fn shutdown(mut self) {
        let now = Instant::now();
        let discriminators: Vec<u32> = self.sessions.keys().copied().collect();
        for discr in discriminators {
            self.event_for(discr, Event::AdminDown, now);
        }
    }

    fn event(&mut self, key: &SessionKey, event: Event, now: Instant) {
        if let Some(discr) = self.by_key.get(key).copied() {
            self.event_for(discr, event, now);
        }
    }

    fn event_for(&mut self, discr: u32, event: Event, now: Instant) {
        let Some(entry) = self.sessions.get_mut(&discr) else {
            return;
        };
        let actions = entry.session.handle(now, event, &mut self.rng);
        self.apply(discr, actions);
    }

    fn expire_timers(&mut self, now: Instant) {
        while let Some(&(at, discr)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(entry) = self.sessions.get_mut(&discr) {
                entry.deadline = None;
            }
            self.event_for(discr, Event::Timer, now);
        }
    }

    /// Carries out a session's actions, then updates its timer, status and metrics.
    fn apply(&mut self, discr: u32, actions: Vec<Action>) {
        let Some(entry) = self.sessions.get_mut(&discr) else {
            return;
        };
        for action in actions {
            match action {
                Action::Send(packet) => entry.transmit(&packet, &self.metrics),
                Action::StateChanged(t) => {
                    let (key, from, to, diag) = (&entry.key, t.from, t.to, t.diag);
                    if t.failure {
                        tracing::warn!(session = %key, %from, %to, ?diag, "BFD session failed");
                    } else {
                        tracing::info!(session = %key, %from, %to, ?diag, "BFD session state");
                    }
                    self.metrics.state_changed(&entry.labels);
                    if t.diag == Diag::ControlDetectionTimeExpired
                        && matches!(t.from, State::Init | State::Up)
                    {
                        self.metrics.detection_event(&entry.labels);
                    }
                }
            }
        }
        let status = entry.session.status();
        self.metrics.set_state(&entry.labels, status.state.code());
        entry.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
        let deadline = entry.session.next_deadline();
        if deadline != entry.deadline {
            if let Some(old) = entry.deadline {
                self.timers.remove(&(old, discr));
            }
            if let Some(new) = deadline {
                self.timers.insert((new, discr));
            }
            entry.deadline = deadline;
        }
    }

    fn received(&mut self, mode: HopMode, received: io::Result<(Datagram, [u8; BUFFER])>) {
        let (datagram, buf) = match received {
            Ok(received) => received,
            Err(e) => {
                tracing::warn!(error = %e, "receiving BFD packets");
                return;
            }
        };
        let now = Instant::now();
        let bytes = buf.get(..datagram.len).unwrap_or(&buf);
        let packet = match ControlPacket::decode(bytes) {
            Ok(packet) => packet,
            Err(e) => {
                self.metrics.dropped("invalid");
                tracing::debug!(source = %datagram.source, error = %e, "BFD packet discarded");
                return;
            }
        };
        let Some(discr) = self.demultiplex(mode, &datagram, &packet) else {
            self.metrics.dropped("no-session");
            tracing::debug!(source = %datagram.source, ?mode, "BFD packet for no session");
            return;
        };
        let Some(entry) = self.sessions.get_mut(&discr) else {
            return;
        };
        let min_ttl = match mode {
            HopMode::SingleHop => u8::MAX,
            HopMode::Multihop => entry.session.params().min_ttl,
        };
        if datagram.ttl.unwrap_or(0) < min_ttl {
            self.metrics.dropped("ttl");
            tracing::debug!(session = %entry.key, ttl = ?datagram.ttl, "BFD packet with too small a TTL");
            return;
        }
        self.metrics.received(&entry.labels);
        self.event_for(discr, Event::Received(packet), now);
    }

    /// The session a packet belongs to (RFC 5880 section 6.3): by Your Discriminator, or, while
    /// that is zero, by addresses, interface and mode. Either way they must all match.
    fn demultiplex(&mut self, mode: HopMode, d: &Datagram, packet: &ControlPacket) -> Option<u32> {
        let matches = |entry: &mut Entry| {
            entry.key.mode == mode
                && entry.key.peer == d.source.ip()
                && d.destination.is_none_or(|to| to == entry.key.local)
                && entry.interface_matches(d.ifindex)
        };
        if packet.your_discriminator != 0 {
            let entry = self.sessions.get_mut(&packet.your_discriminator)?;
            return matches(entry).then_some(packet.your_discriminator);
        }
        self.sessions
            .iter_mut()
            .find_map(|(discr, entry)| matches(entry).then_some(*discr))
    }
}
