//! The ROUTE-REFRESH message (RFC 2918, message subtypes of RFC 7313).

use bytes::{BufMut, BytesMut};

use super::error::route_refresh_length;
use super::wire::Reader;
use crate::message::Notification;
use crate::types::AddressFamily;

/// Subtype 0: a plain route refresh request.
const REQUEST: u8 = 0;
/// Subtypes 1 and 2: Beginning and End of Route Refresh (RFC 7313).
const BORR: u8 = 1;
const EORR: u8 = 2;
/// AFI, subtype and SAFI.
const BODY_LEN: usize = 4;

/// Decodes a ROUTE-REFRESH body; `None` for a message to ignore.
///
/// Ignored: a request for an AFI/SAFI FerroLB does not carry (never negotiated, RFC 2918
/// section 4), BoRR / EoRR (FerroLB does not advertise enhanced route refresh, so they mark no
/// refresh of ours) and unknown subtypes (RFC 7313 section 4). A BoRR / EoRR of the wrong length
/// is an error whose data is the whole message (RFC 7313 section 5). Octets after a request
/// would be ORF entries (RFC 5291), which FerroLB does not negotiate; they are skipped.
pub(crate) fn decode(frame: &[u8], body: &[u8]) -> Result<Option<AddressFamily>, Notification> {
    let mut r = Reader::new(body);
    let (Some(afi), Some(subtype), Some(safi)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(route_refresh_length(frame));
    };
    match subtype {
        REQUEST => Ok(AddressFamily::from_codes(afi, safi)),
        BORR | EORR if body.len() != BODY_LEN => Err(route_refresh_length(frame)),
        _ => Ok(None),
    }
}

/// Encodes a plain route refresh request.
pub(crate) fn encode(family: AddressFamily, out: &mut BytesMut) {
    out.put_u16(family.afi().code());
    out.put_u8(REQUEST);
    out.put_u8(family.safi());
}
