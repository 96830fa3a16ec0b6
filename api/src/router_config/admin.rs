//! `admin:`, `metrics:` and `logging:` — the daemon's own plumbing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default admin API address.
pub const DEFAULT_ADMIN_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9180);

/// The admin HTTP API (used by `lbctl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AdminConfig {
    /// TCP address or Unix socket path. Default: `127.0.0.1:9180`.
    /// A non-loopback TCP address requires `tokenFile`.
    pub listen: ListenAddress,
    /// File holding the bearer token clients must present. Default: none
    /// (no authentication; only allowed on loopback and Unix sockets).
    pub token_file: Option<PathBuf>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: ListenAddress::Tcp(DEFAULT_ADMIN_LISTEN),
            token_file: None,
        }
    }
}

/// The Prometheus metrics endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct MetricsConfig {
    /// A TCP address serving `/metrics` (and `/healthz`, `/readyz`) on its own, without
    /// authentication, e.g. the router's LAN address for a Prometheus server elsewhere, while
    /// the admin API stays on loopback. Default: none; `/metrics` is always served by the
    /// admin API too.
    pub listen: Option<SocketAddr>,
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LoggingConfig {
    /// Output format. Default: `human`.
    pub format: LogFormat,
    /// Level or filter directives (`info`, `ferrolb_bgp=debug,info`).
    /// Default: `info`.
    pub level: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            format: LogFormat::Human,
            level: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Where a server listens: a TCP socket address, or a Unix socket path
/// written as an absolute path or `unix:<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP address and port.
    Tcp(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
}

/// A string that is neither a socket address nor a Unix socket path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid listen address {0:?}: expected host:port (127.0.0.1:9180, [::1]:9180) or a Unix socket path (/run/ferrolb/admin.sock, unix:/run/...)")]
pub struct ListenAddressError(pub String);

impl FromStr for ListenAddress {
    type Err = ListenAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ListenAddressError(s.to_owned()));
            }
            return Ok(ListenAddress::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(ListenAddress::Unix(PathBuf::from(s)));
        }
        s.parse()
            .map(ListenAddress::Tcp)
            .map_err(|_| ListenAddressError(s.to_owned()))
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Tcp(addr) => write!(f, "{addr}"),
            ListenAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Serialize for ListenAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ListenAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_str::deserialize_from_str(
            deserializer,
            "a listen address such as \"127.0.0.1:9180\" or \"/run/ferrolb/admin.sock\"",
        )
    }
}
