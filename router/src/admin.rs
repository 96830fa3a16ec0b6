//! The router's JSON admin API, served next to `/metrics`, `/healthz` and `/readyz` by the
//! daemon's admin server: `GET /api/v1/peers`, `/api/v1/routes`, `/api/v1/fib`,
//! `/api/v1/loadbalancer` (see [`crate::lb`], also for setting a backend's state),
//! `/api/v1/vrrp` (see [`crate::vrrp::view`]) and
//! `/api/v1/schema` (the JSON schemas of the others).
//!
//! The API listens on loopback or a Unix socket by default. Bound anywhere else it requires a
//! bearer token (`admin.tokenFile`), and whenever a token is configured every `/api/v1` request
//! must carry `Authorization: Bearer <token>`. `/metrics`, `/healthz` and `/readyz` stay open:
//! they reveal nothing that controls the router and must work for scrapers and probes.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use ferrolb_bgp::instance::{Instance, InstanceError};
use ferrolb_daemon::AdminAddr;
use ferrolb_tcplb::LoadBalancer;

use crate::api::{
    peer_view, FibNextHopView, FibPath, FibResponse, FibRouteView, PeerView, PeersResponse,
    RoutesResponse, SchemaResponse,
};
use crate::bfd::BfdPeers;
use crate::fib::kernel::{KernelState, NextHopKind};
use crate::fib::netlink::Netlink;
use crate::fib::Mode;
use crate::forwarder::{ForwarderHandle, NextHopUse};
use crate::lb;
use crate::vrrp::view::VrrpResponse;
use crate::vrrp::VrrpBoard;

/// What the handlers talk to, available once the router has started.
#[derive(Debug, Clone)]
pub struct Services {
    /// The BGP instance.
    pub bgp: Instance,
    /// The forwarding task; `None` when the router has no peer groups.
    pub forwarder: Option<(ForwarderHandle, Netlink, Mode)>,
    /// The TCP load balancer.
    pub load_balancer: Arc<LoadBalancer>,
    /// The neighbours' BFD sessions; `None` when the router has no peer groups.
    pub bfd: Option<BfdPeers>,
}

/// Shared state of the admin handlers.
#[derive(Debug, Clone, Default)]
pub struct AdminState {
    services: Arc<OnceLock<Services>>,
    token: Arc<RwLock<Option<String>>>,
    vrrp: VrrpBoard,
}

impl AdminState {
    /// State requiring `token` (if any) on every API request.
    pub fn new(token: Option<String>) -> AdminState {
        AdminState {
            services: Arc::default(),
            token: Arc::new(RwLock::new(token)),
            vrrp: VrrpBoard::default(),
        }
    }

    /// Makes the router's parts available to the handlers.
    pub fn set_services(&self, services: Services) {
        let _ = self.services.set(services);
    }

    /// Replaces the token (after a reload).
    pub fn set_token(&self, token: Option<String>) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// Where the VRRP instances publish their status.
    pub fn vrrp_board(&self) -> VrrpBoard {
        self.vrrp.clone()
    }

    /// The load balancer, once the router has started.
    pub fn load_balancer(&self) -> Option<Arc<LoadBalancer>> {
        self.services.get().map(|s| s.load_balancer.clone())
    }

    fn token(&self) -> Option<String> {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Reads `admin.tokenFile` (trailing newline removed); `None` without one.
pub fn read_token(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read admin.tokenFile {}", path.display()))?;
    let token = text.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "admin.tokenFile {} must hold one token without spaces",
        path.display()
    );
    Ok(Some(token))
}

/// Refuses an admin address reachable from the network without a token.
pub fn check_exposure(addr: &AdminAddr, token: Option<&str>) -> anyhow::Result<()> {
    if let AdminAddr::Tcp(a) = addr {
        anyhow::ensure!(
            a.ip().is_loopback() || token.is_some(),
            "the admin API on {a} would be reachable from the network without authentication: \
             set admin.tokenFile, or listen on loopback or a Unix socket"
        );
    }
    Ok(())
}

/// The `/api/v1` routes.
pub fn routes(state: AdminState) -> Router {
    Router::new()
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/routes", get(routes_list))
        .route("/api/v1/fib", get(fib))
        .route("/api/v1/schema", get(schema))
        .route("/api/v1/loadbalancer", get(lb::list))
        .route("/api/v1/vrrp", get(vrrp_list))
        .route(
            "/api/v1/loadbalancer/frontends/{frontend}/backends/{backend}",
            put(lb::set_state).post(lb::set_state),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state)
}

async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let Some(token) = state.token() else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(error_body("a valid bearer token is required")),
    )
        .into_response()
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error_body(message: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([("error", message.to_owned())])
}

/// A JSON error response.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(message))).into_response()
}

fn unavailable(message: &str) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, message)
}

pub(crate) fn starting() -> Response {
    unavailable("the router is starting")
}

async fn peers(State(state): State<AdminState>) -> Response {
    let Some(services) = state.services.get() else {
        return starting();
    };
    let forwarder = services.forwarder.as_ref().map(|(f, _, _)| f);
    match peer_views(&services.bgp, forwarder, services.bfd.as_ref()).await {
        Ok(peers) => Json(PeersResponse { peers }).into_response(),
        Err(e) => unavailable(&e.to_string()),
    }
}

