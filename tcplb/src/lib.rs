//! FerroLB TCP load balancer: health-checked frontends for services such as the cluster's
//! API servers, run inside `ferrolb-router`.
//!
//! [`LoadBalancer::apply`] starts and reconfigures it in place from the router's
//! `loadBalancer:` section: removed backends take no new connections while their established
//! ones stay, removed frontends stop listening, and no connection is closed by a reload.
//! The pure parts — [`balance`], [`maglev`], [`health`], [`slow_start`], [`proxy_protocol`]
//! and [`diff`] — do no I/O; [`forward`] moves bytes with splice(2) where it can.
#![warn(missing_docs)]

mod backend;
pub mod balance;
mod check;
pub mod diff;
mod error;
pub mod forward;
mod frontend;
pub mod health;
mod lb;
mod listen;
pub mod maglev;
mod metrics;
pub mod proxy_protocol;
mod retire;
mod settings;
pub mod slow_start;

pub use backend::AdminState;
pub use error::Error;
pub use lb::{BackendStatus, FrontendStatus, LoadBalancer};
pub use metrics::{BackendLabel, FrontendLabel, Metrics};
