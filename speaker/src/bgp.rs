//! BGP mode: one ferrolb-bgp [`Instance`] per selected BGPPeer, each
//! originating exactly the prefixes the decision assigns to that peer.
//!
//! An instance per peer (outgoing sessions only, no listener) lets every
//! peer get its own route set and attributes, as BGPAdvertisement `peers`
//! and per-peer LOCAL_PREF require, without resetting sessions when the set
//! changes. Routes are announced before a session is configured so that,
//! after a graceful restart, the peer receives them ahead of End-of-RIB and
//! never loses the stale copies it kept.
//!
//! A BGPPeer naming a BFDProfile also gets a BFD session ([`crate::bfd`]);
//! changing only the BFD settings retunes BFD without touching BGP.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ferrolb_api::{BGPPeerSpec, BfdSessionStatus, SessionState};
use ferrolb_bgp::attribute::{Community, LargeCommunity, Origin, PathAttributes};
use ferrolb_bgp::fsm::{Backoff, GracefulRestartConfig, PeerAsn};
use ferrolb_bgp::instance::{Instance, InstanceConfig, InstanceError, NeighborConfig};
use ferrolb_bgp::session::{PeerConfig, TtlMode};
use ferrolb_bgp::AddressFamily;
use ipnet::IpNet;
use tokio::sync::watch;

use crate::bfd::{self, Attachment, Bfd, PeerBfd};
use crate::decision::RouteAttributes;

/// Seconds a peer keeps our routes after our session drops without a
/// NOTIFICATION (RFC 4724 Restart Time): long enough for a pod restart.
pub const GRACEFUL_RESTART_TIME: u16 = 120;

/// A BGPPeer as the BGP task needs it: the spec plus the resolved password.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSession {
    /// The BGPPeer's spec.
    pub spec: BGPPeerSpec,
    /// TCP MD5 password from the referenced Secret.
    pub password: Option<String>,
    /// BFD settings, when the peer names a BFDProfile.
    pub bfd: Option<PeerBfd>,
}

impl PeerSession {
    /// Whether `other` needs the same BGP session (BFD settings aside).
    fn same_bgp_session(&self, other: &PeerSession) -> bool {
        let without_bfd = |s: &PeerSession| BGPPeerSpec {
            bfd_profile: None,
            ..s.spec.clone()
        };
        self.password == other.password && without_bfd(self) == without_bfd(other)
    }
}

/// What the BGP task should be doing: sessions and routes per peer name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BgpPlan {
    /// Peers to keep a session with.
    pub peers: BTreeMap<String, PeerSession>,
    /// Prefixes to originate towards each peer.
    pub routes: BTreeMap<String, BTreeMap<IpNet, RouteAttributes>>,
}

/// Node-wide BGP settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BgpSettings {
    /// BGP identifier unless a BGPPeer sets `routerID`.
    pub router_id: Ipv4Addr,
    /// Next hop of IPv6 routes sent over IPv4 sessions (the node's IPv6 address).
    pub ipv6_next_hop: Option<Ipv6Addr>,
    /// Next hop of IPv4 routes sent over IPv6 sessions.
    pub ipv4_next_hop: Option<Ipv4Addr>,
}

/// State of one peer's session, for status objects and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer's address.
    pub address: IpAddr,
    /// FSM state.
    pub state: SessionState,
    /// Prefixes we announce to it.
    pub prefixes_sent: u64,
    /// Prefixes it sent us.
    pub prefixes_received: u64,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// The BFD session watching the path, if the peer uses BFD.
    pub bfd: Option<BfdSessionStatus>,
}

/// Session states by peer name.
pub type BgpStatus = BTreeMap<String, PeerStatus>;

/// Errors setting up a peer.
#[derive(Debug, thiserror::Error)]
pub enum BgpError {
    /// The peer's spec cannot be turned into a session.
    #[error("BGPPeer {peer}: {reason}")]
    InvalidPeer {
        /// The BGPPeer's name.
        peer: String,
        /// What is wrong.
        reason: String,
    },
    /// The BGP instance refused.
    #[error("BGPPeer {peer}: {source}")]
    Instance {
        /// The BGPPeer's name.
        peer: String,
        /// The instance's error.
        source: InstanceError,
    },
}

/// A running session to one peer and what it was sent.
struct Peer {
    session: PeerSession,
    address: IpAddr,
    instance: Instance,
    announced: BTreeMap<IpNet, RouteAttributes>,
    bfd: BfdLink,
}

