//! Status objects and Events: what this node announces, written where
//! `kubectl` shows it.
//!
//! ServiceAnnouncement (one per node, Service and protocol, with the state
//! of each BGP session its addresses go out on) and
//! BGPSessionState (one per node and peer) live in FerroLB's namespace,
//! labelled with the node; this node's objects that no longer describe
//! anything are deleted. An `AnnouncingFromNode` Event goes on a Service
//! when this node starts announcing it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use ferrolb_api::crd::status::NODE_LABEL;
use ferrolb_api::{
    AnnouncedPeerSession, AnnouncementProtocol, BGPSessionState, BGPSessionStateSpec,
    BGPSessionStateStatus, ServiceAnnouncement, ServiceAnnouncementSpec, ServiceAnnouncementStatus,
    ServiceReference,
};
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use ring::digest::{digest, SHA256};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Summary;
use crate::bgp::BgpStatus;

/// Status writes are batched over this window.
const BATCH: Duration = Duration::from_millis(500);

/// Longest object name the API server accepts.
const MAX_NAME: usize = 253;

/// Writes status objects and Events for one node.
pub struct StatusWriter {
    client: Client,
    namespace: String,
    node: String,
    /// Services announced at the last write, for Events on new ones.
    announced: BTreeSet<(ServiceReference, AnnouncementProtocol)>,
}

/// `parts` joined with `-`, or, when too long for a name, a prefix with a
/// hash of the whole.
fn object_name(parts: &[&str]) -> String {
    let name = parts.join("-").to_ascii_lowercase();
    if name.len() <= MAX_NAME {
        return name;
    }
    let hash: String = digest(&SHA256, name.as_bytes()).as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cut = name
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i < MAX_NAME - hash.len())
        .last()
        .unwrap_or(0);
    format!("{}-{hash}", name[..cut].trim_end_matches(['-', '.']))
}

/// The session state of each of `peers` (Idle for one not configured yet).
fn peer_sessions<'a>(
    peers: impl IntoIterator<Item = &'a String>,
    sessions: &BgpStatus,
) -> Vec<AnnouncedPeerSession> {
    peers
        .into_iter()
        .map(|peer| {
            let session = sessions.get(peer);
            AnnouncedPeerSession {
                peer: peer.clone(),
                peer_address: session.map(|s| s.address.to_string()).unwrap_or_default(),
                state: session.map(|s| s.state).unwrap_or_default(),
                bfd_state: session.and_then(|s| s.bfd.as_ref()).map(|b| b.state),
            }
        })
        .collect()
}

fn protocol_name(p: AnnouncementProtocol) -> &'static str {
    match p {
        AnnouncementProtocol::Bgp => "bgp",
        AnnouncementProtocol::L2 => "l2",
    }
}

impl StatusWriter {
    /// A writer for `node`'s objects in `namespace`.
    pub fn new(client: Client, namespace: String, node: String) -> StatusWriter {
        StatusWriter {
            client,
            namespace,
            node,
            announced: BTreeSet::new(),
        }
    }

