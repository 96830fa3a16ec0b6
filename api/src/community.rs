//! BGP communities as written in `BGPAdvertisement.spec.communities`:
//! standard communities (RFC 1997) as `asn:value` or a well-known name, and
//! large communities (RFC 8092) as `large:global:local1:local2`.

use std::fmt;
use std::str::FromStr;

/// A standard BGP community (RFC 1997): two 16-bit halves in one 32-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

/// Well-known standard communities, by the names users may write.
const WELL_KNOWN: &[(&str, Community)] = &[
    ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ("accept-own", Community::ACCEPT_OWN),
    ("llgr-stale", Community::LLGR_STALE),
    ("no-llgr", Community::NO_LLGR),
    ("blackhole", Community::BLACKHOLE),
    ("no-export", Community::NO_EXPORT),
    ("no-advertise", Community::NO_ADVERTISE),
    ("no-export-subconfed", Community::NO_EXPORT_SUBCONFED),
    // RFC 1997 spelling of the same community; formats as the name above.
    ("local-as", Community::NO_EXPORT_SUBCONFED),
    ("no-peer", Community::NO_PEER),
];

impl Community {
    /// `GRACEFUL_SHUTDOWN` (RFC 8326), 65535:0.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// `ACCEPT_OWN` (RFC 7611), 65535:1.
    pub const ACCEPT_OWN: Community = Community(0xFFFF_0001);
    /// `LLGR_STALE` (RFC 9494), 65535:6.
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// `NO_LLGR` (RFC 9494), 65535:7.
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// `BLACKHOLE` (RFC 7999), 65535:666.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// `NO_EXPORT` (RFC 1997): do not advertise outside the AS/confederation.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// `NO_ADVERTISE` (RFC 1997): do not advertise to any peer.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// `NO_EXPORT_SUBCONFED` (RFC 1997), also called `local-as`.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// `NO_PEER` (RFC 3765).
    pub const NO_PEER: Community = Community(0xFFFF_FF04);

    /// The community `high:low`.
    pub const fn from_parts(high: u16, low: u16) -> Self {
        Community(((high as u32) << 16) | low as u32)
    }

    /// The upper 16 bits (conventionally the AS number).
    pub const fn high(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The lower 16 bits.
    pub const fn low(self) -> u16 {
        self.0 as u16
    }

    /// The well-known name of this community, if it has one.
    pub fn well_known_name(self) -> Option<&'static str> {
        WELL_KNOWN
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(name, _)| *name)
    }
}

/// A large BGP community (RFC 8092): three 32-bit numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// Global administrator (the AS number that defines the community).
    pub global_admin: u32,
    /// First local data part.
    pub local_data1: u32,
    /// Second local data part.
    pub local_data2: u32,
}

/// A community as written in an advertisement: standard or large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BgpCommunity {
    /// A standard (RFC 1997) community.
    Standard(Community),
    /// A large (RFC 8092) community.
    Large(LargeCommunity),
}

/// Why a community string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid community {input:?}: {reason}")]
pub struct CommunityParseError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

fn parse_part<T: FromStr>(input: &str, part: &str, bits: u8) -> Result<T, CommunityParseError> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommunityParseError {
            input: input.to_owned(),
            reason: format!("{part:?} is not a number"),
        });
    }
    part.parse().map_err(|_| CommunityParseError {
        input: input.to_owned(),
        reason: format!("{part} does not fit in {bits} bits"),
    })
}

impl FromStr for Community {
    type Err = CommunityParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some((_, c)) = WELL_KNOWN.iter().find(|(name, _)| *name == input) {
            return Ok(*c);
        }
        let parts: Vec<&str> = input.split(':').collect();
        let [high, low] = parts.as_slice() else {
            return Err(CommunityParseError {
                input: input.to_owned(),
                reason: "expected asn:value (two 16-bit numbers) or a well-known name such \
                         as no-export"
                    .to_owned(),
            });
        };
        Ok(Community::from_parts(
            parse_part(input, high, 16)?,
            parse_part(input, low, 16)?,
        ))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.high(), self.low()),
        }
    }
}

impl FromStr for LargeCommunity {
    type Err = CommunityParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split(':').collect();
        let ["large", global, local1, local2] = parts.as_slice() else {
            return Err(CommunityParseError {
                input: input.to_owned(),
                reason: "expected large:global:local1:local2 (three 32-bit numbers)".to_owned(),
            });
        };
        Ok(LargeCommunity {
            global_admin: parse_part(input, global, 32)?,
            local_data1: parse_part(input, local1, 32)?,
            local_data2: parse_part(input, local2, 32)?,
        })
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "large:{}:{}:{}",
            self.global_admin, self.local_data1, self.local_data2
        )
    }
}

impl FromStr for BgpCommunity {
    type Err = CommunityParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.starts_with("large:") {
            input.parse().map(BgpCommunity::Large)
        } else {
            input.parse().map(BgpCommunity::Standard)
        }
    }
}

impl fmt::Display for BgpCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BgpCommunity::Standard(c) => c.fmt(f),
            BgpCommunity::Large(c) => c.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_standard_and_well_known() {
        assert_eq!("65000:100".parse(), Ok(Community::from_parts(65000, 100)));
        assert_eq!("0:0".parse(), Ok(Community(0)));
        assert_eq!("65535:65535".parse(), Ok(Community(u32::MAX)));
        assert_eq!("no-export".parse(), Ok(Community::NO_EXPORT));
        assert_eq!("local-as".parse(), Ok(Community::NO_EXPORT_SUBCONFED));
        assert_eq!("blackhole".parse(), Ok(Community::from_parts(65535, 666)));
        assert_eq!(Community::NO_EXPORT.to_string(), "no-export");
        assert_eq!(Community::from_parts(64512, 7).to_string(), "64512:7");
    }

    #[test]
    fn parses_large() {
        let want = LargeCommunity {
            global_admin: 4_200_000_000,
            local_data1: 1,
            local_data2: 2,
        };
        assert_eq!("large:4200000000:1:2".parse(), Ok(want));
        assert_eq!(want.to_string(), "large:4200000000:1:2");
        assert_eq!(
            "large:4200000000:1:2".parse(),
            Ok(BgpCommunity::Large(want))
        );
    }

    #[test]
    fn rejects_malformed() {
        let cases: &[(&str, &str)] = &[
            ("65536:1", "65536 does not fit in 16 bits"),
            ("1:65536", "65536 does not fit in 16 bits"),
            ("a:b", "\"a\" is not a number"),
            ("-1:5", "\"-1\" is not a number"),
            (
                "1:2:3",
                "expected asn:value (two 16-bit numbers) or a well-known name such as no-export",
            ),
            (
                "no-exports",
                "expected asn:value (two 16-bit numbers) or a well-known name such as no-export",
            ),
            ("large:1:2:4294967296", "4294967296 does not fit in 32 bits"),
            (
                "large:1:2",
                "expected large:global:local1:local2 (three 32-bit numbers)",
            ),
            ("large:1::3", "\"\" is not a number"),
        ];
        for (input, reason) in cases {
            let err = input.parse::<BgpCommunity>().expect_err(input);
            assert_eq!(err.reason, *reason, "{input}");
            assert_eq!(
                err.to_string(),
                format!("invalid community {input:?}: {reason}")
            );
        }
    }
}