/// The BFD side of a peer.
enum BfdLink {
    /// The peer uses no BFD.
    Off,
    /// A BFD session runs.
    Attached(Attachment),
    /// BFD is configured but could not be set up (retried every status
    /// refresh).
    Failed { bfd: PeerBfd, error: String },
}

impl BfdLink {
    fn status(&self) -> Option<BfdSessionStatus> {
        match self {
            BfdLink::Off => None,
            BfdLink::Attached(a) => Some(a.status()),
            BfdLink::Failed { bfd, error } => Some(bfd::failed_status(&bfd.profile, error.clone())),
        }
    }
}

/// Drives the per-peer instances towards a [`BgpPlan`].
pub struct BgpSpeaker {
    settings: BgpSettings,
    peers: BTreeMap<String, Peer>,
    status: watch::Sender<BgpStatus>,
    bfd: Bfd,
}

fn to_bgp_attributes(attrs: &RouteAttributes) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        local_pref: attrs.local_pref,
        communities: attrs.communities.iter().map(|c| Community(c.0)).collect(),
        large_communities: attrs
            .large_communities
            .iter()
            .map(|c| LargeCommunity {
                global_admin: c.global_admin,
                local_data1: c.local_data1,
                local_data2: c.local_data2,
            })
            .collect(),
        ..PathAttributes::default()
    }
}

fn whole_seconds(d: ferrolb_api::Duration, what: &str) -> Result<u64, String> {
    d.whole_seconds()
        .ok_or_else(|| format!("{what} {d} is not a whole number of seconds"))
}

/// The neighbour configuration for a BGPPeer.
fn neighbor_config(
    name: &str,
    session: &PeerSession,
    settings: &BgpSettings,
) -> Result<(NeighborConfig, Ipv4Addr), String> {
    let spec = &session.spec;
    let address = spec
        .peer_ip()
        .ok_or_else(|| format!("peerAddress {:?} is not an IP address", spec.peer_address))?;
    let router_id = match &spec.router_id {
        Some(id) => id
            .trim()
            .parse()
            .map_err(|_| format!("routerID {id:?} is not an IPv4 address"))?,
        None => settings.router_id,
    };
    let mut peer = PeerConfig::new(address, spec.my_asn, spec.peer_asn, router_id);
    peer.port = spec.peer_port;
    peer.md5_password = session.password.clone();
    if let Some(source) = &spec.source_address {
        peer.local_address = Some(
            source
                .trim()
                .parse()
                .map_err(|_| format!("sourceAddress {source:?} is not an IP address"))?,
        );
    }
    if spec.ebgp_multi_hop {
        peer.ttl = TtlMode::Multihop { ttl: 255 };
    }
    let s = &mut peer.session;
    let hold = whole_seconds(spec.effective_hold_time(), "holdTime")?;
    s.hold_time = u16::try_from(hold).map_err(|_| format!("holdTime {hold}s is too long"))?;
    if spec.keepalive_time.is_some() {
        let keepalive = whole_seconds(spec.effective_keepalive_time(), "keepaliveTime")?;
        s.keepalive = Some(Duration::from_secs(keepalive));
    }
    let connect = spec.effective_connect_time().as_std();
    s.connect_retry = Backoff::new(connect, connect.max(Duration::from_secs(120)));
    // A speaker's sessions are usually to a directly connected router: come
    // back quickly after a failure rather than after the RFC's long backoff.
    s.idle_hold = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let own = match address {
        IpAddr::V4(_) => AddressFamily::Ipv4Unicast,
        IpAddr::V6(_) => AddressFamily::Ipv6Unicast,
    };
    s.families = if spec.dual_stack_address_family {
        AddressFamily::ALL.to_vec()
    } else {
        vec![own]
    };
    s.peer_asn = PeerAsn::Exact(spec.peer_asn);
    if spec.enable_graceful_restart {
        s.graceful_restart = Some(GracefulRestartConfig {
            restart_time: GRACEFUL_RESTART_TIME,
            restarting: false,
            // The node keeps forwarding Service traffic while the speaker
            // restarts, so the peer may keep using our routes.
            forwarding_preserved: true,
        });
    }
    peer.validate().map_err(|e| e.to_string())?;
    let mut neighbor = NeighborConfig::new(peer);
    neighbor.export.local_ipv6 = settings.ipv6_next_hop;
    neighbor.export.local_ipv4 = settings.ipv4_next_hop;
    tracing::debug!(peer = name, %address, "BGP neighbour configured");
    Ok((neighbor, router_id))
}

