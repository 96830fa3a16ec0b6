//! [`BgpCodec`]: the codec as a `tokio_util` framer.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::{CodecError, EncodeError};
use super::{decode_frame, encode_message, frame_length, CodecOptions};
use crate::message::{Message, HEADER_LEN};

/// Frames, decodes and encodes BGP messages on a byte stream.
///
/// Starts with [`CodecOptions::default`] (the OPEN exchange); call
/// [`set_options`](Self::set_options) once the session's capabilities are negotiated. A decode
/// error carries the NOTIFICATION to send ([`CodecError::notification`]). Messages are decoded
/// from the read buffer in place, which is then advanced past them.
///
/// Besides [`Message`]s it encodes pre-encoded messages given as [`Bytes`] (for example from
/// [`UpdatePacker`](super::UpdatePacker)) without decoding them again.
#[derive(Debug, Clone, Copy, Default)]
pub struct BgpCodec {
    opts: CodecOptions,
}

impl BgpCodec {
    /// A codec with the given session parameters.
    pub fn new(opts: CodecOptions) -> BgpCodec {
        BgpCodec { opts }
    }

    /// The session parameters in use.
    pub fn options(&self) -> CodecOptions {
        self.opts
    }

    /// Switches to the parameters negotiated in the OPEN exchange.
    pub fn set_options(&mut self, opts: CodecOptions) {
        self.opts = opts;
    }
}

impl Decoder for BgpCodec {
    type Item = Message;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, CodecError> {
        loop {
            let Some(len) = frame_length(src, self.opts)? else {
                src.reserve(HEADER_LEN.saturating_sub(src.len()));
                return Ok(None);
            };
            if src.len() < len {
                src.reserve(len - src.len());
                return Ok(None);
            }
            let decoded = decode_frame(src.get(..len).unwrap_or_default(), self.opts);
            src.advance(len);
            match decoded? {
                Some(msg) => return Ok(Some(msg)),
                None => {
                    tracing::debug!("ignoring a ROUTE-REFRESH for an unsupported family or subtype")
                }
            }
        }
    }
}

impl Encoder<&Message> for BgpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode_message(item, self.opts, dst).map_err(CodecError::from)
    }
}

impl Encoder<Message> for BgpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&item, dst)
    }
}

impl Encoder<Bytes> for BgpCodec {
    type Error = CodecError;

    /// Writes one or more pre-encoded messages as they are, after checking their framing.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut rest: &[u8] = &item;
        while !rest.is_empty() {
            let len = match frame_length(rest, self.opts) {
                Ok(Some(len)) if len <= rest.len() => len,
                _ => {
                    return Err(EncodeError::NotWholeMessages {
                        max: self.opts.max_message_len(),
                    }
                    .into())
                }
            };
            rest = rest.get(len..).unwrap_or_default();
        }
        dst.extend_from_slice(&item);
        Ok(())
    }
}
