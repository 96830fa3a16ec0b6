//! Codec errors, and the NOTIFICATIONs decode errors map to (RFC 4271 section 6 and successors).

use ipnet::IpNet;

use crate::attribute::NextHop;
use crate::message::{subcode, ErrorCode, Notification};
use crate::types::AddressFamily;

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum length.
    #[error("message of {length} octets exceeds the maximum of {max}")]
    MessageTooLarge {
        /// Length the message would have.
        length: usize,
        /// The negotiated maximum.
        max: usize,
    },
    /// A path attribute value longer than the two-octet attribute length allows.
    #[error("attribute type {type_code} of {length} octets exceeds 65535")]
    AttributeTooLong {
        /// The attribute's type code.
        type_code: u8,
        /// Its value length.
        length: usize,
    },
    /// An AS_SET with more ASNs than one segment holds; unlike a sequence it cannot be split.
    #[error("AS_SET of {0} ASNs exceeds the 255 a segment holds")]
    AsSetTooLong(usize),
    /// A capability value longer than its one-octet length allows.
    #[error("capability {code} value of {length} octets exceeds 255")]
    CapabilityTooLong {
        /// Capability code.
        code: u8,
        /// Value length.
        length: usize,
    },
    /// OPEN optional parameters longer than even RFC 9072 allows.
    #[error("optional parameters of {0} octets exceed 65535")]
    OptionalParametersTooLong(usize),
    /// The withdrawn routes field or the path attributes exceed their two-octet length.
    #[error("UPDATE field of {0} octets exceeds 65535")]
    FieldTooLong(usize),
    /// A next hop that cannot be carried for the family.
    #[error("next hop {next_hop:?} cannot be used for {family}")]
    NextHopFamilyMismatch {
        /// The family of the NLRI.
        family: AddressFamily,
        /// The next hop given.
        next_hop: NextHop,
    },
    /// A prefix listed under the wrong family.
    #[error("prefix {prefix} is not {family}")]
    PrefixFamilyMismatch {
        /// The family it was listed under.
        family: AddressFamily,
        /// The prefix.
        prefix: IpNet,
    },
    /// Pre-encoded bytes that are not whole messages within the negotiated maximum length.
    #[error("pre-encoded bytes are not whole BGP messages of at most {max} octets")]
    NotWholeMessages {
        /// The negotiated maximum.
        max: usize,
    },
    /// Path attributes so large that no prefix fits next to them.
    #[error("path attributes of {length} octets leave no room for NLRI in {max}-octet messages")]
    AttributesTooLarge {
        /// Encoded attribute length.
        length: usize,
        /// The negotiated maximum message length.
        max: usize,
    },
}

/// The error of [`BgpCodec`](super::BgpCodec).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer sent something invalid; send this NOTIFICATION and close the session.
    #[error("invalid message from peer: {0}")]
    Protocol(Notification),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The transport failed.
    #[error("transport error: {0}")]
    Io(#[from] std::io::Error),
}

impl CodecError {
    /// The NOTIFICATION to send, when the peer is at fault.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            CodecError::Protocol(n) => Some(n),
            _ => None,
        }
    }
}

impl From<Notification> for CodecError {
    fn from(n: Notification) -> CodecError {
        CodecError::Protocol(n)
    }
}

/// Subcode 0, "Unspecific" (RFC 4271 section 4.5 leaves it for errors no subcode names).
pub(crate) const UNSPECIFIC: u8 = 0;

pub(crate) fn connection_not_synchronized() -> Notification {
    Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::CONNECTION_NOT_SYNCHRONIZED,
        Vec::new(),
    )
}

/// Bad Message Length; the data is the erroneous length field.
pub(crate) fn bad_message_length(length: u16) -> Notification {
    Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::BAD_MESSAGE_LENGTH,
        length.to_be_bytes().to_vec(),
    )
}

/// Bad Message Type; the data is the erroneous type field.
pub(crate) fn bad_message_type(msg_type: u8) -> Notification {
    Notification::new(
        ErrorCode::MessageHeader,
        subcode::header::BAD_MESSAGE_TYPE,
        vec![msg_type],
    )
}

pub(crate) fn open_error(sub: u8, data: Vec<u8>) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, data)
}

/// An UPDATE Message Error; `data` as the subcode prescribes (often the whole attribute).
pub(crate) fn update_error(sub: u8, data: &[u8]) -> Notification {
    Notification::new(ErrorCode::UpdateMessage, sub, data.to_vec())
}

pub(crate) fn malformed_attribute_list() -> Notification {
    update_error(subcode::update::MALFORMED_ATTRIBUTE_LIST, &[])
}

pub(crate) fn invalid_network_field() -> Notification {
    update_error(subcode::update::INVALID_NETWORK_FIELD, &[])
}

/// ROUTE-REFRESH Invalid Message Length; the data is the complete message (RFC 7313 section 5).
pub(crate) fn route_refresh_length(frame: &[u8]) -> Notification {
    Notification::new(
        ErrorCode::RouteRefreshMessage,
        subcode::route_refresh::INVALID_MESSAGE_LENGTH,
        frame.to_vec(),
    )
}
