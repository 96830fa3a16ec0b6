//! The application's side of a peer: commands in, session events out.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::fsm::{Negotiated, SessionDown, State};
use crate::message::{subcode, Notification, Update};
use crate::types::AddressFamily;

use super::error::SessionError;

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The session state changed.
    StateChanged {
        /// The previous state.
        from: State,
        /// The new state.
        to: State,
    },
    /// The session is up. Send the initial table now, then End-of-RIB for each family.
    Established {
        /// What the OPEN exchange settled (encode UPDATEs for [`PeerControl::send_encoded`]
        /// with these options).
        negotiated: Negotiated,
        /// Our end of the connection (the next hop to advertise for "next-hop self").
        local: SocketAddr,
        /// The peer's end.
        remote: SocketAddr,
    },
    /// The peer sent an UPDATE.
    Update(Update),
    /// The peer finished sending its table for a family.
    EndOfRib(AddressFamily),
    /// The peer asked for our table for a family again.
    RouteRefresh(AddressFamily),
    /// The session (or an attempt at it) went down; routes learned from it are gone unless
    /// graceful restart keeps them.
    Down(SessionDown),
}

/// Operator commands (never blocked by a slow peer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Start,
    Stop,
    /// AutomaticStop with this NOTIFICATION; the session comes back by itself.
    Close(Notification),
    Shutdown,
    /// End the task and drop the connection without a NOTIFICATION.
    Abandon,
}

/// Data for the peer (accepted only while the write buffer has room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outbound {
    Updates(Vec<Update>),
    Encoded(Bytes),
    RouteRefresh(AddressFamily),
}

/// A cloneable sender of commands to one peer task.
///
/// Data (UPDATEs, ROUTE-REFRESH) is only sent while the session is Established; anything sent
/// in another state is dropped, so send the full table on every
/// [`SessionEvent::Established`].
#[derive(Debug, Clone)]
pub struct PeerControl {
    pub(crate) peer: IpAddr,
    pub(crate) control: mpsc::Sender<Control>,
    pub(crate) data: mpsc::Sender<Outbound>,
}

impl PeerControl {
    /// The peer's address.
    pub fn peer(&self) -> IpAddr {
        self.peer
    }

    async fn control(&self, c: Control) -> Result<(), SessionError> {
        self.control
            .send(c)
            .await
            .map_err(|_| SessionError::PeerGone)
    }

    async fn data(&self, d: Outbound) -> Result<(), SessionError> {
        self.data.send(d).await.map_err(|_| SessionError::PeerGone)
    }

    /// Starts the session (ManualStart): connect, or wait for the peer if configured passive.
    pub async fn start(&self) -> Result<(), SessionError> {
        self.control(Control::Start).await
    }

    /// Stops the session (ManualStop): Cease/Administrative Shutdown, then Idle until the next
    /// [`PeerControl::start`].
    pub async fn stop(&self) -> Result<(), SessionError> {
        self.control(Control::Stop).await
    }

    /// Resets the session (AutomaticStop with Cease/Administrative Reset); it comes back up by
    /// itself.
    pub async fn reset(&self) -> Result<(), SessionError> {
        self.close(Notification::cease(subcode::cease::ADMINISTRATIVE_RESET))
            .await
    }

    /// Closes the session with `notification` (AutomaticStop, RFC 4271 section 8.1.2), for
    /// example Cease/Maximum Number of Prefixes Reached; it comes back up by itself after the
    /// IdleHold backoff.
    pub async fn close(&self, notification: Notification) -> Result<(), SessionError> {
        self.control(Control::Close(notification)).await
    }

    /// Sends Cease/Administrative Shutdown and ends the peer task; returns once it has ended.
    pub async fn shutdown(&self) {
        // If the task is already gone, so much the better.
        let _ = self.control.send(Control::Shutdown).await;
        self.control.closed().await;
    }

    /// Ends the peer task and drops its connection without a NOTIFICATION, as a speaker about
    /// to restart does (RFC 4724): a peer that helps graceful restarts keeps our routes, stale,
    /// until we are back or its restart timer runs out. Returns once the task has ended.
    pub async fn abandon(&self) {
        let _ = self.control.send(Control::Abandon).await;
        self.control.closed().await;
    }

    /// True once the peer task has ended.
    pub fn is_closed(&self) -> bool {
        self.control.is_closed()
    }

    /// Sends UPDATEs, encoded for the negotiated options.
    pub async fn send_updates(&self, updates: Vec<Update>) -> Result<(), SessionError> {
        self.data(Outbound::Updates(updates)).await
    }

    /// Sends pre-encoded messages (one or more whole messages, header included), e.g. from an
    /// UPDATE packer shared by many peers. They must be encoded for this session's negotiated
    /// options ([`Negotiated::four_octet_as`], [`Negotiated::extended_message`]).
    pub async fn send_encoded(&self, messages: Bytes) -> Result<(), SessionError> {
        self.data(Outbound::Encoded(messages)).await
    }

    /// Sends the End-of-RIB marker for a family.
    pub async fn send_end_of_rib(&self, family: AddressFamily) -> Result<(), SessionError> {
        self.send_updates(vec![Update::end_of_rib(family)]).await
    }

    /// Asks the peer to send its table for a family again (if it supports route refresh).
    pub async fn send_route_refresh(&self, family: AddressFamily) -> Result<(), SessionError> {
        self.data(Outbound::RouteRefresh(family)).await
    }
}

/// A running peer: its [`PeerControl`] and its stream of [`SessionEvent`]s.
///
/// Dropping the handle (and every [`PeerControl`] clone) shuts the peer down gracefully.
#[derive(Debug)]
pub struct PeerHandle {
    control: PeerControl,
    events: mpsc::Receiver<SessionEvent>,
}

impl PeerHandle {
    pub(crate) fn new(control: PeerControl, events: mpsc::Receiver<SessionEvent>) -> PeerHandle {
        PeerHandle { control, events }
    }

    /// The command side.
    pub fn control(&self) -> &PeerControl {
        &self.control
    }

    /// The peer's address.
    pub fn peer(&self) -> IpAddr {
        self.control.peer
    }

    /// The next session event; `None` once the peer task has ended.
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        self.events.recv().await
    }

    /// Splits into the command side and the event receiver.
    pub fn into_parts(self) -> (PeerControl, mpsc::Receiver<SessionEvent>) {
        (self.control, self.events)
    }
}

impl std::ops::Deref for PeerHandle {
    type Target = PeerControl;

    fn deref(&self) -> &PeerControl {
        &self.control
    }
}
