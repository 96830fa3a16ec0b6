//! Ethernet MAC addresses and the IPv6 multicast groups derived from addresses.

use std::fmt;
use std::net::Ipv6Addr;

/// A 48-bit IEEE 802 MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00 (the unknown target hardware address of an ARP request).
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Whether the group bit is set (broadcast or multicast): never a valid sender.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The solicited-node multicast address of `addr` (RFC 4291 2.7.1): ff02::1:ffXX:XXXX with the
/// low 24 bits of `addr`. Neighbor Solicitations for `addr` are sent there.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The Ethernet multicast MAC an IPv6 multicast group maps to (RFC 2464 7): 33:33 followed by
/// the group's low 32 bits.
pub fn ipv6_multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_groups_and_macs() {
        let cases = [
            ("2001:db8::64", "ff02::1:ff00:64", "33:33:ff:00:00:64"),
            (
                "2001:db8::abcd:1234:5678",
                "ff02::1:ff34:5678",
                "33:33:ff:34:56:78",
            ),
            ("fe80::1", "ff02::1:ff00:1", "33:33:ff:00:00:01"),
        ];
        for (addr, group, mac) in cases {
            let g = solicited_node(addr.parse().unwrap());
            assert_eq!(g.to_string(), group, "{addr}");
            assert_eq!(ipv6_multicast_mac(g).to_string(), mac, "{addr}");
        }
    }

    #[test]
    fn multicast_bit() {
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(!MacAddr([0x02, 0, 0, 0, 0, 1]).is_multicast());
    }
}
