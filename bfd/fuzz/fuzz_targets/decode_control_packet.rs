//! Any bytes as a received BFD Control packet: decoding never panics, and whatever decodes
//! encodes to the same fixed fields and decodes again to the same packet.
#![no_main]

use ferrolb_bfd::packet::{ControlPacket, MIN_LENGTH};
use ferrolb_bfd::State;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ControlPacket::decode(data) else {
        return;
    };
    assert_ne!(packet.detect_mult, 0);
    assert_ne!(packet.my_discriminator, 0);
    assert!(
        packet.your_discriminator != 0 || matches!(packet.state, State::Down | State::AdminDown)
    );
    let wire = packet.encode();
    // Only the Length octet may differ: the encoder writes 24, a sender may have sent more.
    assert_eq!(wire[..3], data[..3], "version, diag, flags, detect mult");
    assert_eq!(usize::from(wire[3]), MIN_LENGTH);
    assert_eq!(
        wire[4..],
        data[4..MIN_LENGTH],
        "discriminators and intervals"
    );
    assert_eq!(ControlPacket::decode(&wire), Ok(packet), "round trip");
});
