//! One BFD session as a pure state machine (RFC 5880 section 6.8, asynchronous mode): events
//! in, actions out. Time is an argument and randomness (jitter) comes from the caller's RNG, so
//! every behaviour is deterministic under test. No I/O.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::BfdError;
use crate::packet::{ControlPacket, Diag, State};
use crate::timers::{detection_time, from_micros, jittered, to_micros, transmit_interval, SLOW_TX};

/// The timing parameters of a session, as configured by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParams {
    /// The fastest rate we would like to send at (bfd.DesiredMinTxInterval once Up).
    pub desired_min_tx: Duration,
    /// The fastest rate we can receive at (bfd.RequiredMinRxInterval). Zero asks the peer
    /// to send nothing.
    pub required_min_rx: Duration,
    /// The detection time multiplier (bfd.DetectMult).
    pub detect_mult: u8,
    /// Passive role: send nothing until the peer has been heard (RFC 5880 section 6.1).
    pub passive: bool,
    /// Multihop sessions only: the smallest IP TTL / hop limit accepted on received packets
    /// (RFC 5883 section 2). Single-hop sessions always require 255 (RFC 5881 section 5).
    pub min_ttl: u8,
}

impl Default for SessionParams {
    /// 300 ms x 3, active, multihop peers at most two hops away (FRR's defaults).
    fn default() -> Self {
        SessionParams {
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
            passive: false,
            min_ttl: 254,
        }
    }
}

impl SessionParams {
    /// `interval` both ways with multiplier `detect_mult`, active.
    pub fn new(interval: Duration, detect_mult: u8) -> SessionParams {
        SessionParams {
            desired_min_tx: interval,
            required_min_rx: interval,
            detect_mult,
            ..SessionParams::default()
        }
    }

    /// Checks what RFC 5880 forbids: a zero multiplier or transmit interval, and intervals
    /// that do not fit the 32-bit microsecond fields.
    pub fn validate(&self) -> Result<(), BfdError> {
        let fits = |d: Duration| d.as_micros() <= u128::from(u32::MAX);
        if self.detect_mult == 0 {
            return Err(BfdError::InvalidParams(
                "detect multiplier must be at least 1".into(),
            ));
        }
        if self.desired_min_tx.is_zero() {
            return Err(BfdError::InvalidParams(
                "desired min TX must not be zero".into(),
            ));
        }
        if !fits(self.desired_min_tx) || !fits(self.required_min_rx) {
            return Err(BfdError::InvalidParams(
                "intervals must be below 4294 s".into(),
            ));
        }
        Ok(())
    }
}

/// A change of the local session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// The local diagnostic after the change.
    pub diag: Diag,
    /// Whether a client should treat this as a forwarding-path failure (RFC 5882 section
    /// 3.2): Up to Down, unless the peer went AdminDown on purpose.
    pub failure: bool,
}

/// What the session asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this Control packet to the peer now.
    Send(ControlPacket),
    /// The session state changed.
    StateChanged(Transition),
}

/// Something that happens to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A Control packet from the peer passed the packet checks and the demultiplexing.
    Received(ControlPacket),
    /// The time given with the event reached [`Session::next_deadline`].
    Timer,
    /// The client changed the timing parameters.
    SetParams(SessionParams),
    /// The client takes the session administratively down.
    AdminDown,
    /// The client releases an administratively down session.
    AdminUp,
}

/// What a client sees of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStatus {
    /// The local state.
    pub state: State,
    /// The peer's state as last heard.
    pub remote_state: State,
    /// The local diagnostic (why the session last went down).
    pub diag: Diag,
    /// Our discriminator.
    pub local_discriminator: u32,
    /// The peer's discriminator (0 until heard, and after a detection timeout).
    pub remote_discriminator: u32,
    /// Whether the last transition was a forwarding-path failure (see
    /// [`Transition::failure`]); clients such as BGP drop their session on it.
    pub failure: bool,
    /// How many failures the session has had: a client that compares counts misses none,
    /// even one the session recovered from before the client looked.
    pub failures: u64,
    /// The detection time in effect (zero while the peer has not been heard).
    pub detection_time: Duration,
}

