//! UPDATE encoding (RFC 4271 section 4.3). Decoding is [`UpdateView`](super::UpdateView).

use bytes::BytesMut;

use super::attributes::encode_path_attributes;
use super::error::EncodeError;
use super::nlri;
use super::wire::{patch_len, reserve_u16, written_since};
use super::CodecOptions;
use crate::message::Update;

/// Encodes an UPDATE body: withdrawn routes, path attributes, NLRI. `errors` are not encoded.
pub(crate) fn encode_body(
    u: &Update,
    opts: CodecOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let withdrawn = reserve_u16(out);
    for p in &u.withdrawn {
        nlri::put_v4(out, p);
    }
    patch_len(out, withdrawn)
        .ok_or_else(|| EncodeError::FieldTooLong(written_since(out, withdrawn)))?;
    let attributes = reserve_u16(out);
    encode_path_attributes(&u.attributes, opts, out)?;
    patch_len(out, attributes)
        .ok_or_else(|| EncodeError::FieldTooLong(written_since(out, attributes)))?;
    for p in &u.nlri {
        nlri::put_v4(out, p);
    }
    Ok(())
}
