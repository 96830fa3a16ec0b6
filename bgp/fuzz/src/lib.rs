//! Shared checks of the ferrolb-bgp fuzz targets.
//!
//! Every target decodes arbitrary bytes; whatever decodes must encode again and decode to the
//! same value, up to what the codec deliberately changes on the way through (see [`normalize`]).

use ferrolb_bgp::attribute::{flags, PathAttributes};
use ferrolb_bgp::codec::{CodecOptions, EncodeError};
use ferrolb_bgp::Message;

/// Session parameters from the low two bits of a fuzz input's first octet.
pub fn options(selector: u8) -> CodecOptions {
    CodecOptions {
        four_octet_as: selector & 1 != 0,
        extended_message: selector & 2 != 0,
    }
}

/// Path attributes as they come back after one encode: unknown non-transitive attributes are
/// not passed on and transitive ones are marked Partial.
pub fn normalize_attributes(mut attrs: PathAttributes) -> PathAttributes {
    let transitive = flags::OPTIONAL | flags::TRANSITIVE;
    attrs.unknown.retain(|u| u.flags & transitive == transitive);
    for u in &mut attrs.unknown {
        u.flags |= flags::PARTIAL;
    }
    attrs
}

/// A message as it comes back after one encode: also, RFC 7606 error records are not encoded.
pub fn normalize(msg: Message) -> Message {
    match msg {
        Message::Update(mut u) => {
            u.errors.clear();
            u.attributes = normalize_attributes(u.attributes);
            Message::Update(u)
        }
        other => other,
    }
}

/// Re-encoding may legitimately outgrow the limits on a 2-octet AS session only: the 4-octet
/// path rebuilt from AS_PATH and AS4_PATH (RFC 6793) is written out again as both.
pub fn as4_growth(opts: CodecOptions, err: &EncodeError) -> bool {
    !opts.four_octet_as
        && matches!(
            err,
            EncodeError::MessageTooLarge { .. }
                | EncodeError::AttributeTooLong { .. }
                | EncodeError::FieldTooLong(_)
        )
}
