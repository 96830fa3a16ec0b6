//! What the device under test put in its kernel FIB, read the way a user would check it: every
//! IPv4 route of the main table dumped over rtnetlink, each resolved to the set of gateways it
//! forwards through (inline multipath next hops, as BIRD installs them, or a nexthop object or
//! group, as FerroLB and FRR's zebra do, looked up in `ip -j nexthop`).
//!
//! [`Tally::of`] is the pure part: how many of the benchmark's prefixes have exactly the expected
//! next hops, and how many still use a given one.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::prefixes::PrefixSet;

/// How many octets one `recv` may return (the kernel sends dumps in ~32 KiB parts).
const RECV_BUFFER: usize = 1 << 20;

/// Why the FIB could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FibError {
    /// A netlink socket operation failed.
    #[error("rtnetlink {context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The kernel answered something unreadable, or an error.
    #[error("rtnetlink dump: {0}")]
    Dump(String),
    /// `ip -j nexthop` failed or printed something unexpected.
    #[error("nexthop objects: {0}")]
    Nexthops(String),
}

/// How a route forwards, as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarding {
    /// Inline gateways (one, or a multipath route's list).
    Gateways(Vec<Ipv4Addr>),
    /// A nexthop object or group (`nhid`).
    Object(u32),
}

/// One IPv4 route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedRoute {
    /// Its destination.
    pub destination: Ipv4Net,
    /// Where it sends packets.
    pub forwarding: Forwarding,
}

/// A nexthop object from `ip -j nexthop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NexthopObject {
    /// A single next hop through this gateway (none for a device-only next hop).
    Gateway(Option<Ipv4Addr>),
    /// A group of other objects.
    Group(Vec<u32>),
}

/// Parses `ip -j nexthop show` output.
pub fn parse_nexthops(json: &str) -> Result<HashMap<u32, NexthopObject>, FibError> {
    let bad = |what: &str| FibError::Nexthops(format!("{what} in {json:.200}"));
    let doc: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let list = doc.as_array().ok_or_else(|| bad("not a list"))?;
    let mut objects = HashMap::with_capacity(list.len());
    for entry in list {
        let id = entry["id"]
            .as_u64()
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| bad("an entry without an id"))?;
        let object = match entry["group"].as_array() {
            Some(members) => NexthopObject::Group(
                members
                    .iter()
                    .map(|m| m["id"].as_u64().and_then(|id| u32::try_from(id).ok()))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| bad("a group member without an id"))?,
            ),
            None => NexthopObject::Gateway(entry["gateway"].as_str().and_then(|g| g.parse().ok())),
        };
        objects.insert(id, object);
    }
    Ok(objects)
}

/// The gateways a route forwards through; `None` when it names an object that is not there.
pub fn gateways(
    forwarding: &Forwarding,
    objects: &HashMap<u32, NexthopObject>,
) -> Option<BTreeSet<Ipv4Addr>> {
    let single = |id: &u32| match objects.get(id) {
        Some(NexthopObject::Gateway(g)) => Some(*g),
        _ => None,
    };
    match forwarding {
        Forwarding::Gateways(list) => Some(list.iter().copied().collect()),
        Forwarding::Object(id) => match objects.get(id)? {
            NexthopObject::Gateway(g) => Some(g.iter().copied().collect()),
            NexthopObject::Group(members) => members
                .iter()
                .map(single)
                .collect::<Option<Vec<Option<Ipv4Addr>>>>()
                .map(|gs| gs.into_iter().flatten().collect()),
        },
    }
}

/// The benchmark's prefixes in one FIB snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Prefixes of the set with a route.
    pub present: u32,
    /// Prefixes of the set whose route forwards through exactly the expected gateways.
    pub complete: u32,
    /// Prefixes of the set whose route still forwards through the avoided gateway.
    pub referencing: u32,
}