impl BgpSpeaker {
    /// A speaker with no sessions; session states are published on `status`;
    /// `bfd` runs the BFD sessions of peers that ask for them.
    pub fn new(settings: BgpSettings, status: watch::Sender<BgpStatus>, bfd: Bfd) -> BgpSpeaker {
        BgpSpeaker {
            settings,
            peers: BTreeMap::new(),
            status,
            bfd,
        }
    }

    /// Brings sessions and routes to `plan`. Peers that cannot be set up are
    /// skipped and reported; the rest proceed.
    pub async fn apply(&mut self, plan: &BgpPlan) -> Vec<BgpError> {
        let mut errors = Vec::new();
        let stale: Vec<String> = self
            .peers
            .iter()
            .filter(|(name, p)| {
                !plan
                    .peers
                    .get(*name)
                    .is_some_and(|s| s.same_bgp_session(&p.session))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(peer) = self.peers.remove(&name) {
                self.stop_peer(&name, peer).await;
            }
        }
        let empty = BTreeMap::new();
        for (name, session) in &plan.peers {
            let routes = plan.routes.get(name).unwrap_or(&empty);
            if let Some(peer) = self.peers.get_mut(name) {
                peer.session = session.clone();
                if let Err(source) = sync_routes(peer, routes).await {
                    errors.push(BgpError::Instance {
                        peer: name.clone(),
                        source,
                    });
                }
                sync_bfd(&mut self.bfd, name, peer);
                continue;
            }
            match self.start_peer(name, session, routes).await {
                Ok(mut peer) => {
                    sync_bfd(&mut self.bfd, name, &mut peer);
                    self.peers.insert(name.clone(), peer);
                }
                Err(e) => errors.push(e),
            }
        }
        errors
    }

    /// Closes a peer's BGP session (Cease) and ends its BFD session.
    async fn stop_peer(&mut self, name: &str, peer: Peer) {
        tracing::info!(peer = %name, address = %peer.address, "closing BGP session");
        self.end_peer(name, peer, false).await;
    }

    /// Ends a peer's BFD session (AdminDown, no failure), then its BGP session: with Cease,
    /// or for a graceful restart without a NOTIFICATION.
    async fn end_peer(&mut self, name: &str, mut peer: Peer, for_restart: bool) {
        if let BfdLink::Attached(a) = std::mem::replace(&mut peer.bfd, BfdLink::Off) {
            self.bfd.detach(a);
        }
        let closed = if for_restart {
            peer.instance.shutdown_for_restart().await
        } else {
            peer.instance.shutdown().await
        };
        if let Err(e) = closed {
            tracing::warn!(peer = %name, error = %e, "closing BGP session");
        }
    }

    async fn start_peer(
        &self,
        name: &str,
        session: &PeerSession,
        routes: &BTreeMap<IpNet, RouteAttributes>,
    ) -> Result<Peer, BgpError> {
        let invalid = |reason: String| BgpError::InvalidPeer {
            peer: name.to_owned(),
            reason,
        };
        let failed = |source: InstanceError| BgpError::Instance {
            peer: name.to_owned(),
            source,
        };
        let (neighbor, router_id) =
            neighbor_config(name, session, &self.settings).map_err(invalid)?;
        let address = neighbor.peer.address;
        let config = InstanceConfig::new(session.spec.my_asn, router_id, Vec::new());
        let instance = Instance::spawn(config).map_err(failed)?;
        let mut peer = Peer {
            session: session.clone(),
            address,
            instance,
            announced: BTreeMap::new(),
            bfd: BfdLink::Off,
        };
        // Routes first, then the session: see the module documentation.
        sync_routes(&mut peer, routes).await.map_err(failed)?;
        peer.instance.add_neighbor(neighbor).await.map_err(failed)?;
        tracing::info!(peer = name, %address, "BGP session configured");
        Ok(peer)
    }

    /// Ends the sessions of peers that negotiate graceful restart without a
    /// NOTIFICATION and without withdrawing anything (their BFD sessions say
    /// AdminDown first, which is no failure): the peers keep this node's
    /// routes, stale, until the restarted speaker is back, so a DaemonSet
    /// rollout changes no route. Returns how many peers remain (those
    /// without graceful restart, to be drained and closed).
    pub async fn stop_for_restart(&mut self) -> usize {
        let graceful: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, p)| p.session.spec.enable_graceful_restart)
            .map(|(name, _)| name.clone())
            .collect();
        for name in graceful {
            let Some(peer) = self.peers.remove(&name) else {
                continue;
            };
            tracing::info!(peer = %name, address = %peer.address, "stopping for a graceful restart; the peer keeps our routes");
            self.end_peer(&name, peer, true).await;
        }
        self.peers.len()
    }

    /// Withdraws every route from every peer, keeping the sessions.
    pub async fn withdraw_all(&mut self) {
        for (name, peer) in &mut self.peers {
            if let Err(e) = sync_routes(peer, &BTreeMap::new()).await {
                tracing::warn!(peer = %name, error = %e, "withdrawing routes");
            }
        }
    }

    /// Closes every session with a Cease NOTIFICATION, then tells the BFD
    /// peers AdminDown (so they take neither for a failure).
    pub async fn close(&mut self) {
        for (name, peer) in std::mem::take(&mut self.peers) {
            self.stop_peer(&name, peer).await;
        }
        self.bfd.shutdown();
        self.status.send_replace(BgpStatus::new());
    }

    /// Reads every session's state and publishes it; retries BFD sessions
    /// that could not be set up.
    pub async fn refresh_status(&mut self) {
        for (name, peer) in &mut self.peers {
            if matches!(peer.bfd, BfdLink::Failed { .. }) {
                sync_bfd(&mut self.bfd, name, peer);
            }
        }
        let mut status = BgpStatus::new();
        for (name, peer) in &self.peers {
            let Ok(neighbors) = peer.instance.neighbors().await else {
                continue;
            };
            for n in neighbors.into_iter().filter(|n| n.address == peer.address) {
                status.insert(
                    name.clone(),
                    PeerStatus {
                        address: n.address,
                        state: parse_state(&n.state),
                        prefixes_sent: n.prefixes.advertised,
                        prefixes_received: n.prefixes.accepted,
                        last_error: n.last_down.clone(),
                        bfd: peer.bfd.status(),
                    },
                );
            }
        }
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}

