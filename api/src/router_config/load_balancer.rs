//! `loadBalancer:` — the router's TCP load balancer, typically in front of
//! the cluster's API servers.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// Default backend connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default idle and client timeouts: long enough for Kubernetes watches,
/// which stay open and quiet for a long time.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
/// Default health-check interval.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(2);
/// Default health-check timeout.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// TCP load balancer frontends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LoadBalancerConfig {
    /// Listening services, each with its backend set.
    pub frontends: Vec<Frontend>,
    /// Listen sockets per address (SO_REUSEPORT), each with its own accepting task, so
    /// new connections spread over the CPUs. Default: the number of CPUs. 1 to 64.
    pub accept_workers: Option<u32>,
}

/// Most `acceptWorkers`.
pub const MAX_ACCEPT_WORKERS: u32 = 64;

/// One load-balanced TCP service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Frontend {
    /// Unique name (used by `vrrp.instances[].track.frontends`, metrics
    /// and the admin API).
    pub name: String,
    /// Addresses to listen on (`192.0.2.10:6443`, `[2001:db8::10]:6443`).
    pub listen: Vec<SocketAddr>,
    /// Servers connections are forwarded to; at least one.
    pub backends: Vec<Backend>,
    /// Backend selection. Default: `roundRobin`.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// Most concurrent client connections served; more are accepted but wait, without a
    /// backend connection, until one ends.
    /// Default: unlimited.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Most concurrent connections per backend. Default: unlimited.
    #[serde(default)]
    pub backend_max_connections: Option<u32>,
    /// Connection timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Backend health checking. Default: TCP connect checks.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Ramp a recovered backend's weight up over this period.
    /// Default: off.
    #[serde(default)]
    pub slow_start: Option<Duration>,
    /// Send a PROXY protocol v2 header to backends. Default: false.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Log every connection's open and close with duration and bytes (`info` level,
    /// target `ferrolb_tcplb::access`). Default: false.
    #[serde(default)]
    pub access_log: bool,
}

/// A server behind a frontend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backend {
    /// Address and port of the server.
    pub address: SocketAddr,
    /// Relative share of new connections; at least 1. Default: 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// How a backend is chosen for a new connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Algorithm {
    /// Weighted round robin.
    #[default]
    RoundRobin,
    /// Fewest active connections relative to weight.
    LeastConnections,
    /// Hash of the client address, so a client sticks to one backend.
    SourceHash,
}

/// Connection timeouts. All must be positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Timeouts {
    /// Time allowed to establish the backend connection. Default: 5s.
    pub connect: Duration,
    /// Close a connection after this long without bytes in either
    /// direction. Default: 4h.
    pub idle: Duration,
    /// Close a connection after this long without bytes from the client.
    /// Default: 4h.
    pub client: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: DEFAULT_CONNECT_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            client: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Active backend health checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct HealthCheck {
    /// Check type. Default: `tcp`.
    pub kind: HealthCheckKind,
    /// HTTP path for `https` checks, e.g. `/readyz`. Default: `/healthz`.
    pub path: Option<String>,
    /// CA bundle verifying the backend's certificate (`https` only).
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (`https` only; exclusive with `caFile`).
    pub insecure_skip_verify: bool,
    /// Time between checks. Default: 2s.
    pub interval: Duration,
    /// Time allowed per check; at most `interval`. Default: 1s.
    pub timeout: Duration,
    /// Consecutive successes to mark a backend up; at least 1. Default: 2.
    pub rise: u32,
    /// Consecutive failures to mark a backend down; at least 1. Default: 3.
    pub fall: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            kind: HealthCheckKind::Tcp,
            path: None,
            ca_file: None,
            insecure_skip_verify: false,
            interval: DEFAULT_CHECK_INTERVAL,
            timeout: DEFAULT_CHECK_TIMEOUT,
            rise: 2,
            fall: 3,
        }
    }
}

/// Type of health check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HealthCheckKind {
    /// A TCP connection can be established.
    #[default]
    Tcp,
    /// An HTTPS GET of `path` returns 200.
    Https,
}
