//! The tokio task that runs one peer: commands, connections, timers, collisions, events.

use std::collections::VecDeque;

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::codec::CodecOptions;
use crate::fsm::collision::{self, Contender, Keep, Origin};
use crate::fsm::{open_check, Action, Event, State, Timer};
use crate::message::{Message, Open};

use super::config::PeerConfig;
use super::connection::{Connection, Received};
use super::handle::{Control, Outbound, PeerControl, PeerHandle, SessionEvent};
use super::listener::Registration;
use super::slot::{Slot, SlotInput};
use super::socket;

/// Capacity of the event channel to the application.
const EVENT_CHANNEL: usize = 1024;
/// Capacity of the data channel from the application.
const DATA_CHANNEL: usize = 256;
/// Stop reading from the peer while this many events wait for room in the event channel.
const EVENT_BACKLOG: usize = 16;
/// Outbound items taken in one go before the write buffer gets a chance to drain.
const SEND_BATCH: usize = 256;

/// Which slot an input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Primary,
    Candidate,
}

/// Events waiting for room in the application's channel.
#[derive(Debug)]
struct EventSink {
    tx: mpsc::Sender<SessionEvent>,
    queue: VecDeque<SessionEvent>,
}

impl EventSink {
    fn push(&mut self, event: SessionEvent) {
        self.queue.push_back(event);
    }

    fn flush(&mut self) {
        while let Some(event) = self.queue.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.queue.push_front(event);
                    return;
                }
                // Nobody listens any more.
                Err(mpsc::error::TrySendError::Closed(_)) => self.queue.clear(),
            }
        }
    }

    fn has_room(&self) -> bool {
        self.queue.len() < EVENT_BACKLOG
    }
}

/// A dynamic neighbour: its handle goes to the application once the session is Established,
/// and the task ends with the connection.
#[derive(Debug)]
pub(crate) struct Dynamic {
    pub deliver: Option<(mpsc::Sender<PeerHandle>, PeerHandle)>,
}

/// One peer's task.
#[derive(Debug)]
pub(crate) struct PeerTask {
    config: PeerConfig,
    primary: Slot,
    candidate: Option<Slot>,
    control_rx: mpsc::Receiver<Control>,
    data_rx: mpsc::Receiver<Outbound>,
    data_open: bool,
    incoming_rx: Option<mpsc::Receiver<TcpStream>>,
    events: EventSink,
    reported: State,
    dynamic: Option<Dynamic>,
    first: Option<TcpStream>,
    finished: bool,
    _registration: Option<Registration>,
}

impl PeerTask {
    /// A task and the handle that controls it.
    pub(crate) fn new(
        config: PeerConfig,
        registration: Option<(Registration, mpsc::Receiver<TcpStream>)>,
    ) -> (PeerTask, PeerHandle) {
        let (control_tx, control_rx) = mpsc::channel(16);
        let (data_tx, data_rx) = mpsc::channel(DATA_CHANNEL);
        let (events_tx, events_rx) = mpsc::channel(EVENT_CHANNEL);
        let control = PeerControl {
            peer: config.address,
            control: control_tx,
            data: data_tx,
        };
        let (registration, incoming_rx) = registration.unzip();
        let task = PeerTask {
            primary: Slot::new(config.session.clone()),
            config,
            candidate: None,
            control_rx,
            data_rx,
            data_open: true,
            incoming_rx,
            events: EventSink {
                tx: events_tx,
                queue: VecDeque::new(),
            },
            reported: State::Idle,
            dynamic: None,
            first: None,
            finished: false,
            _registration: registration,
        };
        (task, PeerHandle::new(control, events_rx))
    }

    /// Makes this a dynamic neighbour started by an accepted connection.
    pub(crate) fn dynamic(
        mut self,
        first: TcpStream,
        deliver: (mpsc::Sender<PeerHandle>, PeerHandle),
    ) -> PeerTask {
        self.first = Some(first);
        self.dynamic = Some(Dynamic {
            deliver: Some(deliver),
        });
        self
    }

    /// Runs the task on the current tokio runtime.
    pub(crate) fn spawn(self) {
        let span = tracing::info_span!("bgp_peer", peer = %self.config.address);
        tokio::spawn(self.run().instrument(span));
    }

