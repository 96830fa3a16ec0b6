//! Address blocks as written in `IPAddressPool.spec.addresses`: CIDRs
//! (`192.0.2.0/24`, `2001:db8::/120`) and inclusive ranges
//! (`192.0.2.10-192.0.2.20`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::V4,
            IpAddr::V6(_) => AddressFamily::V6,
        }
    }

    /// The family of a network.
    pub fn of_net(net: &IpNet) -> Self {
        AddressFamily::of(net.addr())
    }

    /// The longest prefix length in this family: 32 or 128.
    pub fn max_prefix_len(self) -> u8 {
        match self {
            AddressFamily::V4 => 32,
            AddressFamily::V6 => 128,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::V4 => "IPv4",
            AddressFamily::V6 => "IPv6",
        })
    }
}

/// One entry of a pool's address list: a CIDR or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressBlock {
    /// A network in CIDR notation; host bits are never set.
    Cidr(IpNet),
    /// An inclusive range `start-end` of one family with `start <= end`.
    Range(IpAddr, IpAddr),
}

/// Why an address block string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressBlockError {
    /// Neither a CIDR nor a range.
    #[error("{0:?} is neither a CIDR (192.0.2.0/24) nor a range (192.0.2.10-192.0.2.20)")]
    Syntax(String),
    /// A bare address without a prefix length.
    #[error("{0} is a single address; write it as {0}/{1}")]
    BareAddress(IpAddr, u8),
    /// The CIDR part did not parse.
    #[error("invalid CIDR {0:?}")]
    InvalidCidr(String),
    /// The CIDR has bits set below its prefix length.
    #[error("{0} has host bits set (the network is {1})")]
    HostBitsSet(IpNet, IpNet),
    /// One side of a range is not an IP address.
    #[error("invalid range {0:?}: {1:?} is not an IP address")]
    InvalidRangeAddress(String, String),
    /// The two ends of a range are of different families.
    #[error("range start {0} and end {1} are of different address families")]
    MixedFamilies(IpAddr, IpAddr),
    /// The range runs backwards.
    #[error("range start {0} is after end {1}")]
    StartAfterEnd(IpAddr, IpAddr),
}

impl FromStr for AddressBlock {
    type Err = AddressBlockError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if let Some((start, end)) = s.split_once('-') {
            let parse_end = |part: &str| {
                part.trim().parse::<IpAddr>().map_err(|_| {
                    AddressBlockError::InvalidRangeAddress(s.to_owned(), part.trim().to_owned())
                })
            };
            let (start, end) = (parse_end(start)?, parse_end(end)?);
            if AddressFamily::of(start) != AddressFamily::of(end) {
                return Err(AddressBlockError::MixedFamilies(start, end));
            }
            if start > end {
                return Err(AddressBlockError::StartAfterEnd(start, end));
            }
            return Ok(AddressBlock::Range(start, end));
        }
        if s.contains('/') {
            let net: IpNet = s
                .parse()
                .map_err(|_| AddressBlockError::InvalidCidr(s.to_owned()))?;
            if net.trunc() != net {
                return Err(AddressBlockError::HostBitsSet(net, net.trunc()));
            }
            return Ok(AddressBlock::Cidr(net));
        }
        match s.parse::<IpAddr>() {
            Ok(addr) => Err(AddressBlockError::BareAddress(
                addr,
                AddressFamily::of(addr).max_prefix_len(),
            )),
            Err(_) => Err(AddressBlockError::Syntax(s.to_owned())),
        }
    }
}

impl fmt::Display for AddressBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressBlock::Cidr(net) => write!(f, "{net}"),
            AddressBlock::Range(start, end) => write!(f, "{start}-{end}"),
        }
    }
}

impl From<IpNet> for AddressBlock {
    fn from(net: IpNet) -> Self {
        AddressBlock::Cidr(net.trunc())
    }
}

impl AddressBlock {
    /// The block's address family.
    pub fn family(&self) -> AddressFamily {
        AddressFamily::of(self.first())
    }

