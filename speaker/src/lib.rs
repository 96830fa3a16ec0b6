//! FerroLB speaker: decides which Service addresses this node announces and
//! announces them over BGP and by ARP/NDP.
//!
//! - [`decision`]: the pure decision function and the L2 owner ranking;
//! - [`cluster`]: the Kubernetes edge: watches, the snapshot fed to the
//!   decision, status objects and events;
//! - [`bgp`]: carries the decision out over ferrolb-bgp sessions;
//! - [`bfd`]: BFD sessions that close those BGP sessions when a path fails;
//! - [`l2`]: the seam to the L2 announcer;
//! - [`membership`]: the liveness group that picks L2 owners among alive speakers;
//! - [`metrics`]: the speaker's Prometheus metrics.
#![warn(missing_docs)]

pub mod bfd;
pub mod bgp;
pub mod cluster;
pub mod decision;
pub mod l2;
pub mod membership;
pub mod metrics;
