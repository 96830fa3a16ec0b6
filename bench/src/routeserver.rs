//! FerroLB as the device under test: an [`Instance`] configured like the daemons it is compared
//! with, run as its own process (`ferrolb-routeserver`) so its memory is measured the same way.
//!
//! Like the daemons' configurations: every session passive on the DUT's side, IPv4 unicast,
//! import everything, no multipath, nothing installed in the kernel; neighbours marked
//! [`Advertise::Everything`] are sent every best route (plain eBGP re-advertisement: our AS
//! prepended, next hop self; or RFC 7947 transparency with [`RouteServerConfig::transparent`]),
//! neighbours marked [`Advertise::Nothing`] are sent nothing.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

use ferrolb_bgp::instance::{Instance, InstanceConfig, InstanceError, NeighborConfig};
use ferrolb_bgp::rib::{ExportMode, PolicyError, PrefixAction, PrefixList};
use ferrolb_bgp::session::PeerConfig;
use ferrolb_bgp::AddressFamily;
use ferrolb_testbed::Advertise;

/// One neighbour of the route server: `address:asn:everything|nothing` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteServerNeighbor {
    /// Its address.
    pub address: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// What it is sent ([`Advertise::Usual`] counts as everything).
    pub advertise: Advertise,
}

/// A neighbour specification that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("neighbour {0:?} is not ADDRESS:ASN:everything|nothing")]
pub struct BadNeighbor(String);

impl FromStr for RouteServerNeighbor {
    type Err = BadNeighbor;

    fn from_str(text: &str) -> Result<Self, BadNeighbor> {
        let bad = || BadNeighbor(text.to_owned());
        let mut parts = text.split(':');
        let (Some(address), Some(asn), Some(advertise), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let advertise = match advertise {
            "everything" => Advertise::Everything,
            "nothing" => Advertise::Nothing,
            _ => return Err(bad()),
        };
        Ok(RouteServerNeighbor {
            address: address.parse().map_err(|_| bad())?,
            asn: asn.parse().ok().filter(|&a| a != 0).ok_or_else(bad)?,
            advertise,
        })
    }
}

impl fmt::Display for RouteServerNeighbor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let advertise = match self.advertise {
            Advertise::Nothing => "nothing",
            Advertise::Usual | Advertise::Everything => "everything",
        };
        write!(f, "{}:{}:{advertise}", self.address, self.asn)
    }
}

/// Everything the route server process is told on its command line.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    name = "ferrolb-routeserver",
    about = "FerroLB BGP route server, the device under test of bgp-bench"
)]
pub struct RouteServerConfig {
    /// Our AS.
    #[arg(long)]
    pub asn: u32,
    /// Our BGP identifier; also the address we listen on (port 179).
    #[arg(long)]
    pub router_id: Ipv4Addr,
    /// Hold time proposed to every neighbour, in seconds.
    #[arg(long, default_value_t = 90)]
    pub hold_time: u16,
    /// RFC 7947 transparency (AS_PATH and next hop unchanged) instead of plain eBGP.
    #[arg(long)]
    pub transparent: bool,
    /// A neighbour, as ADDRESS:ASN:everything|nothing (what it is sent); repeatable.
    #[arg(long = "neighbor", required = true)]
    pub neighbors: Vec<RouteServerNeighbor>,
}

