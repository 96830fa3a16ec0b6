//! FSM inputs: the events of RFC 4271 section 8.1 that FerroLB uses, plus ROUTE-REFRESH.

use crate::message::{ErrorCode, Message, Notification, Open, Update};
use crate::types::AddressFamily;

/// An input to the session state machine.
///
/// Names follow RFC 4271 section 8.1 (the event number is given in each doc comment). Timer
/// expiries are events too: the driver reports them only for timers the FSM started and has not
/// stopped since.
// Events are moved once, straight from the decoder into the machine; boxing the UPDATE would
// cost an allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Operator start (events 1 and 4). `passive`: wait for the peer to connect first.
    ManualStart {
        /// Start with passive TCP establishment.
        passive: bool,
    },
    /// Operator stop (event 2): Cease/Administrative Shutdown, and no automatic restart.
    ManualStop,
    /// Automatic start (events 3 and 5), e.g. for a connection the listener accepted.
    AutomaticStart {
        /// Start with passive TCP establishment.
        passive: bool,
    },
    /// Automatic stop (event 8) with the Cease NOTIFICATION to send; the session restarts after
    /// the IdleHold timer.
    AutomaticStop(Notification),
    /// ConnectRetryTimer_Expires (event 9).
    ConnectRetryTimerExpires,
    /// HoldTimer_Expires (event 10).
    HoldTimerExpires,
    /// KeepaliveTimer_Expires (event 11).
    KeepaliveTimerExpires,
    /// DelayOpenTimer_Expires (event 12).
    DelayOpenTimerExpires,
    /// IdleHoldTimer_Expires (event 13): the automatic restart after an error.
    IdleHoldTimerExpires,
    /// Tcp_CR_Acked (event 16): our outgoing connection completed.
    TcpConnectionAcknowledged,
    /// TcpConnectionConfirmed (event 17): the peer's incoming connection was accepted.
    TcpConnectionConfirmed,
    /// TcpConnectionFails (event 18): the connection failed or was closed by the peer.
    TcpConnectionFails,
    /// BGPOpen (events 19 and 20): a syntactically valid OPEN arrived.
    BgpOpen(Open),
    /// BGPHeaderErr (event 21): a message header was invalid; carries the NOTIFICATION to send.
    BgpHeaderErr(Notification),
    /// BGPOpenMsgErr (event 22): an OPEN was malformed; carries the NOTIFICATION to send.
    BgpOpenMsgErr(Notification),
    /// OpenCollisionDump (event 23): collision detection chose to close this connection.
    OpenCollisionDump,
    /// NotifMsg (events 24 and 25): the peer sent a NOTIFICATION.
    NotifMsg(Notification),
    /// KeepAliveMsg (event 26).
    KeepAliveMsg,
    /// UpdateMsg (event 27): a valid UPDATE (RFC 7606 attribute errors already handled inside).
    UpdateMsg(Update),
    /// UpdateMsgErr (event 28): an UPDATE error that resets the session; carries the NOTIFICATION.
    UpdateMsgErr(Notification),
    /// A ROUTE-REFRESH request for a family (RFC 2918).
    RouteRefresh(AddressFamily),
    /// A ROUTE-REFRESH the RFCs say to ignore (see [`Message::RouteRefreshIgnored`]).
    RouteRefreshIgnored,
}

impl Event {
    /// The event for a message received on the connection.
    pub fn from_message(message: Message) -> Event {
        match message {
            Message::Open(open) => Event::BgpOpen(open),
            Message::Update(update) => Event::UpdateMsg(update),
            Message::Notification(n) => Event::NotifMsg(n),
            Message::Keepalive => Event::KeepAliveMsg,
            Message::RouteRefresh(family) => Event::RouteRefresh(family),
            Message::RouteRefreshIgnored(_) => Event::RouteRefreshIgnored,
        }
    }

    /// The event for a message the codec rejected with `notification`.
    ///
    /// The error code says which kind of message failed: OPEN errors are BGPOpenMsgErr, UPDATE
    /// errors UpdateMsgErr, and everything else (header, ROUTE-REFRESH length) is handled like a
    /// header error: the NOTIFICATION is sent and the connection closed.
    pub fn from_decode_error(notification: Notification) -> Event {
        match notification.code {
            ErrorCode::OpenMessage => Event::BgpOpenMsgErr(notification),
            ErrorCode::UpdateMessage => Event::UpdateMsgErr(notification),
            _ => Event::BgpHeaderErr(notification),
        }
    }

    /// True for events that report a message received from the peer (RFC 6608 counts only
    /// unexpected messages as FSM errors with a state-specific subcode).
    pub const fn is_message(&self) -> bool {
        matches!(
            self,
            Event::BgpOpen(_)
                | Event::NotifMsg(_)
                | Event::KeepAliveMsg
                | Event::UpdateMsg(_)
                | Event::RouteRefresh(_)
                | Event::RouteRefreshIgnored
        )
    }
}
