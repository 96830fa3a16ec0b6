//! The message type of FerroLB's rtnetlink socket: netlink-packet-route's messages plus the
//! nexthop object messages of [`super::nexthop_msg`].

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkDeserializable, NetlinkHeader, NetlinkSerializable, Parseable,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::nexthop_msg::{NextHopMessage, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP};

/// Every rtnetlink message FerroLB sends or receives: netlink-packet-route's, plus nexthop
/// objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtMessage {
    /// Links, addresses, routes, ...
    Route(RouteNetlinkMessage),
    /// `RTM_NEWNEXTHOP`.
    NewNextHop(NextHopMessage),
    /// `RTM_DELNEXTHOP`.
    DelNextHop(NextHopMessage),
    /// `RTM_GETNEXTHOP`.
    GetNextHop(NextHopMessage),
}

impl NetlinkSerializable for RtMessage {
    fn message_type(&self) -> u16 {
        match self {
            RtMessage::Route(m) => m.message_type(),
            RtMessage::NewNextHop(_) => RTM_NEWNEXTHOP,
            RtMessage::DelNextHop(_) => RTM_DELNEXTHOP,
            RtMessage::GetNextHop(_) => RTM_GETNEXTHOP,
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            RtMessage::Route(m) => NetlinkSerializable::buffer_len(m),
            RtMessage::NewNextHop(m) | RtMessage::DelNextHop(m) | RtMessage::GetNextHop(m) => {
                Emitable::buffer_len(m)
            }
        }
    }

    fn serialize(&self, buffer: &mut [u8]) {
        match self {
            RtMessage::Route(m) => m.serialize(buffer),
            RtMessage::NewNextHop(m) | RtMessage::DelNextHop(m) | RtMessage::GetNextHop(m) => {
                m.emit(buffer)
            }
        }
    }
}

impl NetlinkDeserializable for RtMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
        Ok(match header.message_type {
            RTM_NEWNEXTHOP => RtMessage::NewNextHop(NextHopMessage::parse(payload)?),
            RTM_DELNEXTHOP => RtMessage::DelNextHop(NextHopMessage::parse(payload)?),
            RTM_GETNEXTHOP => RtMessage::GetNextHop(NextHopMessage::parse(payload)?),
            _ => RtMessage::Route(RouteNetlinkMessage::deserialize(header, payload)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_and_nexthop_messages_share_one_message_type() {
        let nh = RtMessage::NewNextHop(NextHopMessage::id(3));
        assert_eq!(nh.message_type(), RTM_NEWNEXTHOP);
        let mut buf = vec![0; NetlinkSerializable::buffer_len(&nh)];
        nh.serialize(&mut buf);
        let mut header = NetlinkHeader::default();
        header.message_type = RTM_NEWNEXTHOP;
        assert_eq!(RtMessage::deserialize(&header, &buf).unwrap(), nh);
        // Garbage is an error, not a panic.
        header.message_type = 24; // RTM_NEWROUTE
        assert!(RtMessage::deserialize(&header, &[1, 2, 3]).is_err());
    }
}