/// The state variables of one session (RFC 5880 section 6.8.1) and its two timers.
#[derive(Debug, Clone)]
pub struct Session {
    params: SessionParams,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diag,
    /// bfd.DesiredMinTxInterval: what our packets advertise.
    desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval: what our packets advertise.
    required_min_rx: Duration,
    /// The Desired Min TX our own timing follows (differs during a Poll Sequence).
    tx_in_use: Duration,
    /// The Required Min RX the detection time uses (differs during a Poll Sequence).
    rx_in_use: Duration,
    remote_min_rx: Duration,
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    /// A Poll Sequence is in progress.
    polling: bool,
    last_failure: bool,
    failures: u64,
    next_tx: Option<Instant>,
    detect_at: Option<Instant>,
}

impl Session {
    /// A new session in Down state with our discriminator `local_discr` (non-zero, unique in
    /// the driver). An active session sends its first packet at `now`.
    pub fn new(local_discr: u32, params: SessionParams, now: Instant) -> Session {
        let desired_min_tx = params.desired_min_tx.max(SLOW_TX);
        let mut session = Session {
            params,
            state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::None,
            desired_min_tx,
            required_min_rx: params.required_min_rx,
            tx_in_use: desired_min_tx,
            rx_in_use: params.required_min_rx,
            // RFC 5880 section 6.8.1: initialised to 1 microsecond.
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            polling: false,
            last_failure: false,
            failures: 0,
            next_tx: None,
            detect_at: None,
        };
        session.schedule_now(now);
        session
    }

    /// Our discriminator.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    /// The local state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configured parameters.
    pub fn params(&self) -> SessionParams {
        self.params
    }

    /// Whether a Poll Sequence is in progress.
    pub fn is_polling(&self) -> bool {
        self.polling
    }

