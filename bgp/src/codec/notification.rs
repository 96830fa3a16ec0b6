//! The NOTIFICATION message (RFC 4271 section 4.5).

use bytes::{BufMut, BytesMut};

use super::wire::Reader;
use crate::message::{ErrorCode, Notification, HEADER_LEN};

/// Decodes a NOTIFICATION body; framing guarantees the code and subcode are present.
pub(crate) fn decode(body: &[u8]) -> Notification {
    let mut r = Reader::new(body);
    let code = ErrorCode::from_code(r.u8().unwrap_or(0));
    let subcode = r.u8().unwrap_or(0);
    Notification::new(code, subcode, r.rest().to_vec())
}

/// Encodes a NOTIFICATION body, truncating the data so the message stays within `max` octets.
pub(crate) fn encode(n: &Notification, max: usize, out: &mut BytesMut) {
    out.put_u8(n.code.code());
    out.put_u8(n.subcode);
    let room = max.saturating_sub(HEADER_LEN + 2);
    out.put_slice(n.data.get(..room).unwrap_or(&n.data));
}
