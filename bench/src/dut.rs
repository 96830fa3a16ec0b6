//! The devices under test, each started in its own namespace with the same configuration:
//! passive eBGP sessions to the monitor and the injectors, IPv4 unicast, import everything,
//! every best route re-advertised to the monitor (our AS prepended, next hop self), nothing sent
//! to the injectors, no multipath, no kernel route installation:
//!
//! - FerroLB: the `ferrolb-routeserver` process ([`crate::routeserver`]);
//! - BIRD 2: `bird`, kernel protocols exporting nothing;
//! - FRR 8.4: `bgpd -Z` alone (no zebra), or zebra plus `bgpd -n` with `frr_zebra`;
//! - GoBGP 3: `gobgpd` (which never touches the kernel without zebra).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ferrolb_testbed::{
    Advertise, BgpConfig, BgpDaemon, Bird, Frr, Gobgp, Neighbor, Netns, Process,
};

use crate::memory::ProcessGroup;
use crate::peer::PeerIdentity;
use crate::routeserver::{RouteServerConfig, RouteServerNeighbor};

/// Which implementation is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum DutKind {
    /// FerroLB's `ferrolb-bgp` instance.
    Ferrolb,
    /// BIRD 2.
    Bird,
    /// FRR 8.4 bgpd.
    Frr,
    /// GoBGP 3.
    Gobgp,
}

impl DutKind {
    /// All of them, FerroLB first (the others' rates are compared with its).
    pub const ALL: [DutKind; 4] = [
        DutKind::Ferrolb,
        DutKind::Bird,
        DutKind::Frr,
        DutKind::Gobgp,
    ];
}

impl fmt::Display for DutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DutKind::Ferrolb => "FerroLB",
            DutKind::Bird => "BIRD 2",
            DutKind::Frr => "FRR 8.4",
            DutKind::Gobgp => "GoBGP 3",
        })
    }
}

/// The device under test's identity and neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutPlan {
    /// Its AS.
    pub asn: u32,
    /// Its address (also its BGP identifier).
    pub address: Ipv4Addr,
    /// Hold time on every session.
    pub hold_time: u16,
    /// The peer that is sent every route.
    pub monitor: PeerIdentity,
    /// The peers that send routes and are sent none.
    pub injectors: Vec<PeerIdentity>,
    /// FRR: run zebra (with `bgpd -n`) instead of `bgpd -Z` alone.
    pub frr_zebra: bool,
    /// FerroLB: RFC 7947 transparent route server instead of plain eBGP re-advertisement.
    pub transparent: bool,
}

impl DutPlan {
    /// The neighbours with what each is sent.
    fn neighbors(&self) -> impl Iterator<Item = (&PeerIdentity, Advertise)> {
        std::iter::once((&self.monitor, Advertise::Everything))
            .chain(self.injectors.iter().map(|i| (i, Advertise::Nothing)))
    }

    /// The daemons' configuration.
    pub fn bgp_config(&self) -> BgpConfig {
        let mut config = BgpConfig::new(self.asn, self.address)
            .fib_install(false)
            .multipath(false)
            .no_zebra(!self.frr_zebra);
        for (peer, advertise) in self.neighbors() {
            config = config.neighbor(
                Neighbor::new(IpAddr::V4(peer.address), peer.asn)
                    .passive()
                    .hold_time(self.hold_time)
                    .advertise(advertise),
            );
        }
        config
    }

    /// FerroLB's configuration.
    pub fn routeserver_config(&self) -> RouteServerConfig {
        RouteServerConfig {
            asn: self.asn,
            router_id: self.address,
            hold_time: self.hold_time,
            transparent: self.transparent,
            neighbors: self
                .neighbors()
                .map(|(peer, advertise)| RouteServerNeighbor {
                    address: peer.address,
                    asn: peer.asn,
                    advertise,
                })
                .collect(),
        }
    }
}