/// Brings `peer`'s BFD session in line with its BGPPeer: started, retuned,
/// moved (new local address) or ended.
fn sync_bfd(bfd: &mut Bfd, name: &str, peer: &mut Peer) {
    let want = peer.session.bfd.clone();
    let current = std::mem::replace(&mut peer.bfd, BfdLink::Off);
    let Some(want) = want else {
        if let BfdLink::Attached(a) = current {
            tracing::info!(peer = name, "BFD turned off");
            bfd.detach(a);
        }
        return;
    };
    let key = match bfd_key(&peer.session.spec, peer.address) {
        Ok(key) => key,
        Err(error) => {
            peer.bfd = failed(name, &current, want, error);
            return;
        }
    };
    match current {
        BfdLink::Attached(a) if a.bfd == want && a.key == key => {
            peer.bfd = BfdLink::Attached(a);
            return;
        }
        // Same session, new timers: retuned in place (a Poll Sequence).
        BfdLink::Attached(a) if a.key == key => a.stop_following(),
        BfdLink::Attached(a) => bfd.detach(a),
        BfdLink::Off | BfdLink::Failed { .. } => {}
    }
    peer.bfd = match bfd.attach(name, &want, key, peer.instance.clone()) {
        Ok(a) => BfdLink::Attached(a),
        Err(error) => failed(name, &BfdLink::Off, want, error),
    };
}

/// The failed link, logged only when the error is new.
fn failed(name: &str, before: &BfdLink, bfd: PeerBfd, error: String) -> BfdLink {
    let repeated =
        matches!(before, BfdLink::Failed { bfd: b, error: e } if *b == bfd && *e == error);
    if !repeated {
        tracing::warn!(peer = name, profile = %bfd.profile, %error, "BFD not running for this BGP session");
    }
    BfdLink::Failed { bfd, error }
}

/// The BFD session key of the BGP session to `address`: from
/// `sourceAddress`, or the address the kernel would pick.
fn bfd_key(spec: &BGPPeerSpec, address: IpAddr) -> Result<ferrolb_bfd::SessionKey, String> {
    let local = match &spec.source_address {
        Some(source) => source
            .trim()
            .parse()
            .map_err(|_| format!("sourceAddress {source:?} is not an IP address"))?,
        None => bfd::local_address_towards(address)
            .map_err(|e| format!("no local address towards {address}: {e}"))?,
    };
    Ok(bfd::session_key(address, local, spec.ebgp_multi_hop))
}

