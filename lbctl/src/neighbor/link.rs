//! This host's interfaces and which one to ask on for an address.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_l2::MacAddr;
use ipnet::IpNet;

/// One local interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// Its name (`eth0`).
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its hardware address, if it has one.
    pub mac: Option<MacAddr>,
    /// Its addresses with their prefix lengths.
    pub networks: Vec<IpNet>,
    /// Whether it is a loopback interface.
    pub loopback: bool,
}

impl Link {
    /// Whether one of its subnets holds `address`.
    pub fn reaches(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(&address))
    }

    /// The address to ask from for `target`: ours in its subnet, else
    /// (IPv6) our link-local one, else any of that family.
    pub fn source_for(&self, target: IpAddr) -> Option<IpAddr> {
        let same_family = || {
            self.networks
                .iter()
                .map(IpNet::addr)
                .filter(move |a| a.is_ipv4() == target.is_ipv4())
        };
        let link_local = |a: &IpAddr| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local());
        self.networks
            .iter()
            .find(|n| n.contains(&target))
            .map(IpNet::addr)
            .or_else(|| same_family().find(link_local))
            .or_else(|| same_family().next())
    }
}

/// The interface to ask on for `address`: the one named `forced`, else
/// the (non-loopback) one whose subnet holds the address. The error says
/// why there is none, in words for the user.
pub fn link_for<'a>(
    links: &'a [Link],
    forced: Option<&str>,
    address: IpAddr,
) -> Result<&'a Link, String> {
    if let Some(name) = forced {
        return links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("there is no interface {name} here"));
    }
    links
        .iter()
        .filter(|l| !l.loopback && l.mac.is_some())
        .find(|l| l.reaches(address))
        .ok_or_else(|| {
            format!("no interface of this host is on {address}'s subnet, so lbctl is not on its L2 segment")
        })
}

/// Every interface with its addresses, from getifaddrs(3).
pub fn links() -> io::Result<Vec<Link>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut by_name: BTreeMap<String, Link> = BTreeMap::new();
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: a non-null entry of the list getifaddrs returned, alive
        // until freeifaddrs.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: the kernel's interface names are NUL-terminated.
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let link = by_name.entry(name.clone()).or_insert_with(|| Link {
            name,
            loopback: entry.ifa_flags & libc::IFF_LOOPBACK as libc::c_uint != 0,
            ..Link::default()
        });
        // SAFETY: both pointers are null or point at socket addresses of
        // the family their `sa_family` names, as getifaddrs(3) promises.
        unsafe { add_address(link, entry.ifa_addr, entry.ifa_netmask) };
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(by_name.into_values().collect())
}

/// Adds what `addr` says (an IP address with its `netmask`, or the
/// link-layer address and index) to `link`.
///
/// # Safety
/// `addr` and `netmask` are null or point at valid socket addresses.
unsafe fn add_address(
    link: &mut Link,
    addr: *const libc::sockaddr,
    netmask: *const libc::sockaddr,
) {
    if addr.is_null() {
        return;
    }
    // SAFETY: per this function's contract.
    let family = i32::from(unsafe { (*addr).sa_family });
    // SAFETY: per this function's contract, each cast matches the family.
    let (ip, mask) = unsafe {
        match family {
            libc::AF_INET => {
                let ip = |p: *const libc::sockaddr| {
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        (*p.cast::<libc::sockaddr_in>()).sin_addr.s_addr,
                    )))
                };
                (ip(addr), (!netmask.is_null()).then(|| ip(netmask)))
            }
            libc::AF_INET6 => {
                let ip = |p: *const libc::sockaddr| {
                    IpAddr::V6(Ipv6Addr::from(
                        (*p.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr,
                    ))
                };
                (ip(addr), (!netmask.is_null()).then(|| ip(netmask)))
            }
            libc::AF_PACKET => {
                let ll = &*addr.cast::<libc::sockaddr_ll>();
                link.index = u32::try_from(ll.sll_ifindex).unwrap_or(0);
                if ll.sll_halen == 6 {
                    let mut mac = [0; 6];
                    mac.copy_from_slice(&ll.sll_addr[..6]);
                    link.mac = Some(MacAddr(mac)).filter(|m| *m != MacAddr::ZERO);
                }
                return;
            }
            _ => return,
        }
    };
    let prefix = match mask {
        Some(IpAddr::V4(m)) => u32::from(m).leading_ones(),
        Some(IpAddr::V6(m)) => u128::from(m).leading_ones(),
        None if ip.is_ipv4() => 32,
        None => 128,
    };
    if let Ok(net) = IpNet::new(ip, u8::try_from(prefix).unwrap_or(0)) {
        link.networks.push(net);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, networks: &[&str], loopback: bool) -> Link {
        Link {
            name: name.into(),
            index: 1,
            mac: (!loopback).then_some(MacAddr([2, 0, 0, 0, 0, 1])),
            networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
            loopback,
        }
    }

    #[test]
    fn picks_the_interface_on_the_address_subnet() {
        let links = [
            link("lo", &["127.0.0.1/8", "192.0.2.10/32"], true),
            link(
                "eth0",
                &["198.18.0.9/24", "fe80::c/64", "2001:db8::9/64"],
                false,
            ),
            link("eth1", &["203.0.113.9/24"], false),
        ];
        let cases: &[(Option<&str>, &str, Result<&str, &str>)] = &[
            (None, "198.18.0.100", Ok("eth0")),
            (None, "2001:db8::64", Ok("eth0")),
            (None, "203.0.113.1", Ok("eth1")),
            // The loopback holding the address is not a segment.
            (None, "192.0.2.10", Err("not on its L2 segment")),
            (None, "192.0.2.99", Err("not on its L2 segment")),
            (Some("eth1"), "192.0.2.99", Ok("eth1")),
            (Some("eth9"), "192.0.2.99", Err("no interface eth9")),
        ];
        for &(forced, address, want) in cases {
            let got = link_for(&links, forced, address.parse().unwrap()).map(|l| l.name.as_str());
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{address}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{address}: {e}"),
                (g, w) => panic!("{address}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn asks_from_the_address_in_the_target_subnet() {
        let eth0 = link(
            "eth0",
            &[
                "203.0.113.9/24",
                "198.18.0.9/24",
                "2001:db8::9/64",
                "fe80::c/64",
            ],
            false,
        );
        let bare = link("eth1", &[], false);
        let cases: &[(&Link, &str, Option<&str>)] = &[
            (&eth0, "198.18.0.100", Some("198.18.0.9")),
            (&eth0, "192.0.2.1", Some("203.0.113.9")),
            (&eth0, "2001:db8::64", Some("2001:db8::9")),
            (&eth0, "2001:db8:1::64", Some("fe80::c")),
            (&bare, "192.0.2.1", None),
        ];
        for &(l, target, want) in cases {
            assert_eq!(
                l.source_for(target.parse().unwrap()),
                want.map(|w| w.parse().unwrap()),
                "{target}"
            );
        }
    }
}
