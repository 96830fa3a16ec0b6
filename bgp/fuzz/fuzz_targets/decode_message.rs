//! Any bytes: framing, decoding, and for whatever decodes, encode and decode again.
//!
//! Input: one octet selecting the session options (see `options`), then a byte stream.
#![no_main]

use bytes::BytesMut;
use ferrolb_bgp::codec::{
    decode_frame, decode_message, encode_message, frame_length, BgpCodec, CodecOptions, UpdateView,
};
use ferrolb_bgp::Message;
use ferrolb_bgp_fuzz::{as4_growth, normalize, options};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn check_frame(frame: &[u8], opts: CodecOptions) {
    let Ok(Some(msg)) = decode_frame(frame, opts) else {
        return;
    };
    if let Message::Update(u) = &msg {
        let view =
            UpdateView::from_frame(frame, opts).expect("the view accepts what the decoder accepts");
        assert_eq!(&view.to_update(), u);
        assert_eq!(view.announced().count(), u.announced().count());
        assert_eq!(view.withdrawn().count(), u.withdrawn_prefixes().count());
    }
    let mut out = BytesMut::new();
    match encode_message(&msg, opts, &mut out) {
        Ok(()) => {}
        Err(e) if as4_growth(opts, &e) => return,
        Err(e) => panic!("decoded message does not encode: {e}\n{msg:?}"),
    }
    let again = decode_message(&out, opts).expect("re-encoded message decodes");
    let mut twice = BytesMut::new();
    encode_message(&again, opts, &mut twice).expect("second encode");
    assert_eq!(out, twice, "encoding is stable");
    assert_eq!(normalize(again), normalize(msg));
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let opts = options(selector);
    let mut rest = stream;
    let mut frames = 0usize;
    while let Ok(Some(len)) = frame_length(rest, opts) {
        let Some((frame, tail)) = rest.split_at_checked(len) else {
            break;
        };
        check_frame(frame, opts);
        rest = tail;
        frames += 1;
    }
    // The framed decoder reads the same stream; it stops at the first error or at the end.
    let mut codec = BgpCodec::new(opts);
    let mut buf = BytesMut::from(stream);
    let mut decoded = 0usize;
    while let Ok(Some(_)) = codec.decode(&mut buf) {
        decoded += 1;
    }
    assert!(decoded <= frames);
});
