//! Kernel nexthop object messages (`RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`, `RTM_GETNEXTHOP`, Linux
//! `include/uapi/linux/nexthop.h`), which netlink-packet-route does not model.
//!
//! A message is a `struct nhmsg` (family, scope, protocol, reserved byte, 32-bit flags) followed
//! by `NHA_*` attributes. Only what FerroLB uses is decoded; other attributes are kept opaque.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u16, emit_u32, parse_u16, parse_u32, DecodeError, DefaultNla, Emitable, Nla, NlaBuffer,
    NlasIterator, Parseable,
};

/// Message type creating or replacing a nexthop object.
pub const RTM_NEWNEXTHOP: u16 = 104;
/// Message type deleting a nexthop object.
pub const RTM_DELNEXTHOP: u16 = 105;
/// Message type reading nexthop objects.
pub const RTM_GETNEXTHOP: u16 = 106;

const NHMSG_LEN: usize = 8;
const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_GROUP_TYPE: u16 = 3;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
/// `struct nexthop_grp`: id (u32), weight - 1 (u8), high weight bits (u8), reserved (u16).
const GROUP_ENTRY_LEN: usize = 8;
/// `NEXTHOP_GRP_TYPE_MPATH`: hash-threshold multipath.
const GROUP_TYPE_MULTIPATH: u16 = 0;

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// One `NHA_*` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHopAttribute {
    /// `NHA_ID`.
    Id(u32),
    /// `NHA_GROUP`: member ids, each with weight 1.
    Group(Vec<u32>),
    /// `NHA_GROUP_TYPE`.
    GroupType(u16),
    /// `NHA_BLACKHOLE`.
    Blackhole,
    /// `NHA_OIF`.
    Oif(u32),
    /// `NHA_GATEWAY`.
    Gateway(IpAddr),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for NextHopAttribute {
    fn value_len(&self) -> usize {
        match self {
            NextHopAttribute::Id(_) | NextHopAttribute::Oif(_) => 4,
            NextHopAttribute::Group(members) => members.len() * GROUP_ENTRY_LEN,
            NextHopAttribute::GroupType(_) => 2,
            NextHopAttribute::Blackhole => 0,
            NextHopAttribute::Gateway(IpAddr::V4(_)) => 4,
            NextHopAttribute::Gateway(IpAddr::V6(_)) => 16,
            NextHopAttribute::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            NextHopAttribute::Id(_) => NHA_ID,
            NextHopAttribute::Group(_) => NHA_GROUP,
            NextHopAttribute::GroupType(_) => NHA_GROUP_TYPE,
            NextHopAttribute::Blackhole => NHA_BLACKHOLE,
            NextHopAttribute::Oif(_) => NHA_OIF,
            NextHopAttribute::Gateway(_) => NHA_GATEWAY,
            NextHopAttribute::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            NextHopAttribute::Id(v) | NextHopAttribute::Oif(v) => {
                emit_u32(buffer, *v).unwrap_or(())
            }
            NextHopAttribute::Group(members) => {
                for (entry, id) in buffer.chunks_exact_mut(GROUP_ENTRY_LEN).zip(members) {
                    // Weight byte 0 means weight 1; reserved bytes stay zero.
                    entry.fill(0);
                    emit_u32(entry, *id).unwrap_or(());
                }
            }
            NextHopAttribute::GroupType(v) => emit_u16(buffer, *v).unwrap_or(()),
            NextHopAttribute::Blackhole => {}
            NextHopAttribute::Gateway(IpAddr::V4(a)) => copy(buffer, &a.octets()),
            NextHopAttribute::Gateway(IpAddr::V6(a)) => copy(buffer, &a.octets()),
            NextHopAttribute::Other(nla) => nla.emit_value(buffer),
        }
    }
}

fn copy(buffer: &mut [u8], bytes: &[u8]) {
    for (dst, src) in buffer.iter_mut().zip(bytes) {
        *dst = *src;
    }
}

impl NextHopAttribute {
    fn parse(buf: &NlaBuffer<&[u8]>) -> Result<NextHopAttribute, DecodeError> {
        let value = buf.value();
        Ok(match buf.kind() {
            NHA_ID => NextHopAttribute::Id(parse_u32(value)?),
            NHA_OIF => NextHopAttribute::Oif(parse_u32(value)?),
            NHA_GROUP_TYPE => NextHopAttribute::GroupType(parse_u16(value)?),
            NHA_BLACKHOLE => NextHopAttribute::Blackhole,
            NHA_GROUP => NextHopAttribute::Group(
                value
                    .chunks_exact(GROUP_ENTRY_LEN)
                    .map(|entry| parse_u32(entry.get(..4).unwrap_or_default()))
                    .collect::<Result<_, _>>()?,
            ),
            NHA_GATEWAY => match value.len() {
                4 => {
                    let mut o = [0u8; 4];
                    o.copy_from_slice(value);
                    NextHopAttribute::Gateway(IpAddr::V4(Ipv4Addr::from(o)))
                }
                16 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(value);
                    NextHopAttribute::Gateway(IpAddr::V6(Ipv6Addr::from(o)))
                }
                _ => NextHopAttribute::Other(DefaultNla::parse(buf)?),
            },
            _ => NextHopAttribute::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// A nexthop message: `struct nhmsg` and its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextHopMessage {
    /// `nh_family`: `AF_INET`/`AF_INET6` for gateways, 0 for groups and requests.
    pub family: u8,
    /// `nh_scope`.
    pub scope: u8,
    /// `nh_protocol`: the owner tag.
    pub protocol: u8,
    /// `nh_flags` (`RTNH_F_*`).
    pub flags: u32,
    /// The attributes.
    pub attributes: Vec<NextHopAttribute>,
}

impl NextHopMessage {
    /// A gateway nexthop object.
    pub fn gateway(id: u32, gateway: IpAddr, oif: u32, protocol: u8) -> NextHopMessage {
        NextHopMessage {
            family: if gateway.is_ipv4() { AF_INET } else { AF_INET6 },
            protocol,
            attributes: vec![
                NextHopAttribute::Id(id),
                NextHopAttribute::Gateway(gateway),
                NextHopAttribute::Oif(oif),
            ],
            ..NextHopMessage::default()
        }
    }

    /// A multipath group of `members`, each with weight 1.
    pub fn group(id: u32, members: Vec<u32>, protocol: u8) -> NextHopMessage {
        NextHopMessage {
            protocol,
            attributes: vec![
                NextHopAttribute::Id(id),
                NextHopAttribute::Group(members),
                NextHopAttribute::GroupType(GROUP_TYPE_MULTIPATH),
            ],
            ..NextHopMessage::default()
        }
    }

    /// A message naming only an id (deletion).
    pub fn id(id: u32) -> NextHopMessage {
        NextHopMessage {
            attributes: vec![NextHopAttribute::Id(id)],
            ..NextHopMessage::default()
        }
    }

    /// The `NHA_ID` attribute.
    pub fn nhid(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            NextHopAttribute::Id(id) => Some(*id),
            _ => None,
        })
    }
}

