//! FSM outputs: what the driver must do after an event.

use std::fmt;
use std::time::Duration;

use crate::message::{Notification, Open, Update};
use crate::types::AddressFamily;

use super::negotiated::Negotiated;
use super::state::State;

/// The timers of RFC 4271 section 8 (plus the IdleHold timer that spaces automatic restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Spaces outgoing connection attempts (with exponential backoff and jitter).
    ConnectRetry,
    /// Closes the session when the peer stays silent.
    Hold,
    /// Paces our KEEPALIVE messages.
    Keepalive,
    /// Delays our OPEN after the connection is up (optional DelayOpen attribute).
    DelayOpen,
    /// Delays the automatic restart after the session went down (peer oscillation damping).
    IdleHold,
}

impl Timer {
    /// Every timer, in a fixed order (the driver indexes its deadlines with [`Timer::index`]).
    pub const ALL: [Timer; 5] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::DelayOpen,
        Timer::IdleHold,
    ];

    /// The position of this timer in [`Timer::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Timer::ConnectRetry => 0,
            Timer::Hold => 1,
            Timer::Keepalive => 2,
            Timer::DelayOpen => 3,
            Timer::IdleHold => 4,
        }
    }

    /// The event the FSM expects when this timer fires.
    pub const fn expiry_event(self) -> super::Event {
        match self {
            Timer::ConnectRetry => super::Event::ConnectRetryTimerExpires,
            Timer::Hold => super::Event::HoldTimerExpires,
            Timer::Keepalive => super::Event::KeepaliveTimerExpires,
            Timer::DelayOpen => super::Event::DelayOpenTimerExpires,
            Timer::IdleHold => super::Event::IdleHoldTimerExpires,
        }
    }
}

/// Why a session (or an attempt at one) went back to Idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownReason {
    /// Stopped by a ManualStop or AutomaticStop; a Cease was sent if a connection was up.
    Stopped,
    /// Our hold timer expired; Hold Timer Expired was sent.
    HoldTimerExpired,
    /// We found a protocol error in what the peer sent (or in the order it sent it) and sent a
    /// NOTIFICATION saying so.
    ProtocolError,
    /// The peer sent a NOTIFICATION.
    NotificationReceived,
    /// The TCP connection failed or was closed without a NOTIFICATION.
    ConnectionLost,
    /// Connection collision resolution (RFC 4271 section 6.8) closed this connection with
    /// Cease/Connection Collision Resolution.
    ConnectionCollision,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DownReason::Stopped => "stopped",
            DownReason::HoldTimerExpired => "hold timer expired",
            DownReason::ProtocolError => "protocol error",
            DownReason::NotificationReceived => "notification received",
            DownReason::ConnectionLost => "connection lost",
            DownReason::ConnectionCollision => "connection collision",
        })
    }
}

/// The report of a session that went back to Idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDown {
    /// The state the session left.
    pub from: State,
    /// Why.
    pub reason: DownReason,
    /// The NOTIFICATION we sent, if any.
    pub sent: Option<Notification>,
    /// The NOTIFICATION the peer sent, if any.
    pub received: Option<Notification>,
}

/// An output of the state machine, to be carried out by the driver in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open an outgoing TCP connection to the peer (abandoning any attempt still in progress).
    Connect,
    /// Close the TCP connection (after writing what is already queued, such as a NOTIFICATION),
    /// or abandon the connection attempt in progress.
    DropConnection,
    /// Send this OPEN.
    SendOpen(Open),
    /// Send a KEEPALIVE.
    SendKeepalive,
    /// Send this NOTIFICATION.
    SendNotification(Notification),
    /// Start (or restart) a timer; when it fires, feed [`Timer::expiry_event`].
    StartTimer(Timer, Duration),
    /// Stop a timer; its expiry must not be reported.
    StopTimer(Timer),
    /// The session reached Established with these parameters.
    Established(Negotiated),
    /// The session (or attempt) went back to Idle.
    Down(SessionDown),
    /// Hand this UPDATE to the RIB.
    DeliverUpdate(Update),
    /// The peer finished its initial table for a family (End-of-RIB, RFC 4724).
    DeliverEndOfRib(AddressFamily),
    /// The peer asked us to re-advertise a family (RFC 2918).
    DeliverRouteRefresh(AddressFamily),
}
