//! `BFDProfile`: Bidirectional Forwarding Detection (RFC 5880) timers
//! shared by BGP sessions that reference the profile.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default receive and transmit interval, in milliseconds.
pub const DEFAULT_BFD_INTERVAL_MS: u32 = 300;
/// Default detection multiplier.
pub const DEFAULT_DETECT_MULTIPLIER: u32 = 3;
/// Default echo transmit interval, in milliseconds.
pub const DEFAULT_ECHO_INTERVAL_MS: u32 = 50;
/// Default minimum incoming TTL for multi-hop sessions.
pub const DEFAULT_MINIMUM_TTL: u32 = 254;
/// Smallest interval FerroLB accepts, in milliseconds.
pub const MIN_BFD_INTERVAL_MS: u32 = 10;
/// Largest interval FerroLB accepts, in milliseconds.
pub const MAX_BFD_INTERVAL_MS: u32 = 60_000;

/// BFD settings referenced by name from `BGPPeer.spec.bfdProfile` (and from
/// the router daemon's config).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ferrolb.io",
    version = "v1alpha1",
    kind = "BFDProfile",
    doc = "BFDProfile is a named set of BFD timers for BGP sessions.",
    namespaced,
    derive = "PartialEq",
    category = "ferrolb",
    printcolumn = r#"{"name":"Receive","type":"integer","jsonPath":".spec.receiveInterval"}"#,
    printcolumn = r#"{"name":"Transmit","type":"integer","jsonPath":".spec.transmitInterval"}"#,
    printcolumn = r#"{"name":"Multiplier","type":"integer","jsonPath":".spec.detectMultiplier"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BFDProfileSpec {
    /// Minimum interval between received control packets we ask the peer
    /// for, in milliseconds, 10 to 60000. Default: 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub receive_interval: Option<u32>,

    /// Minimum interval between transmitted control packets, in
    /// milliseconds, 10 to 60000. Default: 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub transmit_interval: Option<u32>,

    /// Packets that may be lost before the session is declared down,
    /// 2 to 255. Default: 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 255))]
    pub detect_multiplier: Option<u32>,

    /// Interval between echo packets, in milliseconds, 10 to 60000.
    /// Default: 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 60000))]
    pub echo_interval: Option<u32>,

    /// Use echo mode (single-hop sessions only).
    #[serde(default)]
    pub echo_mode: bool,

    /// Wait for the peer to start the session instead of sending first.
    #[serde(default)]
    pub passive_mode: bool,

    /// For multi-hop sessions, the lowest TTL accepted on incoming packets,
    /// 1 to 254. Default: 254.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 254))]
    pub minimum_ttl: Option<u32>,
}

impl BFDProfileSpec {
    /// Receive interval in effect, in milliseconds.
    pub fn effective_receive_interval(&self) -> u32 {
        self.receive_interval.unwrap_or(DEFAULT_BFD_INTERVAL_MS)
    }

    /// Transmit interval in effect, in milliseconds.
    pub fn effective_transmit_interval(&self) -> u32 {
        self.transmit_interval.unwrap_or(DEFAULT_BFD_INTERVAL_MS)
    }

    /// Detection multiplier in effect.
    pub fn effective_detect_multiplier(&self) -> u32 {
        self.detect_multiplier.unwrap_or(DEFAULT_DETECT_MULTIPLIER)
    }

    /// Echo interval in effect, in milliseconds.
    pub fn effective_echo_interval(&self) -> u32 {
        self.echo_interval.unwrap_or(DEFAULT_ECHO_INTERVAL_MS)
    }

    /// Minimum TTL in effect.
    pub fn effective_minimum_ttl(&self) -> u32 {
        self.minimum_ttl.unwrap_or(DEFAULT_MINIMUM_TTL)
    }
}
