//! The NOTIFICATION message and its error codes (RFC 4271 section 4.5 and 6, IANA registries).

use std::fmt;

/// A NOTIFICATION: the error that closes a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode (meaning depends on the code; see [`subcode`]).
    pub subcode: u8,
    /// Diagnostic data, as the RFC prescribes for the code/subcode.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Vec<u8>>) -> Notification {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// Cease with a subcode (RFC 4486).
    pub fn cease(subcode: u8) -> Notification {
        Notification::new(ErrorCode::Cease, subcode, Vec::new())
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, subcode::cease::name(self.subcode)) {
            (ErrorCode::Cease, Some(name)) => write!(f, "Cease/{name}")?,
            _ => write!(f, "{:?} subcode {}", self.code, self.subcode)?,
        }
        if !self.data.is_empty() {
            write!(f, " ({} octets of data)", self.data.len())?;
        }
        Ok(())
    }
}

/// NOTIFICATION error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Message Header Error (1).
    MessageHeader,
    /// OPEN Message Error (2).
    OpenMessage,
    /// UPDATE Message Error (3).
    UpdateMessage,
    /// Hold Timer Expired (4).
    HoldTimerExpired,
    /// Finite State Machine Error (5).
    FiniteStateMachine,
    /// Cease (6).
    Cease,
    /// ROUTE-REFRESH Message Error (7, RFC 7313).
    RouteRefreshMessage,
    /// A code FerroLB does not know, kept as received.
    Unknown(u8),
}

impl ErrorCode {
    /// The code point.
    pub const fn code(self) -> u8 {
        match self {
            ErrorCode::MessageHeader => 1,
            ErrorCode::OpenMessage => 2,
            ErrorCode::UpdateMessage => 3,
            ErrorCode::HoldTimerExpired => 4,
            ErrorCode::FiniteStateMachine => 5,
            ErrorCode::Cease => 6,
            ErrorCode::RouteRefreshMessage => 7,
            ErrorCode::Unknown(c) => c,
        }
    }

    /// The error code for a code point.
    pub const fn from_code(code: u8) -> ErrorCode {
        match code {
            1 => ErrorCode::MessageHeader,
            2 => ErrorCode::OpenMessage,
            3 => ErrorCode::UpdateMessage,
            4 => ErrorCode::HoldTimerExpired,
            5 => ErrorCode::FiniteStateMachine,
            6 => ErrorCode::Cease,
            7 => ErrorCode::RouteRefreshMessage,
            c => ErrorCode::Unknown(c),
        }
    }
}

/// Subcodes, grouped by error code.
pub mod subcode {
    /// Message Header Error subcodes.
    pub mod header {
        /// Connection Not Synchronized (marker not all ones).
        pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
        /// Bad Message Length; data: the erroneous length field.
        pub const BAD_MESSAGE_LENGTH: u8 = 2;
        /// Bad Message Type; data: the erroneous type field.
        pub const BAD_MESSAGE_TYPE: u8 = 3;
    }
    /// OPEN Message Error subcodes.
    pub mod open {
        /// Unsupported Version Number; data: the largest supported version (2 octets).
        pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
        /// Bad Peer AS.
        pub const BAD_PEER_AS: u8 = 2;
        /// Bad BGP Identifier.
        pub const BAD_BGP_IDENTIFIER: u8 = 3;
        /// Unsupported Optional Parameter.
        pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
        /// Unacceptable Hold Time.
        pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
        /// Unsupported Capability (RFC 5492); data: the capabilities.
        pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    }
    /// UPDATE Message Error subcodes.
    pub mod update {
        /// Malformed Attribute List.
        pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
        /// Unrecognized Well-known Attribute; data: the attribute.
        pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
        /// Missing Well-known Attribute; data: the missing type code.
        pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
        /// Attribute Flags Error; data: the attribute.
        pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
        /// Attribute Length Error; data: the attribute.
        pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
        /// Invalid ORIGIN Attribute; data: the attribute.
        pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
        /// Invalid NEXT_HOP Attribute; data: the attribute.
        pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
        /// Optional Attribute Error; data: the attribute.
        pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
        /// Invalid Network Field.
        pub const INVALID_NETWORK_FIELD: u8 = 10;
        /// Malformed AS_PATH.
        pub const MALFORMED_AS_PATH: u8 = 11;
    }
    /// Finite State Machine Error subcodes (RFC 6608).
    pub mod fsm {
        /// Unspecified.
        pub const UNSPECIFIED: u8 = 0;
        /// Receive Unexpected Message in OpenSent State.
        pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
        /// Receive Unexpected Message in OpenConfirm State.
        pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
        /// Receive Unexpected Message in Established State.
        pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
    }
    /// Cease subcodes (RFC 4486, RFC 8203).
    pub mod cease {
        /// Maximum Number of Prefixes Reached.
        pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
        /// Administrative Shutdown.
        pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
        /// Peer De-configured.
        pub const PEER_DECONFIGURED: u8 = 3;
        /// Administrative Reset.
        pub const ADMINISTRATIVE_RESET: u8 = 4;
        /// Connection Rejected.
        pub const CONNECTION_REJECTED: u8 = 5;
        /// Other Configuration Change.
        pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
        /// Connection Collision Resolution.
        pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
        /// Out of Resources.
        pub const OUT_OF_RESOURCES: u8 = 8;
        /// Hard Reset (RFC 8538).
        pub const HARD_RESET: u8 = 9;
        /// BFD Down (RFC 9384).
        pub const BFD_DOWN: u8 = 10;

        /// The name RFC 4486 (and later RFCs) give a Cease subcode, for logs and status.
        pub fn name(subcode: u8) -> Option<&'static str> {
            Some(match subcode {
                MAXIMUM_PREFIXES_REACHED => "Maximum Number of Prefixes Reached",
                ADMINISTRATIVE_SHUTDOWN => "Administrative Shutdown",
                PEER_DECONFIGURED => "Peer De-configured",
                ADMINISTRATIVE_RESET => "Administrative Reset",
                CONNECTION_REJECTED => "Connection Rejected",
                OTHER_CONFIGURATION_CHANGE => "Other Configuration Change",
                CONNECTION_COLLISION_RESOLUTION => "Connection Collision Resolution",
                OUT_OF_RESOURCES => "Out of Resources",
                HARD_RESET => "Hard Reset",
                BFD_DOWN => "BFD Down",
                _ => return None,
            })
        }
    }
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313).
    pub mod route_refresh {
        /// Invalid Message Length.
        pub const INVALID_MESSAGE_LENGTH: u8 = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cease_subcodes_are_named_in_logs() {
        let cases = [
            (
                Notification::cease(subcode::cease::BFD_DOWN),
                "Cease/BFD Down",
            ),
            (
                Notification::cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN),
                "Cease/Administrative Shutdown",
            ),
            (Notification::cease(42), "Cease subcode 42"),
        ];
        for (notification, shown) in cases {
            assert_eq!(notification.to_string(), shown);
        }
    }
}