impl Tally {
    /// Counts the prefixes of `set` in `routes`: each counted once however many routes it has.
    pub fn of<'a>(
        routes: impl IntoIterator<Item = (&'a Ipv4Net, Option<BTreeSet<Ipv4Addr>>)>,
        set: &PrefixSet,
        expected: &BTreeSet<Ipv4Addr>,
        avoided: Option<Ipv4Addr>,
    ) -> Tally {
        const PRESENT: u8 = 1;
        const COMPLETE: u8 = 2;
        const REFERENCING: u8 = 4;
        let mut seen = vec![0u8; set.count() as usize];
        for (destination, gateways) in routes {
            let Some(i) = set.index_of(&IpNet::V4(*destination)) else {
                continue;
            };
            let Some(flags) = seen.get_mut(i as usize) else {
                continue;
            };
            *flags |= PRESENT;
            if let Some(gateways) = gateways {
                if &gateways == expected {
                    *flags |= COMPLETE;
                }
                if avoided.is_some_and(|a| gateways.contains(&a)) {
                    *flags |= REFERENCING;
                }
            }
        }
        let count = |bit: u8| seen.iter().filter(|f| **f & bit != 0).count() as u32;
        Tally {
            present: count(PRESENT),
            complete: count(COMPLETE),
            referencing: count(REFERENCING),
        }
    }
}

/// An rtnetlink socket in the namespace of the thread that opened it.
pub struct RouteDumper {
    socket: Socket,
    buf: Vec<u8>,
}

impl std::fmt::Debug for RouteDumper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDumper").finish_non_exhaustive()
    }
}

/// One dump of the main table.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// Its IPv4 routes.
    pub routes: Vec<DumpedRoute>,
    /// The kernel flagged the dump as interrupted by a change (it may be inconsistent).
    pub interrupted: bool,
}

