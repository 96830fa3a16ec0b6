//! The benchmark's network: one L2 segment (a bridge in its own namespace) joining the router's
//! namespace and one namespace per worker, so every worker is a distinct next hop and can die
//! on its own.
//!
//! ```text
//!            namespace "hub": bridge br0
//!      +-------------+-------------+-- ... --+
//!  router 198.18.0.1   worker 198.18.0.11   worker 198.18.0.20
//! ```
//!
//! Everything is removed when the [`Lab`] is dropped (namespaces take their processes and
//! links with them), also when a run fails half-way.

use std::net::Ipv4Addr;

use ferrolb_testbed::{Bridge, Iface, Netns};
use ipnet::{IpNet, Ipv4Net};

/// The segment.
pub const SUBNET: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(198, 18, 0, 0), 24) {
    Ok(net) => net,
    Err(_) => panic!("a /24 is a valid prefix"),
};
/// The router's address on it.
pub const ROUTER_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The first worker's host number; the others follow.
const FIRST_WORKER_HOST: u8 = 11;
/// The most workers the segment numbering allows.
pub const MAX_WORKERS: usize = 200;
/// Every namespace's interface on the segment.
pub const INTERFACE: &str = "eth0";

/// The `i`-th worker's address.
pub fn worker_address(i: usize) -> Option<Ipv4Addr> {
    let host = u8::try_from(i)
        .ok()
        .filter(|_| i < MAX_WORKERS)?
        .checked_add(FIRST_WORKER_HOST)?;
    let [a, b, c, _] = SUBNET.network().octets();
    Some(Ipv4Addr::new(a, b, c, host))
}

/// A worker's namespace and link.
#[derive(Debug)]
pub struct WorkerSite {
    /// Its address.
    pub address: Ipv4Addr,
    /// Its interface (down = the node is gone from the network).
    pub iface: Iface,
    /// Its namespace.
    pub ns: Netns,
}

/// The whole network.
#[derive(Debug)]
pub struct Lab {
    /// The router's namespace.
    pub router: Netns,
    /// The router's interface.
    pub router_iface: Iface,
    /// The workers.
    pub workers: Vec<WorkerSite>,
    bridge: Bridge,
    hub: Netns,
}

fn host(address: Ipv4Addr) -> Result<IpNet, ferrolb_testbed::Error> {
    Ipv4Net::new(address, SUBNET.prefix_len())
        .map(IpNet::V4)
        .map_err(|e| ferrolb_testbed::Error::Config(e.to_string()))
}

impl Lab {
    /// Builds the segment with `workers` workers.
    pub fn new(workers: usize) -> Result<Lab, ferrolb_testbed::Error> {
        let hub = Netns::new("hub")?;
        let bridge = Bridge::create(&hub, "br0")?;
        let router = Netns::new("router")?;
        let router_iface = bridge.attach(&router, INTERFACE)?;
        router_iface.add_addr(host(ROUTER_ADDRESS)?)?;
        // Tuned for nexthop groups, as `fib.nexthopCompatMode: false` does: a group rewrite
        // is not also announced route by route. The same for every router under test (BIRD
        // installs no nexthop objects, so it is unaffected).
        router.sysctl("net.ipv4.nexthop_compat_mode", "0")?;
        let mut sites = Vec::with_capacity(workers);
        for i in 0..workers {
            let address = worker_address(i).ok_or_else(|| {
                ferrolb_testbed::Error::Config(format!("at most {MAX_WORKERS} workers"))
            })?;
            let ns = Netns::new(&format!("w{i}"))?;
            let iface = bridge.attach(&ns, INTERFACE)?;
            iface.add_addr(host(address)?)?;
            sites.push(WorkerSite { address, iface, ns });
        }
        Ok(Lab {
            router,
            router_iface,
            workers: sites,
            bridge,
            hub,
        })
    }

    /// The workers' addresses.
    pub fn worker_addresses(&self) -> Vec<Ipv4Addr> {
        self.workers.iter().map(|w| w.address).collect()
    }

    /// The bridge (for the record: the segment's name in its namespace).
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// The namespace holding the bridge.
    pub fn hub(&self) -> &Netns {
        &self.hub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_numbered_after_the_router_on_the_segment() {
        let cases = [
            (0, Some(Ipv4Addr::new(198, 18, 0, 11))),
            (9, Some(Ipv4Addr::new(198, 18, 0, 20))),
            (199, Some(Ipv4Addr::new(198, 18, 0, 210))),
            (200, None),
            (usize::MAX, None),
        ];
        for (i, want) in cases {
            assert_eq!(worker_address(i), want, "{i}");
        }
        assert!(SUBNET.contains(&ROUTER_ADDRESS));
    }
}
