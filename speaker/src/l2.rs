//! The seam between the decision and L2 announcing.
//!
//! The decision's L2 ownerships go to an [`L2Sink`]; the set of alive
//! speakers comes in as a [`AliveSpeakers`] watch channel. The L2 announcer
//! (ARP/NDP, [`Announcer`]) and the membership group plug in here; with L2
//! turned off, [`NotEnabled`] announces nothing and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tokio::sync::watch;

pub use crate::decision::InterfaceSelection;

/// Names of the speakers (node names) currently alive, as the membership
/// group sees them. `None` until membership runs: Node state alone decides.
pub type AliveSpeakers = watch::Receiver<Option<BTreeSet<String>>>;

/// Receives the L2 addresses this node owns.
pub trait L2Sink: Send + 'static {
    /// Replaces the owned set: answer ARP/NDP for exactly these addresses,
    /// on the selected interfaces, and stop answering for any other.
    fn set_owned(&mut self, owned: BTreeMap<IpAddr, InterfaceSelection>);

    /// Whether addresses given to [`L2Sink::set_owned`] are really answered
    /// for (status objects report L2 only then).
    fn is_enabled(&self) -> bool;
}

/// The sink of a build without an L2 announcer: logs, once per change,
/// that L2 advertisements select this node but nothing will answer.
#[derive(Debug, Default)]
pub struct NotEnabled {
    last: BTreeMap<IpAddr, InterfaceSelection>,
}

impl L2Sink for NotEnabled {
    fn set_owned(&mut self, owned: BTreeMap<IpAddr, InterfaceSelection>) {
        if owned != self.last && !owned.is_empty() {
            let ips: Vec<String> = owned.keys().map(IpAddr::to_string).collect();
            tracing::warn!(
                ips = %ips.join(","),
                "L2Advertisements select this node for these addresses, but L2 announcing is not enabled in this build"
            );
        }
        self.last = owned;
    }

    fn is_enabled(&self) -> bool {
        false
    }
}

/// The real sink: answers ARP/NDP with `ferrolb-l2`.
pub struct Announcer(pub ferrolb_l2::L2Announcer);

impl L2Sink for Announcer {
    fn set_owned(&mut self, owned: BTreeMap<IpAddr, InterfaceSelection>) {
        let owned = owned
            .into_iter()
            .map(|(ip, selection)| {
                let interfaces = match selection {
                    // An empty list: every interface the policy allows.
                    InterfaceSelection::All => Vec::new(),
                    InterfaceSelection::Named(names) => names.into_iter().collect(),
                };
                (ip, interfaces)
            })
            .collect();
        self.0.set_owned(owned);
    }

    fn is_enabled(&self) -> bool {
        true
    }
}
