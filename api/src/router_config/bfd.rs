//! `bfd:` — named BFD profiles referenced by peer groups and VRRP instances.

use serde::{Deserialize, Serialize};

use crate::crd::bfd::BFDProfileSpec;

/// BFD profiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct BfdConfig {
    /// Named profiles.
    pub profiles: Vec<BfdProfile>,
}

/// A named BFD profile: the same fields, defaults and limits as the
/// `BFDProfile` custom resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BfdProfile {
    /// Unique name.
    pub name: String,
    /// See [`BFDProfileSpec::receive_interval`].
    #[serde(default)]
    pub receive_interval: Option<u32>,
    /// See [`BFDProfileSpec::transmit_interval`].
    #[serde(default)]
    pub transmit_interval: Option<u32>,
    /// See [`BFDProfileSpec::detect_multiplier`].
    #[serde(default)]
    pub detect_multiplier: Option<u32>,
    /// See [`BFDProfileSpec::echo_interval`].
    #[serde(default)]
    pub echo_interval: Option<u32>,
    /// See [`BFDProfileSpec::echo_mode`].
    #[serde(default)]
    pub echo_mode: bool,
    /// See [`BFDProfileSpec::passive_mode`].
    #[serde(default)]
    pub passive_mode: bool,
    /// See [`BFDProfileSpec::minimum_ttl`].
    #[serde(default)]
    pub minimum_ttl: Option<u32>,
}

impl BfdProfile {
    /// The profile's settings as a [`BFDProfileSpec`], which carries the
    /// defaults and is what the BFD implementation consumes.
    pub fn to_spec(&self) -> BFDProfileSpec {
        BFDProfileSpec {
            receive_interval: self.receive_interval,
            transmit_interval: self.transmit_interval,
            detect_multiplier: self.detect_multiplier,
            echo_interval: self.echo_interval,
            echo_mode: self.echo_mode,
            passive_mode: self.passive_mode,
            minimum_ttl: self.minimum_ttl,
        }
    }
}
