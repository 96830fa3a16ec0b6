//! `BGPPeer`: a BGP neighbour the speakers on selected nodes connect to.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::SecretReference;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selector::LabelSelector;
use crate::duration::Duration;

/// The key inside the referenced Secret that holds the TCP MD5 password.
pub const PASSWORD_SECRET_KEY: &str = "password";

/// The well-known BGP port.
pub const BGP_PORT: u16 = 179;

/// Hold time used when `holdTime` is not set.
pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);

/// Time between connection attempts when `connectTime` is not set.
pub const DEFAULT_CONNECT_TIME: Duration = Duration::from_secs(10);

/// A BGP neighbour that the speakers on the selected nodes establish a
/// session with to announce Service addresses.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "BGPPeer",
    doc = "BGPPeer is a BGP neighbour of the FerroLB speakers.",
    namespaced,
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"Address","type":"string","jsonPath":".spec.peerAddress"}"#,
    printcolumn = r#"{"name":"ASN","type":"integer","jsonPath":".spec.peerASN"}"#,
    printcolumn = r#"{"name":"BFD Profile","type":"string","jsonPath":".spec.bfdProfile"}"#,
    printcolumn = r#"{"name":"Multi Hops","type":"boolean","jsonPath":".spec.ebgpMultiHop"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BGPPeerSpec {
    /// AS number the speakers use for this session. Must not be 0.
    #[serde(rename = "myASN")]
    #[schemars(range(max = u32::MAX))]
    pub my_asn: u32,

    /// AS number expected from the peer. Must not be 0; equal to `myASN`
    /// makes the session iBGP.
    #[serde(rename = "peerASN")]
    #[schemars(range(max = u32::MAX))]
    pub peer_asn: u32,

    /// IPv4 or IPv6 address of the peer.
    pub peer_address: String,

    /// TCP port of the peer. Default: 179.
    #[serde(default = "default_bgp_port")]
    pub peer_port: u16,

    /// Local address to connect from; must be of the same family as
    /// `peerAddress`. Default: chosen by the kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,

    /// BGP hold time proposed in OPEN, as a duration (`"90s"`). Whole
    /// seconds; 0 disables keepalives, otherwise at least 3s. Default: 90s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<Duration>,

    /// Interval between KEEPALIVE messages; must be below the hold time.
    /// Default: a third of the hold time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<Duration>,

    /// Time between attempts to open the TCP connection, 1s to 65535s.
    /// Default: 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_time: Option<Duration>,

    /// BGP identifier to use instead of the node's IPv4 address.
    #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,

    /// Nodes whose speakers peer with this neighbour; empty means all nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,

    /// Secret holding the TCP MD5 password under the key `password`.
    /// The namespace defaults to the BGPPeer's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretReference>,

    /// Allow the peer to be more than one hop away (eBGP only).
    #[serde(default)]
    pub ebgp_multi_hop: bool,

    /// Negotiate BGP graceful restart (RFC 4724) so routes survive a
    /// speaker restart.
    #[serde(default)]
    pub enable_graceful_restart: bool,

    /// Name of a BFDProfile; enables BFD for this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_profile: Option<String>,

    /// Announce both IPv4 and IPv6 prefixes over this one session
    /// (multiprotocol BGP) instead of only the peer address's family.
    #[serde(default)]
    pub dual_stack_address_family: bool,
}

fn default_bgp_port() -> u16 {
    BGP_PORT
}

impl BGPPeerSpec {
    /// True when the session is iBGP (`myASN == peerASN`).
    pub fn is_ibgp(&self) -> bool {
        self.my_asn == self.peer_asn
    }

    /// The peer address, if it parses.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.peer_address.trim().parse().ok()
    }

    /// The hold time in effect: `holdTime` or 90s.
    pub fn effective_hold_time(&self) -> Duration {
        self.hold_time.unwrap_or(DEFAULT_HOLD_TIME)
    }

    /// The keepalive interval in effect: `keepaliveTime` or a third of the
    /// hold time in effect.
    pub fn effective_keepalive_time(&self) -> Duration {
        self.keepalive_time
            .unwrap_or_else(|| default_keepalive(self.effective_hold_time()))
    }

    /// The connect retry interval in effect: `connectTime` or 10s.
    pub fn effective_connect_time(&self) -> Duration {
        self.connect_time.unwrap_or(DEFAULT_CONNECT_TIME)
    }
}

/// A third of `hold`, rounded down to whole seconds (RFC 4271's suggestion).
pub fn default_keepalive(hold: Duration) -> Duration {
    Duration::from_secs(hold.as_std().as_secs() / 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metallb_field_names_and_defaults() {
        let yaml = "myASN: 64512\npeerASN: 64513\npeerAddress: 192.0.2.1\nrouterID: 10.0.0.1\n\
                    passwordSecret: {name: bgp-auth}\nebgpMultiHop: true\n";
        let spec: BGPPeerSpec = serde_yaml::from_str(yaml).unwrap();
        assert_eq!((spec.my_asn, spec.peer_asn), (64512, 64513));
        assert_eq!(spec.peer_port, 179);
        assert_eq!(spec.router_id.as_deref(), Some("10.0.0.1"));
        assert!(spec.ebgp_multi_hop && !spec.is_ibgp());
        assert_eq!(spec.effective_hold_time(), Duration::from_secs(90));
        assert_eq!(spec.effective_keepalive_time(), Duration::from_secs(30));
        assert_eq!(spec.effective_connect_time(), Duration::from_secs(10));
        assert_eq!(
            spec.password_secret.and_then(|s| s.name).as_deref(),
            Some("bgp-auth")
        );
    }

    #[test]
    fn keepalive_follows_hold_time() {
        let yaml = "myASN: 1\npeerASN: 1\npeerAddress: 192.0.2.1\nholdTime: 1m\n";
        let spec: BGPPeerSpec = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(spec.effective_keepalive_time(), Duration::from_secs(20));
    }
}
