//! The demo's network: seven namespaces on one bridged segment,
//! 198.18.0.0/24 (the benchmarking range, private to these namespaces).
//!
//! ```text
//!   api .1        the fake API server (in this process) and ferrolb-controller
//!   node-1..3 .2-.4  ferrolb-speaker, stand-in pods (:80), stand-in API servers (:6443)
//!   router-1/2 .5-.6 ferrolb-router: ECMP toward the nodes, TCP LB on the
//!                 API server VIP .10:6443, which VRRP keeps on one of them
//!   client .7     reaches the BGP pool 198.51.100.0/28 by ECMP over both routers,
//!                 and the L2 pool 198.18.0.200-209 on the segment itself
//! ```

use std::net::Ipv4Addr;

use ferrolb_testbed::{Bridge, Iface, Netns};
use ipnet::{IpNet, Ipv4Net};

use crate::error::{Error, Result};

/// Number of Kubernetes nodes.
pub const NODES: usize = 3;
/// Number of routers.
pub const ROUTERS: usize = 2;
/// The BGP pool the client routes over the routers (`configs/demo/cluster.yaml`).
pub const BGP_POOL: &str = "198.51.100.0/28";

/// The API server namespace's address.
pub const API_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The API server VIP that VRRP keeps on one router (`configs/demo/router-*.yaml`).
pub const API_VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
/// The client's address.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 7);

/// Node `i`'s (0-based) address.
pub fn node_addr(i: usize) -> Ipv4Addr {
    host(2 + i)
}

/// Node `i`'s (0-based) Kubernetes name.
pub fn node_name(i: usize) -> String {
    format!("node-{}", i + 1)
}

/// Router `i`'s (0-based) address.
pub fn router_addr(i: usize) -> Ipv4Addr {
    host(2 + NODES + i)
}

/// Router `i`'s (0-based) name.
pub fn router_name(i: usize) -> String {
    format!("router-{}", i + 1)
}

fn host(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, u8::try_from(n).unwrap_or(u8::MAX))
}

/// A namespace on the segment.
#[derive(Debug)]
pub struct Host {
    /// Its role (`api`, `node-1`, `router-2`, `client`).
    pub role: String,
    /// Its namespace.
    pub ns: Netns,
    /// Its interface on the segment, `eth0`.
    pub iface: Iface,
    /// Its address (/24).
    pub addr: Ipv4Addr,
}

impl Host {
    /// Whether `addr` is on this host's `eth0` (how VRRP shows who is master).
    pub fn has_addr(&self, addr: Ipv4Addr) -> Result<bool> {
        let out = self
            .ns
            .ip(&["-4", "-o", "addr", "show", "dev", self.iface.name()])?;
        Ok(out.contains(&format!(" {addr}/")))
    }
}

/// Every namespace of the demo. Dropping it kills whatever still runs in
/// them and deletes them.
#[derive(Debug)]
pub struct DemoNet {
    /// The API server's namespace.
    pub api: Host,
    /// The nodes.
    pub nodes: Vec<Host>,
    /// The routers.
    pub routers: Vec<Host>,
    /// The client.
    pub client: Host,
    _bridge: Bridge,
    hub: Netns,
}

impl DemoNet {
    /// Creates, addresses and configures every namespace.
    pub fn create() -> Result<DemoNet> {
        let hub = Netns::new("demohub")?;
        let bridge = Bridge::create(&hub, "br0")?;
        let attach = |role: String, tag: &str, addr: Ipv4Addr| -> Result<Host> {
            let ns = Netns::new(tag)?;
            let iface = bridge.attach(&ns, "eth0")?;
            let net = Ipv4Net::new(addr, 24).map_err(|e| Error::Format(e.to_string()))?;
            iface.add_addr(IpNet::V4(net))?;
            Ok(Host {
                role,
                ns,
                iface,
                addr,
            })
        };
        let api = attach("api".into(), "api", API_ADDR)?;
        let nodes = (0..NODES)
            .map(|i| attach(node_name(i), &format!("node{}", i + 1), node_addr(i)))
            .collect::<Result<Vec<_>>>()?;
        let routers = (0..ROUTERS)
            .map(|i| attach(router_name(i), &format!("router{}", i + 1), router_addr(i)))
            .collect::<Result<Vec<_>>>()?;
        let client = attach("client".into(), "client", CLIENT_ADDR)?;
        let net = DemoNet {
            api,
            nodes,
            routers,
            client,
            _bridge: bridge,
            hub,
        };
        net.configure()?;
        Ok(net)
    }

    fn configure(&self) -> Result<()> {
        for node in &self.nodes {
            // Service addresses sit on every node's `lo` (as kube-proxy's
            // IPVS mode puts them on a dummy link): the kernel must neither
            // answer ARP for them nor use them in its own ARP requests, or
            // every node would claim the L2 Service's address.
            node.ns.sysctl("net.ipv4.conf.all.arp_ignore", "1")?;
            node.ns.sysctl("net.ipv4.conf.all.arp_announce", "2")?;
        }
        for router in &self.routers {
            router.ns.enable_forwarding()?;
            // The routers forward back out of the interface the client's
            // packet came in on; a redirect would teach the client to skip
            // them.
            router.ns.sysctl("net.ipv4.conf.all.send_redirects", "0")?;
            router.ns.sysctl("net.ipv4.conf.eth0.send_redirects", "0")?;
        }
        let client = &self.client.ns;
        client.sysctl("net.ipv4.conf.all.accept_redirects", "0")?;
        client.sysctl("net.ipv4.conf.eth0.accept_redirects", "0")?;
        client.set_multipath_hash_policy(1)?;
        let mut route = vec!["route", "add", BGP_POOL];
        let gateways: Vec<String> = self.routers.iter().map(|r| r.addr.to_string()).collect();
        for gateway in &gateways {
            route.extend(["nexthop", "via", gateway.as_str(), "dev", "eth0"]);
        }
        client.ip(&route)?;
        Ok(())
    }

    /// Every namespace, by role, hub included.
    pub fn namespaces(&self) -> Vec<(String, String)> {
        let mut all = vec![("hub".to_owned(), self.hub.name().to_owned())];
        all.extend(
            self.hosts()
                .map(|h| (h.role.clone(), h.ns.name().to_owned())),
        );
        all
    }

    /// Every host on the segment.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        std::iter::once(&self.api)
            .chain(&self.nodes)
            .chain(&self.routers)
            .chain(std::iter::once(&self.client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_plan() {
        let cases = [
            (node_addr(0), "198.18.0.2"),
            (node_addr(2), "198.18.0.4"),
            (router_addr(0), "198.18.0.5"),
            (router_addr(1), "198.18.0.6"),
            (CLIENT_ADDR, "198.18.0.7"),
        ];
        for (got, want) in cases {
            assert_eq!(got.to_string(), want);
        }
        assert_eq!(node_name(1), "node-2");
        assert_eq!(router_name(0), "router-1");
    }
}
