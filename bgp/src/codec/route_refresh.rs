//! The ROUTE-REFRESH message (RFC 2918, message subtypes of RFC 7313).

use bytes::{BufMut, BytesMut};

use super::error::route_refresh_length;
use super::wire::Reader;
use crate::message::{IgnoredRouteRefresh, Message, Notification};
use crate::types::AddressFamily;

/// Subtype 0: a plain route refresh request.
const REQUEST: u8 = 0;
/// Subtypes 1 and 2: Beginning and End of Route Refresh (RFC 7313).
const BORR: u8 = 1;
const EORR: u8 = 2;
/// AFI, subtype and SAFI.
const BODY_LEN: usize = 4;

/// Decodes a ROUTE-REFRESH body: [`Message::RouteRefresh`], or
/// [`Message::RouteRefreshIgnored`] for a message to ignore.
///
/// Ignored: a request for an AFI/SAFI FerroLB does not carry (never negotiated, RFC 2918
/// section 4), BoRR / EoRR (FerroLB does not advertise enhanced route refresh, so they mark no
/// refresh of ours) and unknown subtypes (RFC 7313 section 4). A BoRR / EoRR of the wrong length
/// is an error whose data is the whole message (RFC 7313 section 5). Octets after a request
/// would be ORF entries (RFC 5291), which FerroLB does not negotiate; they are skipped.
pub(crate) fn decode(frame: &[u8], body: &[u8]) -> Result<Message, Notification> {
    let mut r = Reader::new(body);
    let (Some(afi), Some(subtype), Some(safi)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(route_refresh_length(frame));
    };
    let ignored = Message::RouteRefreshIgnored(IgnoredRouteRefresh { afi, subtype, safi });
    match subtype {
        REQUEST => Ok(AddressFamily::from_codes(afi, safi).map_or(ignored, Message::RouteRefresh)),
        BORR | EORR if body.len() != BODY_LEN => Err(route_refresh_length(frame)),
        _ => Ok(ignored),
    }
}

/// Encodes an ignored ROUTE-REFRESH as it was received (without any ORF entries).
pub(crate) fn encode_ignored(m: IgnoredRouteRefresh, out: &mut BytesMut) {
    out.put_u16(m.afi);
    out.put_u8(m.subtype);
    out.put_u8(m.safi);
}

/// Encodes a plain route refresh request.
pub(crate) fn encode(family: AddressFamily, out: &mut BytesMut) {
    out.put_u16(family.afi().code());
    out.put_u8(REQUEST);
    out.put_u8(family.safi());
}