/// The FSM state from the instance's report of it.
fn parse_state(state: &str) -> SessionState {
    match state {
        "Connect" => SessionState::Connect,
        "Active" => SessionState::Active,
        "OpenSent" => SessionState::OpenSent,
        "OpenConfirm" => SessionState::OpenConfirm,
        "Established" => SessionState::Established,
        _ => SessionState::Idle,
    }
}

/// Announces and withdraws so that `peer` originates exactly `routes`.
async fn sync_routes(
    peer: &mut Peer,
    routes: &BTreeMap<IpNet, RouteAttributes>,
) -> Result<(), InstanceError> {
    let gone: Vec<IpNet> = peer
        .announced
        .keys()
        .filter(|p| !routes.contains_key(p))
        .copied()
        .collect();
    if !gone.is_empty() {
        peer.instance.withdraw(gone.clone()).await?;
        for p in &gone {
            peer.announced.remove(p);
        }
    }
    // Group changed routes by attributes: one announce per attribute set.
    let mut by_attrs: Vec<(&RouteAttributes, Vec<IpNet>)> = Vec::new();
    for (prefix, attrs) in routes {
        if peer.announced.get(prefix) == Some(attrs) {
            continue;
        }
        match by_attrs.iter_mut().find(|(a, _)| *a == attrs) {
            Some((_, prefixes)) => prefixes.push(*prefix),
            None => by_attrs.push((attrs, vec![*prefix])),
        }
    }
    for (attrs, prefixes) in by_attrs {
        peer.instance
            .announce(prefixes.clone(), to_bgp_attributes(attrs), None)
            .await?;
        for p in prefixes {
            peer.announced.insert(p, attrs.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(yaml: &str) -> PeerSession {
        PeerSession {
            spec: serde_json::from_value(serde_json::from_str(yaml).unwrap()).unwrap(),
            password: None,
            bfd: None,
        }
    }

    const SETTINGS: BgpSettings = BgpSettings {
        router_id: Ipv4Addr::new(198, 18, 0, 2),
        ipv6_next_hop: None,
        ipv4_next_hop: None,
    };

    #[test]
    fn peer_spec_becomes_a_neighbour() {
        let s = session(
            r#"{"myASN": 64512, "peerASN": 64513, "peerAddress": "198.18.0.1", "holdTime": "9s",
                "enableGracefulRestart": true, "dualStackAddressFamily": true, "ebgpMultiHop": true}"#,
        );
        let (n, id) = neighbor_config("r", &s, &SETTINGS).unwrap();
        assert_eq!(id, SETTINGS.router_id);
        assert_eq!(n.peer.session.hold_time, 9);
        assert_eq!(n.peer.session.families, AddressFamily::ALL.to_vec());
        assert_eq!(n.peer.ttl, TtlMode::Multihop { ttl: 255 });
        let gr = n.peer.session.graceful_restart.unwrap();
        assert!(gr.forwarding_preserved && gr.restart_time == GRACEFUL_RESTART_TIME);

        let s = session(
            r#"{"myASN": 64512, "peerASN": 64512, "peerAddress": "2001:db8::1", "routerID": "10.0.0.9"}"#,
        );
        let (n, id) = neighbor_config("r", &s, &SETTINGS).unwrap();
        assert_eq!(id, Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(n.peer.session.families, vec![AddressFamily::Ipv6Unicast]);
        assert_eq!(n.peer.session.graceful_restart, None);
    }

    #[test]
    fn invalid_peer_specs_are_reported() {
        for (yaml, reason) in [
            (
                r#"{"myASN": 1, "peerASN": 2, "peerAddress": "nope"}"#,
                "is not an IP address",
            ),
            (
                r#"{"myASN": 1, "peerASN": 2, "peerAddress": "10.0.0.1", "routerID": "x"}"#,
                "routerID",
            ),
            (
                r#"{"myASN": 1, "peerASN": 2, "peerAddress": "10.0.0.1", "holdTime": "1500ms"}"#,
                "whole number",
            ),
        ] {
            let err = neighbor_config("r", &session(yaml), &SETTINGS).unwrap_err();
            assert!(err.contains(reason), "{yaml}: {err}");
        }
    }
}
