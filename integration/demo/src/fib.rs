//! The routes FerroLB's router put into a namespace's kernel FIB, read back
//! with `ip -j route` the way an operator would.

use ferrolb_testbed::{Family, Netns};

use crate::error::Result;

pub use ferrolb_testbed::KernelRoute;

/// The route protocol number the router installs its routes with.
pub const PROTOCOL: &str = "200";

/// FerroLB's IPv4 routes in `ns`.
pub fn routes(ns: &Netns) -> Result<Vec<KernelRoute>> {
    Ok(ferrolb_testbed::kernel_routes(ns, Family::V4, PROTOCOL)?)
}

/// FerroLB's IPv4 routes in `ns` as `ip route` prints them.
pub fn routes_text(ns: &Netns) -> Result<String> {
    Ok(ferrolb_testbed::fib::kernel_routes_text(
        ns,
        Family::V4,
        PROTOCOL,
    )?)
}
