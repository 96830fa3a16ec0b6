//! Links between namespaces: veth pairs and Linux bridges.
//!
//! Links die with their namespace, so they need no cleanup of their own. Interface names are
//! per namespace and limited by the kernel to 15 bytes.
//!
//! Quirk: an IPv6 address added to a veth end *before* the link is up is not answered by
//! neighbour discovery for about a second (the solicited-node group is only joined once the link
//! becomes ready). [`VethPair::create`] therefore brings both ends up first, and addresses are
//! added afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::netns::{add_addr, ip_in, Netns};

/// Longest interface name Linux accepts (IFNAMSIZ - 1).
pub const MAX_IFNAME_LEN: usize = 15;

/// Names bridge ports uniquely across the whole test process.
static PORT_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Rejects names the kernel would refuse, with a clearer message than `ip` gives.
fn check_ifname(name: &str) -> Result<()> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > MAX_IFNAME_LEN || !valid_chars {
        return Err(Error::Config(format!(
            "interface name {name:?} must be 1-{MAX_IFNAME_LEN} characters of [A-Za-z0-9._-]"
        )));
    }
    Ok(())
}

/// One network interface inside one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    netns: String,
    name: String,
}

impl Iface {
    /// Refers to an existing interface `name` in `netns`.
    pub fn new(netns: &Netns, name: &str) -> Result<Iface> {
        check_ifname(name)?;
        Ok(Iface {
            netns: netns.name().to_owned(),
            name: name.to_owned(),
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the namespace it lives in.
    pub fn netns_name(&self) -> &str {
        &self.netns
    }

    fn ip(&self, args: &[&str]) -> Result<String> {
        ip_in(&self.netns, args)
    }

    /// Adds an IPv4 or IPv6 address with its prefix length, e.g. `192.0.2.1/24`.
    pub fn add_addr(&self, addr: IpNet) -> Result<()> {
        add_addr(&self.netns, &self.name, addr)
    }

    /// Brings the interface up.
    pub fn set_up(&self) -> Result<()> {
        self.ip(&["link", "set", &self.name, "up"]).map(drop)
    }

    /// Takes the interface down: traffic stops in both directions, as in a cable cut. On a veth
    /// the peer loses carrier too.
    pub fn set_down(&self) -> Result<()> {
        self.ip(&["link", "set", &self.name, "down"]).map(drop)
    }

    /// Whether the interface is administratively up and has carrier.
    pub fn is_up(&self) -> Result<bool> {
        let out = self.ip(&["-o", "link", "show", "dev", &self.name])?;
        Ok(out.contains(",UP") && out.contains("LOWER_UP"))
    }
}

/// Two ends of a virtual Ethernet cable, possibly in different namespaces.
#[derive(Debug, Clone)]
pub struct VethPair {
    /// The end created in the first namespace.
    pub a: Iface,
    /// The end created in the second namespace.
    pub b: Iface,
}

impl VethPair {
    /// Creates a veth pair, `a_name` in `a` and `b_name` in `b`, and brings both ends up.
    pub fn create(a: &Netns, a_name: &str, b: &Netns, b_name: &str) -> Result<VethPair> {
        let pair = VethPair {
            a: Iface::new(a, a_name)?,
            b: Iface::new(b, b_name)?,
        };
        pair.a.ip(&[
            "link",
            "add",
            a_name,
            "type",
            "veth",
            "peer",
            "name",
            b_name,
            "netns",
            b.name(),
        ])?;
        pair.a.set_up()?;
        pair.b.set_up()?;
        Ok(pair)
    }
}

/// A Linux bridge inside a namespace: an L2 segment that any number of namespaces can join.
#[derive(Debug)]
pub struct Bridge {
    iface: Iface,
}

impl Bridge {
    /// Creates bridge `name` in `netns` and brings it up. STP is off (ports forward at once) and
    /// multicast snooping is off (IPv6 neighbour discovery is flooded to all ports).
    pub fn create(netns: &Netns, name: &str) -> Result<Bridge> {
        let iface = Iface::new(netns, name)?;
        iface.ip(&[
            "link",
            "add",
            name,
            "type",
            "bridge",
            "stp_state",
            "0",
            "mcast_snooping",
            "0",
        ])?;
        iface.set_up()?;
        Ok(Bridge { iface })
    }

    /// The bridge interface itself; give it an address to make the bridge's namespace a host on
    /// the segment.
    pub fn iface(&self) -> &Iface {
        &self.iface
    }

    /// Plugs `netns` into the segment: a veth with end `if_name` in `netns` and the other end
    /// enslaved to the bridge. Returns the end in `netns`.
    pub fn attach(&self, netns: &Netns, if_name: &str) -> Result<Iface> {
        let port = format!("bp{}", PORT_COUNTER.fetch_add(1, Ordering::Relaxed));
        check_ifname(&port)?;
        check_ifname(if_name)?;
        // Create the pair inside the bridge's namespace, then move the far end out.
        self.iface.ip(&[
            "link",
            "add",
            &port,
            "master",
            &self.iface.name,
            "type",
            "veth",
            "peer",
            "name",
            if_name,
            "netns",
            netns.name(),
        ])?;
        let port = Iface {
            netns: self.iface.netns.clone(),
            name: port,
        };
        port.set_up()?;
        let end = Iface::new(netns, if_name)?;
        end.set_up()?;
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        let cases = [
            ("eth0", true),
            ("veth-a.10", true),
            ("abcdefghijklmno", true),
            ("abcdefghijklmnop", false),
            ("", false),
            ("has space", false),
            ("slash/", false),
        ];
        for (name, ok) in cases {
            assert_eq!(check_ifname(name).is_ok(), ok, "name {name:?}");
        }
    }
}
