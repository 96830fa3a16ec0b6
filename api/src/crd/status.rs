//! Resources the speakers write to report what they are doing:
//! `ServiceAnnouncement` and `BGPSessionState`.
//!
//! Both put the object's identity — which node, which Service or peer — in
//! `spec`, written once when the speaker creates the object, and the
//! changing state in `status`, updated through the status subresource. That
//! keeps `kubectl get` columns stable and lets RBAC give speakers status
//! updates without letting them rewrite another node's identity fields.
//! Speakers create these objects in FerroLB's own namespace and label them
//! with [`NODE_LABEL`] so each speaker can list and garbage-collect its own.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Label carrying the node name on speaker-written status objects.
pub const NODE_LABEL: &str = "ferrolb.io/node";

/// Which node announces a Service's addresses, how, and to whom.
///
/// One object per (node, Service, protocol).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "ServiceAnnouncement",
    doc = "ServiceAnnouncement reports which node announces a Service, how and to whom.",
    namespaced,
    status = "ServiceAnnouncementStatus",
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.node"}"#,
    printcolumn = r#"{"name":"Service Namespace","type":"string","jsonPath":".spec.service.namespace"}"#,
    printcolumn = r#"{"name":"Service","type":"string","jsonPath":".spec.service.name"}"#,
    printcolumn = r#"{"name":"Protocol","type":"string","jsonPath":".spec.protocol"}"#,
    printcolumn = r#"{"name":"IPs","type":"string","jsonPath":".status.ips"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAnnouncementSpec {
    /// Node whose speaker announces.
    pub node: String,
    /// The announced Service.
    pub service: ServiceReference,
    /// How the addresses are announced.
    pub protocol: AnnouncementProtocol,
}

/// A Service by namespace and name.
#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub struct ServiceReference {
    /// Namespace of the Service.
    pub namespace: String,
    /// Name of the Service.
    pub name: String,
}

/// How a Service's addresses are announced.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementProtocol {
    /// Over BGP sessions to BGPPeers.
    Bgp,
    /// With ARP/NDP on the local segment.
    L2,
}

/// What is currently being announced.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAnnouncementStatus {
    /// Service addresses announced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// Interfaces answering ARP/NDP (L2 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// BGPPeers (by name) the addresses are announced to (BGP only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    /// The session to each of `peers`, as this node's speaker sees it (BGP
    /// only): whether the router really has the routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peer_sessions: Vec<AnnouncedPeerSession>,
}

/// The session to one BGPPeer that a Service's addresses are announced to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncedPeerSession {
    /// Name of the BGPPeer.
    pub peer: String,
    /// Address of the peer (empty until the session is configured).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer_address: String,
    /// BGP session state: the routes reach the peer only while `Established`.
    #[serde(default)]
    pub state: SessionState,
    /// BFD session state, when the BGPPeer uses a BFDProfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_state: Option<BfdState>,
}

/// The state of one BGP session of one node's speaker.
///
/// One object per (node, BGPPeer).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "BGPSessionState",
    doc = "BGPSessionState reports the state of one speaker's BGP session.",
    namespaced,
    status = "BGPSessionStateStatus",
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.node"}"#,
    printcolumn = r#"{"name":"Peer","type":"string","jsonPath":".spec.peer"}"#,
    printcolumn = r#"{"name":"Address","type":"string","jsonPath":".spec.peerAddress"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"BFD","type":"string","jsonPath":".status.bfd.state"}"#,
    printcolumn = r#"{"name":"Since","type":"date","jsonPath":".status.since"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BGPSessionStateSpec {
    /// Node whose speaker owns the session.
    pub node: String,
    /// Name of the BGPPeer the session belongs to.
    pub peer: String,
    /// Address of the peer.
    pub peer_address: String,
}

/// The BGP finite state machine state (RFC 4271 §8.2.2).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum SessionState {
    /// Not trying to connect (or waiting to retry).
    #[default]
    Idle,
    /// Waiting for the outgoing TCP connection to complete.
    Connect,
    /// Listening for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for KEEPALIVE.
    OpenConfirm,
    /// Routes are being exchanged.
    Established,
}

/// Observed state of a BGP session.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BGPSessionStateStatus {
    /// Current FSM state.
    #[serde(default)]
    pub state: SessionState,
    /// When the session entered `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// Prefixes currently announced to the peer.
    #[serde(default)]
    #[schemars(range(max = u32::MAX))]
    pub prefixes_sent: u32,
    /// Prefixes currently received from the peer.
    #[serde(default)]
    #[schemars(range(max = u32::MAX))]
    pub prefixes_received: u32,
    /// The last error (NOTIFICATION or connection failure), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The BFD session watching the path to the peer, when the BGPPeer
    /// names a BFDProfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSessionStatus>,
}

/// The BFD session state (RFC 5880 section 4.1).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum BfdState {
    /// Held down on purpose by one side.
    AdminDown,
    /// No working path to the peer (or not heard from yet).
    #[default]
    Down,
    /// The peer is heard, the three-way handshake is completing.
    Init,
    /// The path to the peer works.
    Up,
}

/// Observed state of the BFD session of one BGP session.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BfdSessionStatus {
    /// The BFDProfile the session uses.
    pub profile: String,
    /// Current state; while the BGP session depends on it, Down closes the
    /// BGP session at once.
    #[serde(default)]
    pub state: BfdState,
    /// Why the session last went down (RFC 5880 diagnostic), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// Detection time in effect, in milliseconds (0 until the peer is heard).
    #[serde(default)]
    #[schemars(range(max = u32::MAX))]
    pub detection_time_ms: u32,
    /// How many times the path was detected down since the session started.
    #[serde(default)]
    #[schemars(range(max = u32::MAX))]
    pub failures: u32,
    /// Why BFD does not run as configured (missing profile, unsupported
    /// option, socket error), if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
