//! COMMUNITIES (RFC 1997) and LARGE_COMMUNITY (RFC 8092).

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::attribute::{Community, LargeCommunity};
use crate::message::subcode::update::OPTIONAL_ATTRIBUTE_ERROR;

/// Splits `value` into `size`-octet records; malformed unless a non-zero multiple of `size`.
fn records<'a>(
    name: &str,
    value: &'a [u8],
    size: usize,
) -> Result<std::slice::ChunksExact<'a, u8>, Malformed> {
    if value.is_empty() || !value.len().is_multiple_of(size) {
        return Err(Malformed::new(
            OPTIONAL_ATTRIBUTE_ERROR,
            format!(
                "{name}: length {} is not a non-zero multiple of {size}",
                value.len()
            ),
        ));
    }
    Ok(value.chunks_exact(size))
}

fn be_u32(octets: &[u8]) -> u32 {
    octets
        .iter()
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

pub(super) fn decode_communities(value: &[u8]) -> Result<Vec<Community>, Malformed> {
    Ok(records("COMMUNITIES", value, 4)?
        .map(|c| Community(be_u32(c)))
        .collect())
}

pub(super) fn decode_large(value: &[u8]) -> Result<Vec<LargeCommunity>, Malformed> {
    Ok(records("LARGE_COMMUNITY", value, 12)?
        .map(|c| {
            let (global, local) = c.split_at(4);
            let (local1, local2) = local.split_at(4);
            LargeCommunity {
                global_admin: be_u32(global),
                local_data1: be_u32(local1),
                local_data2: be_u32(local2),
            }
        })
        .collect())
}

pub(super) fn put_communities(out: &mut BytesMut, communities: &[Community]) {
    for c in communities {
        out.put_u32(c.0);
    }
}

pub(super) fn put_large(out: &mut BytesMut, communities: &[LargeCommunity]) {
    for c in communities {
        out.put_u32(c.global_admin);
        out.put_u32(c.local_data1);
        out.put_u32(c.local_data2);
    }
}