    async fn run(mut self) {
        if let Some(stream) = self.first.take() {
            self.feed(Which::Primary, Event::AutomaticStart { passive: true });
            self.attach(stream, Origin::Remote);
        }
        while !self.finished {
            self.events.flush();
            if self.dynamic.is_some() && self.primary.conn.is_none() && self.candidate.is_none() {
                // A dynamic neighbour lives as long as its connection.
                break;
            }
            let read = self.events.has_room();
            let can_send = self.primary.state() != State::Established
                || self
                    .primary
                    .conn
                    .as_ref()
                    .is_some_and(Connection::can_queue);
            tokio::select! {
                biased;
                control = self.control_rx.recv() => self.on_control(control.unwrap_or(Control::Shutdown)),
                input = self.primary.next(read) => self.on_input(Which::Primary, input),
                input = next_candidate(self.candidate.as_mut(), read) => self.on_input(Which::Candidate, input),
                stream = recv_incoming(self.incoming_rx.as_mut()) => match stream {
                    Some(stream) => self.on_incoming(stream),
                    None => self.incoming_rx = None,
                },
                data = self.data_rx.recv(), if self.data_open && can_send => match data {
                    Some(data) => self.on_data(data),
                    None => self.data_open = false,
                },
                open = has_room(&self.events.tx), if !self.events.queue.is_empty() => {
                    // Room now and `flush` at the top of the loop uses it, unless nobody listens.
                    if !open {
                        self.events.queue.clear();
                    }
                }
            }
        }
        self.events.flush();
        tracing::debug!("peer task ended");
    }

    fn slot(&mut self, which: Which) -> Option<&mut Slot> {
        match which {
            Which::Primary => Some(&mut self.primary),
            Which::Candidate => self.candidate.as_mut(),
        }
    }

    fn on_control(&mut self, control: Control) {
        tracing::debug!(?control, "command");
        match control {
            Control::Start => self.feed(
                Which::Primary,
                Event::ManualStart {
                    passive: self.config.session.passive,
                },
            ),
            Control::Stop | Control::Shutdown => {
                self.feed(Which::Candidate, Event::ManualStop);
                self.feed(Which::Primary, Event::ManualStop);
                self.finished |= control == Control::Shutdown;
            }
            Control::Close(notification) => {
                self.feed(Which::Candidate, Event::AutomaticStop(notification.clone()));
                self.feed(Which::Primary, Event::AutomaticStop(notification));
            }
            // The connections close when the task drops them, with nothing sent first.
            Control::Abandon => self.finished = true,
        }
    }

    fn on_input(&mut self, which: Which, input: SlotInput) {
        match input {
            SlotInput::Timer(timer) => self.feed(which, timer.expiry_event()),
            SlotInput::Received(Received::Message(Message::Open(open))) => {
                self.on_open(which, open)
            }
            SlotInput::Received(Received::Message(msg)) => {
                self.feed(which, Event::from_message(msg))
            }
            SlotInput::Received(Received::Malformed(n)) => {
                tracing::warn!(notification = %n, "malformed message from peer");
                self.feed(which, Event::from_decode_error(n));
            }
            SlotInput::Received(Received::Closed(error)) => {
                match error {
                    Some(e) => tracing::info!(error = %e, "connection failed"),
                    None => tracing::info!("connection closed by peer"),
                }
                self.feed(which, Event::TcpConnectionFails);
            }
            SlotInput::Connected(Ok(stream)) => self.attach(stream, Origin::Local),
            SlotInput::Connected(Err(e)) => {
                tracing::debug!(error = %e, "outgoing connection failed");
                if self.slot(which).is_some_and(|s| s.conn.is_none()) {
                    self.feed(which, Event::TcpConnectionFails);
                }
            }
        }
    }

    fn on_incoming(&mut self, stream: TcpStream) {
        let v6 = self.config.address.is_ipv6();
        if let Err(e) = socket::configure_session(&stream, v6, self.config.ttl) {
            tracing::warn!(error = %e, "cannot configure accepted connection; closing it");
            return;
        }
        self.attach(stream, Origin::Remote);
    }

