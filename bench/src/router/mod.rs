//! `router-bench`: FerroLB's router (`ferrolb-router`) against BIRD 2 and FRR 8.4 doing a
//! router's job on this machine: learn the same prefixes from N workers over eBGP and install
//! each as one ECMP kernel route through all of them, drop a worker that goes away, and drop
//! one that dies silently as fast as BFD allows.
//!
//! - [`topology`]: the router's and the workers' namespaces on one bridged segment;
//! - [`worker`]: a worker's BGP speaker (`bgp-bench`'s injector) and BFD session;
//! - [`dut`]: the three routers and their equivalent configurations;
//! - [`fib`], [`watch`]: reading the kernel FIB over rtnetlink until it shows a goal;
//! - [`run`]: the timed runs; [`report`]: the markdown table.
//!
//! Everything needs root (namespaces, port 179, the daemons).

pub mod dut;
pub mod events;
pub mod fib;
pub mod report;
pub mod run;
pub mod topology;
pub mod watch;
pub mod worker;