    /// The client's view.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            diag: self.local_diag,
            local_discriminator: self.local_discr,
            remote_discriminator: self.remote_discr,
            failure: self.last_failure,
            failures: self.failures,
            detection_time: self.detection_time(),
        }
    }

    /// The detection time in effect (RFC 5880 section 6.8.4), zero until the peer is heard.
    pub fn detection_time(&self) -> Duration {
        detection_time(
            self.remote_detect_mult,
            self.rx_in_use,
            self.remote_desired_min_tx,
        )
    }

    /// When [`Event::Timer`] is next due, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.next_tx, self.detect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Applies `event` at `now`; returns what to do, in order.
    pub fn handle<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        event: Event,
        rng: &mut R,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Received(packet) => self.receive(now, &packet, &mut actions),
            Event::Timer => self.expire(now, &mut actions),
            Event::SetParams(params) => self.set_params(now, params),
            Event::AdminDown => {
                if self.state != State::AdminDown {
                    self.change(
                        now,
                        State::AdminDown,
                        Diag::AdministrativelyDown,
                        &mut actions,
                    );
                    self.detect_at = None;
                }
            }
            Event::AdminUp => {
                if self.state == State::AdminDown {
                    self.change(now, State::Down, Diag::AdministrativelyDown, &mut actions);
                }
            }
        }
        self.transmit_if_due(now, rng, &mut actions);
        actions
    }

    /// Reception of a Control packet, RFC 5880 section 6.8.6 after the packet checks.
    fn receive(&mut self, now: Instant, p: &ControlPacket, actions: &mut Vec<Action>) {
        if p.your_discriminator != 0 && p.your_discriminator != self.local_discr {
            return;
        }
        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        let remote_min_rx = from_micros(p.required_min_rx);
        self.remote_desired_min_tx = from_micros(p.desired_min_tx);
        self.remote_detect_mult = p.detect_mult;
        if p.final_ && self.polling {
            self.polling = false;
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
        }
        self.set_remote_min_rx(now, remote_min_rx);
        if self.state == State::AdminDown {
            return;
        }
        self.detect_at = Some(now + self.detection_time());
        match (self.state, p.state) {
            (State::Init | State::Up, State::AdminDown) => {
                self.change(now, State::Down, Diag::NeighborSignaledSessionDown, actions);
            }
            (State::Down, State::Down) => self.change(now, State::Init, Diag::None, actions),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.change(now, State::Up, Diag::None, actions);
            }
            (State::Up, State::Down) => {
                self.change(now, State::Down, Diag::NeighborSignaledSessionDown, actions);
            }
            _ => {}
        }
        if p.poll {
            actions.push(Action::Send(self.packet(false, true)));
        }
        if self.next_tx.is_none() {
            // A passive session starts talking once it has heard the peer.
            self.schedule_now(now);
        }
    }

    /// Records the peer's Required Min RX; a faster rate takes effect at once rather than
    /// after the (possibly one-second) wait already scheduled.
    fn set_remote_min_rx(&mut self, now: Instant, remote_min_rx: Duration) {
        let faster = remote_min_rx < self.remote_min_rx;
        self.remote_min_rx = remote_min_rx;
        if let Some(next) = self.next_tx {
            let interval = transmit_interval(self.tx_in_use, remote_min_rx);
            if faster && next > now + interval {
                self.next_tx = Some(now + interval);
            }
        }
    }

    /// The timers: detection (RFC 5880 section 6.8.4); transmission is handled by the caller.
    fn expire(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.detect_at.is_some_and(|at| at <= now) {
            self.detect_at = None;
            if matches!(self.state, State::Init | State::Up) {
                self.change(now, State::Down, Diag::ControlDetectionTimeExpired, actions);
            }
            self.remote_discr = 0;
            self.remote_state = State::Down;
            self.remote_desired_min_tx = Duration::ZERO;
            self.remote_detect_mult = 0;
        }
    }

    /// New parameters: while Up, a change of either interval starts a Poll Sequence (RFC 5880
    /// section 6.8.3); otherwise they apply at once.
    fn set_params(&mut self, now: Instant, params: SessionParams) {
        let old = self.params;
        self.params = params;
        if self.state == State::Up {
            if (params.desired_min_tx, params.required_min_rx)
                != (old.desired_min_tx, old.required_min_rx)
            {
                self.begin_poll(params.desired_min_tx, params.required_min_rx);
            }
        } else {
            self.desired_min_tx = params.desired_min_tx.max(SLOW_TX);
            self.tx_in_use = self.desired_min_tx;
            self.required_min_rx = params.required_min_rx;
            self.rx_in_use = params.required_min_rx;
        }
        if !self.may_transmit() {
            self.next_tx = None;
        } else if self.next_tx.is_none() {
            self.schedule_now(now);
        }
    }

    /// Advertises new intervals with the Poll bit until a Final comes back. Meanwhile our own
    /// timing uses whichever of old and new is safer: the faster transmission and the slower
    /// reception (RFC 5880 section 6.8.3).
    fn begin_poll(&mut self, desired_min_tx: Duration, required_min_rx: Duration) {
        self.tx_in_use = self.tx_in_use.min(desired_min_tx);
        self.rx_in_use = self.rx_in_use.max(required_min_rx);
        self.desired_min_tx = desired_min_tx;
        self.required_min_rx = required_min_rx;
        self.polling = true;
    }

    fn change(&mut self, now: Instant, to: State, diag: Diag, actions: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        let failure =
            from == State::Up && to == State::Down && self.remote_state != State::AdminDown;
        self.last_failure = failure;
        self.failures += u64::from(failure);
        if to == State::Up {
            // Up at last: switch from the one-second rate to the configured one.
            if self.params.desired_min_tx < SLOW_TX {
                self.begin_poll(self.params.desired_min_tx, self.params.required_min_rx);
            }
        } else {
            self.polling = false;
            self.desired_min_tx = self.params.desired_min_tx.max(SLOW_TX);
            self.tx_in_use = self.desired_min_tx;
            self.required_min_rx = self.params.required_min_rx;
            self.rx_in_use = self.required_min_rx;
        }
        actions.push(Action::StateChanged(Transition {
            from,
            to,
            diag,
            failure,
        }));
        // Tell the peer at once rather than at the next periodic transmission.
        self.schedule_now(now);
    }

    /// RFC 5880 section 6.8.7: nothing periodic while the peer asks for nothing, and nothing
    /// at all from a passive session that has not heard its peer.
    fn may_transmit(&self) -> bool {
        let silent_passive = self.params.passive && self.remote_discr == 0;
        !self.remote_min_rx.is_zero() && !silent_passive
    }

    fn schedule_now(&mut self, now: Instant) {
        self.next_tx = self.may_transmit().then_some(now);
    }

    fn transmit_if_due<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        actions: &mut Vec<Action>,
    ) {
        if !self.may_transmit() {
            self.next_tx = None;
            return;
        }
        if self.next_tx.is_some_and(|at| at <= now) {
            actions.push(Action::Send(self.packet(self.polling, false)));
            let interval = transmit_interval(self.tx_in_use, self.remote_min_rx);
            self.next_tx = Some(now + jittered(interval, self.params.detect_mult, rng));
        }
    }

    /// A packet carrying the current state variables. Poll and Final are never both set.
    fn packet(&self, poll: bool, final_: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll: poll && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.params.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: to_micros(self.desired_min_tx),
            required_min_rx: to_micros(self.required_min_rx),
            required_min_echo_rx: 0,
        }
    }
}

#[cfg(test)]
mod tests;
