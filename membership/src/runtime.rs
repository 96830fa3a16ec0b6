//! The running group member: one tokio task owning the UDP socket, SWIM's timers and the SWIM
//! state machine (foca), and publishing the resulting [`MemberView`].
//!
//! Everything foca asks for (datagrams to send, timers to arm, membership notifications) is
//! collected during a call into it and carried out right after, in [`Driver::flush`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::SystemTime;

use foca::{AccumulatingRuntime, Foca, NoCustomBroadcast, OwnedNotification, PostcardCodec, Timer};
use rand::rngs::StdRng;
use rand::RngExt;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, MissedTickBehavior};
use tokio_util::time::DelayQueue;

use crate::envelope::{self, AuthKey, ReplayGuard};
use crate::identity::{unix_millis, Speaker};
use crate::metrics::Metrics;
use crate::view::MemberView;

/// Most datagrams remembered for replay detection; at tens of datagrams per second per member
/// and a 15 s window this leaves room for clusters of hundreds of nodes.
const REPLAY_CACHE: usize = 200_000;

/// Expected members by node name, with their membership addresses.
pub(crate) type Expected = BTreeMap<String, SocketAddr>;

/// Requests from the [`crate::Membership`] handle.
#[derive(Debug)]
pub(crate) enum Command {
    /// Announce departure, then stop.
    Leave,
}

/// The channels and settings a driver is built from.
pub(crate) struct DriverParts {
    pub identity: Speaker,
    pub swim: foca::Config,
    pub socket: UdpSocket,
    pub key: AuthKey,
    pub replay_window: Duration,
    pub rejoin_period: Duration,
    pub max_datagram: usize,
    pub expected: watch::Receiver<Expected>,
    pub view: watch::Sender<MemberView>,
    pub commands: mpsc::Receiver<Command>,
    pub metrics: Metrics,
}

/// What woke the driver up.
enum Event {
    Datagram(usize, SocketAddr),
    Timer(Timer<Speaker>),
    ExpectedChanged,
    Rejoin,
    Leave,
    Stop,
}

/// The member's task state.
pub(crate) struct Driver {
    foca: Foca<Speaker, PostcardCodec, StdRng, NoCustomBroadcast>,
    pending: AccumulatingRuntime<Speaker>,
    socket: UdpSocket,
    timers: DelayQueue<Timer<Speaker>>,
    key: AuthKey,
    replay: ReplayGuard,
    nonces: StdRng,
    rejoin_period: Duration,
    max_datagram: usize,
    expected: watch::Receiver<Expected>,
    view: watch::Sender<MemberView>,
    commands: mpsc::Receiver<Command>,
    metrics: Metrics,
}

impl Driver {
    pub(crate) fn new(parts: DriverParts) -> Driver {
        let window_ms = u64::try_from(parts.replay_window.as_millis()).unwrap_or(u64::MAX);
        Driver {
            foca: Foca::new(parts.identity, parts.swim, rand::make_rng(), PostcardCodec),
            pending: AccumulatingRuntime::new(),
            socket: parts.socket,
            timers: DelayQueue::new(),
            key: parts.key,
            replay: ReplayGuard::new(window_ms, REPLAY_CACHE),
            nonces: rand::make_rng(),
            rejoin_period: parts.rejoin_period,
            max_datagram: parts.max_datagram,
            expected: parts.expected,
            view: parts.view,
            commands: parts.commands,
            metrics: parts.metrics,
        }
    }

