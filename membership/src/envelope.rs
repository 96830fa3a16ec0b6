//! The authenticated envelope around every membership datagram.
//!
//! ```text
//! magic "FLBm" (4) | version (1) | timestamp, ms since the Unix epoch (8) | nonce (8) | SWIM payload | HMAC-SHA256 (32)
//! ```
//!
//! The MAC covers everything before it, under the group's shared key. The timestamp and nonce
//! stop replays: a datagram is accepted only if its timestamp is within the replay window of the
//! receiver's clock and its (timestamp, nonce) pair was not seen before inside that window. The
//! replay check runs only after the MAC is verified, so strangers cannot fill the replay cache.
//!
//! Pure: no clock, no randomness, no I/O; the caller passes the time and the nonce.

use std::collections::BTreeSet;

use ring::hmac;

const MAGIC: [u8; 4] = *b"FLBm";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1 + 8 + 8;
const TAG_LEN: usize = 32;
/// Bytes the envelope adds around a payload.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Shortest shared key accepted (128 bits).
pub const MIN_KEY_LEN: usize = 16;

/// The group's shared HMAC-SHA256 key.
pub struct AuthKey(hmac::Key);

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

impl AuthKey {
    /// Builds the key from the secret's bytes; `None` if shorter than [`MIN_KEY_LEN`].
    pub fn new(secret: &[u8]) -> Option<AuthKey> {
        (secret.len() >= MIN_KEY_LEN).then(|| AuthKey(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }
}

/// Why a datagram was dropped; [`Rejection::reason`] is its metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Too short to hold the header and MAC, or longer than the largest datagram accepted.
    Malformed,
    /// Not a FerroLB membership envelope of a version this speaker understands.
    UnknownFormat,
    /// The MAC does not match: wrong key or tampered.
    BadMac,
    /// The timestamp is outside the replay window (an old capture, or a badly skewed clock).
    Stale,
    /// Seen before within the replay window.
    Replayed,
    /// The replay cache is full; dropping is the safe side.
    ReplayCacheFull,
}

impl Rejection {
    /// Every reason, for summing counters.
    pub const ALL: [Rejection; 6] = [
        Rejection::Malformed,
        Rejection::UnknownFormat,
        Rejection::BadMac,
        Rejection::Stale,
        Rejection::Replayed,
        Rejection::ReplayCacheFull,
    ];

    /// A short label for metrics and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::UnknownFormat => "unknown_format",
            Rejection::BadMac => "bad_mac",
            Rejection::Stale => "stale",
            Rejection::Replayed => "replayed",
            Rejection::ReplayCacheFull => "replay_cache_full",
        }
    }
}

/// An envelope whose MAC checked out (not yet checked for replay).
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'a> {
    /// Sender's clock when sealing, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Sender's random per-datagram nonce.
    pub nonce: u64,
    /// The SWIM message inside.
    pub payload: &'a [u8],
}

/// Wraps `payload` in an authenticated envelope.
pub fn seal(key: &AuthKey, timestamp_ms: u64, nonce: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(OVERHEAD + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&nonce.to_be_bytes());
    out.extend_from_slice(payload);
    let tag = hmac::sign(&key.0, &out);
    out.extend_from_slice(tag.as_ref());
    out
}

/// Checks a received datagram's format and MAC; `max_len` bounds what is accepted at all.
pub fn open<'a>(
    key: &AuthKey,
    datagram: &'a [u8],
    max_len: usize,
) -> Result<Opened<'a>, Rejection> {
    if datagram.len() < OVERHEAD || datagram.len() > max_len {
        return Err(Rejection::Malformed);
    }
    let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
    let (header, payload) = signed.split_at(HEADER_LEN);
    let (magic, rest) = header.split_at(MAGIC.len());
    let (version, rest) = rest.split_at(1);
    if magic != MAGIC || version != [VERSION] {
        return Err(Rejection::UnknownFormat);
    }
    hmac::verify(&key.0, signed, tag).map_err(|_| Rejection::BadMac)?;
    let (timestamp, nonce) = rest.split_at(8);
    Ok(Opened {
        timestamp_ms: u64::from_be_bytes(to_array(timestamp)),
        nonce: u64::from_be_bytes(to_array(nonce)),
        payload,
    })
}

fn to_array(bytes: &[u8]) -> [u8; 8] {
    let mut array = [0; 8];
    array.copy_from_slice(bytes);
    array
}

/// Remembers the (timestamp, nonce) pairs accepted within the replay window.
#[derive(Debug)]
pub struct ReplayGuard {
    window_ms: u64,
    capacity: usize,
    seen: BTreeSet<(u64, u64)>,
}

impl ReplayGuard {
    /// A guard accepting timestamps within `window_ms` of the local clock (either way, to allow
    /// for clock skew) and remembering at most `capacity` datagrams.
    pub fn new(window_ms: u64, capacity: usize) -> ReplayGuard {
        ReplayGuard {
            window_ms,
            capacity,
            seen: BTreeSet::new(),
        }
    }