    /// Writes on every change of `summary` or `sessions` until `stop`.
    pub async fn run(
        mut self,
        mut summary: watch::Receiver<Summary>,
        mut sessions: watch::Receiver<BgpStatus>,
        stop: CancellationToken,
    ) {
        loop {
            let current = summary.borrow_and_update().clone();
            let states = sessions.borrow_and_update().clone();
            if let Err(e) = self.write(&current, &states).await {
                tracing::warn!(error = %e, "writing status objects; retrying");
                summary.mark_changed();
            }
            tokio::select! {
                r = summary.changed() => if r.is_err() { return },
                r = sessions.changed() => if r.is_err() { return },
                () = stop.cancelled() => return,
            }
            tokio::time::sleep(BATCH).await;
        }
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(NODE_LABEL.to_owned(), self.node.clone())])
    }

    async fn write(&mut self, summary: &Summary, sessions: &BgpStatus) -> Result<(), kube::Error> {
        let mut announcements = BTreeMap::new();
        for (id, ann) in &summary.services {
            let l2 = ann.l2.as_ref().filter(|_| summary.l2_enabled);
            for (protocol, announced) in [
                (AnnouncementProtocol::Bgp, ann.bgp.as_ref()),
                (AnnouncementProtocol::L2, l2),
            ] {
                let Some(a) = announced else { continue };
                let name =
                    object_name(&[&self.node, protocol_name(protocol), &id.namespace, &id.name]);
                let mut object = ServiceAnnouncement::new(
                    &name,
                    ServiceAnnouncementSpec {
                        node: self.node.clone(),
                        service: id.clone(),
                        protocol,
                    },
                );
                object.metadata.labels = Some(self.labels());
                object.status = Some(ServiceAnnouncementStatus {
                    ips: a.ips.iter().map(|ip| ip.to_string()).collect(),
                    interfaces: a.interfaces.iter().cloned().collect(),
                    peers: a.peers.iter().cloned().collect(),
                    peer_sessions: peer_sessions(&a.peers, sessions),
                });
                announcements.insert(name, object);
            }
        }
        let now: BTreeSet<(ServiceReference, AnnouncementProtocol)> = announcements
            .values()
            .map(|a| (a.spec.service.clone(), a.spec.protocol))
            .collect();
        let api: Api<ServiceAnnouncement> = Api::namespaced(self.client.clone(), &self.namespace);
        self.sync(&api, announcements, |a| a.status.as_ref())
            .await?;

        let mut states = BTreeMap::new();
        for (peer, s) in sessions {
            let name = object_name(&[&self.node, peer]);
            let mut object = BGPSessionState::new(
                &name,
                BGPSessionStateSpec {
                    node: self.node.clone(),
                    peer: peer.clone(),
                    peer_address: s.address.to_string(),
                },
            );
            object.metadata.labels = Some(self.labels());
            object.status = Some(BGPSessionStateStatus {
                state: s.state,
                since: None,
                prefixes_sent: u32::try_from(s.prefixes_sent).unwrap_or(u32::MAX),
                prefixes_received: u32::try_from(s.prefixes_received).unwrap_or(u32::MAX),
                last_error: s.last_error.clone(),
                bfd: s.bfd.clone(),
            });
            states.insert(name, object);
        }
        let api: Api<BGPSessionState> = Api::namespaced(self.client.clone(), &self.namespace);
        self.sync_sessions(&api, states).await?;

        for (service, protocol) in now.difference(&self.announced) {
            self.publish_event(service, *protocol, summary).await;
        }
        self.announced = now;
        Ok(())
    }

    /// BGPSessionState objects, with `since` kept while the state stays.
    async fn sync_sessions(
        &self,
        api: &Api<BGPSessionState>,
        mut desired: BTreeMap<String, BGPSessionState>,
    ) -> Result<(), kube::Error> {
        let existing = self.list(api).await?;
        for (name, object) in &mut desired {
            let Some(status) = object.status.as_mut() else {
                continue;
            };
            let previous = existing.get(name).and_then(|e| e.status.as_ref());
            status.since = match previous {
                Some(p) if p.state == status.state => p.since.clone(),
                _ => Some(Time(k8s_openapi::jiff::Timestamp::now())),
            };
        }
        self.sync(api, desired, |s| s.status.as_ref()).await
    }

    async fn list<K>(&self, api: &Api<K>) -> Result<BTreeMap<String, K>, kube::Error>
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        let params = ListParams::default().labels(&format!("{NODE_LABEL}={}", self.node));
        Ok(api
            .list(&params)
            .await?
            .items
            .into_iter()
            .map(|o| (o.name_any(), o))
            .collect())
    }

    /// Makes this node's objects of one kind exactly `desired`: creates the
    /// missing, updates changed statuses, deletes the rest.
    async fn sync<K, S>(
        &self,
        api: &Api<K>,
        desired: BTreeMap<String, K>,
        status_of: fn(&K) -> Option<&S>,
    ) -> Result<(), kube::Error>
    where
        K: Resource + Clone + DeserializeOwned + Serialize + Debug,
        S: Serialize + PartialEq,
    {
        let existing = self.list(api).await?;
        for name in existing.keys().filter(|n| !desired.contains_key(*n)) {
            api.delete(name, &DeleteParams::default()).await?;
        }
        for (name, want) in &desired {
            let current = match existing.get(name) {
                Some(current) => current.clone(),
                None => api.create(&PostParams::default(), want).await?,
            };
            if status_of(&current) != status_of(want) {
                let patch = serde_json::json!({ "status": status_of(want) });
                api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
        }
        Ok(())
    }

    async fn publish_event(
        &self,
        id: &ServiceReference,
        protocol: AnnouncementProtocol,
        summary: &Summary,
    ) {
        let Some(ann) = summary.services.get(id) else {
            return;
        };
        let announced = match protocol {
            AnnouncementProtocol::Bgp => ann.bgp.as_ref(),
            AnnouncementProtocol::L2 => ann.l2.as_ref(),
        };
        let ips: Vec<String> = announced
            .into_iter()
            .flat_map(|a| a.ips.iter().map(|ip| ip.to_string()))
            .collect();
        let recorder = Recorder::new(
            self.client.clone(),
            Reporter {
                controller: "ferrolb-speaker".to_owned(),
                instance: Some(self.node.clone()),
            },
        );
        let reference = ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some(<Service as k8s_openapi::Resource>::KIND.to_owned()),
            namespace: Some(id.namespace.clone()),
            name: Some(id.name.clone()),
            ..ObjectReference::default()
        };
        let note = format!(
            "announcing {} from node {} over {}",
            ips.join(", "),
            self.node,
            protocol_name(protocol)
        );
        let event = Event {
            type_: EventType::Normal,
            reason: "AnnouncingFromNode".to_owned(),
            note: Some(note),
            action: "Announce".to_owned(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, &reference).await {
            tracing::warn!(service = %format!("{}/{}", id.namespace, id.name), error = %e, "emitting Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_carry_each_peer_session() {
        use crate::bgp::PeerStatus;
        use ferrolb_api::{BfdSessionStatus, BfdState, SessionState};
        let up = PeerStatus {
            address: "192.0.2.1".parse().unwrap(),
            state: SessionState::Established,
            prefixes_sent: 1,
            prefixes_received: 0,
            last_error: None,
            bfd: Some(BfdSessionStatus {
                profile: "fast".into(),
                state: BfdState::Up,
                ..BfdSessionStatus::default()
            }),
        };
        let down = PeerStatus {
            address: "192.0.2.2".parse().unwrap(),
            state: SessionState::Active,
            bfd: None,
            ..up.clone()
        };
        let sessions: BgpStatus = [("r1".to_owned(), up), ("r2".to_owned(), down)].into();
        let peers = ["r1", "r2", "r3"].map(String::from);
        let got = peer_sessions(&peers, &sessions);
        let want = [
            (
                "r1",
                "192.0.2.1",
                SessionState::Established,
                Some(BfdState::Up),
            ),
            ("r2", "192.0.2.2", SessionState::Active, None),
            ("r3", "", SessionState::Idle, None),
        ]
        .map(|(peer, address, state, bfd_state)| AnnouncedPeerSession {
            peer: peer.into(),
            peer_address: address.into(),
            state,
            bfd_state,
        });
        assert_eq!(got, want);
    }

    #[test]
    fn names_stay_valid() {
        assert_eq!(
            object_name(&["n1", "bgp", "default", "web"]),
            "n1-bgp-default-web"
        );
        let long = "a".repeat(200);
        let name = object_name(&["node", "bgp", &long, &long]);
        assert!(name.len() <= MAX_NAME, "{}", name.len());
        assert_ne!(
            name,
            object_name(&["node", "bgp", &long, &format!("{long}b")])
        );
    }
}
