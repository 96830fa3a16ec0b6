//! Configuration of one VRRP instance as the driver runs it.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::VrrpError;
use crate::machine::{Settings, OWNER_PRIORITY, RESIGN_PRIORITY};
use crate::packet::MAX_ADVERT_INTERVAL;

/// One virtual router on one interface, IPv4 or IPv6 (by its addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// A name for logs and status.
    pub name: String,
    /// The interface advertisements are sent on and the addresses are added to.
    pub interface: String,
    /// Virtual router ID, 1 to 255.
    pub vrid: u8,
    /// Priority, 1 to 254, or 255 for the address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds, 1 to 4095.
    pub advert_interval: u16,
    /// Whether a higher-priority backup takes over from a lower-priority master.
    pub preempt: bool,
    /// No preemption until this long after startup.
    pub preempt_delay: Duration,
    /// The virtual addresses, all of one family, added as /32 or /128 (IPv6: without
    /// duplicate address detection, as the other routers hold them too at times).
    pub addresses: Vec<IpAddr>,
    /// Advertise to these routers by unicast instead of to 224.0.0.18 / ff02::12 (for
    /// networks that drop multicast); empty = multicast. Of the addresses' family; for
    /// IPv6, the peers' link-local addresses (the source they advertise from, and the only
    /// destination this router accepts besides ff02::12).
    pub unicast_peers: Vec<IpAddr>,
    /// Gratuitous ARPs (IPv6: unsolicited Neighbor Advertisements) sent per address on
    /// becoming master (default 5): one may be lost, and a neighbour may ignore one that
    /// arrives within its lock time.
    pub gratuitous_count: u32,
    /// The gap between them (default 200 ms).
    pub gratuitous_spacing: Duration,
    /// Serve the addresses from the virtual MAC 00-00-5E-00-01-{VRID} on a macvlan child of
    /// the interface (created at start, deleted at stop) instead of the interface's own MAC,
    /// so neighbours need no ARP update on failover (default false).
    pub virtual_mac: bool,
}

impl InstanceConfig {
    /// An instance with the RFC's defaults: priority 100, 1 s interval, preemption on.
    pub fn new(
        name: impl Into<String>,
        interface: impl Into<String>,
        vrid: u8,
        addresses: impl IntoIterator<Item = impl Into<IpAddr>>,
    ) -> InstanceConfig {
        InstanceConfig {
            name: name.into(),
            interface: interface.into(),
            vrid,
            priority: 100,
            advert_interval: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            addresses: addresses.into_iter().map(Into::into).collect(),
            unicast_peers: Vec::new(),
            gratuitous_count: 5,
            gratuitous_spacing: Duration::from_millis(200),
            virtual_mac: false,
        }
    }

    /// Rejects values the protocol cannot carry.
    pub fn validate(&self) -> Result<(), VrrpError> {
        let fail = |m: String| Err(VrrpError::Config(format!("instance {:?}: {m}", self.name)));
        if self.vrid == 0 {
            return fail("vrid must be 1 to 255".into());
        }
        if self.priority == RESIGN_PRIORITY {
            return fail("priority 0 is reserved for a master giving up".into());
        }
        if self.advert_interval == 0 || self.advert_interval > MAX_ADVERT_INTERVAL {
            return fail(format!(
                "advertisement interval {} cs is outside 1..=4095",
                self.advert_interval
            ));
        }
        if self.addresses.is_empty() || self.addresses.len() > 255 {
            return fail("1 to 255 virtual addresses are required".into());
        }
        let v6 = self.is_ipv6();
        if let Some(a) = self
            .addresses
            .iter()
            .chain(&self.unicast_peers)
            .find(|a| a.is_ipv6() != v6)
        {
            return fail(format!("{a} is not of the family of the first address"));
        }
        if v6 && self.virtual_mac {
            return fail("a virtual MAC is supported for IPv4 only".into());
        }
        if self.interface.is_empty() {
            return fail("interface name is empty".into());
        }
        if self.gratuitous_count > 1 && self.gratuitous_spacing.is_zero() {
            return fail("gratuitous_spacing must be positive".into());
        }
        Ok(())
    }

    /// Whether the virtual router is IPv6 (by its first address).
    pub fn is_ipv6(&self) -> bool {
        self.addresses.first().is_some_and(IpAddr::is_ipv6)
    }

    /// Whether this router owns the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// Whether a running instance with this configuration can take `new` in place
    /// ([`crate::Instance::reconfigure`]): only the priority (not to or from the owner's
    /// 255), preemption, the interval and the gratuitous ARP settings differ. Anything else
    /// (interface, VRID, addresses, peers, virtual MAC) needs a new instance.
    pub fn reconfigurable_to(&self, new: &InstanceConfig) -> bool {
        self.name == new.name
            && self.interface == new.interface
            && self.vrid == new.vrid
            && self.addresses == new.addresses
            && self.unicast_peers == new.unicast_peers
            && self.virtual_mac == new.virtual_mac
            && self.is_owner() == new.is_owner()
    }

    /// The state machine's part of the configuration.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            vrid: self.vrid,
            priority: self.priority,
            advert_interval: self.advert_interval,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            virtual_mac: self.virtual_mac,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn validation() {
        let good = InstanceConfig::new("vip", "eth0", 51, vec![Ipv4Addr::new(192, 0, 2, 10)]);
        assert!(good.validate().is_ok());
        type Break = fn(&mut InstanceConfig);
        let cases: [(Break, &str); 8] = [
            (|c| c.vrid = 0, "vrid"),
            (|c| c.priority = 0, "priority 0"),
            (|c| c.advert_interval = 4096, "4096 cs"),
            (|c| c.addresses.clear(), "virtual addresses"),
            (|c| c.interface.clear(), "interface"),
            (|c| c.gratuitous_spacing = Duration::ZERO, "spacing"),
            (
                |c| c.addresses.push("2001:db8::1".parse().unwrap()),
                "family",
            ),
            (
                |c| {
                    c.addresses = vec!["2001:db8::1".parse().unwrap()];
                    c.virtual_mac = true;
                },
                "IPv4 only",
            ),
        ];
        for (change, words) in cases {
            let mut c = good.clone();
            change(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(words), "{e} should mention {words}");
        }
    }

    #[test]
    fn what_can_change_in_place() {
        let old = InstanceConfig::new("vip", "eth0", 51, vec![Ipv4Addr::new(192, 0, 2, 10)]);
        type Change = fn(&mut InstanceConfig);
        let cases: [(&str, Change, bool); 9] = [
            ("priority", |c| c.priority = 150, true),
            ("preemption", |c| c.preempt = false, true),
            ("interval", |c| c.advert_interval = 20, true),
            (
                "preempt delay",
                |c| c.preempt_delay = Duration::from_secs(3),
                true,
            ),
            ("to owner", |c| c.priority = 255, false),
            ("interface", |c| c.interface = "eth1".into(), false),
            ("vrid", |c| c.vrid = 52, false),
            (
                "addresses",
                |c| c.addresses.push(Ipv4Addr::new(192, 0, 2, 11).into()),
                false,
            ),
            ("virtual MAC", |c| c.virtual_mac = true, false),
        ];
        for (name, change, in_place) in cases {
            let mut new = old.clone();
            change(&mut new);
            assert_eq!(old.reconfigurable_to(&new), in_place, "{name}");
        }
    }
}
