//! The state machine proper: RFC 4271 section 8.2.2, one state at a time.
//!
//! Deviations from the RFC text, all in the direction real implementations take:
//! - A failed outgoing connection (Connect or Active) goes to Active with the ConnectRetry timer
//!   running instead of Idle, so retries need no restart event and incoming connections are
//!   still accepted meanwhile.
//! - `passive` in [`SessionConfig`] means "never connect": no ConnectRetry timer runs.
//! - After the session goes down for any reason but a ManualStop, the IdleHold timer (exponential
//!   backoff on the ConnectRetryCounter) restarts it automatically.
//! - A received NOTIFICATION closes the connection without answering it with an FSM error.
//! - The ConnectRetryCounter is cleared when the session reaches Established.
//! - A second connection arriving in OpenSent, OpenConfirm or Established is not this machine's
//!   business: the driver runs a second machine for it and resolves the collision (see
//!   [`super::collision`]), feeding OpenCollisionDump to the loser.

use std::time::Duration;

use crate::message::{subcode, ErrorCode, Notification};

use super::action::{Action, DownReason, SessionDown, Timer};
use super::backoff::Jitter;
use super::config::SessionConfig;
use super::event::Event;
use super::negotiated::Negotiated;
use super::open_check::{build_open, check_open};
use super::state::State;

/// What going back to Idle does to the ConnectRetryCounter and the automatic restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// ManualStop: counter cleared, no restart.
    Stop,
    /// An error: counter incremented, restart after the IdleHold timer.
    Error,
    /// The peer does not speak our version: restart without counting it as a failure.
    VersionMismatch,
}

/// The session state machine of one connection to one peer.
///
/// Feed it [`Event`]s with [`Fsm::handle`]; carry out the returned [`Action`]s in order.
/// It does no I/O and reads no clock, so the same inputs always give the same outputs (timer
/// jitter comes from the seed given to [`Fsm::new`]).
#[derive(Debug, Clone)]
pub struct Fsm {
    config: SessionConfig,
    state: State,
    connect_retry_counter: u32,
    /// Consecutive outgoing connection attempts that failed (drives the ConnectRetry backoff).
    connect_failures: u32,
    running: [bool; Timer::ALL.len()],
    negotiated: Option<Negotiated>,
    jitter: Jitter,
    out: Vec<Action>,
}

impl Fsm {
    /// A machine in Idle. `seed` feeds the timer jitter.
    pub fn new(config: SessionConfig, seed: u64) -> Fsm {
        Fsm {
            config,
            state: State::Idle,
            connect_retry_counter: 0,
            connect_failures: 0,
            running: [false; Timer::ALL.len()],
            negotiated: None,
            jitter: Jitter::new(seed),
            out: Vec::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration this machine runs with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The parameters settled by the OPEN exchange (from OpenConfirm on).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The RFC's ConnectRetryCounter: failed attempts since the last ManualStart or Established.
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// True while `timer` runs (started and neither stopped nor expired).
    pub fn is_running(&self, timer: Timer) -> bool {
        self.running[timer.index()]
    }

    /// Processes one event and returns the actions to carry out, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        if let Some(timer) = Timer::ALL.into_iter().find(|t| t.expiry_event() == event) {
            self.running[timer.index()] = false;
        }
        match self.state {
            State::Idle => self.idle(event),
            State::Connect | State::Active => self.connecting(event),
            State::OpenSent => self.open_sent(event),
            State::OpenConfirm => self.open_confirm(event),
            State::Established => self.established(event),
        }
        std::mem::take(&mut self.out)
    }

    fn idle(&mut self, event: Event) {
        match event {
            Event::ManualStart { passive } => {
                self.connect_retry_counter = 0;
                self.connect_failures = 0;
                self.stop(Timer::IdleHold);
                self.start_session(passive);
            }
            Event::AutomaticStart { passive } => {
                self.stop(Timer::IdleHold);
                self.start_session(passive);
            }
            Event::IdleHoldTimerExpires => self.start_session(self.config.passive),
            Event::ManualStop => {
                // Cancels a pending automatic restart.
                self.connect_retry_counter = 0;
                self.stop(Timer::IdleHold);
            }
            // Idle refuses connections.
            Event::TcpConnectionAcknowledged | Event::TcpConnectionConfirmed => {
                self.out.push(Action::DropConnection)
            }
            _ => {}
        }
    }

    fn start_session(&mut self, passive: bool) {
        if passive || self.config.passive {
            if !self.config.passive {
                self.start_connect_retry();
            }
            self.state = State::Active;
        } else {
            self.start_connect_retry();
            self.out.push(Action::Connect);
            self.state = State::Connect;
        }
    }

