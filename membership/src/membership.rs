//! The handle the speaker holds: start, feed the expected members, watch the view, leave.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use prometheus_client::registry::Registry;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::MembershipConfig;
use crate::error::MembershipError;
use crate::identity::Speaker;
use crate::metrics::{MembershipStats, Metrics};
use crate::runtime::{Command, Driver, DriverParts, Expected};
use crate::view::MemberView;

/// A running member of the speakers' liveness group.
///
/// Dropping it stops the member at once without telling anyone (as if the process were
/// killed): the others detect it through SWIM's failure detection. Call [`Membership::leave`]
/// for a clean exit.
#[derive(Debug)]
pub struct Membership {
    commands: mpsc::Sender<Command>,
    expected: watch::Sender<Expected>,
    view: watch::Receiver<MemberView>,
    metrics: Metrics,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Membership {
    /// Binds the UDP socket and starts the member on the current tokio runtime. It joins the
    /// group once [`Membership::set_expected`] names the others. An `advertise` port of 0
    /// stands for the port actually bound.
    pub async fn start(config: MembershipConfig) -> Result<Membership, MembershipError> {
        let key = config.validate()?;
        let bind_error = |source| MembershipError::Bind {
            addr: config.bind,
            source,
        };
        let socket = UdpSocket::bind(config.bind).await.map_err(bind_error)?;
        let local_addr = socket.local_addr().map_err(bind_error)?;
        let mut advertise = config.advertise;
        if advertise.port() == 0 {
            advertise.set_port(local_addr.port());
        }
        let identity = Speaker::starting(config.node_name.clone(), advertise, SystemTime::now());
        tracing::info!(node = %identity.node, %local_addr, %advertise, generation = identity.generation, "starting speaker liveness group member");

        let (expected_tx, expected_rx) = watch::channel(Expected::new());
        let initial = MemberView::new(&config.node_name, [], []);
        let (view_tx, view_rx) = watch::channel(initial);
        let (commands_tx, commands_rx) = mpsc::channel(1);
        let metrics = Metrics::default();
        let driver = Driver::new(DriverParts {
            identity,
            swim: config.swim(),
            socket,
            key,
            replay_window: config.replay_window,
            rejoin_period: config.rejoin_period,
            max_datagram: config.max_datagram(),
            expected: expected_rx,
            view: view_tx,
            commands: commands_rx,
            metrics: metrics.clone(),
        });
        Ok(Membership {
            commands: commands_tx,
            expected: expected_tx,
            view: view_rx,
            metrics,
            local_addr,
            task: tokio::spawn(driver.run()),
        })
    }

    /// The cluster as Kubernetes sees it: Ready nodes running a speaker, by node name, with their
    /// membership addresses. They are the seeds this member announces itself to, and the
    /// denominator of the quorum: a member that sees no more than half of them alive (itself
    /// included) reports `has_quorum = false`, so its speaker stops answering for L2 IPs.
    pub fn set_expected(&self, members: BTreeMap<String, SocketAddr>) {
        self.expected.send_replace(members);
    }

    /// The group as this member sees it, updated as it changes.
    pub fn view(&self) -> watch::Receiver<MemberView> {
        self.view.clone()
    }

    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The traffic counters, as also exported to Prometheus.
    pub fn stats(&self) -> MembershipStats {
        self.metrics.stats()
    }

    /// Registers `members_alive`, `membership_quorum`, and the datagram and
    /// authentication-failure counters under the registry's prefix (the speaker's:
    /// `ferrolb_speaker_`).
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.metrics.register(registry);
    }

    /// Tells a few members this one is leaving, so the group drops it at once instead of after
    /// failure detection, then stops (used on SIGTERM). Returns once the goodbye is sent and the
    /// socket is closed.
    pub async fn leave(mut self) {
        if self.commands.send(Command::Leave).await.is_ok() {
            // The task ends right after the goodbye; it cannot panic on purpose, and a panic
            // there has nothing left to clean up.
            let _ = (&mut self.task).await;
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.task.abort();
    }
}
