//! The message header (RFC 4271 section 4.1) and framing of a byte stream.

use bytes::{BufMut, BytesMut};

use super::error::{bad_message_length, connection_not_synchronized, EncodeError};
use super::wire::{patch_u16, reserve_u16, LengthSlot};
use super::CodecOptions;
use crate::message::{message_type, Notification, HEADER_LEN};

const MARKER_LEN: usize = 16;

/// The smallest valid length of a message of each type, and whether it is also the only one.
fn length_bounds(msg_type: u8) -> (usize, bool) {
    match msg_type {
        // Version, AS, hold time, identifier, optional parameters length.
        message_type::OPEN => (HEADER_LEN + 10, false),
        // Withdrawn routes length and total path attribute length.
        message_type::UPDATE => (HEADER_LEN + 4, false),
        // Error code and subcode.
        message_type::NOTIFICATION => (HEADER_LEN + 2, false),
        message_type::KEEPALIVE => (HEADER_LEN, true),
        // AFI, subtype, SAFI (RFC 2918, RFC 7313).
        message_type::ROUTE_REFRESH => (HEADER_LEN + 4, false),
        // An unknown type is reported by the decoder as Bad Message Type.
        _ => (HEADER_LEN, false),
    }
}

/// The total length of the first message in `buf` once its header is complete.
///
/// Returns `Ok(None)` while fewer than 19 octets are available. The marker is checked as soon as
/// its octets arrive (Connection Not Synchronized); the length must lie between the type's
/// minimum and the negotiated maximum (Bad Message Length, with the length field as data).
pub fn frame_length(buf: &[u8], opts: CodecOptions) -> Result<Option<usize>, Notification> {
    let marker = buf.get(..MARKER_LEN).unwrap_or(buf);
    if marker.iter().any(|&b| b != 0xff) {
        return Err(connection_not_synchronized());
    }
    let (Some(&hi), Some(&lo), Some(&msg_type)) = (buf.get(16), buf.get(17), buf.get(18)) else {
        return Ok(None);
    };
    let length = u16::from_be_bytes([hi, lo]);
    let len = usize::from(length);
    let (min, exact) = length_bounds(msg_type);
    if len < min || (exact && len != min) || len > opts.max_len_for(msg_type) {
        return Err(bad_message_length(length));
    }
    Ok(Some(len))
}

/// Checks the header of one whole framed message and returns its type and body.
pub(crate) fn split_frame(frame: &[u8], opts: CodecOptions) -> Result<(u8, &[u8]), Notification> {
    match frame_length(frame, opts)? {
        Some(len) if len == frame.len() => match (frame.get(18), frame.get(HEADER_LEN..)) {
            (Some(&msg_type), Some(body)) => Ok((msg_type, body)),
            _ => Err(bad_message_length(0)),
        },
        Some(len) => Err(bad_message_length(u16::try_from(len).unwrap_or(u16::MAX))),
        // Not even a header: report the length we were given.
        None => Err(bad_message_length(
            u16::try_from(frame.len()).unwrap_or(u16::MAX),
        )),
    }
}

/// Where a message being encoded starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameStart {
    start: usize,
    length: LengthSlot,
}

/// Writes a header with a placeholder length.
pub(crate) fn begin(out: &mut BytesMut, msg_type: u8) -> FrameStart {
    let start = out.len();
    out.put_bytes(0xff, MARKER_LEN);
    let length = reserve_u16(out);
    out.put_u8(msg_type);
    FrameStart { start, length }
}

/// Fills in the length of a message begun with [`begin`], refusing one longer than `max`.
pub(crate) fn finish(out: &mut BytesMut, frame: FrameStart, max: usize) -> Result<(), EncodeError> {
    let length = out.len().saturating_sub(frame.start);
    match u16::try_from(length) {
        Ok(value) if length <= max => {
            patch_u16(out, frame.length, value);
            Ok(())
        }
        _ => Err(EncodeError::MessageTooLarge { length, max }),
    }
}
