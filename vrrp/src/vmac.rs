//! The virtual MAC (RFC 5798 7.3): a macvlan child of the instance's interface carrying
//! 00-00-5E-00-01-{VRID}, which holds the virtual addresses while this router is master, so
//! neighbours keep one MAC for them whichever router serves them.
//!
//! The parent must then not answer ARP for the virtual addresses with its own MAC (it would
//! with the kernel's default `arp_ignore=0`, as they are local to the machine): it is set to
//! 1, answering only for addresses on the interface the request came in on.

use std::io;

use ferrolb_l2::MacAddr;

use crate::config::InstanceConfig;
use crate::error::VrrpError;
use crate::netlink::{LinkInfo, Netlink};

/// The IPv4 virtual router MAC address of `vrid`.
pub fn virtual_mac(vrid: u8) -> MacAddr {
    MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, vrid])
}

/// The macvlan's name: unique per parent interface (by index) and VRID, at most 15 bytes
/// (`vrrp` + 10 digits + `.` + 3 digits would be 18; indexes above 9 999 999 are shortened
/// to their last digits, which stays unique on any real machine).
pub(crate) fn macvlan_name(parent_index: u32, vrid: u8) -> String {
    format!("vmac{}.{vrid}", parent_index % 10_000_000)
}

/// Sets an interface sysctl of the calling thread's network namespace, e.g.
/// `ipv4`, `eth0`, `arp_ignore`, `1`.
pub(crate) fn set_interface_sysctl(
    family: &str,
    interface: &str,
    key: &str,
    value: &str,
) -> io::Result<()> {
    if interface.contains('/') || interface == "." || interface == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name",
        ));
    }
    std::fs::write(
        format!("/proc/sys/net/{family}/conf/{interface}/{key}"),
        value,
    )
}

/// The macvlan serving the virtual MAC.
pub(crate) struct VirtualMacLink {
    /// The macvlan's name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// The virtual MAC.
    pub mac: MacAddr,
}

impl VirtualMacLink {
    /// Creates the macvlan of `config`'s virtual router on `link` and keeps the parent from
    /// answering ARP for the virtual addresses.
    pub(crate) async fn create(
        netlink: &Netlink,
        config: &InstanceConfig,
        link: &LinkInfo,
    ) -> Result<VirtualMacLink, VrrpError> {
        if let Err(error) = set_interface_sysctl("ipv4", &config.interface, "arp_ignore", "1") {
            tracing::warn!(instance = %config.name, interface = %config.interface, %error,
                "setting arp_ignore=1: the interface may answer ARP for the virtual addresses with its own MAC");
        }
        let name = macvlan_name(link.index, config.vrid);
        let mac = virtual_mac(config.vrid);
        let created = netlink.create_macvlan(link.index, &name, mac).await?;
        // The virtual MAC is the same on every router: an EUI-64 link-local address derived
        // from it would be duplicated on the link.
        let _ = set_interface_sysctl("ipv6", &name, "disable_ipv6", "1");
        tracing::info!(instance = %config.name, macvlan = %name, %mac, "virtual MAC interface created");
        Ok(VirtualMacLink {
            name,
            index: created.index,
            mac,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        assert_eq!(virtual_mac(51).to_string(), "00:00:5e:00:01:33");
        let cases = [(2, 51, "vmac2.51"), (4_294_967_295, 255, "vmac4967295.255")];
        for (index, vrid, want) in cases {
            let name = macvlan_name(index, vrid);
            assert_eq!(name, want);
            assert!(name.len() <= 15, "{name}");
        }
    }
}
