//! One neighbour as the instance task sees it: its session handle, policies, RIB id and
//! Adj-RIB-Out, and how batches of routes are turned into UPDATEs for it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::attribute::{AsPath, NextHop, PathAttributes};
use crate::codec::{CodecOptions, EncodeError, UpdatePacker};
use crate::fsm::{Negotiated, State};
use crate::rib::{AdjRibOut, ExportPolicy, ImportPolicy, OutboundBatch, PeerId, PeerInfo};
use crate::session::PeerControl;
use crate::types::Asn;

use super::status::{NeighborStatus, PrefixCounters};

/// A route the application originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LocalRoute {
    pub attributes: Arc<PathAttributes>,
    pub next_hop: Option<NextHop>,
}

/// An Established session's per-session state.
pub(super) struct Session {
    pub out: AdjRibOut,
    pub packer: UpdatePacker,
    pub negotiated: Negotiated,
    pub since: Instant,
    pub local_asn: Asn,
    /// Our end of the session's connection (fills in next hop self).
    pub local: SocketAddr,
    /// The session's writer task (see [`super::task::writer`]).
    pub writer: mpsc::UnboundedSender<Bytes>,
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
        self.export
            .prefix_list
            .as_ref()
            .is_none_or(|l| l.permits(prefix))
    }

    pub fn cancel_restart_timer(&mut self) {
        if let Some(t) = self.restart_timer.take() {
            t.abort();
        }
    }

    /// Sends a batch from the Adj-RIB-Out plus any originated routes, as few UPDATEs as fit.
    pub fn send(
        &self,
        batch: &OutboundBatch,
        local: &[(IpNet, &LocalRoute)],
        withdraw_local: &[IpNet],
    ) {
        let Some(session) = &self.session else { return };
        match encode_batch(session, batch, local, withdraw_local) {
            Ok(bytes) => self.queue(bytes),
            Err(e) => tracing::error!(peer = %self.address(), error = %e, "cannot encode updates"),
        }
    }

    /// Queues encoded messages for the session's writer.
    pub fn queue(&self, bytes: Bytes) {
        if let Some(session) = &self.session {
            if !bytes.is_empty() && session.writer.send(bytes).is_err() {
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
                    .map(|s| s.out.advertised_count() as u64)
                    .unwrap_or(0),
            },
            last_down: self.last_down.clone(),
        }
    }
}

/// Encodes an outbound batch and originated routes for one session into one buffer of UPDATEs.
fn encode_batch(
    session: &Session,
    batch: &OutboundBatch,
    local: &[(IpNet, &LocalRoute)],
    withdraw_local: &[IpNet],
) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    let mut push = |messages: Vec<Bytes>| messages.iter().for_each(|m| out.extend_from_slice(m));
    let mut withdraw: Vec<IpNet> = batch.withdraw.clone();
    withdraw.extend_from_slice(withdraw_local);
    if !withdraw.is_empty() {
        push(session.packer.withdraw(&withdraw)?);
    }
    for a in &batch.announce {
        push(
            session
                .packer
                .announce(&a.attributes, a.next_hop, &a.prefixes)?,
        );
    }
    // Originated routes, grouped by attribute set and next hop like the Adj-RIB-Out's batches.
    let mut groups: HashMap<(Arc<PathAttributes>, NextHop), Vec<IpNet>> = HashMap::new();
    for (prefix, route) in local {
        let Some(next_hop) = local_next_hop(session, prefix, route) else {
            tracing::warn!(%prefix, "no next hop of the prefix's family on this session; not announced");
            continue;
        };
        let attrs = export_local_attributes(session, &route.attributes);
        groups.entry((attrs, next_hop)).or_default().push(*prefix);
    }
    for ((attrs, next_hop), prefixes) in groups {
        push(session.packer.announce(&attrs, next_hop, &prefixes)?);
    }
    Ok(out.freeze())
}

fn local_next_hop(session: &Session, prefix: &IpNet, route: &LocalRoute) -> Option<NextHop> {
    if let Some(nh) = route.next_hop {
        return Some(nh);
    }
    let policy = session.out.policy();
    match prefix {
        IpNet::V4(_) => policy.local_ipv4.map(NextHop::V4),
        IpNet::V6(_) => policy.local_ipv6.map(|global| NextHop::V6 {
            global,
            link_local: policy.local_ipv6_link_local,
        }),
    }
}

/// Attributes of an originated route as sent on one session: our AS prepended towards eBGP,
/// LOCAL_PREF only towards iBGP.
fn export_local_attributes(session: &Session, attrs: &Arc<PathAttributes>) -> Arc<PathAttributes> {
    let mut a = (**attrs).clone();
    a.origin.get_or_insert_default();
    if session.negotiated.internal {
        a.as_path.get_or_insert_with(AsPath::default);
        a.local_pref
            .get_or_insert(session.out.policy().default_local_pref);
    } else {
        let path = a.as_path.take().unwrap_or_default();
        a.as_path = Some(path.prepend(session.local_asn));
        a.local_pref = None;
    }
    Arc::new(a)
}

impl Session {
    pub fn new(
        control: &PeerControl,
        info: &PeerInfo,
        peer: PeerId,
        negotiated: Negotiated,
        local: SocketAddr,
        export: ExportPolicy,
    ) -> Session {
        let opts = CodecOptions {
            four_octet_as: negotiated.four_octet_as,
            extended_message: negotiated.extended_message,
        };
        Session {
            out: AdjRibOut::new(peer, info.clone(), export),
            packer: UpdatePacker::new(opts),
            negotiated,
            since: Instant::now(),
            local_asn: info.local_asn,
            local,
            writer: super::task::writer(control.clone()),
        }
    }
}
