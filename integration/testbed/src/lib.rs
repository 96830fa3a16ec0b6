//! Test support for FerroLB's interop and end-to-end tests: network-namespace topologies on the
//! real Linux kernel, and the real routing daemons FerroLB must interoperate with (BIRD 2,
//! FRR 8.4, GoBGP 3), started from generated configurations and queried through their CLIs.
//!
//! Everything needs root. Each test creates its own uniquely named namespaces (`flb-<pid>-...`),
//! and everything is torn down on drop, including when the test panics; daemon logs are
//! printed when a test fails.
//!
//! A typical interop test:
//!
//! ```no_run
//! use std::net::IpAddr;
//! use std::time::Duration;
//! use ferrolb_testbed::prelude::*;
//!
//! let pair = Topology::pair()?;
//! let (a, b) = (IpAddr::V4(pair.a.v4), IpAddr::V4(pair.b.v4));
//! let frr = Frr::start(
//!     &pair.b.ns,
//!     BgpConfig::new(65002, pair.b.v4).neighbor(Neighbor::new(a, 65001).hold_time(3)),
//! )?;
//! // Run the code under test inside namespace `a`, on its own thread:
//! let speaker = pair.a.ns.spawn_thread_in(move || {
//!     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//!     rt.block_on(async { /* FerroLB's BGP speaker peering with `b` */ })
//! })?;
//! frr.wait_established(a, Duration::from_secs(10))?;
//! let route = frr.wait_route_from("203.0.113.10/32".parse().unwrap(), a, Duration::from_secs(10))?;
//! assert_eq!(route.as_path, vec![65001]);
//! # speaker.join().unwrap();
//! # Ok::<(), ferrolb_testbed::Error>(())
//! ```
//!
//! Where to look:
//! - [`topology`]: [`Topology::pair`] (two namespaces on a veth, 198.18.0.1-2/24 and
//!   2001:db8::1-2/64) and [`Topology::lan`] (n namespaces on a bridge).
//! - [`netns`] and [`link`]: namespaces, sysctls, `lo` addresses, threads inside a namespace,
//!   veths, bridges, link down/up; [`runtime`]: async code under test on its own tokio runtime
//!   inside a namespace, stopped on drop.
//! - [`fib`]: the routes a namespace's kernel really holds (`ip -j route`).
//! - [`config`]: one [`BgpConfig`] (neighbours, timers, MD5, multihop, graceful restart, BFD,
//!   what is advertised to whom, announcements with communities/LOCAL_PREF/MED) that each
//!   daemon renders in its own syntax.
//! - [`daemon`]: the [`BgpDaemon`] / [`BgpDaemonExt`] interface shared by [`Bird`], [`Frr`] and
//!   [`Gobgp`]: session state, routes as [`RouteView`]s, announce/withdraw at run time, waits,
//!   pause/resume/kill/restart.
//! - [`bird`], [`frr`], [`gobgp`]: each daemon's quirks. Read them before writing a test
//!   against one; in short: BIRD needs an IPv6 next hop for IPv6 over an IPv4 session, FRR runs
//!   as user `frr` and enables graceful restart per instance, GoBGP takes ~6 s to reconnect
//!   after a session drop and neither installs routes nor speaks BFD.
//!
//! The API is blocking (daemon queries are short CLI calls). Code under test that needs an
//! async runtime runs on its own thread inside a namespace ([`Netns::spawn_thread_in`]), so a
//! test's main thread can block on the waits.

#![warn(missing_docs)]

pub mod bird;
pub mod config;
pub mod daemon;
pub mod error;
pub mod fib;
pub mod frr;
pub mod gobgp;
pub mod link;
pub mod netns;
pub mod process;
pub mod route;
pub mod runtime;
pub mod topology;
pub mod wait;

pub use bird::Bird;
pub use config::{Advertise, Announcement, BgpConfig, Neighbor};
pub use daemon::{BgpDaemon, BgpDaemonExt};
pub use error::{Error, Result};
pub use fib::{kernel_routes, Family, KernelRoute};
pub use frr::Frr;
pub use gobgp::Gobgp;
pub use link::{Bridge, Iface, VethPair};
pub use netns::{Netns, NsThread};
pub use process::Process;
pub use route::{learned, paths_to, Origin, RouteView, SessionState};
pub use runtime::NsRuntime;
pub use topology::{Lan, Node, Pair, Topology};
pub use wait::{poll_until, Poll};

/// Everything a test usually needs, including the daemon traits.
pub mod prelude {
    pub use crate::{
        learned, paths_to, Advertise, Announcement, BgpConfig, BgpDaemon, BgpDaemonExt, Bird,
        Bridge, Frr, Gobgp, Iface, Lan, Neighbor, Netns, Node, NsRuntime, Origin, Pair, RouteView,
        SessionState, Topology, VethPair,
    };
}