impl RouteServerConfig {
    /// The command-line arguments that reproduce this configuration.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--asn".to_owned(),
            self.asn.to_string(),
            "--router-id".to_owned(),
            self.router_id.to_string(),
            "--hold-time".to_owned(),
            self.hold_time.to_string(),
        ];
        if self.transparent {
            args.push("--transparent".to_owned());
        }
        for n in &self.neighbors {
            args.push("--neighbor".to_owned());
            args.push(n.to_string());
        }
        args
    }

    /// The instance: listening on our address, best path only.
    pub fn instance_config(&self) -> InstanceConfig {
        let listen = SocketAddr::from((self.router_id, ferrolb_bgp::session::BGP_PORT));
        let mut config = InstanceConfig::new(self.asn, self.router_id, vec![listen]);
        config.decision.max_paths = 1;
        config
    }

    /// Every neighbour's session and policies.
    pub fn neighbor_configs(&self) -> Result<Vec<NeighborConfig>, PolicyError> {
        let mode = if self.transparent {
            ExportMode::RouteServer
        } else {
            ExportMode::Standard
        };
        self.neighbors
            .iter()
            .map(|n| {
                let mut peer = PeerConfig::new(n.address.into(), self.asn, n.asn, self.router_id);
                peer.session.passive = true;
                peer.session.hold_time = self.hold_time;
                peer.session.families = vec![AddressFamily::Ipv4Unicast];
                let mut neighbor = NeighborConfig::new(peer);
                neighbor.export.mode = mode;
                if n.advertise == Advertise::Nothing {
                    neighbor.export.prefix_list =
                        Some(PrefixList::new(Vec::new(), PrefixAction::Deny)?);
                }
                Ok(neighbor)
            })
            .collect()
    }

    /// Starts the instance and configures every neighbour. Must be called within a tokio
    /// runtime; the route server runs until [`Instance::shutdown`].
    pub async fn start(&self) -> Result<Instance, StartError> {
        let instance = Instance::spawn(self.instance_config())?;
        for neighbor in self.neighbor_configs()? {
            instance.add_neighbor(neighbor).await?;
        }
        Ok(instance)
    }
}

/// Why the route server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The instance refused its configuration or could not listen.
    #[error(transparent)]
    Instance(#[from] InstanceError),
    /// The deny-all prefix list was rejected.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RouteServerConfig {
        RouteServerConfig {
            asn: 65000,
            router_id: Ipv4Addr::new(198, 18, 0, 1),
            hold_time: 90,
            transparent: false,
            neighbors: vec![
                "198.18.0.2:65002:everything".parse().unwrap(),
                "198.18.0.11:65101:nothing".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn neighbour_specifications_parse_and_print_back() {
        let cases = [
            ("198.18.0.2:65002:everything", true),
            ("198.18.0.11:4200000001:nothing", true),
            ("198.18.0.2:65002", false),
            ("198.18.0.2:0:nothing", false),
            ("198.18.0.2:65002:some", false),
            ("2001:db8::1:65002:nothing", false),
            ("198.18.0.2:65002:nothing:x", false),
        ];
        for (text, ok) in cases {
            let parsed = text.parse::<RouteServerNeighbor>();
            assert_eq!(parsed.is_ok(), ok, "{text}: {parsed:?}");
            if let Ok(n) = parsed {
                assert_eq!(n.to_string(), text);
            }
        }
    }

    #[test]
    fn neighbours_are_passive_ipv4_and_silent_ones_get_a_deny_all_list() {
        let configs = sample().neighbor_configs().unwrap();
        assert_eq!(configs.len(), 2);
        for c in &configs {
            assert!(c.peer.session.passive);
            assert_eq!(c.peer.session.hold_time, 90);
            assert_eq!(c.peer.session.families, vec![AddressFamily::Ipv4Unicast]);
            assert_eq!(c.export.mode, ExportMode::Standard);
        }
        let monitor = &configs[0].export;
        assert!(monitor.prefix_list.is_none());
        let injector = configs[1].export.prefix_list.as_ref().unwrap();
        assert!(!injector.permits(&"16.0.0.0/24".parse().unwrap()));
        let transparent = RouteServerConfig {
            transparent: true,
            ..sample()
        };
        assert!(transparent
            .neighbor_configs()
            .unwrap()
            .iter()
            .all(|c| c.export.mode == ExportMode::RouteServer));
        assert_eq!(sample().instance_config().decision.max_paths, 1);
    }

    #[test]
    fn arguments_round_trip_through_the_command_line_parser() {
        use clap::Parser;
        for config in [
            sample(),
            RouteServerConfig {
                transparent: true,
                hold_time: 180,
                ..sample()
            },
        ] {
            let mut argv = vec!["ferrolb-routeserver".to_owned()];
            argv.extend(config.to_args());
            assert_eq!(RouteServerConfig::try_parse_from(argv).unwrap(), config);
        }
        assert!(
            RouteServerConfig::try_parse_from(["x", "--asn", "1", "--router-id", "192.0.2.1"])
                .is_err()
        );
    }
}
