//! `GET /api/v1/vrrp`: the running instances with their state, priority and master.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ferrolb_vrrp::Status;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::watch;

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VrrpView {
    /// The instance name.
    pub name: String,
    /// The interface it runs on.
    pub interface: String,
    /// The virtual router ID.
    pub vrid: u8,
    /// `initialize`, `backup`, `master` or `fault`.
    pub state: String,
    /// The priority this router advertises.
    pub priority: u8,
    /// The master as last heard (this router's address when master); none while unknown.
    pub master: Option<IpAddr>,
    /// This router's address on the interface (its advertisements' source).
    pub primary: Option<IpAddr>,
    /// The virtual addresses.
    pub addresses: Vec<IpAddr>,
    /// The MAC the addresses are served from.
    pub mac: Option<String>,
    /// Whether a tracked condition fails (the router stays out of the election).
    pub fault: bool,
    /// State changes so far.
    pub transitions: u64,
    /// Times this router became master.
    pub master_transitions: u64,
    /// Advertisements sent.
    pub adverts_sent: u64,
    /// Valid advertisements received.
    pub adverts_received: u64,
    /// Packets discarded by the receive checks.
    pub invalid_received: u64,
    /// Times this backup took over because BFD found the master unreachable.
    pub takeovers_on_unreachable: u64,
}

/// The response of `GET /api/v1/vrrp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VrrpResponse {
    /// The configured instances, in configuration order.
    pub instances: Vec<VrrpView>,
}

impl From<&Status> for VrrpView {
    fn from(s: &Status) -> VrrpView {
        VrrpView {
            name: s.name.clone(),
            interface: s.interface.clone(),
            vrid: s.vrid,
            state: s.state.as_str().to_owned(),
            priority: s.priority,
            master: s.master,
            primary: s.primary,
            addresses: s.addresses.clone(),
            mac: s.mac.map(|m| m.to_string()),
            fault: s.fault,
            transitions: s.transitions,
            master_transitions: s.became_master,
            adverts_sent: s.adverts_sent,
            adverts_received: s.adverts_received,
            invalid_received: s.invalid_received,
            takeovers_on_unreachable: s.takeovers_on_unreachable,
        }
    }
}

/// The running instances' status, shared with the admin API (clones share it).
#[derive(Debug, Clone, Default)]
pub struct VrrpBoard(Arc<RwLock<Vec<watch::Receiver<Status>>>>);

impl VrrpBoard {
    /// Publishes the instances now running.
    pub(super) fn set(&self, instances: Vec<watch::Receiver<Status>>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = instances;
    }

    /// The current view of every instance.
    pub fn views(&self) -> Vec<VrrpView> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|r| VrrpView::from(&*r.borrow()))
            .collect()
    }
}