    /// Connect and Active: no BGP message has been sent yet (a connection exists only while
    /// the DelayOpen timer runs).
    fn connecting(&mut self, event: Event) {
        let delay_open_running = self.is_running(Timer::DelayOpen);
        match event {
            Event::ManualStart { .. } | Event::AutomaticStart { .. } => {}
            Event::ManualStop => self.go_idle(DownReason::Stopped, None, None, Exit::Stop),
            Event::AutomaticStop(_) => self.go_idle(DownReason::Stopped, None, None, Exit::Error),
            Event::ConnectRetryTimerExpires if self.state == State::Connect => {
                // The attempt took too long: abandon it and try again.
                self.stop(Timer::DelayOpen);
                self.out.push(Action::DropConnection);
                self.connect_failures = self.connect_failures.saturating_add(1);
                self.start_connect_retry();
                self.out.push(Action::Connect);
            }
            Event::ConnectRetryTimerExpires => {
                self.start_connect_retry();
                self.out.push(Action::Connect);
                self.state = State::Connect;
            }
            Event::DelayOpenTimerExpires => {
                self.stop(Timer::ConnectRetry);
                self.send_open();
            }
            Event::TcpConnectionAcknowledged | Event::TcpConnectionConfirmed => {
                self.connect_failures = 0;
                self.stop(Timer::ConnectRetry);
                match self.config.delay_open {
                    Some(delay) if !delay.is_zero() => self.start(Timer::DelayOpen, delay),
                    _ => self.send_open(),
                }
            }
            Event::TcpConnectionFails => {
                self.stop(Timer::DelayOpen);
                self.out.push(Action::DropConnection);
                if self.state == State::Connect && !delay_open_running {
                    self.connect_failures = self.connect_failures.saturating_add(1);
                }
                self.retry_later();
            }
            Event::BgpOpen(open) if delay_open_running => {
                self.stop(Timer::ConnectRetry);
                self.stop(Timer::DelayOpen);
                match check_open(&self.config, &open) {
                    Ok(negotiated) => {
                        self.out.push(Action::SendOpen(build_open(&self.config)));
                        self.accept_open(negotiated);
                    }
                    Err(n) => self.error(DownReason::ProtocolError, n),
                }
            }
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) if delay_open_running => {
                self.error(DownReason::ProtocolError, n)
            }
            Event::NotifMsg(n) => self.notification_received(n),
            _ => self.go_idle(DownReason::ProtocolError, None, None, Exit::Error),
        }
    }

    fn open_sent(&mut self, event: Event) {
        match event {
            Event::TcpConnectionFails => {
                self.stop(Timer::Hold);
                self.out.push(Action::DropConnection);
                self.retry_later();
            }
            Event::BgpOpen(open) => {
                self.stop(Timer::ConnectRetry);
                match check_open(&self.config, &open) {
                    Ok(negotiated) => self.accept_open(negotiated),
                    Err(n) => self.error(DownReason::ProtocolError, n),
                }
            }
            event => self.common(event, subcode::fsm::UNEXPECTED_IN_OPEN_SENT),
        }
    }

    fn open_confirm(&mut self, event: Event) {
        match event {
            Event::KeepAliveMsg => {
                self.restart_hold_timer();
                self.connect_retry_counter = 0;
                self.state = State::Established;
                if let Some(n) = &self.negotiated {
                    self.out.push(Action::Established(n.clone()));
                }
            }
            event => self.common(event, subcode::fsm::UNEXPECTED_IN_OPEN_CONFIRM),
        }
    }

    fn established(&mut self, event: Event) {
        match event {
            Event::KeepAliveMsg => self.restart_hold_timer(),
            Event::UpdateMsg(update) => {
                self.restart_hold_timer();
                self.out.push(match update.end_of_rib_family() {
                    Some(family) => Action::DeliverEndOfRib(family),
                    None => Action::DeliverUpdate(update),
                });
            }
            Event::RouteRefresh(family) => {
                self.restart_hold_timer();
                // RFC 2918 section 4: ignore requests for what was not negotiated.
                let wanted = self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| self.config.route_refresh && n.families.contains(&family));
                if wanted {
                    self.out.push(Action::DeliverRouteRefresh(family));
                }
            }
            // A message all the same: the peer is alive.
            Event::RouteRefreshIgnored => self.restart_hold_timer(),
            Event::UpdateMsgErr(n) => self.error(DownReason::ProtocolError, n),
            event => self.common(event, subcode::fsm::UNEXPECTED_IN_ESTABLISHED),
        }
    }

    /// The events OpenSent, OpenConfirm and Established handle alike; anything else is an FSM
    /// error with the state's RFC 6608 subcode for unexpected messages.
    fn common(&mut self, event: Event, unexpected_message: u8) {
        match event {
            Event::ManualStart { .. } | Event::AutomaticStart { .. } => {}
            // A second connection: tracked by collision detection, not by this machine.
            Event::TcpConnectionAcknowledged | Event::TcpConnectionConfirmed => {}
            Event::ManualStop => {
                let n = Notification::cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN);
                self.out.push(Action::SendNotification(n.clone()));
                self.go_idle(DownReason::Stopped, Some(n), None, Exit::Stop);
            }
            Event::AutomaticStop(n) => {
                self.out.push(Action::SendNotification(n.clone()));
                self.go_idle(DownReason::Stopped, Some(n), None, Exit::Error);
            }
            Event::HoldTimerExpires => {
                let n = Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new());
                self.error(DownReason::HoldTimerExpired, n);
            }
            Event::KeepaliveTimerExpires if self.state != State::OpenSent => {
                self.out.push(Action::SendKeepalive);
                self.start_keepalive_timer();
            }
            Event::TcpConnectionFails => {
                self.go_idle(DownReason::ConnectionLost, None, None, Exit::Error)
            }
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.error(DownReason::ProtocolError, n)
            }
            Event::OpenCollisionDump => {
                let n = Notification::cease(subcode::cease::CONNECTION_COLLISION_RESOLUTION);
                self.error(DownReason::ConnectionCollision, n);
            }
            Event::NotifMsg(n) => self.notification_received(n),
            event => {
                let sub = if event.is_message() || matches!(event, Event::UpdateMsgErr(_)) {
                    unexpected_message
                } else {
                    subcode::fsm::UNSPECIFIED
                };
                let n = Notification::new(ErrorCode::FiniteStateMachine, sub, Vec::new());
                self.error(DownReason::ProtocolError, n);
            }
        }
    }

    fn send_open(&mut self) {
        self.out.push(Action::SendOpen(build_open(&self.config)));
        self.start(Timer::Hold, self.config.open_hold_time);
        self.state = State::OpenSent;
    }

    /// The peer's OPEN passed: acknowledge it and wait for its KEEPALIVE in OpenConfirm.
    fn accept_open(&mut self, negotiated: Negotiated) {
        self.out.push(Action::SendKeepalive);
        let hold = negotiated.hold_time;
        self.negotiated = Some(negotiated);
        if hold.is_zero() {
            self.stop(Timer::Hold);
        } else {
            self.start(Timer::Hold, hold);
            self.start_keepalive_timer();
        }
        self.state = State::OpenConfirm;
    }

    fn restart_hold_timer(&mut self) {
        if let Some(hold) = self.negotiated.as_ref().map(|n| n.hold_time) {
            if !hold.is_zero() {
                self.start(Timer::Hold, hold);
            }
        }
    }

    fn start_keepalive_timer(&mut self) {
        if let Some(keepalive) = self.negotiated.as_ref().map(|n| n.keepalive) {
            if !keepalive.is_zero() {
                self.start(Timer::Keepalive, keepalive);
            }
        }
    }

    fn start_connect_retry(&mut self) {
        let delay = self
            .config
            .connect_retry
            .delay(self.connect_failures, &mut self.jitter);
        self.start(Timer::ConnectRetry, delay);
    }

    /// Back to Active, waiting for the peer or the next ConnectRetry.
    fn retry_later(&mut self) {
        if !self.config.passive {
            self.start_connect_retry();
        }
        self.negotiated = None;
        self.state = State::Active;
    }

    fn notification_received(&mut self, n: Notification) {
        let version = n.code == ErrorCode::OpenMessage
            && n.subcode == subcode::open::UNSUPPORTED_VERSION_NUMBER;
        let exit = if version && self.state != State::Established {
            Exit::VersionMismatch
        } else {
            Exit::Error
        };
        self.go_idle(DownReason::NotificationReceived, None, Some(n), exit);
    }

    /// Sends `n` and goes to Idle.
    fn error(&mut self, reason: DownReason, n: Notification) {
        self.out.push(Action::SendNotification(n.clone()));
        self.go_idle(reason, Some(n), None, Exit::Error);
    }

    fn go_idle(
        &mut self,
        reason: DownReason,
        sent: Option<Notification>,
        received: Option<Notification>,
        exit: Exit,
    ) {
        for timer in Timer::ALL {
            self.stop(timer);
        }
        self.out.push(Action::DropConnection);
        self.out.push(Action::Down(SessionDown {
            from: self.state,
            reason,
            sent,
            received,
        }));
        self.negotiated = None;
        self.state = State::Idle;
        match exit {
            Exit::Stop => {
                self.connect_retry_counter = 0;
                self.connect_failures = 0;
                return;
            }
            Exit::Error => {
                self.connect_retry_counter = self.connect_retry_counter.saturating_add(1)
            }
            Exit::VersionMismatch => {}
        }
        let failures = self.connect_retry_counter.saturating_sub(1);
        let delay: Duration = self.config.idle_hold.delay(failures, &mut self.jitter);
        self.start(Timer::IdleHold, delay);
    }

    fn start(&mut self, timer: Timer, duration: Duration) {
        self.running[timer.index()] = true;
        self.out.push(Action::StartTimer(timer, duration));
    }

    fn stop(&mut self, timer: Timer) {
        if std::mem::replace(&mut self.running[timer.index()], false) {
            self.out.push(Action::StopTimer(timer));
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
