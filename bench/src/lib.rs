//! FerroLB's BGP benchmark against BIRD 2, FRR 8.4 and GoBGP 3 on the same machine.
//!
//! Each device under test (DUT) runs alone in a network namespace as a route server between
//! benchmark peers in another namespace: injectors announce N prefixes as fast as the DUT reads
//! them, and a monitor counts the distinct prefixes the DUT passes on. A run measures the time
//! from the first UPDATE octet to the monitor holding all N, and the DUT's peak resident memory.
//!
//! - [`scenario`]: what is sent (`1x100k/24`, `10x100k/24`, ...);
//! - [`prefixes`]: the prefix set and the monitor's bitmap counter;
//! - [`peer`], [`injector`], [`monitor`]: the benchmark peers, on FerroLB's codec directly;
//! - [`dut`], [`routeserver`]: the DUTs and their equivalent configurations;
//! - [`run`]: one run, topology to measurements; [`report`]: the markdown table;
//! - [`memory`]: resident memory from `/proc`.
//!
//! Everything needs root (namespaces, port 179, the daemons).

#![warn(missing_docs)]

pub mod cli;
pub mod dut;
pub mod injector;
pub mod memory;
pub mod monitor;
pub mod peer;
pub mod prefixes;
pub mod report;
pub mod router;
pub mod routeserver;
pub mod run;
pub mod scenario;
