//! Configuration of one VRRP instance as the driver runs it.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::error::VrrpError;
use crate::machine::{Settings, OWNER_PRIORITY, RESIGN_PRIORITY};
use crate::packet::MAX_ADVERT_INTERVAL;

/// One virtual router on one interface (IPv4).
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
    /// The virtual addresses, added as /32.
    pub addresses: Vec<Ipv4Addr>,
    /// Advertise to these routers by unicast instead of to 224.0.0.18 (for networks that
    /// drop multicast); empty = multicast.
    pub unicast_peers: Vec<Ipv4Addr>,
    /// Gratuitous ARPs sent per address on becoming master (default 5): one may be lost,
    /// and a neighbour may ignore one that arrives within its lock time.
    pub gratuitous_count: u32,
    /// The gap between them (default 200 ms).
    pub gratuitous_spacing: Duration,
}

impl InstanceConfig {
    /// An instance with the RFC's defaults: priority 100, 1 s interval, preemption on.
    pub fn new(
        name: impl Into<String>,
        interface: impl Into<String>,
        vrid: u8,
        addresses: Vec<Ipv4Addr>,
    ) -> InstanceConfig {
        InstanceConfig {
            name: name.into(),
            interface: interface.into(),
            vrid,
            priority: 100,
            advert_interval: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            addresses,
            unicast_peers: Vec::new(),
            gratuitous_count: 5,
            gratuitous_spacing: Duration::from_millis(200),
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
        if self.interface.is_empty() {
            return fail("interface name is empty".into());
        }
        if self.gratuitous_count > 1 && self.gratuitous_spacing.is_zero() {
            return fail("gratuitous_spacing must be positive".into());
        }
        Ok(())
    }

    /// Whether this router owns the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// The state machine's part of the configuration.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            vrid: self.vrid,
            priority: self.priority,
            advert_interval: self.advert_interval,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let good = InstanceConfig::new("vip", "eth0", 51, vec![Ipv4Addr::new(192, 0, 2, 10)]);
        assert!(good.validate().is_ok());
        type Break = fn(&mut InstanceConfig);
        let cases: [(Break, &str); 6] = [
            (|c| c.vrid = 0, "vrid"),
            (|c| c.priority = 0, "priority 0"),
            (|c| c.advert_interval = 4096, "4096 cs"),
            (|c| c.addresses.clear(), "virtual addresses"),
            (|c| c.interface.clear(), "interface"),
            (|c| c.gratuitous_spacing = Duration::ZERO, "spacing"),
        ];
        for (change, words) in cases {
            let mut c = good.clone();
            change(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(words), "{e} should mention {words}");
        }
    }
}