    /// The lowest address in the block.
    pub fn first(&self) -> IpAddr {
        match self {
            AddressBlock::Cidr(net) => net.network(),
            AddressBlock::Range(start, _) => *start,
        }
    }

    /// The highest address in the block.
    pub fn last(&self) -> IpAddr {
        match self {
            AddressBlock::Cidr(net) => net.broadcast(),
            AddressBlock::Range(_, end) => *end,
        }
    }

    /// The number of addresses in the block. Saturates at `u128::MAX` for
    /// the one block that has 2^128 addresses, `::/0`.
    pub fn size(&self) -> u128 {
        (to_u128(self.last()) - to_u128(self.first())).saturating_add(1)
    }

    /// Whether `addr` is inside the block.
    pub fn contains(&self, addr: IpAddr) -> bool {
        AddressFamily::of(addr) == self.family() && self.first() <= addr && addr <= self.last()
    }

    /// Whether the two blocks share at least one address.
    pub fn overlaps(&self, other: &AddressBlock) -> bool {
        self.family() == other.family()
            && self.first() <= other.last()
            && other.first() <= self.last()
    }

    /// The smallest list of CIDRs covering exactly this block, in address order.
    pub fn cidrs(&self) -> Vec<IpNet> {
        match self {
            AddressBlock::Cidr(net) => vec![*net],
            AddressBlock::Range(start, end) => {
                split_range(to_u128(*start), to_u128(*end), self.family())
            }
        }
    }

    /// The shortest prefix length among [`AddressBlock::cidrs`]: the widest
    /// CIDR the block contains. An aggregation length shorter than this would
    /// announce addresses outside the block.
    pub fn widest_prefix_len(&self) -> u8 {
        self.cidrs()
            .iter()
            .map(IpNet::prefix_len)
            .min()
            .unwrap_or(self.family().max_prefix_len())
    }
}

/// Greedy CIDR decomposition of `[start, end]`: at each step take the largest
/// aligned block that starts at `start` and does not pass `end`.
fn split_range(mut start: u128, end: u128, family: AddressFamily) -> Vec<IpNet> {
    let bits = u32::from(family.max_prefix_len());
    let mut out = Vec::new();
    loop {
        let align = if start == 0 {
            bits
        } else {
            start.trailing_zeros().min(bits)
        };
        // Largest host-bit count h <= align with start + 2^h - 1 <= end.
        let span = end - start; // addresses after `start`
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let host_bits = align.min(fit);
        let prefix = (bits - host_bits) as u8;
        out.push(from_u128(start, prefix, family));
        let size_minus_one = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        match start.checked_add(size_minus_one) {
            Some(last) if last < end => start = last + 1,
            _ => return out,
        }
    }
}

fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(value: u128, prefix: u8, family: AddressFamily) -> IpNet {
    // `value` stays within the family's range and `prefix` within its maximum
    // by construction in `split_range`, so both constructors succeed; fall back
    // to host routes rather than panic if that ever stops being true.
    match family {
        AddressFamily::V4 => {
            let addr = Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX));
            IpNet::V4(Ipv4Net::new(addr, prefix).unwrap_or_else(|_| Ipv4Net::from(addr)))
        }
        AddressFamily::V6 => {
            let addr = Ipv6Addr::from(value);
            IpNet::V6(Ipv6Net::new(addr, prefix).unwrap_or_else(|_| Ipv6Net::from(addr)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(s: &str) -> AddressBlock {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_cidrs_and_ranges() {
        assert_eq!(
            block("192.0.2.0/24"),
            AddressBlock::Cidr("192.0.2.0/24".parse().unwrap())
        );
        assert_eq!(
            block(" 192.0.2.10 - 192.0.2.20 "),
            AddressBlock::Range("192.0.2.10".parse().unwrap(), "192.0.2.20".parse().unwrap())
        );
        assert_eq!(
            block("2001:db8::1-2001:db8::ff").family(),
            AddressFamily::V6
        );
        assert_eq!(block("10.0.0.1-10.0.0.1").size(), 1);
    }

    #[test]
    fn rejects_malformed_blocks() {
        let cases: &[(&str, &str)] = &[
            (
                "10.0.0.9-10.0.0.1",
                "range start 10.0.0.9 is after end 10.0.0.1",
            ),
            (
                "10.0.0.1-2001:db8::1",
                "range start 10.0.0.1 and end 2001:db8::1 are of different address families",
            ),
            (
                "10.0.0.1/24",
                "10.0.0.1/24 has host bits set (the network is 10.0.0.0/24)",
            ),
            ("10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\""),
            (
                "10.0.0.5",
                "10.0.0.5 is a single address; write it as 10.0.0.5/32",
            ),
            (
                "2001:db8::5",
                "2001:db8::5 is a single address; write it as 2001:db8::5/128",
            ),
            (
                "10.0.0.1-banana",
                "invalid range \"10.0.0.1-banana\": \"banana\" is not an IP address",
            ),
            (
                "banana",
                "\"banana\" is neither a CIDR (192.0.2.0/24) nor a range (192.0.2.10-192.0.2.20)",
            ),
        ];
        for (input, want) in cases {
            let err = input.parse::<AddressBlock>().expect_err(input);
            assert_eq!(err.to_string(), *want, "{input}");
        }
    }

    #[test]
    fn size_contains_overlaps() {
        assert_eq!(block("192.0.2.0/24").size(), 256);
        assert_eq!(block("192.0.2.10-192.0.2.20").size(), 11);
        assert_eq!(block("2001:db8::/64").size(), 1 << 64);
        assert_eq!(block("::/0").size(), u128::MAX);
        assert_eq!(block("0.0.0.0/0").size(), 1 << 32);

        let r = block("192.0.2.10-192.0.2.20");
        assert!(r.contains("192.0.2.10".parse().unwrap()));
        assert!(r.contains("192.0.2.20".parse().unwrap()));
        assert!(!r.contains("192.0.2.21".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()));

        let table: &[(&str, &str, bool)] = &[
            ("192.0.2.0/24", "192.0.2.128/25", true),
            ("192.0.2.0/25", "192.0.2.128/25", false),
            ("192.0.2.0-192.0.2.10", "192.0.2.10/32", true),
            ("192.0.2.0-192.0.2.10", "192.0.2.11-192.0.2.20", false),
            ("0.0.0.0/0", "::/0", false),
            ("2001:db8::/32", "2001:db8:1::1-2001:db8:1::9", true),
        ];
        for (a, b, want) in table {
            assert_eq!(block(a).overlaps(&block(b)), *want, "{a} vs {b}");
            assert_eq!(block(b).overlaps(&block(a)), *want, "{b} vs {a}");
        }
    }

    #[test]
    fn ranges_decompose_into_cidrs() {
        let table: &[(&str, &[&str])] = &[
            ("192.0.2.0/24", &["192.0.2.0/24"]),
            ("192.0.2.0-192.0.2.255", &["192.0.2.0/24"]),
            (
                "192.0.2.1-192.0.2.10",
                &[
                    "192.0.2.1/32",
                    "192.0.2.2/31",
                    "192.0.2.4/30",
                    "192.0.2.8/31",
                    "192.0.2.10/32",
                ],
            ),
            ("0.0.0.0-255.255.255.255", &["0.0.0.0/0"]),
            ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &["::/0"]),
            (
                "2001:db8::-2001:db8::1:0",
                &["2001:db8::/112", "2001:db8::1:0/128"],
            ),
        ];
        for (input, want) in table {
            let got: Vec<String> = block(input)
                .cidrs()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(got, *want, "{input}");
        }
        assert_eq!(block("192.0.2.1-192.0.2.10").widest_prefix_len(), 30);
        assert_eq!(block("192.0.2.0/24").widest_prefix_len(), 24);
    }
}
