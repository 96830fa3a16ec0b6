//! FerroLB's whole system on one machine: the real controller, speakers
//! and routers in network namespaces around an in-process Kubernetes API
//! server, with stand-in pods and API servers, a client, and a scenario
//! that shows and checks what a user would see. `scripts/demo.sh` runs it
//! through the `ferrolb-demo` binary; the end-to-end test runs the same
//! [`scenario::run`]. [`System`] is the same system brought up by the same
//! steps, for tests that go on to change Services and restart daemons.

#![warn(missing_docs)]

pub mod cancel;
pub mod cluster;
pub mod daemons;
pub mod dashboard;
pub mod error;
pub mod failover;
pub mod fib;
pub mod http;
pub mod load;
pub mod manifests;
pub mod programs;
pub mod scenario;
pub mod spread;
pub mod standin;
pub mod state;
pub mod summary;
pub mod system;
pub mod topology;

pub use cancel::Cancel;
pub use error::{Error, Result};
pub use programs::Programs;
pub use scenario::{run, Narrator, Options, Report};
pub use system::{Stop, System};
