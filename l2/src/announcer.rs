//! [`L2Announcer`]: the supervisor that follows the node's interfaces and runs one answering
//! task per eligible interface.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{self, MissedTickBehavior};

use crate::config::L2Config;
use crate::error::L2Error;
use crate::interface::InterfaceTask;
use crate::mac::MacAddr;
use crate::netlink::{Link, LinkReader};
use crate::policy::{assign, Eligibility};
use crate::socket::PacketSocket;
use crate::stats::{L2Stats, Metrics};

/// Owned IPs and the interfaces each is announced on (empty = every eligible interface).
type Owned = BTreeMap<IpAddr, Vec<String>>;

/// Answers ARP and NDP for the service IPs this node owns, on the eligible interfaces.
///
/// Sockets are opened in the network namespace of the tokio runtime threads that run it.
#[derive(Debug)]
pub struct L2Announcer {
    owned: watch::Sender<Owned>,
    shutdown: oneshot::Sender<()>,
    supervisor: JoinHandle<()>,
    metrics: Metrics,
}

impl L2Announcer {
    /// Checks that packet sockets and the interface list are usable, opens a socket on every
    /// eligible interface and starts answering (for no IPs until [`L2Announcer::set_owned`]).
    pub async fn start(config: L2Config) -> Result<L2Announcer, L2Error> {
        config.validate()?;
        PacketSocket::probe().map_err(L2Error::PacketSocket)?;
        let mut links = LinkReader::open().map_err(|e| L2Error::Links(e.into()))?;
        let initial = links.links().await?;
        let (owned_tx, owned_rx) = watch::channel(Owned::new());
        let metrics = Metrics::default();
        let mut supervisor = Supervisor {
            config: Arc::new(config),
            links,
            metrics: metrics.clone(),
            owned: owned_rx,
            running: BTreeMap::new(),
            verdicts: BTreeMap::new(),
        };
        supervisor.reconcile(initial);
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let supervisor = tokio::spawn(supervisor.run(shutdown_rx));
        Ok(L2Announcer {
            owned: owned_tx,
            shutdown: shutdown_tx,
            supervisor,
            metrics,
        })
    }

    /// Replaces the whole set of owned IPs; an empty interface list means every eligible
    /// interface. Newly owned IPs (a takeover) are announced with gratuitous ARP / unsolicited
    /// NA (Override set), `gratuitous_count` times; IPs no longer listed stop being answered.
    pub fn set_owned(&self, owned: BTreeMap<IpAddr, Vec<String>>) {
        self.owned.send_replace(owned);
    }

    /// The counters, per interface.
    pub fn stats(&self) -> L2Stats {
        self.metrics.snapshot()
    }

    /// Registers `arp_requests_total`, `arp_replies_total`,
    /// `ns_received_total`, `na_sent_total`, `gratuitous_sent_total` and
    /// `l2_invalid_received_total`, labelled by `interface`, under the
    /// registry's prefix (the speaker's: `ferrolb_speaker_`).
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.metrics.register(registry);
    }

    /// Stops answering on every interface and waits for the tasks to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        if let Err(e) = self.supervisor.await {
            tracing::warn!(error = %e, "L2 supervisor ended abnormally");
        }
    }
}

/// An interface with its answering task.
struct Running {
    index: u32,
    mac: MacAddr,
    assigned: watch::Sender<BTreeSet<IpAddr>>,
    task: JoinHandle<()>,
}

/// Follows the link table and the owned set; owns the interface tasks.
struct Supervisor {
    config: Arc<L2Config>,
    links: LinkReader,
    metrics: Metrics,
    owned: watch::Receiver<Owned>,
    running: BTreeMap<String, Running>,
    /// The last eligibility decision per interface, to log only changes.
    verdicts: BTreeMap<String, Eligibility>,
}

impl Supervisor {
    async fn run(mut self, mut shutdown: oneshot::Receiver<()>) {
        let mut poll = time::interval(self.config.link_poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // Also fires when the announcer is dropped without shutdown.
                _ = &mut shutdown => break,
                _ = poll.tick() => match self.links.links().await {
                    Ok(links) => self.reconcile(links),
                    Err(e) => tracing::warn!(error = %e, "listing interfaces"),
                },
                changed = self.owned.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    self.distribute();
                }
            }
        }
        for (_, running) in std::mem::take(&mut self.running) {
            drop(running.assigned);
            let _ = running.task.await;
        }
    }

    /// Starts and stops interface tasks to match the current link table.
    fn reconcile(&mut self, links: Vec<Link>) {
        let mut eligible = BTreeMap::new();
        let mut verdicts = BTreeMap::new();
        for link in links {
            let verdict = self.config.interfaces.eligibility(&link.facts);
            if self.verdicts.get(&link.facts.name) != Some(&verdict) {
                tracing::info!(interface = %link.facts.name, ?verdict, "interface eligibility");
            }
            verdicts.insert(link.facts.name.clone(), verdict.clone());
            if let (Eligibility::Eligible, Some(mac)) = (verdict, link.mac) {
                eligible.insert(link.facts.name, (link.index, mac));
            }
        }
        self.verdicts = verdicts;
        // Stop tasks of interfaces gone, ineligible, or replaced (new index or MAC).
        self.running.retain(|name, running| {
            let keep = eligible.get(name) == Some(&(running.index, running.mac));
            if !keep {
                tracing::info!(interface = %name, "stopping L2 answers");
                running.task.abort();
            }
            keep
        });
        for (name, (index, mac)) in eligible {
            if self.running.contains_key(&name) {
                continue;
            }
            match PacketSocket::open(index) {
                Ok(socket) => {
                    let (tx, rx) = watch::channel(BTreeSet::new());
                    let task = InterfaceTask {
                        name: name.clone(),
                        mac,
                        socket,
                        assigned: rx,
                        counters: self.metrics.interface(&name),
                        config: self.config.clone(),
                    };
                    tracing::info!(interface = %name, %mac, "answering ARP/NDP");
                    let task = tokio::spawn(task.run());
                    self.running.insert(
                        name,
                        Running {
                            index,
                            mac,
                            assigned: tx,
                            task,
                        },
                    );
                }
                Err(e) => tracing::warn!(interface = %name, error = %e, "opening packet socket"),
            }
        }
        self.distribute();
    }

    /// Hands each interface task its share of the owned IPs.
    fn distribute(&mut self) {
        let names: BTreeSet<String> = self.running.keys().cloned().collect();
        let mut assignment = assign(&self.owned.borrow_and_update(), &names);
        for (name, running) in &self.running {
            let ips = assignment.remove(name).unwrap_or_default();
            running.assigned.send_if_modified(|current| {
                let changed = *current != ips;
                *current = ips;
                changed
            });
        }
    }
}
