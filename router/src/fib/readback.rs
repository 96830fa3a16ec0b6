//! Reading the kernel's answers: FerroLB's routes and nexthop objects from dumps, and how a
//! next hop is reached from a route lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::AddressFamily;

use super::kernel::{KernelNextHop, KernelRoute, NextHopKind};
use super::nexthop_msg::{NextHopAttribute, NextHopMessage};

/// How a next hop is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// On a connected subnet of this interface: usable.
    Connected(u32),
    /// Only through another router: a next hop must be directly connected.
    ViaGateway,
    /// One of this host's own addresses.
    Local,
    /// Through one of FerroLB's own routes (a next hop inside a service prefix).
    OwnRoute,
    /// No route, or an unreachable/blackhole one.
    Unreachable,
}

impl Reach {
    /// The interface, when usable.
    pub fn oif(self) -> Option<u32> {
        match self {
            Reach::Connected(oif) => Some(oif),
            _ => None,
        }
    }
}

/// One of FerroLB's routes from a dumped route message; `None` for anyone else's.
pub(super) fn kernel_route(route: &RouteMessage, protocol: u8) -> Option<KernelRoute> {
    let h = &route.header;
    if u8::from(h.protocol) != protocol || table_of(route) != u32::from(RouteHeader::RT_TABLE_MAIN)
    {
        return None;
    }
    let mut dst: Option<IpAddr> = None;
    let mut metric = 0;
    let mut nhid = None;
    let mut gateway = None;
    let mut oif = 0;
    let mut paths = Vec::new();
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Destination(a) => dst = ip_of(a),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::NhId(id) => nhid = Some(*id),
            RouteAttribute::Gateway(a) => gateway = ip_of(a),
            RouteAttribute::Via(RouteVia::Inet6(a)) => gateway = Some(IpAddr::V6(*a)),
            RouteAttribute::Oif(o) => oif = *o,
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    let via = hop.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => ip_of(g),
                        RouteAttribute::Via(RouteVia::Inet6(g)) => Some(IpAddr::V6(*g)),
                        _ => None,
                    });
                    if let Some(via) = via {
                        paths.push((via, hop.interface_index));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(gateway) = gateway {
        paths.push((gateway, oif));
    }
    let dst = dst.unwrap_or(match h.address_family {
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    });
    let prefix = IpNet::new(dst, h.destination_prefix_length).ok()?;
    Some(KernelRoute {
        prefix,
        metric,
        nhid,
        paths,
    })
}

/// A nexthop object from a dump, by id.
pub(super) fn kernel_next_hop(nh: &NextHopMessage) -> Option<(u32, KernelNextHop)> {
    let id = nh.nhid()?;
    let mut gateway = None;
    let mut oif = 0;
    let mut group = None;
    for attr in &nh.attributes {
        match attr {
            NextHopAttribute::Gateway(a) => gateway = Some(*a),
            NextHopAttribute::Oif(o) => oif = *o,
            NextHopAttribute::Group(members) => group = Some(members.clone()),
            _ => {}
        }
    }
    let kind = match (group, gateway) {
        (Some(members), _) => NextHopKind::Group(members),
        (None, Some(address)) => NextHopKind::Gateway { address, oif },
        (None, None) => NextHopKind::Other,
    };
    Some((
        id,
        KernelNextHop {
            protocol: nh.protocol,
            kind,
        },
    ))
}

/// Reachability from the route a `fibmatch` lookup found.
pub(super) fn reach_of(route: &RouteMessage, own_protocol: u8) -> Reach {
    let h = &route.header;
    match h.kind {
        RouteType::Local => return Reach::Local,
        RouteType::Unicast => {}
        _ => return Reach::Unreachable,
    }
    if u8::from(h.protocol) == own_protocol {
        return Reach::OwnRoute;
    }
    let mut oif = None;
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Gateway(_)
            | RouteAttribute::Via(_)
            | RouteAttribute::MultiPath(_)
            | RouteAttribute::NhId(_) => return Reach::ViaGateway,
            RouteAttribute::Oif(o) => oif = Some(*o),
            _ => {}
        }
    }
    oif.map_or(Reach::Unreachable, Reach::Connected)
}

fn table_of(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table))
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::route::RouteProtocol;

    use super::*;

    fn route(kind: RouteType, protocol: u8, attributes: Vec<RouteAttribute>) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.kind = kind;
        m.header.protocol = RouteProtocol::from(protocol);
        m.attributes = attributes;
        m
    }

    #[test]
    fn reachability_from_the_matched_route() {
        let gw = RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(192, 0, 2, 1)));
        let cases = [
            (
                route(RouteType::Unicast, 2, vec![RouteAttribute::Oif(3)]),
                Reach::Connected(3),
            ),
            (
                route(
                    RouteType::Unicast,
                    3,
                    vec![gw.clone(), RouteAttribute::Oif(3)],
                ),
                Reach::ViaGateway,
            ),
            (
                route(RouteType::Unicast, 2, vec![RouteAttribute::NhId(5)]),
                Reach::ViaGateway,
            ),
            (
                route(RouteType::Local, 2, vec![RouteAttribute::Oif(1)]),
                Reach::Local,
            ),
            (route(RouteType::Unreachable, 3, vec![]), Reach::Unreachable),
            (
                route(RouteType::Unicast, 200, vec![RouteAttribute::NhId(5)]),
                Reach::OwnRoute,
            ),
            (route(RouteType::Unicast, 2, vec![]), Reach::Unreachable),
        ];
        for (r, want) in cases {
            assert_eq!(reach_of(&r, 200), want, "{r:?}");
        }
    }

    #[test]
    fn kernel_routes_are_read_with_group_or_paths() {
        let nl_protocol = 200;
        let mut m = route(
            RouteType::Unicast,
            nl_protocol,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 96, 0, 10))),
                RouteAttribute::Priority(20),
                RouteAttribute::NhId(7),
            ],
        );
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = 32;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        let parsed = kernel_route(&m, nl_protocol).unwrap();
        assert_eq!(parsed.prefix, "10.96.0.10/32".parse::<IpNet>().unwrap());
        assert_eq!((parsed.metric, parsed.nhid), (20, Some(7)));

        m.header.protocol = RouteProtocol::Static;
        assert!(kernel_route(&m, nl_protocol).is_none());
    }

    #[test]
    fn nexthop_objects_are_read_as_gateways_or_groups() {
        let gw = NextHopMessage::gateway(4, "198.18.0.2".parse().unwrap(), 3, 200);
        assert_eq!(
            kernel_next_hop(&gw),
            Some((
                4,
                KernelNextHop {
                    protocol: 200,
                    kind: NextHopKind::Gateway {
                        address: "198.18.0.2".parse().unwrap(),
                        oif: 3
                    }
                }
            ))
        );
        let group = NextHopMessage::group(9, vec![4, 5], 11);
        assert_eq!(
            kernel_next_hop(&group).map(|(id, nh)| (id, nh.protocol, nh.kind)),
            Some((9, 11, NextHopKind::Group(vec![4, 5])))
        );
        let mut blackhole = NextHopMessage::id(6);
        blackhole.attributes.push(NextHopAttribute::Blackhole);
        assert_eq!(
            kernel_next_hop(&blackhole).map(|(_, nh)| nh.kind),
            Some(NextHopKind::Other)
        );
        assert_eq!(kernel_next_hop(&NextHopMessage::default()), None);
    }
}
