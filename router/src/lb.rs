//! The TCP load balancer inside the router (`loadBalancer:`), and its admin API:
//! `GET /api/v1/loadbalancer` lists frontends and backends with their state, and
//! `PUT /api/v1/loadbalancer/frontends/{frontend}/backends/{backend}` with
//! `{"state": "ready" | "drain" | "maint"}` sets a backend's administrative state.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrolb_tcplb::{AdminState as BackendAdminState, Error, LoadBalancer};
use serde::Deserialize;

use crate::admin::AdminState;
use crate::api::LoadBalancerResponse;

/// Body of the backend state request.
#[derive(Debug, Deserialize)]
pub struct SetState {
    /// The new state.
    pub state: BackendAdminState,
}

/// `GET /api/v1/loadbalancer`.
pub async fn list(State(state): State<AdminState>) -> Response {
    match state.load_balancer() {
        Some(lb) => Json(LoadBalancerResponse {
            frontends: lb.status(),
        })
        .into_response(),
        None => crate::admin::starting(),
    }
}

/// `PUT /api/v1/loadbalancer/frontends/{frontend}/backends/{backend}`.
pub async fn set_state(
    State(state): State<AdminState>,
    Path((frontend, backend)): Path<(String, String)>,
    Json(body): Json<SetState>,
) -> Response {
    let Some(lb) = state.load_balancer() else {
        return crate::admin::starting();
    };
    let Ok(address) = backend.parse::<SocketAddr>() else {
        return crate::admin::error(
            StatusCode::BAD_REQUEST,
            &format!("{backend:?} is not an address:port"),
        );
    };
    match lb.set_admin_state(&frontend, address, body.state) {
        Ok(()) => Json(LoadBalancerResponse {
            frontends: lb
                .status()
                .into_iter()
                .filter(|f| f.name == frontend)
                .collect(),
        })
        .into_response(),
        Err(e @ (Error::NoFrontend(_) | Error::NoBackend { .. })) => {
            crate::admin::error(StatusCode::NOT_FOUND, &e.to_string())
        }
        Err(e) => crate::admin::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Starts the load balancer's frontends from `config` (nothing runs without frontends).
pub fn start(
    config: &ferrolb_api::RouterConfig,
    metrics: ferrolb_tcplb::Metrics,
) -> anyhow::Result<Arc<LoadBalancer>> {
    let lb = Arc::new(LoadBalancer::new(metrics));
    lb.apply(&config.load_balancer)
        .map_err(|e| anyhow::anyhow!("loadBalancer: {e}"))?;
    Ok(lb)
}
