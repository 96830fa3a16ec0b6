//! AS_PATH and AS4_PATH segments (RFC 4271 section 4.3, RFC 6793), and the RFC 6793 section
//! 4.2.3 reconstruction of the 4-octet path from an OLD speaker's AS_PATH and AS4_PATH.

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::attribute::{AsPath, AsSegment};
use crate::codec::error::EncodeError;
use crate::codec::wire::Reader;
use crate::message::subcode::update::MALFORMED_AS_PATH;
use crate::types::{Asn, AS_TRANS};

const AS_SET: u8 = 1;
const AS_SEQUENCE: u8 = 2;
const AS_CONFED_SEQUENCE: u8 = 3;
const AS_CONFED_SET: u8 = 4;

/// The most ASNs one segment holds (one-octet count).
const MAX_SEGMENT: usize = 255;

fn malformed(name: &str, why: &str) -> Malformed {
    Malformed::new(MALFORMED_AS_PATH, format!("{name}: {why}"))
}

/// Decodes AS_PATH (`asn_len` 2 or 4 by session) or AS4_PATH (`asn_len` 4).
///
/// Malformed per RFC 7606 section 7.2: a segment header or body overrunning the attribute, a
/// zero segment length, or an unknown segment type. Confederation segments are malformed too:
/// FerroLB is in no confederation, so a peer must not send them (RFC 5065 section 5).
pub(super) fn decode(name: &str, value: &[u8], asn_len: usize) -> Result<AsPath, Malformed> {
    let mut r = Reader::new(value);
    let mut segments = Vec::new();
    while !r.is_empty() {
        let (Some(seg_type), Some(count)) = (r.u8(), r.u8()) else {
            return Err(malformed(name, "segment header truncated"));
        };
        if count == 0 {
            return Err(malformed(name, "segment length zero"));
        }
        let body = r
            .take(usize::from(count) * asn_len)
            .ok_or_else(|| malformed(name, "segment overruns the attribute"))?;
        let asns: Vec<Asn> = body
            .chunks_exact(asn_len)
            .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
            .collect();
        segments.push(match seg_type {
            AS_SET => AsSegment::Set(asns),
            AS_SEQUENCE => AsSegment::Sequence(asns),
            AS_CONFED_SEQUENCE | AS_CONFED_SET => {
                return Err(malformed(
                    name,
                    "confederation segment from a peer outside any confederation",
                ));
            }
            other => return Err(malformed(name, &format!("unknown segment type {other}"))),
        });
    }
    Ok(AsPath { segments })
}

/// True when the path holds an ASN that does not fit in two octets.
pub(super) fn needs_four_octets(path: &AsPath) -> bool {
    path.segments.iter().any(|s| match s {
        AsSegment::Sequence(v) | AsSegment::Set(v) => v.iter().any(|&a| a > Asn::from(u16::MAX)),
    })
}

/// Writes the segments; sequences longer than 255 ASNs are split, empty segments skipped. With
/// 2-octet ASNs each 4-octet ASN becomes AS_TRANS.
pub(super) fn put(out: &mut BytesMut, path: &AsPath, four_octet: bool) -> Result<(), EncodeError> {
    for segment in &path.segments {
        let (seg_type, asns) = match segment {
            AsSegment::Set(v) if v.len() > MAX_SEGMENT => {
                return Err(EncodeError::AsSetTooLong(v.len()))
            }
            AsSegment::Set(v) => (AS_SET, v),
            AsSegment::Sequence(v) => (AS_SEQUENCE, v),
        };
        for chunk in asns.chunks(MAX_SEGMENT) {
            out.put_u8(seg_type);
            out.put_u8(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
            for &asn in chunk {
                if four_octet {
                    out.put_u32(asn);
                } else {
                    out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS as u16));
                }
            }
        }
    }
    Ok(())
}

/// RFC 6793 section 4.2.3: the path an OLD speaker's UPDATE describes.
///
/// When AS_PATH counts fewer ASes than AS4_PATH, AS4_PATH is ignored. Otherwise the leading ASes
/// of AS_PATH that AS4_PATH lacks (ASes added by OLD speakers) are put before AS4_PATH. An AS_SET
/// counts as one AS, as in the decision process.
pub(super) fn merge_as4(as_path: AsPath, as4_path: AsPath) -> AsPath {
    let n2 = as_path.path_length();
    let n4 = as4_path.path_length();
    if n2 < n4 {
        return as_path;
    }
    let mut keep = n2 - n4;
    let mut segments = Vec::new();
    for segment in as_path.segments {
        if keep == 0 {
            break;
        }
        match segment {
            AsSegment::Sequence(mut v) => {
                v.truncate(keep);
                keep -= v.len();
                segments.push(AsSegment::Sequence(v));
            }
            set @ AsSegment::Set(_) => {
                keep -= 1;
                segments.push(set);
            }
        }
    }
    let mut rest = as4_path.segments.into_iter();
    if let Some(first) = rest.next() {
        match (segments.last_mut(), first) {
            // The leading ASes and AS4_PATH's first sequence are one sequence on the wire.
            (Some(AsSegment::Sequence(lead)), AsSegment::Sequence(tail))
                if lead.len() + tail.len() <= MAX_SEGMENT =>
            {
                lead.extend(tail);
            }
            (_, first) => segments.push(first),
        }
    }
    segments.extend(rest);
    AsPath { segments }
}
