//! Server-generated values: UIDs, `generateName` suffixes and timestamps.

use rand::Rng;

/// A random (version 4) UUID, as used for `metadata.uid`.
pub fn uid() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

/// The alphabet the real server draws `generateName` suffixes from (no vowels,
/// no confusable characters).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A random 5-character `generateName` suffix.
pub fn name_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..5)
        .map(|_| {
            let i = rng.gen_range(0..SUFFIX_ALPHABET.len());
            char::from(SUFFIX_ALPHABET.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// The current time in RFC 3339 with second precision (`metav1.Time`).
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let u = uid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert_ne!(uid(), u);
        let s = name_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|c| SUFFIX_ALPHABET.contains(&c)));
        let t = now();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
    }
}
