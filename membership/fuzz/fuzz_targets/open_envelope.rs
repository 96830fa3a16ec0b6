//! Any bytes as a received membership datagram: opening and the replay check never panic, and
//! a datagram sealed with the group key opens to what was sealed and is admitted only once.
//!
//! Input: a flags octet, a big-endian i16 clock skew in milliseconds (the receiver's clock
//! minus the datagram's timestamp), then the datagram. Flag bit 0 re-seals the datagram's
//! timestamp, nonce and payload with the group key first, so that the fuzzer reaches the
//! checks behind the MAC.
#![no_main]

use ferrolb_membership::envelope::{open, seal, AuthKey, Opened, Rejection, ReplayGuard, OVERHEAD};
use libfuzzer_sys::fuzz_target;

/// The group key the seeds are sealed with.
const KEY: [u8; 32] = *b"ferrolb-membership-fuzzing-key!!";
/// Largest datagram the speaker accepts: 1350 octets of SWIM plus the envelope.
const MAX_DATAGRAM: usize = 1350 + OVERHEAD;
/// The speaker's replay window.
const WINDOW_MS: u64 = 10_000;

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let Some(key) = AuthKey::new(&KEY) else {
        return;
    };
    let [flags, skew_hi, skew_lo, rest @ ..] = data else {
        return;
    };
    let skew = i64::from(i16::from_be_bytes([*skew_hi, *skew_lo]));
    let resealed;
    let datagram = if flags & 1 != 0 && rest.len() >= OVERHEAD {
        let (Some(timestamp_ms), Some(nonce)) = (u64_at(rest, 5), u64_at(rest, 13)) else {
            return;
        };
        let payload = &rest[21..rest.len() - 32];
        resealed = seal(&key, timestamp_ms, nonce, payload);
        assert_eq!(resealed.len(), rest.len());
        let opened = open(&key, &resealed, usize::MAX);
        assert_eq!(
            opened,
            Ok(Opened {
                timestamp_ms,
                nonce,
                payload
            }),
            "a sealed datagram opens to what was sealed"
        );
        &resealed[..]
    } else {
        rest
    };

    let Ok(opened) = open(&key, datagram, MAX_DATAGRAM) else {
        return;
    };
    assert!((OVERHEAD..=MAX_DATAGRAM).contains(&datagram.len()));
    assert_eq!(opened.payload.len(), datagram.len() - OVERHEAD);
    // Another key never opens it.
    let Some(other) = AuthKey::new(&[0x5a; 32]) else {
        return;
    };
    assert_eq!(open(&other, datagram, MAX_DATAGRAM), Err(Rejection::BadMac));

    let now_ms = opened.timestamp_ms.saturating_add_signed(skew);
    let mut guard = ReplayGuard::new(WINDOW_MS, 4);
    let first = guard.admit(now_ms, &opened);
    let fresh = opened.timestamp_ms.abs_diff(now_ms) <= WINDOW_MS;
    if fresh {
        assert_eq!(first, Ok(()), "fresh datagram at skew {skew}");
        assert_eq!(guard.admit(now_ms, &opened), Err(Rejection::Replayed));
        assert_eq!(guard.len(), 1);
    } else {
        assert_eq!(
            first,
            Err(Rejection::Stale),
            "stale datagram at skew {skew}"
        );
        assert!(guard.is_empty());
    }
});