    /// Runs until the handle leaves or is dropped.
    pub(crate) async fn run(mut self) {
        // One spare byte tells an oversized datagram from one of exactly the maximum size.
        let mut buf = vec![0; self.max_datagram + 1];
        let mut rejoin = tokio::time::interval(self.rejoin_period);
        rejoin.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, from)) => Event::Datagram(len, from),
                    Err(e) => {
                        tracing::debug!(error = %e, "membership socket receive error");
                        // Never spin on an error that persists.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                Some(expired) = std::future::poll_fn(|cx| self.timers.poll_expired(cx)),
                    if !self.timers.is_empty() => Event::Timer(expired.into_inner()),
                changed = self.expected.changed() => match changed {
                    Ok(()) => Event::ExpectedChanged,
                    Err(_) => Event::Stop,
                },
                _ = rejoin.tick() => Event::Rejoin,
                command = self.commands.recv() => match command {
                    Some(Command::Leave) => Event::Leave,
                    None => Event::Stop,
                },
            };
            match event {
                Event::Datagram(len, from) => {
                    let datagram = buf.get(..len).unwrap_or_default();
                    self.receive(datagram, from);
                }
                Event::Timer(timer) => {
                    if let Err(e) = self.foca.handle_timer(timer, &mut self.pending) {
                        tracing::debug!(error = %e, "SWIM timer");
                    }
                }
                Event::ExpectedChanged | Event::Rejoin => self.announce_to_missing(),
                Event::Leave => {
                    if let Err(e) = self.foca.leave_cluster(&mut self.pending) {
                        tracing::warn!(error = %e, "announcing departure");
                    }
                    self.flush().await;
                    tracing::info!("left the speaker liveness group");
                    return;
                }
                // The handle is gone without leaving: stop without a word, as a killed
                // speaker would.
                Event::Stop => return,
            }
            self.flush().await;
        }
    }

    /// Authenticates a datagram and hands its SWIM message to foca.
    fn receive(&mut self, datagram: &[u8], from: SocketAddr) {
        self.metrics.received();
        let admitted = envelope::open(&self.key, datagram, self.max_datagram)
            .and_then(|opened| self.replay.admit(now_ms(), &opened).map(|()| opened));
        let opened = match admitted {
            Ok(opened) => opened,
            Err(why) => {
                self.metrics.rejected(why);
                tracing::debug!(%from, reason = why.reason(), "dropped membership datagram");
                return;
            }
        };
        if let Err(e) = self.foca.handle_data(opened.payload, &mut self.pending) {
            tracing::debug!(%from, error = %e, "ignored SWIM message");
        }
    }

    /// Announces this member to the expected members it does not see alive: how it joins at
    /// start, after a restart, and once a partition heals.
    fn announce_to_missing(&mut self) {
        let me = self.foca.identity().node.clone();
        let active: BTreeSet<&str> = self
            .foca
            .iter_members()
            .map(|member| member.id().node.as_str())
            .collect();
        let seeds: Vec<Speaker> = self
            .expected
            .borrow()
            .iter()
            .filter(|(node, _)| **node != me && !active.contains(node.as_str()))
            .map(|(node, addr)| Speaker::seed(node.clone(), *addr))
            .collect();
        for seed in seeds {
            if let Err(e) = self.foca.announce(seed, &mut self.pending) {
                tracing::debug!(error = %e, "announcing to a seed");
            }
        }
    }

    /// Carries out what foca asked for, then publishes the view.
    async fn flush(&mut self) {
        while let Some((to, message)) = self.pending.to_send() {
            let nonce = self.nonces.random();
            let datagram = envelope::seal(&self.key, now_ms(), nonce, &message);
            match self.socket.send_to(&datagram, to.addr).await {
                Ok(_) => self.metrics.sent(),
                // Unreachable peers are SWIM's business, not an error of ours.
                Err(e) => tracing::debug!(to = %to.addr, error = %e, "membership send"),
            }
        }
        while let Some((after, timer)) = self.pending.to_schedule() {
            self.timers.insert(timer, after);
        }
        while let Some(notification) = self.pending.to_notify() {
            log_notification(&notification);
        }
        self.publish();
    }

    fn publish(&mut self) {
        let view = MemberView::with_suspects(
            &self.foca.identity().node,
            self.foca.iter_members().map(|member| {
                let suspect = member.state() == foca::State::Suspect;
                (member.id().node.as_str(), suspect)
            }),
            self.expected.borrow().keys().map(String::as_str),
        );
        self.metrics.observe(&view);
        self.view.send_if_modified(|current| {
            if *current == view {
                return false;
            }
            tracing::info!(alive = ?view.alive, suspect = ?view.suspect, has_quorum = view.has_quorum, expected = view.expected, "membership changed");
            *current = view;
            true
        });
    }
}

fn log_notification(notification: &OwnedNotification<Speaker>) {
    match notification {
        OwnedNotification::MemberUp(s) => {
            tracing::debug!(node = %s.node, addr = %s.addr, "member up")
        }
        OwnedNotification::MemberDown(s) => tracing::debug!(node = %s.node, "member down"),
        OwnedNotification::Rename(old, new) => tracing::debug!(
            node = %new.node, old = old.generation, new = new.generation, "member restarted"
        ),
        OwnedNotification::Rejoin(s) => {
            tracing::info!(
                generation = s.generation,
                "declared down by the group; rejoined"
            )
        }
        OwnedNotification::Defunct => {
            tracing::warn!("declared down by the group and cannot renew the identity")
        }
        other => tracing::debug!(notification = ?other, "SWIM"),
    }
}

/// The wall clock in ms since the Unix epoch: envelope timestamps must compare across nodes.
fn now_ms() -> u64 {
    unix_millis(SystemTime::now())
}
