//! One neighbour as the instance task sees it: its session handle, policies, RIB id, and the
//! export task of its Established session.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::fsm::{Negotiated, State};
use crate::rib::{ExportPolicy, ImportPolicy, PeerId, PeerInfo};
use crate::session::PeerControl;
use crate::types::Asn;

use super::export::{ExportState, Job};
use super::status::{NeighborStatus, PrefixCounters};

/// An Established session's per-session state.
pub(super) struct Session {
    pub negotiated: Negotiated,
    pub since: Instant,
    /// Our end of the session's connection (fills in next hop self).
    pub local: SocketAddr,
    /// The session's export task (see [`super::export`]).
    pub exporter: mpsc::UnboundedSender<Job>,
    /// Counters shared with the export task.
    pub state: Arc<ExportState>,
}

/// Policies and session of one neighbour.
pub(super) struct Neighbor {
    pub control: PeerControl,
    /// Bumped for every new session handle (dynamic neighbours reconnect with a new one), so
    /// events of an old handle are recognised and ignored.
    pub generation: u64,
    pub configured_asn: Option<Asn>,
    pub import: ImportPolicy,
    pub export: ExportPolicy,
    pub gr_helper: bool,
    pub dynamic: bool,
    pub rib_peer: Option<PeerId>,
    pub session: Option<Session>,
    pub state: State,
    pub last_down: Option<String>,
    /// The graceful-restart timer while the neighbour's routes are stale.
    pub restart_timer: Option<JoinHandle<()>>,
}

impl Neighbor {
    pub fn new(
        control: PeerControl,
        generation: u64,
        import: ImportPolicy,
        export: ExportPolicy,
    ) -> Neighbor {
        Neighbor {
            control,
            generation,
            configured_asn: None,
            import,
            export,
            gr_helper: true,
            dynamic: false,
            rib_peer: None,
            session: None,
            state: State::Idle,
            last_down: None,
            restart_timer: None,
        }
    }

    pub fn address(&self) -> IpAddr {
        self.control.peer()
    }

    /// The export policy of a session, with our own addresses filled in from its socket.
    pub fn session_export(&self, local: SocketAddr) -> ExportPolicy {
        let mut export = self.export.clone();
        match local.ip() {
            IpAddr::V4(a) => {
                export.local_ipv4.get_or_insert(a);
            }
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => {
                    export.local_ipv4.get_or_insert(v4);
                }
                None => {
                    export.local_ipv6.get_or_insert(a);
                }
            },
        }
        export
    }

    /// True when the export policy lets `prefix` go to this neighbour.
    pub fn exports(&self, prefix: &IpNet) -> bool {
        self.export.permits(prefix)
    }

    /// Jobs handed to this neighbour's export task and not yet done (0 without a session).
    pub fn export_backlog(&self) -> usize {
        self.session
            .as_ref()
            .map_or(0, |s| s.state.backlog.load(Ordering::Relaxed))
    }

    pub fn cancel_restart_timer(&mut self) {
        if let Some(t) = self.restart_timer.take() {
            t.abort();
        }
    }

    /// Hands work to the session's export task, if a session is up.
    pub fn export(&self, job: Job) {
        if let Some(session) = &self.session {
            session.state.backlog.fetch_add(1, Ordering::Relaxed);
            if session.exporter.send(job).is_err() {
                tracing::debug!(peer = %self.address(), "session ended before its updates were sent");
            }
        }
    }

    pub fn status(&self, rib: &crate::rib::LocRib) -> NeighborStatus {
        let adj_in = self.rib_peer.and_then(|p| rib.adj_rib_in(p));
        let counters = adj_in.map(|a| a.counters());
        let asn = self
            .session
            .as_ref()
            .map(|s| s.negotiated.peer_asn)
            .or(self.configured_asn);
        NeighborStatus {
            address: self.address(),
            asn,
            state: format!("{:?}", self.state),
            uptime: self.session.as_ref().map(|s| s.since.elapsed()),
            dynamic: self.dynamic,
            prefixes: PrefixCounters {
                received: counters.map(|c| c.received).unwrap_or(0),
                accepted: adj_in.map(|a| a.prefix_count() as u64).unwrap_or(0),
                rejected: counters.map(|c| c.rejected_total()).unwrap_or(0),
                advertised: self
                    .session
                    .as_ref()
                    .map_or(0, |s| s.state.advertised.load(Ordering::Relaxed)),
            },
            last_down: self.last_down.clone(),
        }
    }
}

impl Session {
    /// The state of a session that just reached Established, with its export task started.
    pub fn new(
        control: &PeerControl,
        info: &PeerInfo,
        peer: PeerId,
        negotiated: Negotiated,
        local: SocketAddr,
        export: ExportPolicy,
    ) -> Session {
        let state = Arc::new(ExportState::default());
        let exporter = super::export::spawn(
            control.clone(),
            info,
            peer,
            &negotiated,
            export,
            Arc::clone(&state),
        );
        Session {
            negotiated,
            since: Instant::now(),
            local,
            exporter,
            state,
        }
    }
}