/// Every neighbour as `/api/v1/peers` and the per-peer metrics show it.
pub async fn peer_views(
    bgp: &Instance,
    forwarder: Option<&ForwarderHandle>,
    bfd: Option<&BfdPeers>,
) -> Result<Vec<PeerView>, InstanceError> {
    let neighbors = bgp.neighbors().await?;
    let uses = match forwarder {
        Some(f) => f.next_hop_use().await.unwrap_or_default(),
        None => NextHopUse::new(),
    };
    let mut sessions = bfd.map(BfdPeers::views).unwrap_or_default();
    Ok(neighbors
        .iter()
        .map(|n| peer_view(n, &uses, sessions.remove(&n.address)))
        .collect())
}

async fn routes_list(State(state): State<AdminState>) -> Response {
    let Some(services) = state.services.get() else {
        return starting();
    };
    let routes = match &services.forwarder {
        Some((f, _, _)) => match f.routes().await {
            Ok(r) => r,
            Err(e) => return unavailable(&e.to_string()),
        },
        None => Vec::new(),
    };
    Json(RoutesResponse { routes }).into_response()
}

async fn fib(State(state): State<AdminState>) -> Response {
    let Some(services) = state.services.get() else {
        return starting();
    };
    let Some((_, netlink, mode)) = &services.forwarder else {
        return unavailable("forwarding is off: the router has no peer groups");
    };
    match netlink.kernel_state().await {
        Ok(kernel) => Json(fib_view(&kernel, netlink.protocol(), *mode)).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(error_body(&e.to_string())),
        )
            .into_response(),
    }
}

fn fib_view(kernel: &KernelState, protocol: u8, mode: Mode) -> FibResponse {
    let path = |gateway: IpAddr, ifindex: u32| FibPath {
        gateway,
        ifindex,
        dev: interface_name(ifindex),
    };
    FibResponse {
        protocol,
        mode: mode.as_str().to_owned(),
        routes: kernel
            .routes
            .iter()
            .map(|r| FibRouteView {
                prefix: r.prefix,
                metric: r.metric,
                nhid: r.nhid,
                next_hops: r.paths.iter().map(|(g, i)| path(*g, *i)).collect(),
            })
            .collect(),
        nexthops: kernel
            .next_hops
            .iter()
            .filter(|(_, nh)| nh.protocol == protocol)
            .map(|(id, nh)| match &nh.kind {
                NextHopKind::Gateway { address, oif } => FibNextHopView {
                    id: *id,
                    gateway: Some(path(*address, *oif)),
                    group: None,
                },
                NextHopKind::Group(members) => FibNextHopView {
                    id: *id,
                    gateway: None,
                    group: Some(members.clone()),
                },
                NextHopKind::Other => FibNextHopView {
                    id: *id,
                    gateway: None,
                    group: None,
                },
            })
            .collect(),
    }
}

/// The name of interface `index` in this network namespace.
pub(crate) fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname(3) may write, including the NUL.
    let name = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

async fn vrrp_list(State(state): State<AdminState>) -> Response {
    Json(VrrpResponse {
        instances: state.vrrp.views(),
    })
    .into_response()
}

async fn schema() -> Response {
    Json(SchemaResponse::new()).into_response()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ferrolb_bgp::instance::NeighborStatus;

    use super::*;
    use crate::api::PrefixCounts;

    #[test]
    fn exposure_needs_a_token_off_loopback() {
        let tcp = |a: &str| AdminAddr::Tcp(a.parse::<SocketAddr>().unwrap());
        let cases = [
            (tcp("127.0.0.1:9180"), None, true),
            (tcp("[::1]:9180"), None, true),
            (
                AdminAddr::Unix("/run/ferrolb/admin.sock".into()),
                None,
                true,
            ),
            (tcp("0.0.0.0:9180"), None, false),
            (tcp("192.0.2.1:9180"), Some("t"), true),
        ];
        for (addr, token, ok) in cases {
            assert_eq!(check_exposure(&addr, token).is_ok(), ok, "{addr}");
        }
    }

    #[test]
    fn tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let dir = std::env::temp_dir().join(format!("ferrolb-router-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "s3cret\n").unwrap();
        let bad = dir.join("bad");
        std::fs::write(&bad, "two words\n").unwrap();
        assert_eq!(read_token(Some(&good)).unwrap().as_deref(), Some("s3cret"));
        assert!(read_token(Some(&bad)).is_err());
        assert!(read_token(Some(&dir.join("missing"))).is_err());
        assert_eq!(read_token(None).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn peers_count_refused_and_installed_routes_by_next_hop() {
        let status: NeighborStatus = NeighborStatus {
            address: "198.18.0.2".parse().unwrap(),
            asn: Some(64513),
            state: "Established".into(),
            uptime: Some(std::time::Duration::from_secs(5)),
            dynamic: true,
            prefixes: ferrolb_bgp::instance::PrefixCounters {
                received: 4,
                accepted: 3,
                rejected: 1,
                advertised: 0,
            },
            last_down: None,
        };
        let uses: NextHopUse = [(status.address, (2, 1))].into_iter().collect();
        let view = peer_view(&status, &uses, None);
        assert!(view.established);
        assert_eq!(view.uptime_seconds, Some(5));
        assert_eq!(
            view.prefixes,
            PrefixCounts {
                received: 4,
                accepted: 2,
                rejected: 2,
                installed: 2
            }
        );
    }

    #[test]
    fn schemas_describe_every_response() {
        let text = serde_json::to_string(&SchemaResponse::new()).unwrap();
        for field in [
            "uptimeSeconds",
            "nexthopGroup",
            "installedNextHops",
            "nhid",
            "rejectReason",
            "masterTransitions",
            "takeoversOnUnreachable",
        ] {
            assert!(text.contains(field), "{field} missing in {text}");
        }
    }
}