    /// Gives a new connection to the primary machine if it is waiting for one, else to a
    /// candidate machine for collision detection, else closes it.
    fn attach(&mut self, stream: TcpStream, origin: Origin) {
        let conn = match Connection::new(stream, origin) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "connection gone before use");
                return;
            }
        };
        let event = match origin {
            Origin::Local => Event::TcpConnectionAcknowledged,
            Origin::Remote => Event::TcpConnectionConfirmed,
        };
        let remote = conn.remote;
        if self.primary.state() == State::Idle && self.primary.fsm.is_running(Timer::IdleHold) {
            // Restart pending after an error: IdleHold spaces our own attempts, but turning
            // the peer away would only make it wait out its (often long) ConnectRetry.
            self.feed(Which::Primary, Event::AutomaticStart { passive: true });
        }
        let primary_state = self.primary.state();
        if self.primary.conn.is_none() && matches!(primary_state, State::Connect | State::Active) {
            tracing::debug!(%remote, ?origin, "connection up");
            self.primary.conn = Some(conn);
            self.feed(Which::Primary, event);
        } else if self.primary.conn.is_some()
            && primary_state.has_connection()
            && self.candidate.is_none()
        {
            tracing::info!(%remote, ?origin, state = %primary_state, "second connection; running collision detection");
            let mut candidate = Slot::new(self.config.session.clone());
            candidate.conn = Some(conn);
            self.candidate = Some(candidate);
            self.feed(Which::Candidate, Event::AutomaticStart { passive: true });
            self.feed(Which::Candidate, event);
        } else {
            tracing::info!(%remote, ?origin, state = %primary_state, "connection refused");
            conn.close();
        }
    }

    fn on_data(&mut self, first: Outbound) {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(data) = next.take() {
            self.queue_outbound(data);
            taken += 1;
            let room = self
                .primary
                .conn
                .as_ref()
                .is_some_and(Connection::can_queue);
            if taken < SEND_BATCH && room {
                next = self.data_rx.try_recv().ok();
            }
        }
    }

    fn queue_outbound(&mut self, data: Outbound) {
        if self.primary.state() != State::Established {
            tracing::debug!("not established; outbound data dropped");
            return;
        }
        let refresh_ok = |family| {
            self.primary
                .fsm
                .negotiated()
                .is_some_and(|n| n.route_refresh && n.families.contains(&family))
        };
        match data {
            Outbound::Updates(updates) => {
                for update in updates {
                    self.primary.send(&Message::Update(update));
                }
            }
            Outbound::Encoded(bytes) => {
                if let Some(conn) = self.primary.conn.as_mut() {
                    conn.queue_encoded(&bytes);
                }
            }
            Outbound::RouteRefresh(family) if refresh_ok(family) => {
                self.primary.send(&Message::RouteRefresh(family));
            }
            Outbound::RouteRefresh(family) => {
                tracing::warn!(%family, "peer did not negotiate route refresh for this family; not sent");
            }
        }
    }

    /// Runs one event through a slot's machine, carries out the actions, then settles the
    /// slots (promotion, collisions, reporting).
    fn feed(&mut self, which: Which, event: Event) {
        let Some(slot) = self.slot(which) else {
            return;
        };
        let actions = slot.fsm.handle(event);
        for action in actions {
            self.execute(which, action);
        }
        self.settle();
    }

    fn execute(&mut self, which: Which, action: Action) {
        if action == Action::Connect {
            let config = self.config.clone();
            if let Some(slot) = self.slot(which) {
                slot.abort_connect();
                slot.connecting = Some(tokio::spawn(async move { socket::connect(&config).await }));
            }
            return;
        }
        let candidate_alive = self.candidate.as_ref().is_some_and(|c| c.conn.is_some());
        let Some(slot) = self.slot(which) else {
            return;
        };
        match action {
            Action::Connect => {}
            Action::DropConnection => slot.drop_connection(),
            Action::SendOpen(open) => slot.send(&Message::Open(open)),
            Action::SendKeepalive => slot.send(&Message::Keepalive),
            Action::SendNotification(n) => {
                tracing::info!(notification = %n, "sending NOTIFICATION");
                slot.send(&Message::Notification(n));
            }
            Action::StartTimer(timer, duration) => slot.timers.start(timer, duration),
            Action::StopTimer(timer) => slot.timers.stop(timer),
            Action::Established(_) => {
                if which == Which::Primary {
                    self.report_state();
                    self.report_established();
                }
            }
            Action::Down(down) => {
                // A primary that failed before Established while a candidate connection lives
                // on is replaced by the candidate: the application sees no outage.
                let replaced = candidate_alive && down.from != State::Established;
                if which == Which::Primary && !replaced {
                    tracing::info!(from = %down.from, reason = %down.reason, sent = ?down.sent, received = ?down.received, "session down");
                    self.events.push(SessionEvent::Down(down));
                } else {
                    tracing::debug!(?which, from = %down.from, reason = %down.reason, "colliding connection closed");
                }
            }
            Action::DeliverUpdate(_)
            | Action::DeliverEndOfRib(_)
            | Action::DeliverRouteRefresh(_)
                if which == Which::Candidate => {}
            Action::DeliverUpdate(update) => self.events.push(SessionEvent::Update(update)),
            Action::DeliverEndOfRib(family) => self.events.push(SessionEvent::EndOfRib(family)),
            Action::DeliverRouteRefresh(family) => {
                self.events.push(SessionEvent::RouteRefresh(family))
            }
        }
    }

    fn report_established(&mut self) {
        let (Some(negotiated), Some(conn)) =
            (self.primary.fsm.negotiated(), self.primary.conn.as_ref())
        else {
            return;
        };
        tracing::info!(
            remote = %conn.remote,
            peer_asn = negotiated.peer_asn,
            peer_id = %negotiated.peer_router_id,
            hold = ?negotiated.hold_time,
            "session established"
        );
        self.events.push(SessionEvent::Established {
            negotiated: negotiated.clone(),
            local: conn.local,
            remote: conn.remote,
        });
        if let Some((tx, handle)) = self.dynamic.as_mut().and_then(|d| d.deliver.take()) {
            if tx.try_send(handle).is_err() {
                tracing::warn!("nobody takes new dynamic neighbours; closing");
                self.feed(Which::Primary, Event::ManualStop);
                self.finished = true;
            }
        }
    }

    /// After every event: drop a dead candidate, promote a live one over a dead primary,
    /// update codec options and report state changes.
    fn settle(&mut self) {
        if self.candidate.as_ref().is_some_and(|c| c.conn.is_none()) {
            tracing::debug!("candidate connection closed");
            self.candidate = None;
        }
        if self.primary.conn.is_none() && self.candidate.is_some() {
            self.promote();
        }
        if self.primary.state() == State::Idle {
            self.primary.abort_connect();
        }
        self.sync_codec_options();
        self.report_state();
    }

    fn promote(&mut self) {
        let Some(candidate) = self.candidate.take() else {
            return;
        };
        tracing::info!(state = %candidate.state(), "the other connection takes over");
        // Dropping the old primary abandons its connection attempt and pending restart.
        drop(std::mem::replace(&mut self.primary, candidate));
        if self.primary.state() == State::Established {
            self.report_state();
            self.report_established();
        }
    }

    fn sync_codec_options(&mut self) {
        for slot in std::iter::once(&mut self.primary).chain(self.candidate.as_mut()) {
            let opts = slot.fsm.negotiated().map(|n| CodecOptions {
                four_octet_as: n.four_octet_as,
                extended_message: n.extended_message,
            });
            if let (Some(opts), Some(conn)) = (opts, slot.conn.as_mut()) {
                if conn.options() != opts {
                    conn.set_options(opts);
                }
            }
        }
    }

    /// Connection collision detection (RFC 4271 section 6.8) on the receipt of an OPEN while
    /// another connection to the peer exists, before the OPEN is processed: the OPEN carries
    /// the peer's identifier, both speakers decide alike, and the losing connection is closed
    /// with Cease/Connection Collision Resolution before a KEEPALIVE goes out on it.
    fn on_open(&mut self, which: Which, open: Open) {
        let contested = self.primary.conn.is_some()
            && self.candidate.as_ref().is_some_and(|c| c.conn.is_some())
            && open_check::check_open(&self.config.session, &open).is_ok();
        if !contested {
            self.feed(which, Event::BgpOpen(open));
            return;
        }
        let s = &self.config.session;
        let preferred =
            collision::preferred_origin(s.router_id, s.local_asn, open.router_id, open.asn);
        let contender = |slot: &Slot| Contender {
            origin: slot.conn.as_ref().map_or(Origin::Remote, |c| c.origin),
            state: slot.state(),
        };
        let existing = contender(&self.primary);
        let new = self.candidate.as_ref().map_or(existing, contender);
        // A peer that announced graceful restart and connects again has restarted (RFC 4724).
        let replace = existing.state == State::Established
            && self
                .primary
                .fsm
                .negotiated()
                .is_some_and(|n| n.graceful_restart.is_some());
        let keep = collision::resolve(existing, new, preferred, replace);
        let loser = match keep {
            Keep::Existing => Which::Candidate,
            Keep::New => Which::Primary,
        };
        tracing::info!(?keep, ?preferred, existing = ?existing, new = ?new, "connection collision resolved");
        self.feed(loser, Event::OpenCollisionDump);
        if loser != which {
            // The winner is (or, after the promotion, has become) the primary.
            self.feed(Which::Primary, Event::BgpOpen(open));
        }
    }

    fn report_state(&mut self) {
        let state = self.primary.state();
        if state != self.reported {
            tracing::info!(from = %self.reported, to = %state, "state changed");
            self.events.push(SessionEvent::StateChanged {
                from: self.reported,
                to: state,
            });
            self.reported = state;
        }
    }
}

async fn next_candidate(slot: Option<&mut Slot>, read: bool) -> SlotInput {
    match slot {
        Some(slot) => slot.next(read).await,
        None => std::future::pending().await,
    }
}

/// Waits until the channel has room; false if it is closed.
async fn has_room(tx: &mpsc::Sender<SessionEvent>) -> bool {
    tx.reserve().await.is_ok()
}

async fn recv_incoming(rx: Option<&mut mpsc::Receiver<TcpStream>>) -> Option<TcpStream> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