impl RouteDumper {
    /// Opens the socket (in the calling thread's network namespace).
    pub fn open() -> Result<RouteDumper, FibError> {
        let io = |context| move |source| FibError::Io { context, source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io("socket"))?;
        socket.bind_auto().map_err(io("bind"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(io("connect"))?;
        Ok(RouteDumper {
            socket,
            buf: Vec::with_capacity(RECV_BUFFER),
        })
    }

    /// Dumps every IPv4 route of the main table.
    pub fn dump(&mut self) -> Result<Dump, FibError> {
        let header = RouteHeader {
            address_family: AddressFamily::Inet,
            ..Default::default()
        };
        let mut message = RouteMessage::default();
        message.header = header;
        let mut request = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetRoute(message)),
        );
        request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        request.finalize();
        let mut out = vec![0; request.buffer_len()];
        request.serialize(&mut out);
        self.socket.send(&out, 0).map_err(|source| FibError::Io {
            context: "send",
            source,
        })?;
        let mut dump = Dump::default();
        loop {
            self.buf.clear();
            let n = self
                .socket
                .recv(&mut self.buf, 0)
                .map_err(|source| FibError::Io {
                    context: "recv",
                    source,
                })?;
            let received = self.buf.get(..n.min(self.buf.len())).unwrap_or_default();
            let mut offset = 0;
            while offset < received.len() {
                let rest = received.get(offset..).unwrap_or_default();
                let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|e| FibError::Dump(e.to_string()))?;
                let length = message.header.length as usize;
                if length == 0 {
                    return Err(FibError::Dump("a zero-length message".into()));
                }
                offset += length;
                if message.header.flags & NLM_F_DUMP_INTR != 0 {
                    dump.interrupted = true;
                }
                match message.payload {
                    NetlinkPayload::Done(_) => return Ok(dump),
                    NetlinkPayload::Error(e) => return Err(FibError::Dump(format!("{e:?}"))),
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(route)) => {
                        dump.routes.extend(main_table_route(&route));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// An IPv4 unicast route of the main table, with how it forwards; `None` for anything else.
fn main_table_route(route: &RouteMessage) -> Option<DumpedRoute> {
    let h = &route.header;
    if h.address_family != AddressFamily::Inet {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut destination = Ipv4Addr::UNSPECIFIED;
    let mut gateways = Vec::new();
    let mut object = None;
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(RouteAddress::Inet(a)) => destination = *a,
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateways.push(*g),
            RouteAttribute::NhId(id) => object = Some(*id),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    for a in &hop.attributes {
                        if let RouteAttribute::Gateway(RouteAddress::Inet(g)) = a {
                            gateways.push(*g);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let destination = Ipv4Net::new(destination, h.destination_prefix_length).ok()?;
    let forwarding = match object {
        Some(id) => Forwarding::Object(id),
        None => Forwarding::Gateways(gateways),
    };
    Some(DumpedRoute {
        destination,
        forwarding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(host: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, host)
    }

    #[test]
    fn nexthop_objects_and_groups_are_read_from_ip_json() {
        let json = r#"[{"id":1,"gateway":"198.18.0.11","dev":"eth0","scope":"link","flags":[]},
            {"id":2,"gateway":"198.18.0.12","dev":"eth0","scope":"link","flags":[]},
            {"id":3,"dev":"eth0","scope":"host","flags":[]},
            {"id":10,"group":[{"id":1},{"id":2,"weight":1}],"flags":[]}]"#;
        let objects = parse_nexthops(json).unwrap();
        assert_eq!(objects[&1], NexthopObject::Gateway(Some(a(11))));
        assert_eq!(objects[&3], NexthopObject::Gateway(None));
        assert_eq!(objects[&10], NexthopObject::Group(vec![1, 2]));
        let cases = [
            (Forwarding::Object(10), Some(vec![a(11), a(12)])),
            (Forwarding::Object(2), Some(vec![a(12)])),
            (Forwarding::Object(3), Some(vec![])),
            (Forwarding::Object(99), None),
            (
                Forwarding::Gateways(vec![a(12), a(11)]),
                Some(vec![a(11), a(12)]),
            ),
        ];
        for (forwarding, want) in cases {
            let want = want.map(|w| w.into_iter().collect::<BTreeSet<_>>());
            assert_eq!(gateways(&forwarding, &objects), want, "{forwarding:?}");
        }
        assert_eq!(parse_nexthops("[]").unwrap().len(), 0);
        for bad in [
            "",
            "{}",
            r#"[{"gateway":"1.2.3.4"}]"#,
            r#"[{"id":1,"group":[{}]}]"#,
        ] {
            assert!(parse_nexthops(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_prefix_counts_once_and_only_with_exactly_the_expected_gateways() {
        let set = PrefixSet::new(Ipv4Addr::new(16, 0, 0, 0), 24, 4).unwrap();
        let p = |third: u8| Ipv4Net::new(Ipv4Addr::new(16, 0, third, 0), 24).unwrap();
        let gw = |hosts: &[u8]| Some(hosts.iter().map(|h| a(*h)).collect::<BTreeSet<_>>());
        let expected = gw(&[11, 12]).unwrap();
        let outside = Ipv4Net::new(Ipv4Addr::new(16, 0, 9, 0), 24).unwrap();
        let wrong_len = Ipv4Net::new(Ipv4Addr::new(16, 0, 0, 0), 25).unwrap();
        let routes = [
            (p(0), gw(&[11, 12])),
            (p(0), gw(&[11, 12])),
            (p(1), gw(&[11])),
            (p(2), gw(&[11, 12, 13])),
            (p(3), None),
            (outside, gw(&[11, 12])),
            (wrong_len, gw(&[11, 12])),
        ];
        let iter = || routes.iter().map(|(d, g)| (d, g.clone()));
        let cases = [
            (
                None,
                Tally {
                    present: 4,
                    complete: 1,
                    referencing: 0,
                },
            ),
            (
                Some(a(11)),
                Tally {
                    present: 4,
                    complete: 1,
                    referencing: 3,
                },
            ),
            (
                Some(a(13)),
                Tally {
                    present: 4,
                    complete: 1,
                    referencing: 1,
                },
            ),
        ];
        for (avoided, want) in cases {
            assert_eq!(
                Tally::of(iter(), &set, &expected, avoided),
                want,
                "{avoided:?}"
            );
        }
        assert_eq!(Tally::of([], &set, &expected, None), Tally::default());
    }
}
