//! The export task of one Established session: it owns the session's Adj-RIB-Out and UPDATE
//! packer, turns Loc-RIB changes into UPDATEs and writes them to the peer.
//!
//! It runs beside the instance task, so choosing best paths (instance task) and exporting them
//! (one task per peer) use different cores, and a slow peer queues here without stalling the
//! instance or the other peers. The instance sends it [`Job`]s in order; each job's effect on
//! the Adj-RIB-Out is exactly what the instance would have computed in place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use tokio::sync::mpsc;

use crate::attribute::{AsPath, NextHop, PathAttributes};
use crate::codec::{CodecOptions, EncodeError, UpdatePacker};
use crate::fsm::Negotiated;
use crate::rib::{AdjRibOut, ExportPolicy, OutboundBatch, PeerId, PeerInfo};
use crate::session::PeerControl;
use crate::types::{AddressFamily, Asn};

use super::ChangeBatch;

/// A route the application originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LocalRoute {
    pub attributes: Arc<PathAttributes>,
    pub next_hop: Option<NextHop>,
}

/// Every originated route, shared by the instance and the export tasks.
pub(super) type LocalRoutes = Arc<HashMap<IpNet, LocalRoute>>;

/// Work for an export task, in the order the instance decided it.
pub(super) enum Job {
    /// Loc-RIB changes (the same batch goes to every session and subscriber).
    Changes(ChangeBatch),
    /// Bring the peer in line with the whole Loc-RIB `routes`: the session just came up, the
    /// peer asked for a ROUTE-REFRESH (`refresh`), or the export policy changed (`policy`).
    Resync {
        routes: ChangeBatch,
        policy: Option<ExportPolicy>,
        refresh: bool,
        originated: Originated,
    },
    /// Originated routes changed.
    Originated(Originated),
    /// End-of-RIB markers for these families.
    EndOfRib(Vec<AddressFamily>),
}

/// Originated routes to send and to withdraw, with the whole current set (learned routes for
/// originated prefixes are not advertised).
pub(super) struct Originated {
    pub all: LocalRoutes,
    pub announce: Vec<IpNet>,
    pub withdraw: Vec<IpNet>,
}

/// What the instance task and a session's export task share.
#[derive(Debug, Default)]
pub(super) struct ExportState {
    /// Prefixes the peer has from us, learned and originated, for the neighbour's status.
    pub advertised: AtomicU64,
    /// Jobs handed to the export task and not yet done.
    pub backlog: AtomicUsize,
}

/// The export side of one session.
struct Exporter {
    out: AdjRibOut,
    packer: UpdatePacker,
    internal: bool,
    local_asn: Asn,
    local: LocalRoutes,
    state: Arc<ExportState>,
}

/// Starts the export task of a session that just reached Established.
pub(super) fn spawn(
    control: PeerControl,
    info: &PeerInfo,
    peer: PeerId,
    negotiated: &Negotiated,
    export: ExportPolicy,
    state: Arc<ExportState>,
) -> mpsc::UnboundedSender<Job> {
    let opts = CodecOptions {
        four_octet_as: negotiated.four_octet_as,
        extended_message: negotiated.extended_message,
    };
    let mut exporter = Exporter {
        out: AdjRibOut::new(peer, info.clone(), export),
        packer: UpdatePacker::new(opts),
        internal: negotiated.internal,
        local_asn: info.local_asn,
        local: LocalRoutes::default(),
        state,
    };
    let writer = writer(control);
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            let bytes = exporter.run(job);
            exporter.state.backlog.fetch_sub(1, Ordering::Relaxed);
            if !bytes.is_empty() && writer.send(bytes).is_err() {
                return;
            }
        }
    });
    tx
}

/// Writes a session's encoded UPDATEs in order. The export task hands them over without
/// waiting for the socket, so a slow peer's backlog is held encoded (a few bytes per prefix)
/// rather than as queued Loc-RIB change batches.
fn writer(control: PeerControl) -> mpsc::UnboundedSender<Bytes> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if control.send_encoded(bytes).await.is_err() {
                tracing::debug!(peer = %control.peer(), "session ended before its updates were sent");
                return;
            }
        }
    });
    tx
}

