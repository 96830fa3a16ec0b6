//! BIRD 2 (`bird`, `birdc`) as a BGP peer or router.
//!
//! BIRD runs in the foreground (`bird -c bird.conf -s bird.ctl -P bird.pid -f`) inside a
//! namespace, logging to stderr (captured in `bird.log`). `birdc -s bird.ctl` talks to it over
//! the control socket, which is a file, so queries need not enter the namespace.
//!
//! Quirks worth knowing when writing interop tests:
//! - BIRD waits `connect delay time` (5 s) before its first connection attempt and
//!   `error wait time` (60-300 s) after a session error before trying again. The generated
//!   config lowers them to 1 s and 1-10 s; otherwise a test that flaps a session waits a minute.
//! - iBGP sessions resolve next hops recursively by default and ignore routes whose next hop is
//!   not in the table; single-hop sessions are therefore rendered with `direct`.
//! - IPv6 routes on an IPv4 session need `next hop address <v6>` in the ipv6 channel or BIRD
//!   refuses to export them ([`Neighbor::ipv6_next_hop`]). Received ones need a usable IPv6
//!   next hop: BIRD rejects an IPv4-mapped one ("mismatched address family") unless extended
//!   next hop is negotiated.
//! - Announced routes are static blackhole routes; their attributes are set by the BGP export
//!   filter (`if net = P then { bgp_med = 5; ... }`). Setting them on the static route instead
//!   looks equivalent but BIRD then drops the MED towards eBGP peers, treating it as received.
//!   LOCAL_PREF is only sent to iBGP peers.
//! - `show route` prints both master tables; alternative paths follow the best one on lines
//!   that start with spaces instead of the prefix, attributes are tab-indented.
//! - Reconfiguration (`birdc configure`) of only static routes does not restart sessions.
//! - An announced address that is also configured on an interface (a service IP on `lo`) is
//!   in BIRD's table twice, and `direct` (preference 240) would win over `static` (200), so
//!   the export filter would see a non-static best route and withdraw it. The announcing
//!   static protocols therefore run at preference 250.
//!
//! [`Neighbor::ipv6_next_hop`]: crate::Neighbor::ipv6_next_hop

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::{Announcement, BgpConfig, Neighbor};
use crate::daemon::{BgpDaemon, Instance};
use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::process::{run, Process};
use crate::route::{RouteView, SessionState};
use crate::wait::{poll_until, Poll};

mod render;
mod show;

pub use render::render_config;
pub use show::{parse_bgp_state, parse_routes};

/// How long BIRD may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A BIRD instance inside a namespace; stopped when dropped.
#[derive(Debug)]
pub struct Bird {
    instance: Instance,
    conf_path: PathBuf,
    socket: PathBuf,
}

impl Bird {
    /// Writes a configuration for `config` and starts BIRD in `netns`; returns once BIRD answers
    /// on its control socket.
    pub fn start(netns: &Netns, config: BgpConfig) -> Result<Bird> {
        config.validate()?;
        let text = render_config(&config)?;
        let instance = Instance::new("bird", netns, config)?;
        let conf_path = instance.write("bird.conf", &text)?;
        let socket = instance.file("bird.ctl");
        let mut bird = Bird {
            instance,
            conf_path,
            socket,
        };
        bird.spawn()?;
        Ok(bird)
    }

    fn spawn(&mut self) -> Result<()> {
        let conf = self.conf_path.to_string_lossy().into_owned();
        let socket = self.socket.to_string_lossy().into_owned();
        let pid = self
            .instance
            .file("bird.pid")
            .to_string_lossy()
            .into_owned();
        self.instance.spawn(
            "bird",
            "bird",
            &["-c", &conf, "-s", &socket, "-P", &pid, "-f"],
        )?;
        poll_until("BIRD to start", START_TIMEOUT, || {
            self.check_running()?;
            Ok(match self.birdc("show status") {
                Ok(out) if out.contains("up and running") => Poll::Ready(()),
                Ok(out) => Poll::Pending(out),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })
    }

    /// Runs one `birdc` command (e.g. `"show route all"`) and returns its output.
    pub fn birdc(&self, command: &str) -> Result<String> {
        let out = run(Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(command.split_whitespace()))?;
        // birdc exits 0 even when BIRD rejects the command.
        if let Some(line) = out.lines().find(|l| {
            l.starts_with("syntax error")
                || l.starts_with("Unable to connect")
                || l.contains("Parse error")
        }) {
            return Err(Error::Command {
                command: format!("birdc {command}"),
                status: "rejected".into(),
                output: line.to_owned(),
            });
        }
        Ok(out)
    }

    /// The generated configuration file.
    pub fn config_path(&self) -> &std::path::Path {
        &self.conf_path
    }

    /// The name of the BGP protocol for the neighbour at `peer`.
    pub fn protocol_name(&self, peer: IpAddr) -> Result<String> {
        self.instance
            .config()
            .find_neighbor(peer)
            .map(Neighbor::name)
            .ok_or_else(|| Error::Config(format!("BIRD has no neighbour {peer}")))
    }

    /// Rewrites the configuration after `change` and tells BIRD to reload it.
    fn reconfigure(&self, change: impl FnOnce(&mut BgpConfig)) -> Result<()> {
        let mut config = self.instance.config();
        let mut updated = config.clone();
        change(&mut updated);
        updated.validate()?;
        self.write_config(&render_config(&updated)?)?;
        let accepted = self.birdc("configure").and_then(|out| {
            if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") {
                Ok(())
            } else {
                Err(Error::Command {
                    command: "birdc configure".into(),
                    status: "rejected".into(),
                    output: out.trim().to_owned(),
                })
            }
        });
        match accepted {
            Ok(()) => {
                *config = updated;
                Ok(())
            }
            Err(e) => {
                // Leave the file matching what BIRD runs, for restarts.
                self.write_config(&render_config(&config)?)?;
                Err(e)
            }
        }
    }

    fn write_config(&self, text: &str) -> Result<()> {
        std::fs::write(&self.conf_path, text)
            .map_err(|e| Error::io(format!("writing {}", self.conf_path.display()), e))
    }
}

impl BgpDaemon for Bird {
    fn kind(&self) -> &'static str {
        "bird"
    }

    fn processes(&self) -> &[Process] {
        &self.instance.processes
    }

    fn session_state(&self, peer: IpAddr) -> Result<SessionState> {
        let name = self.protocol_name(peer)?;
        parse_bgp_state(&self.birdc(&format!("show protocols all {name}"))?)
    }

    fn routes(&self) -> Result<Vec<RouteView>> {
        let peers: HashMap<String, IpAddr> = self
            .instance
            .config()
            .neighbors
            .iter()
            .map(|n| (n.name(), n.address))
            .collect();
        parse_routes(&self.birdc("show route all")?, &peers)
    }

    fn announce(&self, announcement: &Announcement) -> Result<()> {
        self.reconfigure(|c| {
            c.announcements.retain(|a| a.prefix != announcement.prefix);
            c.announcements.push(announcement.clone());
        })
    }

    fn withdraw(&self, prefix: IpNet) -> Result<()> {
        self.reconfigure(|c| c.announcements.retain(|a| a.prefix != prefix))
    }

    fn restart(&mut self) -> Result<()> {
        self.instance.kill_all()?;
        self.spawn()
    }
}

#[cfg(test)]
mod tests;
