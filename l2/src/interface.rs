//! The task serving one interface: answers requests for the IPs assigned to it, announces newly
//! assigned IPs in bursts, refreshes all of them periodically, and keeps the NIC subscribed to
//! their solicited-node multicast groups.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::{self, Duration, Instant, MissedTickBehavior};

use crate::config::L2Config;
use crate::mac::{solicited_node, MacAddr};
use crate::packet::{parse_frame, Request};
use crate::responder::{announcement, answer, Schedule};
use crate::socket::PacketSocket;
use crate::stats::InterfaceCounters;

/// Large enough for any ARP or NDP frame; longer frames are truncated and fail validation.
const FRAME_BUFFER: usize = 2048;
/// Pause after a receive error (e.g. the interface vanishing) so a persistent error cannot
/// spin; the supervisor stops the task once it notices.
const ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// One interface's answering task.
pub(crate) struct InterfaceTask {
    pub name: String,
    pub mac: MacAddr,
    pub socket: PacketSocket,
    pub assigned: watch::Receiver<BTreeSet<IpAddr>>,
    pub counters: InterfaceCounters,
    pub config: Arc<L2Config>,
}

/// Mutable state of the task between events.
#[derive(Default)]
struct State {
    owned: BTreeSet<IpAddr>,
    /// Solicited-node groups joined (several IPs may share one).
    groups: BTreeSet<Ipv6Addr>,
    schedule: Schedule,
}

impl InterfaceTask {
    /// Runs until the supervisor drops the assignment sender.
    pub(crate) async fn run(mut self) {
        let mut state = State::default();
        let first = self.assigned.borrow_and_update().clone();
        self.apply(&mut state, first);
        let refresh_every = self.config.refresh_interval;
        let mut refresh = time::interval_at(Instant::now() + refresh_every, refresh_every);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut buf = vec![0u8; FRAME_BUFFER];
        loop {
            let next_announcement = state.schedule.next_due();
            tokio::select! {
                received = self.socket.recv(&mut buf) => match received {
                    Ok(n) => self.handle(&state.owned, buf.get(..n).unwrap_or_default()).await,
                    Err(e) => {
                        tracing::debug!(interface = %self.name, error = %e, "receive failed");
                        time::sleep(ERROR_BACKOFF).await;
                    }
                },
                changed = self.assigned.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let assigned = self.assigned.borrow_and_update().clone();
                    self.apply(&mut state, assigned);
                }
                () = time::sleep_until(next_announcement.unwrap_or_else(Instant::now)), if next_announcement.is_some() => {
                    let due = state.schedule.take_due(Instant::now(), self.config.gratuitous_spacing);
                    for ip in due {
                        self.announce(ip).await;
                    }
                }
                _ = refresh.tick() => {
                    let now = Instant::now();
                    for ip in &state.owned {
                        state.schedule.burst(*ip, now, 1);
                    }
                }
            }
        }
        tracing::debug!(interface = %self.name, "stopped answering");
    }

    /// Takes a new set of assigned IPs: newly assigned ones are announced (a takeover), removed
    /// ones stop being answered, and multicast subscriptions follow the IPv6 ones.
    fn apply(&self, state: &mut State, assigned: BTreeSet<IpAddr>) {
        let now = Instant::now();
        for ip in assigned.difference(&state.owned) {
            tracing::info!(interface = %self.name, %ip, mac = %self.mac, "taking over");
            state.schedule.burst(*ip, now, self.config.gratuitous_count);
        }
        for ip in state.owned.difference(&assigned) {
            tracing::info!(interface = %self.name, %ip, "releasing");
            state.schedule.cancel(ip);
        }
        let groups: BTreeSet<Ipv6Addr> = assigned
            .iter()
            .filter_map(|ip| match ip {
                IpAddr::V6(v6) => Some(solicited_node(*v6)),
                IpAddr::V4(_) => None,
            })
            .collect();
        for group in groups.difference(&state.groups) {
            if let Err(e) = self.socket.join(*group) {
                tracing::warn!(interface = %self.name, %group, error = %e, "joining multicast group");
            }
        }
        for group in state.groups.difference(&groups) {
            if let Err(e) = self.socket.leave(*group) {
                tracing::debug!(interface = %self.name, %group, error = %e, "leaving multicast group");
            }
        }
        state.groups = groups;
        state.owned = assigned;
    }

    /// Validates one received frame and answers it if it asks for an owned IP.
    async fn handle(&self, owned: &BTreeSet<IpAddr>, frame: &[u8]) {
        let request = match parse_frame(frame) {
            Ok(request) => request,
            Err(e) => {
                self.counters.invalid_received.inc();
                tracing::trace!(interface = %self.name, error = %e, "dropping frame");
                return;
            }
        };
        let sent = match &request {
            Request::Arp(_) => {
                self.counters.arp_requests.inc();
                &self.counters.arp_replies
            }
            Request::NeighborSolicitation(_) => {
                self.counters.ns_received.inc();
                &self.counters.na_sent
            }
        };
        if let Some(reply) = answer(&request, self.mac, owned) {
            match self.socket.send(&reply).await {
                Ok(()) => {
                    sent.inc();
                }
                Err(e) => tracing::warn!(interface = %self.name, error = %e, "sending answer"),
            }
        }
    }

    /// Sends one gratuitous ARP or unsolicited Neighbor Advertisement for `ip`.
    async fn announce(&self, ip: IpAddr) {
        match self.socket.send(&announcement(ip, self.mac)).await {
            Ok(()) => {
                self.counters.gratuitous_sent.inc();
                tracing::debug!(interface = %self.name, %ip, "announced");
            }
            Err(e) => {
                tracing::warn!(interface = %self.name, %ip, error = %e, "sending announcement")
            }
        }
    }
}
