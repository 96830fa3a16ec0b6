//! The PROXY protocol version 2 header (haproxy.org proxy-protocol.txt, section 2.2) that
//! tells a backend the client's real address (pure).

use std::net::{IpAddr, SocketAddr};

/// The 12-byte signature every v2 header starts with.
pub const SIGNATURE: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];
/// Version 2, command PROXY.
const VERSION_PROXY: u8 = 0x21;
/// AF_INET, SOCK_STREAM.
const TCP4: u8 = 0x11;
/// AF_INET6, SOCK_STREAM.
const TCP6: u8 = 0x21;

/// The header for a connection from `source` to `destination` (the address the client
/// connected to). Mixed families are sent as IPv6 with the IPv4 address mapped.
pub fn encode(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(52);
    out.extend_from_slice(&SIGNATURE);
    out.push(VERSION_PROXY);
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(TCP4);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            out.push(TCP6);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
        }
    }
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&destination.port().to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_families() {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let sig = "0d0a0d0a000d0a515549540a";
        // (source, destination, expected bytes after the signature)
        let cases = [
            (
                "192.0.2.1:40000",
                "198.51.100.7:6443",
                "2111000cc0000201c6336407 9c40192b",
            ),
            (
                "[2001:db8::1]:1",
                "[2001:db8::2]:443",
                "212100242001 0db8000000000000000000000001 20010db8000000000000000000000002 000101bb",
            ),
            (
                "192.0.2.1:1",
                "[2001:db8::2]:2",
                "21210024 00000000000000000000ffffc0000201 20010db8000000000000000000000002 00010002",
            ),
        ];
        for (s, d, expected) in cases {
            let got = encode(s.parse().unwrap(), d.parse().unwrap());
            assert_eq!(
                hex(&got),
                format!("{sig}{}", expected.replace(' ', "")),
                "{s} {d}"
            );
        }
    }
}
