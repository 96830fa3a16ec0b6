//! Per-interface counters, shared between the answering tasks, [`crate::L2Announcer::stats`]
//! and Prometheus.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Counters of one interface (or totals over all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// ARP requests received (for any address).
    pub arp_requests: u64,
    /// ARP replies sent for owned IPv4 addresses.
    pub arp_replies: u64,
    /// Valid Neighbor Solicitations received (for any address).
    pub ns_received: u64,
    /// Solicited Neighbor Advertisements sent for owned IPv6 addresses.
    pub na_sent: u64,
    /// Gratuitous ARPs and unsolicited Neighbor Advertisements sent.
    pub gratuitous_sent: u64,
    /// Frames that passed the filter but failed validation and were dropped.
    pub invalid_received: u64,
}

/// A snapshot of the announcer's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L2Stats {
    /// Counters by interface name, for every interface that has answered at some point.
    pub interfaces: BTreeMap<String, InterfaceStats>,
}

impl L2Stats {
    /// The sums over all interfaces.
    pub fn totals(&self) -> InterfaceStats {
        self.interfaces
            .values()
            .fold(InterfaceStats::default(), |t, s| InterfaceStats {
                arp_requests: t.arp_requests + s.arp_requests,
                arp_replies: t.arp_replies + s.arp_replies,
                ns_received: t.ns_received + s.ns_received,
                na_sent: t.na_sent + s.na_sent,
                gratuitous_sent: t.gratuitous_sent + s.gratuitous_sent,
                invalid_received: t.invalid_received + s.invalid_received,
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct InterfaceLabel {
    interface: String,
}

type CounterFamily = Family<InterfaceLabel, Counter>;

/// The counter families; the Prometheus registry holds clones sharing the same values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Metrics {
    arp_requests: CounterFamily,
    arp_replies: CounterFamily,
    ns_received: CounterFamily,
    na_sent: CounterFamily,
    gratuitous_sent: CounterFamily,
    invalid_received: CounterFamily,
    interfaces: Arc<Mutex<BTreeMap<String, InterfaceCounters>>>,
}

/// The counters of one interface, cheap to clone into its task.
#[derive(Debug, Clone, Default)]
pub(crate) struct InterfaceCounters {
    pub arp_requests: Counter,
    pub arp_replies: Counter,
    pub ns_received: Counter,
    pub na_sent: Counter,
    pub gratuitous_sent: Counter,
    pub invalid_received: Counter,
}

impl InterfaceCounters {
    fn snapshot(&self) -> InterfaceStats {
        InterfaceStats {
            arp_requests: self.arp_requests.get(),
            arp_replies: self.arp_replies.get(),
            ns_received: self.ns_received.get(),
            na_sent: self.na_sent.get(),
            gratuitous_sent: self.gratuitous_sent.get(),
            invalid_received: self.invalid_received.get(),
        }
    }
}

impl Metrics {
    /// The counters of interface `name`, created on first use and kept when it goes away.
    pub(crate) fn interface(&self, name: &str) -> InterfaceCounters {
        let mut interfaces = self.interfaces.lock().unwrap_or_else(|e| e.into_inner());
        interfaces
            .entry(name.to_owned())
            .or_insert_with(|| {
                let label = InterfaceLabel {
                    interface: name.to_owned(),
                };
                InterfaceCounters {
                    arp_requests: self.arp_requests.get_or_create(&label).clone(),
                    arp_replies: self.arp_replies.get_or_create(&label).clone(),
                    ns_received: self.ns_received.get_or_create(&label).clone(),
                    na_sent: self.na_sent.get_or_create(&label).clone(),
                    gratuitous_sent: self.gratuitous_sent.get_or_create(&label).clone(),
                    invalid_received: self.invalid_received.get_or_create(&label).clone(),
                }
            })
            .clone()
    }

    pub(crate) fn snapshot(&self) -> L2Stats {
        let interfaces = self.interfaces.lock().unwrap_or_else(|e| e.into_inner());
        L2Stats {
            interfaces: interfaces
                .iter()
                .map(|(name, c)| (name.clone(), c.snapshot()))
                .collect(),
        }
    }

    /// Registers the families under their full names (`_total` is appended by the encoder).
    pub(crate) fn register(&self, registry: &mut Registry) {
        let families = [
            ("arp_requests", "ARP requests received", &self.arp_requests),
            (
                "arp_replies",
                "ARP replies sent for owned IPv4 addresses",
                &self.arp_replies,
            ),
            (
                "ns_received",
                "IPv6 Neighbor Solicitations received",
                &self.ns_received,
            ),
            (
                "na_sent",
                "Solicited IPv6 Neighbor Advertisements sent",
                &self.na_sent,
            ),
            (
                "gratuitous_sent",
                "Gratuitous ARPs and unsolicited Neighbor Advertisements sent",
                &self.gratuitous_sent,
            ),
            (
                "l2_invalid_received",
                "ARP/NDP frames dropped as malformed",
                &self.invalid_received,
            ),
        ];
        for (name, help, family) in families {
            registry.register(name, help, family.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn counters_show_in_stats_and_metrics() {
        let metrics = Metrics::default();
        let mut registry = Registry::with_prefix("ferrolb_speaker");
        metrics.register(&mut registry);
        let eth0 = metrics.interface("eth0");
        eth0.arp_requests.inc();
        eth0.arp_requests.inc();
        metrics.interface("eth0").arp_replies.inc();
        metrics.interface("eth1").gratuitous_sent.inc_by(3);
        let stats = metrics.snapshot();
        assert_eq!(stats.interfaces["eth0"].arp_requests, 2);
        assert_eq!(stats.interfaces["eth0"].arp_replies, 1);
        assert_eq!(stats.totals().gratuitous_sent, 3);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("ferrolb_speaker_arp_requests_total{interface=\"eth0\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("ferrolb_speaker_gratuitous_sent_total{interface=\"eth1\"} 3"),
            "{text}"
        );
    }
}