/// A running device under test; stopped when dropped.
#[derive(Debug)]
pub enum RunningDut {
    /// BIRD, FRR or GoBGP.
    Daemon(Box<dyn BgpDaemonDebug>),
    /// The FerroLB route server process and the directory holding its log.
    Ferrolb {
        /// The process.
        process: Process,
        /// Where its log lives.
        dir: tempfile::TempDir,
    },
}

/// A [`BgpDaemon`] that can also be debug-printed.
pub trait BgpDaemonDebug: BgpDaemon + fmt::Debug {}
impl<T: BgpDaemon + fmt::Debug> BgpDaemonDebug for T {}

impl RunningDut {
    /// Starts `kind` in `netns`; `routeserver` is the `ferrolb-routeserver` executable.
    pub fn start(
        kind: DutKind,
        netns: &Netns,
        plan: &DutPlan,
        routeserver: &Path,
    ) -> ferrolb_testbed::Result<RunningDut> {
        Ok(match kind {
            DutKind::Bird => RunningDut::Daemon(Box::new(Bird::start(netns, plan.bgp_config())?)),
            DutKind::Frr => RunningDut::Daemon(Box::new(Frr::start(netns, plan.bgp_config())?)),
            DutKind::Gobgp => RunningDut::Daemon(Box::new(Gobgp::start(netns, plan.bgp_config())?)),
            DutKind::Ferrolb => {
                let dir = tempfile::Builder::new()
                    .prefix("flb-routeserver-")
                    .tempdir()
                    .map_err(|source| ferrolb_testbed::Error::Io {
                        context: "creating a log directory".into(),
                        source,
                    })?;
                let args = plan.routeserver_config().to_args();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let program = routeserver.to_string_lossy();
                let log = dir.path().join("routeserver.log");
                let process = netns.spawn("ferrolb-routeserver", &program, &args, &log)?;
                RunningDut::Ferrolb { process, dir }
            }
        })
    }

    /// Labels of its processes, e.g. `frr/bgpd`.
    pub fn labels(&self) -> Vec<String> {
        self.processes()
            .iter()
            .map(|p| p.label().to_owned())
            .collect()
    }

    /// The ends of its logs.
    pub fn log(&self) -> String {
        match self {
            RunningDut::Daemon(d) => d.log(),
            RunningDut::Ferrolb { process, .. } => process.log(),
        }
    }
}

impl ProcessGroup for RunningDut {
    fn processes(&self) -> &[Process] {
        match self {
            RunningDut::Daemon(d) => d.processes(),
            RunningDut::Ferrolb { process, .. } => std::slice::from_ref(process),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> DutPlan {
        let peer = |host: u8, asn| PeerIdentity {
            address: Ipv4Addr::new(198, 18, 0, host),
            asn,
            hold_time: 90,
        };
        DutPlan {
            asn: 65000,
            address: Ipv4Addr::new(198, 18, 0, 1),
            hold_time: 90,
            monitor: peer(2, 65002),
            injectors: vec![peer(11, 65101), peer(12, 65102)],
            frr_zebra: false,
            transparent: false,
        }
    }

    #[test]
    fn daemons_and_ferrolb_get_the_same_neighbours() {
        let p = plan();
        let daemons = p.bgp_config();
        assert!(daemons.validate().is_ok());
        assert!(!daemons.fib_install && !daemons.multipath && daemons.no_zebra);
        let ferrolb = p.routeserver_config();
        assert_eq!(daemons.neighbors.len(), ferrolb.neighbors.len());
        for (d, f) in daemons.neighbors.iter().zip(&ferrolb.neighbors) {
            assert_eq!(d.address, IpAddr::V4(f.address));
            assert_eq!(d.peer_as, f.asn);
            assert_eq!(d.advertise, f.advertise);
            assert!(d.passive);
            assert_eq!(d.hold_time, 90);
        }
        assert_eq!(daemons.neighbors[0].advertise, Advertise::Everything);
        assert!(daemons.neighbors[1..]
            .iter()
            .all(|n| n.advertise == Advertise::Nothing));
        let with_zebra = DutPlan {
            frr_zebra: true,
            ..plan()
        };
        assert!(!with_zebra.bgp_config().no_zebra);
    }
}
