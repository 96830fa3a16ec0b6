//! BGP messages (RFC 4271 section 4) as plain data; `codec` turns them into bytes and back.

mod notification;
mod open;
mod update;

pub use notification::{subcode, ErrorCode, Notification};
pub use open::{Capability, GracefulRestartCapability, GracefulRestartFamily, Open};
pub use update::Update;

use crate::types::AddressFamily;

/// Length of the fixed message header: marker (16), length (2), type (1).
pub const HEADER_LEN: usize = 19;
/// Smallest valid message (a KEEPALIVE).
pub const MIN_MESSAGE_LEN: usize = HEADER_LEN;
/// Largest message without the extended message capability (RFC 4271).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message with the extended message capability on both sides (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Message type codes.
pub mod message_type {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 5;
}

/// A BGP message.
// An UPDATE is the common case, so boxing it to shrink the rare variants would not pay.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH for one family (RFC 2918).
    RouteRefresh(AddressFamily),
    /// A ROUTE-REFRESH the RFCs say to ignore: a request for an AFI/SAFI FerroLB does not carry
    /// (RFC 2918 section 4), a Beginning or End of Route Refresh marker (FerroLB does not
    /// negotiate enhanced route refresh) or an unknown subtype (RFC 7313 section 4).
    RouteRefreshIgnored(IgnoredRouteRefresh),
}

/// The fields of a ROUTE-REFRESH to ignore, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredRouteRefresh {
    /// Address Family Identifier.
    pub afi: u16,
    /// Message subtype (RFC 7313): 0 request, 1 BoRR, 2 EoRR, others reserved.
    pub subtype: u8,
    /// Subsequent Address Family Identifier.
    pub safi: u8,
}

impl Message {
    /// The message type code.
    pub fn type_code(&self) -> u8 {
        match self {
            Message::Open(_) => message_type::OPEN,
            Message::Update(_) => message_type::UPDATE,
            Message::Notification(_) => message_type::NOTIFICATION,
            Message::Keepalive => message_type::KEEPALIVE,
            Message::RouteRefresh(_) | Message::RouteRefreshIgnored(_) => {
                message_type::ROUTE_REFRESH
            }
        }
    }
}
