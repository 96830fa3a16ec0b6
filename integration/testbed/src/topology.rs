//! Ready-made topologies for the common test shapes.
//!
//! Links use 198.18.0.0/24 (the benchmarking range) and 2001:db8::/64 (documentation): every
//! topology lives in its own namespaces, so parallel tests may reuse the same addresses, and
//! they do not shadow addresses the host may use on its real links.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Error, Result};
use crate::link::{Bridge, Iface, VethPair};
use crate::netns::Netns;

/// The IPv4 subnet shared by the nodes of a topology.
pub const SUBNET_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// The IPv6 subnet (/64) shared by the nodes of a topology.
pub const SUBNET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0);

/// Namespace for building topologies: see [`Topology::pair`] and [`Topology::lan`].
#[derive(Debug)]
pub struct Topology;

/// A namespace attached to a topology, with its interface and addresses.
#[derive(Debug)]
pub struct Node {
    /// The node's namespace.
    pub ns: Netns,
    /// Its interface on the shared segment.
    pub iface: Iface,
    /// Its IPv4 address on the segment (/24).
    pub v4: Ipv4Addr,
    /// Its IPv6 address on the segment (/64).
    pub v6: Ipv6Addr,
}

impl Node {
    /// The node's address of the same family as `other`, handy for choosing a session address.
    pub fn addr_like(&self, other: IpAddr) -> IpAddr {
        match other {
            IpAddr::V4(_) => IpAddr::V4(self.v4),
            IpAddr::V6(_) => IpAddr::V6(self.v6),
        }
    }
}

/// Two namespaces joined by one veth: `a` is host 1, `b` is host 2 of the subnets.
#[derive(Debug)]
pub struct Pair {
    /// 198.18.0.1/24 and 2001:db8::1/64 on interface `eth0`.
    pub a: Node,
    /// 198.18.0.2/24 and 2001:db8::2/64 on interface `eth0`.
    pub b: Node,
}

impl Pair {
    /// Cuts the link (both ends down); BGP sessions across it die when their hold timers expire.
    pub fn partition(&self) -> Result<()> {
        self.a.iface.set_down()?;
        self.b.iface.set_down()
    }

    /// Restores the link after [`Pair::partition`].
    pub fn heal(&self) -> Result<()> {
        self.a.iface.set_up()?;
        self.b.iface.set_up()
    }
}

/// An L2 segment: a bridge in its own `hub` namespace and `nodes` attached to it. Node `i` is
/// host `i + 1` of the subnets.
#[derive(Debug)]
pub struct Lan {
    /// The namespace holding the bridge (no addresses of its own).
    pub hub: Netns,
    /// The bridge.
    pub bridge: Bridge,
    /// The attached namespaces.
    pub nodes: Vec<Node>,
}

/// The `host`-th address of both subnets.
fn host_addrs(host: u8) -> (Ipv4Addr, Ipv6Addr) {
    let [a, b, c, _] = SUBNET_V4.octets();
    let mut v6 = SUBNET_V6.segments();
    v6[7] = u16::from(host);
    (Ipv4Addr::new(a, b, c, host), Ipv6Addr::from(v6))
}

/// Puts host addresses on `iface` and returns the node.
fn make_node(ns: Netns, iface: Iface, host: u8) -> Result<Node> {
    let (v4, v6) = host_addrs(host);
    let net4 = Ipv4Net::new(v4, 24).map_err(|e| Error::Config(e.to_string()))?;
    let net6 = Ipv6Net::new(v6, 64).map_err(|e| Error::Config(e.to_string()))?;
    iface.add_addr(IpNet::V4(net4))?;
    iface.add_addr(IpNet::V6(net6))?;
    Ok(Node { ns, iface, v4, v6 })
}

impl Topology {
    /// Two fresh namespaces on a veth, IPv4 and IPv6 addressed and reachable both ways.
    pub fn pair() -> Result<Pair> {
        let ns_a = Netns::new("a")?;
        let ns_b = Netns::new("b")?;
        let veth = VethPair::create(&ns_a, "eth0", &ns_b, "eth0")?;
        let pair = Pair {
            a: make_node(ns_a, veth.a, 1)?,
            b: make_node(ns_b, veth.b, 2)?,
        };
        Ok(pair)
    }

    /// `n` namespaces (1..=250) on one bridged segment, each with interface `eth0`.
    pub fn lan(n: usize) -> Result<Lan> {
        if !(1..=250).contains(&n) {
            return Err(Error::Config(format!("a LAN holds 1-250 nodes, not {n}")));
        }
        let hub = Netns::new("hub")?;
        let bridge = Bridge::create(&hub, "br0")?;
        let mut nodes = Vec::with_capacity(n);
        for host in 1..=n {
            let host = u8::try_from(host).map_err(|e| Error::Config(e.to_string()))?;
            let ns = Netns::new(&format!("n{host}"))?;
            let iface = bridge.attach(&ns, "eth0")?;
            nodes.push(make_node(ns, iface, host)?);
        }
        Ok(Lan { hub, bridge, nodes })
    }
}

impl Lan {
    /// Waits until every node answers IPv4 and IPv6 pings from the first node (lets neighbour
    /// discovery settle before timing-sensitive tests start).
    pub fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let Some((first, rest)) = self.nodes.split_first() else {
            return Ok(());
        };
        for node in rest {
            first.ns.wait_reachable(IpAddr::V4(node.v4), timeout)?;
            first.ns.wait_reachable(IpAddr::V6(node.v6), timeout)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_matching_v4_and_v6_addresses() {
        let cases = [
            (1, "198.18.0.1", "2001:db8::1"),
            (2, "198.18.0.2", "2001:db8::2"),
            (250, "198.18.0.250", "2001:db8::fa"),
        ];
        for (host, v4, v6) in cases {
            let (got4, got6) = host_addrs(host);
            assert_eq!(got4.to_string(), v4);
            assert_eq!(got6.to_string(), v6);
        }
    }
}
