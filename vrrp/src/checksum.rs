//! The Internet checksum (RFC 1071) with the IPv4 and IPv6 pseudo-headers VRRPv3 covers
//! (RFC 5798 5.2.8).

use std::net::IpAddr;

/// The IP protocol number of VRRP.
pub const PROTOCOL: u8 = 112;

/// Adds `bytes` as big-endian 16-bit words (an odd last byte is padded with zero).
fn add_words(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = words.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// Folds the carries back in and complements.
fn finish(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

/// The checksum of a VRRP `message` sent from `source` to `destination`, the pseudo-header
/// included. Both addresses must be of one family; a mixed pair has no pseudo-header and
/// yields the checksum of the message alone (callers never mix them).
pub fn vrrp_checksum(source: IpAddr, destination: IpAddr, message: &[u8]) -> u16 {
    // VRRP messages are at most a few kilobytes, so the length always fits.
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut sum = match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = add_words(add_words(0, &s.octets()), &d.octets());
            sum.wrapping_add(u32::from(PROTOCOL)).wrapping_add(len)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let sum = add_words(add_words(0, &s.octets()), &d.octets());
            add_words(sum, &len.to_be_bytes()).wrapping_add(u32::from(PROTOCOL))
        }
        _ => 0,
    };
    sum = add_words(sum, message);
    finish(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_odd_length() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (complement 220d).
        assert_eq!(
            finish(add_words(0, &[0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7])),
            0x220d
        );
        assert_eq!(add_words(0, &[0x12]), 0x1200);
    }
}
