//! The router daemon's YAML configuration.
//!
//! The router runs outside Kubernetes, so its whole configuration is one
//! file. Every section rejects unknown fields, so a typo is an error
//! naming the field rather than a silently ignored setting. Each field's
//! default is documented on the field. Loading runs
//! [`validate_router_config`].
//!
//! ```yaml
//! routerId: 10.0.0.1
//! asn: 64512
//! bgp:
//!   peerGroups:
//!     - name: nodes
//!       listenRanges: [10.0.1.0/24]
//!       allowedAsns: [64513]
//! import:
//!   servicePools: [203.0.113.32/27]
//! ```

pub mod admin;
pub mod bfd;
pub mod bgp;
pub mod fib;
pub mod import;
pub mod load_balancer;
pub mod upstream;
pub mod vrrp;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::validate::{validate_router_config, ValidationError};

pub use admin::{AdminConfig, ListenAddress, LogFormat, LoggingConfig, MetricsConfig};
pub use bfd::{BfdConfig, BfdProfile};
pub use bgp::{
    BgpConfig, GracefulRestart, MaxPrefixAction, MaxPrefixes, PeerGroup, StaticNeighbor,
};
pub use fib::{FibConfig, MultipathHashPolicy, NexthopGroups};
pub use import::{ImportConfig, KubernetesImport, PrefixFilter};
pub use load_balancer::{
    Algorithm, Backend, Frontend, HealthCheck, HealthCheckKind, LoadBalancerConfig, Timeouts,
};
pub use upstream::{AnnounceMode, UpstreamNeighbor};
pub use vrrp::{VrrpConfig, VrrpInstance, VrrpTrack};

/// The complete router daemon configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouterConfig {
    /// BGP identifier of this router. Required.
    pub router_id: Ipv4Addr,
    /// AS number of this router. Required.
    pub asn: u32,
    /// BGP listener and peer groups.
    #[serde(default)]
    pub bgp: BgpConfig,
    /// Which learned prefixes are accepted.
    #[serde(default)]
    pub import: ImportConfig,
    /// Kernel route installation.
    #[serde(default)]
    pub fib: FibConfig,
    /// eBGP neighbours to announce Service prefixes to.
    #[serde(default)]
    pub upstream: Vec<UpstreamNeighbor>,
    /// TCP load balancer.
    #[serde(default)]
    pub load_balancer: LoadBalancerConfig,
    /// VRRP virtual addresses.
    #[serde(default)]
    pub vrrp: VrrpConfig,
    /// BFD profiles.
    #[serde(default)]
    pub bfd: BfdConfig,
    /// Admin API.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Metrics endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Logging.
    #[serde(default)]
    pub logging: LoggingConfig,
}

/// A password from the configuration; `Debug` does not reveal it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a router configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the model; `message` starts
    /// with the path of the offending field (e.g.
    /// `bgp.peerGroups[0]: unknown field `holdtime``) and ends with the
    /// line and column.
    #[error("{source_name}: {message}")]
    Parse {
        /// The file name, or `<string>`.
        source_name: String,
        /// serde_yaml's description including the field path.
        message: String,
    },
    /// The configuration parsed but breaks validation rules.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<ValidationError>),
}

fn join_lines(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl RouterConfig {
    /// Parses and validates a configuration.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        Self::load(yaml, "<string>", "")
    }

    /// Parses and validates configuration text read from `name` (a file path, used in error
    /// messages and as the object name of validation errors).
    pub fn from_yaml_str_named(yaml: &str, name: &str) -> Result<Self, ConfigError> {
        Self::load(yaml, name, name)
    }

    /// Reads, parses and validates a configuration file. Validation errors
    /// carry the file path as their object name.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let yaml = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: display.clone(),
            source,
        })?;
        Self::load(&yaml, &display, &display)
    }

    fn load(yaml: &str, source_name: &str, object_name: &str) -> Result<Self, ConfigError> {
        let config: RouterConfig = serde_yaml::from_str(yaml).map_err(|e| ConfigError::Parse {
            source_name: source_name.to_owned(),
            message: e.to_string(),
        })?;
        let mut errors = validate_router_config(&config);
        if errors.is_empty() {
            return Ok(config);
        }
        for e in &mut errors {
            e.name = object_name.to_owned();
        }
        Err(ConfigError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests;