impl Emitable for NextHopMessage {
    fn buffer_len(&self) -> usize {
        NHMSG_LEN + self.attributes.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        let Some((header, rest)) = buffer.split_at_mut_checked(NHMSG_LEN) else {
            return;
        };
        header[0] = self.family;
        header[1] = self.scope;
        header[2] = self.protocol;
        header[3] = 0;
        emit_u32(&mut header[4..], self.flags).unwrap_or(());
        self.attributes.as_slice().emit(rest);
    }
}

impl<T: AsRef<[u8]> + ?Sized> Parseable<T> for NextHopMessage {
    fn parse(buf: &T) -> Result<NextHopMessage, DecodeError> {
        let bytes = buf.as_ref();
        let Some((header, rest)) = bytes.split_at_checked(NHMSG_LEN) else {
            return Err(DecodeError::from(
                "nexthop message shorter than struct nhmsg",
            ));
        };
        let mut attributes = Vec::new();
        for nla in NlasIterator::new(rest) {
            attributes.push(NextHopAttribute::parse(&nla?)?);
        }
        Ok(NextHopMessage {
            family: header[0],
            scope: header[1],
            protocol: header[2],
            flags: parse_u32(&header[4..])?,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(m: &NextHopMessage) -> Vec<u8> {
        let mut buf = vec![0xAA; m.buffer_len()];
        m.emit(&mut buf);
        buf
    }

    #[test]
    fn gateway_and_group_encoding_matches_the_kernel_layout() {
        let gw = NextHopMessage::gateway(0x0102_0304, "198.18.0.2".parse().unwrap(), 3, 200);
        assert_eq!(
            encode(&gw),
            [
                2, 0, 200, 0, 0, 0, 0, 0, // nhmsg: AF_INET, scope, protocol, resvd, flags
                8, 0, 1, 0, 4, 3, 2, 1, // NHA_ID
                8, 0, 6, 0, 198, 18, 0, 2, // NHA_GATEWAY
                8, 0, 5, 0, 3, 0, 0, 0, // NHA_OIF
            ]
        );
        let group = NextHopMessage::group(9, vec![1, 2], 200);
        assert_eq!(
            encode(&group),
            [
                0, 0, 200, 0, 0, 0, 0, 0, //
                8, 0, 1, 0, 9, 0, 0, 0, // NHA_ID
                20, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, // NHA_GROUP
                6, 0, 3, 0, 0, 0, 0, 0, // NHA_GROUP_TYPE + padding
            ]
        );
        let v6 = NextHopMessage::gateway(1, "2001:db8::2".parse().unwrap(), 4, 200);
        assert_eq!(encode(&v6)[0], 10);
    }

    #[test]
    fn messages_round_trip_and_unknown_attributes_survive() {
        let mut m = NextHopMessage::gateway(7, "2001:db8::2".parse().unwrap(), 4, 200);
        m.attributes
            .push(NextHopAttribute::Other(DefaultNla::new(15, vec![1, 2, 3])));
        let parsed = NextHopMessage::parse(&encode(&m)).unwrap();
        assert_eq!(parsed, m);
        assert_eq!(parsed.nhid(), Some(7));
        let g = NextHopMessage::group(9, vec![1, 2, 3], 200);
        assert_eq!(NextHopMessage::parse(&encode(&g)).unwrap(), g);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            &[],
            &[2, 0, 200],
            // NHA_ID with a 2-byte value.
            &[2, 0, 200, 0, 0, 0, 0, 0, 6, 0, 1, 0, 1, 2, 0, 0],
            // An attribute claiming more bytes than there are.
            &[2, 0, 200, 0, 0, 0, 0, 0, 40, 0, 1, 0, 1, 2, 3, 4],
        ];
        for bytes in cases {
            assert!(NextHopMessage::parse(bytes).is_err(), "{bytes:?}");
        }
        // A gateway of odd length is kept opaque.
        let odd = [2, 0, 200, 0, 0, 0, 0, 0, 7, 0, 6, 0, 1, 2, 3, 0];
        let parsed = NextHopMessage::parse(&odd).unwrap();
        assert!(matches!(parsed.attributes[0], NextHopAttribute::Other(_)));
    }
}
