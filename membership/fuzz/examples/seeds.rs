//! Writes the `open_envelope` seed corpus: datagrams sealed with the target's group key, with
//! various payload sizes and clock skews, plus truncated and foreign ones.
//!
//! Run from `membership/fuzz`: `cargo run --example seeds` (writes `corpus/open_envelope/seed-*`).

use std::path::Path;

use ferrolb_membership::envelope::{open, seal, AuthKey, OVERHEAD};

/// Must match `KEY` in `fuzz_targets/open_envelope.rs`.
const KEY: [u8; 32] = *b"ferrolb-membership-fuzzing-key!!";
/// A plausible sender clock: 2026-11-22, ms since the epoch.
const NOW_MS: u64 = 1_795_305_600_000;

/// The target's input: flags, the receiver's clock skew, the datagram.
fn input(reseal: bool, skew_ms: i16, datagram: &[u8]) -> Vec<u8> {
    [&[u8::from(reseal)][..], &skew_ms.to_be_bytes(), datagram].concat()
}

fn main() -> std::io::Result<()> {
    let key = AuthKey::new(&KEY).expect("32-octet key");
    let other = AuthKey::new(&[0x11; 32]).expect("32-octet key");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/open_envelope");
    std::fs::create_dir_all(&dir)?;
    let ping = seal(&key, NOW_MS, 0x0123_4567_89ab_cdef, b"\x01swim-ping");
    let empty = seal(&key, NOW_MS, 1, b"");
    let full = seal(&key, NOW_MS + 250, 2, &[0xa5; 1350]);
    for datagram in [&ping, &empty, &full] {
        assert!(
            open(&key, datagram, 1350 + OVERHEAD).is_ok(),
            "seed must open"
        );
    }
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("ping", input(false, 0, &ping)),
        ("ping-skewed", input(false, -9_000, &ping)),
        ("ping-stale", input(false, 12_000, &ping)),
        ("ping-resealed", input(true, 500, &ping)),
        ("empty", input(false, 3, &empty)),
        ("full", input(false, -250, &full)),
        (
            "oversized",
            input(false, 0, &seal(&key, NOW_MS, 3, &[0; 1351])),
        ),
        (
            "other-key",
            input(false, 0, &seal(&other, NOW_MS, 4, b"hello")),
        ),
        ("truncated", input(false, 0, &ping[..ping.len() - 1])),
        ("header-only", input(false, 0, &ping[..21])),
        (
            "bad-version",
            input(false, 0, &[&ping[..4], &[2], &ping[5..]].concat()),
        ),
    ];
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    println!("wrote {} seeds to {}", seeds.len(), dir.display());
    Ok(())
}