    /// Accepts an authenticated datagram once; `now_ms` is the local clock.
    pub fn admit(&mut self, now_ms: u64, opened: &Opened<'_>) -> Result<(), Rejection> {
        let oldest = now_ms.saturating_sub(self.window_ms);
        let newest = now_ms.saturating_add(self.window_ms);
        if opened.timestamp_ms < oldest || opened.timestamp_ms > newest {
            return Err(Rejection::Stale);
        }
        // Entries older than the window can no longer pass the check above.
        while self.seen.first().is_some_and(|&(ts, _)| ts < oldest) {
            self.seen.pop_first();
        }
        let entry = (opened.timestamp_ms, opened.nonce);
        if self.seen.contains(&entry) {
            return Err(Rejection::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(Rejection::ReplayCacheFull);
        }
        self.seen.insert(entry);
        Ok(())
    }

    /// How many datagrams are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1500;

    fn key(byte: u8) -> AuthKey {
        AuthKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn short_keys_are_refused() {
        for (len, ok) in [(0, false), (15, false), (16, true), (64, true)] {
            assert_eq!(AuthKey::new(&vec![7; len]).is_some(), ok, "{len} bytes");
        }
    }

    #[test]
    fn sealed_datagrams_open_with_the_same_key() {
        for payload in [&b""[..], b"x", &[0xAB; 1400]] {
            let datagram = seal(&key(1), 1_000, 42, payload);
            assert_eq!(datagram.len(), payload.len() + OVERHEAD);
            let opened = open(&key(1), &datagram, MAX).unwrap();
            assert_eq!(
                opened,
                Opened {
                    timestamp_ms: 1_000,
                    nonce: 42,
                    payload
                }
            );
        }
    }

    #[test]
    fn damaged_or_foreign_datagrams_are_rejected() {
        let good = seal(&key(1), 1_000, 42, b"ping");
        let flip = |at: usize| {
            let mut d = good.clone();
            d[at] ^= 0x01;
            d
        };
        let cases: Vec<(&str, Vec<u8>, u8, Rejection)> = vec![
            ("empty", vec![], 1, Rejection::Malformed),
            (
                "header only",
                good[..HEADER_LEN].to_vec(),
                1,
                Rejection::Malformed,
            ),
            (
                "truncated by one byte",
                good[..good.len() - 1].to_vec(),
                1,
                Rejection::BadMac,
            ),
            (
                "truncated below the overhead",
                good[..OVERHEAD - 1].to_vec(),
                1,
                Rejection::Malformed,
            ),
            ("oversized", vec![0; MAX + 1], 1, Rejection::Malformed),
            ("wrong key", good.clone(), 2, Rejection::BadMac),
            ("bad magic", flip(0), 1, Rejection::UnknownFormat),
            ("bad version", flip(4), 1, Rejection::UnknownFormat),
            ("tampered timestamp", flip(5), 1, Rejection::BadMac),
            ("tampered nonce", flip(20), 1, Rejection::BadMac),
            ("tampered payload", flip(HEADER_LEN), 1, Rejection::BadMac),
            ("tampered MAC", flip(good.len() - 1), 1, Rejection::BadMac),
            (
                "payload with a forged MAC appended",
                [&good[..], &[0; TAG_LEN]].concat(),
                1,
                Rejection::BadMac,
            ),
        ];
        for (name, datagram, key_byte, want) in cases {
            assert_eq!(open(&key(key_byte), &datagram, MAX), Err(want), "{name}");
        }
    }

    #[test]
    fn replays_and_stale_datagrams_are_rejected() {
        let window = 10_000;
        let now = 1_000_000;
        let opened = |timestamp_ms, nonce| Opened {
            timestamp_ms,
            nonce,
            payload: b"",
        };
        let mut guard = ReplayGuard::new(window, 100);
        let cases = [
            ("fresh", now, now, 1, Ok(())),
            ("replayed at once", now, now, 1, Err(Rejection::Replayed)),
            ("same time, new nonce", now, now, 2, Ok(())),
            (
                "replayed later in the window",
                now + 9_000,
                now,
                2,
                Err(Rejection::Replayed),
            ),
            ("sender clock ahead", now, now + window, 3, Ok(())),
            (
                "too far ahead",
                now,
                now + window + 1,
                4,
                Err(Rejection::Stale),
            ),
            ("oldest in window", now, now - window, 5, Ok(())),
            ("too old", now, now - window - 1, 6, Err(Rejection::Stale)),
            (
                "a capture replayed after the window",
                now + window + 1,
                now,
                1,
                Err(Rejection::Stale),
            ),
        ];
        for (name, local, timestamp, nonce, want) in cases {
            assert_eq!(
                guard.admit(local, &opened(timestamp, nonce)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn the_replay_cache_is_bounded_and_forgets_expired_entries() {
        let mut guard = ReplayGuard::new(1_000, 3);
        for nonce in 0..3 {
            assert_eq!(
                guard.admit(
                    5_000,
                    &Opened {
                        timestamp_ms: 5_000,
                        nonce,
                        payload: b""
                    }
                ),
                Ok(())
            );
        }
        let next = Opened {
            timestamp_ms: 5_000,
            nonce: 3,
            payload: b"",
        };
        assert_eq!(guard.admit(5_000, &next), Err(Rejection::ReplayCacheFull));
        assert_eq!(guard.len(), 3);
        // Once the window has moved past them, old entries make room.
        let later = Opened {
            timestamp_ms: 6_500,
            nonce: 0,
            payload: b"",
        };
        assert_eq!(guard.admit(6_500, &later), Ok(()));
        assert_eq!(guard.len(), 1);
    }
}
