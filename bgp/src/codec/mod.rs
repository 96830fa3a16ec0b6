//! Wire codec: bytes to messages and back, with RFC 4271 / RFC 7606 error handling. No I/O.
//!
//! - [`frame_length`] finds message boundaries in a byte stream; [`decode_message`] turns one
//!   framed message into a [`Message`]; [`encode_message`] writes one.
//! - [`BgpCodec`] wraps both for `tokio_util::codec::Framed`.
//! - [`UpdateView`] reads an UPDATE's prefixes straight from the frame without allocating.
//! - [`UpdatePacker`] packs many prefixes sharing one set of path attributes into as few
//!   UPDATEs as fit the negotiated maximum length.
//!
//! Every decode error is the NOTIFICATION the RFCs prescribe (code, subcode and data). UPDATE
//! attribute errors that RFC 7606 handles without a session reset are not errors: they come back
//! in [`Update::errors`](crate::message::Update) with the action already applied (see
//! [`rules`] for the per-attribute table).
//!
//! Prefixes with host bits set (for example `10.0.0.1/24`) are masked to their network
//! (`10.0.0.0/24`) on decode: RFC 4271 leaves trailing bits unspecified, and two spellings of one
//! prefix must not become two routes.

mod attributes;
mod capability;
mod error;
mod framed;
mod header;
mod nlri;
mod notification;
mod open;
mod packer;
mod route_refresh;
mod update;
mod view;
mod wire;

#[cfg(test)]
mod tests;

pub use attributes::rules;
pub use attributes::{
    decode_path_attributes, encode_path_attributes, DecodedAttributes, MpReachView, MpUnreachView,
};
pub use error::{CodecError, EncodeError};
pub use framed::BgpCodec;
pub use header::frame_length;
pub use nlri::{Ipv4Prefixes, Prefixes};
pub use open::{decode_open_body, encode_open_body};
pub use packer::UpdatePacker;
pub use view::UpdateView;

use bytes::BytesMut;

use crate::message::{
    message_type, Message, Notification, Open, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN,
};

/// Session parameters that change the wire format, as negotiated in the OPEN exchange.
///
/// `Default` is the state before the OPEN exchange: 2-octet AS numbers and 4096-octet messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CodecOptions {
    /// Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR carry 4-octet
    /// ASNs and AS4_PATH / AS4_AGGREGATOR are not used.
    pub four_octet_as: bool,
    /// Both sides sent the extended message capability (RFC 8654): messages other than OPEN and
    /// KEEPALIVE may be up to 65535 octets.
    pub extended_message: bool,
}

impl CodecOptions {
    /// The options an OPEN exchange negotiates: each capability counts when both sides sent it.
    pub fn negotiated(sent: &Open, received: &Open) -> CodecOptions {
        CodecOptions {
            four_octet_as: sent.four_octet_as() && received.four_octet_as(),
            extended_message: sent.extended_message() && received.extended_message(),
        }
    }

    /// The largest message allowed on this session: 4096, or 65535 with extended messages.
    pub const fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// The largest message of one type: OPEN stays at 4096 octets even with extended messages
    /// (RFC 8654 section 4).
    pub(crate) const fn max_len_for(&self, msg_type: u8) -> usize {
        if msg_type == message_type::OPEN {
            MAX_MESSAGE_LEN
        } else {
            self.max_message_len()
        }
    }
}

/// Decodes one whole framed message (header included).
///
/// Errors are the NOTIFICATION to send: header errors (RFC 4271 section 6.1), OPEN errors
/// (section 6.2, RFC 5492, RFC 9072), UPDATE errors that RFC 7606 still answers with a session
/// reset, NOTIFICATION and ROUTE-REFRESH length errors (RFC 7313).
///
/// A ROUTE-REFRESH that RFC 2918 / RFC 7313 say to ignore (an AFI/SAFI FerroLB does not carry,
/// a BoRR / EoRR marker or an unknown subtype) is not an error: it decodes as
/// [`Message::RouteRefreshIgnored`], which the session drops (it only restarts the hold timer).
pub fn decode_message(frame: &[u8], opts: CodecOptions) -> Result<Message, Notification> {
    let (msg_type, body) = header::split_frame(frame, opts)?;
    Ok(match msg_type {
        message_type::OPEN => Message::Open(open::decode_open_body(body)?),
        message_type::UPDATE => Message::Update(UpdateView::from_body(body, opts)?.into_update()),
        message_type::NOTIFICATION => Message::Notification(notification::decode(body)),
        message_type::KEEPALIVE => Message::Keepalive,
        message_type::ROUTE_REFRESH => route_refresh::decode(frame, body)?,
        other => return Err(error::bad_message_type(other)),
    })
}

/// Decodes one whole framed message, returning `Ok(None)` for a message the RFCs say to ignore
/// (what [`decode_message`] returns as [`Message::RouteRefreshIgnored`]).
///
/// See [`decode_message`] for the errors.
pub fn decode_frame(frame: &[u8], opts: CodecOptions) -> Result<Option<Message>, Notification> {
    match decode_message(frame, opts)? {
        Message::RouteRefreshIgnored(_) => Ok(None),
        msg => Ok(Some(msg)),
    }
}

/// Appends one encoded message to `out`.
///
/// On error nothing is appended. A NOTIFICATION whose data would not fit is truncated rather
/// than refused: it is the last thing said on a session and must get out.
pub fn encode_message(
    msg: &Message,
    opts: CodecOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_unchecked(msg, opts, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_unchecked(
    msg: &Message,
    opts: CodecOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let msg_type = msg.type_code();
    let max = opts.max_len_for(msg_type);
    let frame = header::begin(out, msg_type);
    match msg {
        Message::Open(o) => open::encode_open_body(o, out)?,
        Message::Update(u) => update::encode_body(u, opts, out)?,
        Message::Notification(n) => notification::encode(n, max, out),
        Message::Keepalive => {}
        Message::RouteRefresh(family) => route_refresh::encode(*family, out),
        Message::RouteRefreshIgnored(m) => route_refresh::encode_ignored(*m, out),
    }
    header::finish(out, frame, max)
}