impl Exporter {
    /// Applies a job to the Adj-RIB-Out and encodes what the peer must be sent.
    fn run(&mut self, job: Job) -> Bytes {
        let result = match job {
            Job::Changes(changes) => {
                let batch = self.out.process(&changes);
                if batch.is_empty() {
                    return Bytes::new();
                }
                self.encode(&batch, &Originated::none(&self.local))
            }
            Job::Resync {
                routes,
                policy,
                refresh,
                originated,
            } => {
                self.local = Arc::clone(&originated.all);
                let batch = match (policy, refresh) {
                    (Some(policy), _) => self.out.set_policy(policy, &routes),
                    (None, true) => self.out.refresh(&routes),
                    (None, false) => self.out.advertise_all(&routes),
                };
                self.encode(&batch, &originated)
            }
            Job::Originated(originated) => {
                self.local = Arc::clone(&originated.all);
                self.encode(&OutboundBatch::default(), &originated)
            }
            Job::EndOfRib(families) => families
                .into_iter()
                .map(|f| self.packer.end_of_rib(f))
                .collect::<Result<Vec<Bytes>, EncodeError>>()
                .map(|m| m.concat().into()),
        };
        self.publish_count();
        result.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot encode updates");
            Bytes::new()
        })
    }

    /// Counts learned routes in the Adj-RIB-Out plus originated routes the policy lets out
    /// that no learned route stands for.
    fn publish_count(&self) {
        let originated_only = self
            .local
            .keys()
            .filter(|p| self.out.policy().permits(p) && self.out.advertised(p).is_none())
            .count();
        let total = self.out.advertised_count() + originated_only;
        self.state.advertised.store(total as u64, Ordering::Relaxed);
    }

    /// Encodes an outbound batch (minus originated prefixes, which take precedence) and
    /// originated routes into one buffer of UPDATEs.
    fn encode(&self, batch: &OutboundBatch, originated: &Originated) -> Result<Bytes, EncodeError> {
        let local = &originated.all;
        let mut out = BytesMut::new();
        let mut push =
            |messages: Vec<Bytes>| messages.iter().for_each(|m| out.extend_from_slice(m));
        // Learned prefixes that are also originated are not sent: the originated route stands.
        let learned = |prefixes: &[IpNet]| -> Vec<IpNet> {
            prefixes
                .iter()
                .filter(|p| !local.contains_key(p))
                .copied()
                .collect()
        };
        let mut withdraw = learned(&batch.withdraw);
        withdraw.extend_from_slice(&originated.withdraw);
        if !withdraw.is_empty() {
            push(self.packer.withdraw(&withdraw)?);
        }
        for a in &batch.announce {
            if local.is_empty() {
                push(
                    self.packer
                        .announce(&a.attributes, a.next_hop, &a.prefixes)?,
                );
                continue;
            }
            let prefixes = learned(&a.prefixes);
            if !prefixes.is_empty() {
                push(self.packer.announce(&a.attributes, a.next_hop, &prefixes)?);
            }
        }
        // Originated routes, grouped by attribute set and next hop like the Adj-RIB-Out's batches.
        let mut groups: HashMap<(Arc<PathAttributes>, NextHop), Vec<IpNet>> = HashMap::new();
        for prefix in &originated.announce {
            let Some(route) = local.get(prefix) else {
                continue;
            };
            let Some(next_hop) = self.local_next_hop(prefix, route) else {
                tracing::warn!(%prefix, "no next hop of the prefix's family on this session; not announced");
                continue;
            };
            let attrs = self.export_local_attributes(&route.attributes);
            groups.entry((attrs, next_hop)).or_default().push(*prefix);
        }
        for ((attrs, next_hop), prefixes) in groups {
            push(self.packer.announce(&attrs, next_hop, &prefixes)?);
        }
        Ok(out.freeze())
    }

    fn local_next_hop(&self, prefix: &IpNet, route: &LocalRoute) -> Option<NextHop> {
        if let Some(nh) = route.next_hop {
            return Some(nh);
        }
        let policy = self.out.policy();
        match prefix {
            IpNet::V4(_) => policy.local_ipv4.map(NextHop::V4),
            IpNet::V6(_) => policy.local_ipv6.map(|global| NextHop::V6 {
                global,
                link_local: policy.local_ipv6_link_local,
            }),
        }
    }

    /// Attributes of an originated route as sent on this session: our AS prepended towards
    /// eBGP, LOCAL_PREF only towards iBGP.
    fn export_local_attributes(&self, attrs: &Arc<PathAttributes>) -> Arc<PathAttributes> {
        let mut a = (**attrs).clone();
        a.origin.get_or_insert_default();
        if self.internal {
            a.as_path.get_or_insert_with(AsPath::default);
            a.local_pref
                .get_or_insert(self.out.policy().default_local_pref);
        } else {
            let path = a.as_path.take().unwrap_or_default();
            a.as_path = Some(path.prepend(self.local_asn));
            a.local_pref = None;
        }
        Arc::new(a)
    }
}

impl Originated {
    /// No originated route to send or withdraw.
    fn none(all: &LocalRoutes) -> Originated {
        Originated {
            all: Arc::clone(all),
            announce: Vec::new(),
            withdraw: Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
