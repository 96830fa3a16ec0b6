//! GoBGP 3 (`gobgpd`, queried and driven with `gobgp`).
//!
//! `gobgpd -f gobgpd.toml -t toml --api-hosts 127.0.0.1:50051 --pprof-disable -p` runs inside a
//! namespace. Its gRPC API listens on the namespace's own loopback, so the `gobgp` CLI is run
//! inside the namespace too (`ip netns exec ... gobgp -u 127.0.0.1 -p 50051 ...`), and the fixed
//! port never collides between namespaces (one GoBGP per namespace: it also owns port 179).
//!
//! Quirks worth knowing when writing interop tests:
//! - GoBGP has no static-route configuration; announcements are injected after start with
//!   `gobgp global rib add`, and re-injected by [`BgpDaemon::restart`].
//! - GoBGP 3 is slow to come back: after a session drops it idles a hard-coded 5 s before
//!   reconnecting, and it retries connections no faster than every 5 s whatever
//!   `connect-retry` says. Budget ~6 s for a GoBGP session to re-establish after a hold-timer
//!   expiry or a peer's restart (a restart of GoBGP itself reconnects at once). The generated
//!   config also lowers `idle-hold-time-after-reset` (30 s) to 1 s.
//! - An IPv6 route added without `nexthop` on an IPv4 session is sent with an IPv4-mapped next
//!   hop, which BIRD rejects; the testbed passes [`Announcement::next_hop`] or the neighbour's
//!   [`Neighbor::ipv6_next_hop`](crate::Neighbor::ipv6_next_hop).
//! - GoBGP cannot program the kernel FIB (without zebra) and has no BFD; `fib_install` is
//!   ignored and BFD is refused.
//! - `-j` output: session states are numbers (6 = Established) in 3.x, path attributes are a
//!   list of objects keyed by attribute type code, communities are raw 32-bit numbers.
//! - Restarting with graceful restart passes `-r` (restart state): gobgpd then defers best path
//!   selection until its peers send End-of-RIB.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use crate::config::{Announcement, BgpConfig};
use crate::daemon::{BgpDaemon, Instance};
use crate::error::{Error, Result};
use crate::netns::{command_in, Netns};
use crate::process::{run, Process};
use crate::route::{RouteView, SessionState};
use crate::wait::{poll_until, Poll};

mod render;
mod show;

use crate::route::family_name as family;
#[cfg(test)]
use render::toml_str;
pub use render::{render_config, rib_add_args};
pub use show::{parse_neighbor_state, parse_rib};

/// Where gobgpd's gRPC API listens, inside its namespace.
pub const API_HOST: &str = "127.0.0.1";
/// The gRPC API port.
pub const API_PORT: u16 = 50051;
/// How long gobgpd may take to answer on its API.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A GoBGP instance inside a namespace; stopped when dropped.
#[derive(Debug)]
pub struct Gobgp {
    instance: Instance,
}

impl Gobgp {
    /// Writes a configuration for `config`, starts gobgpd in `netns`, waits for its API, then
    /// injects the configured announcements.
    pub fn start(netns: &Netns, config: BgpConfig) -> Result<Gobgp> {
        config.validate()?;
        let text = render_config(&config)?;
        let instance = Instance::new("gobgp", netns, config)?;
        instance.write("gobgpd.toml", &text)?;
        let mut gobgp = Gobgp { instance };
        gobgp.spawn(false)?;
        Ok(gobgp)
    }

    fn spawn(&mut self, restarting: bool) -> Result<()> {
        let conf = self
            .instance
            .file("gobgpd.toml")
            .to_string_lossy()
            .into_owned();
        let api = format!("{API_HOST}:{API_PORT}");
        let mut args = vec![
            "-f",
            conf.as_str(),
            "-t",
            "toml",
            "--api-hosts",
            api.as_str(),
            "--pprof-disable",
            "-p",
        ];
        if restarting
            && self
                .instance
                .config()
                .neighbors
                .iter()
                .any(|n| n.graceful_restart.is_some())
        {
            args.push("-r");
        }
        self.instance.spawn("gobgpd", "gobgpd", &args)?;
        poll_until("gobgpd API to answer", START_TIMEOUT, || {
            self.check_running()?;
            Ok(match self.gobgp(&["global"]) {
                Ok(_) => Poll::Ready(()),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })?;
        let announcements = self.instance.config().announcements.clone();
        for a in &announcements {
            self.add_path(a)?;
        }
        Ok(())
    }

    /// Runs the `gobgp` CLI against this instance (inside its namespace) and returns stdout.
    pub fn gobgp(&self, args: &[&str]) -> Result<String> {
        let port = API_PORT.to_string();
        let mut cmd = command_in(&self.instance.netns, "gobgp");
        cmd.args(["-u", API_HOST, "-p", &port]).args(args);
        run(&mut cmd)
    }

    /// Runs a `gobgp -j ...` query and parses the JSON.
    pub fn gobgp_json(&self, args: &[&str]) -> Result<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.gobgp(&all)?;
        if out.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&out).map_err(|e| Error::parse("gobgp JSON", format!("{e}: {out}")))
    }

    fn add_path(&self, a: &Announcement) -> Result<()> {
        let default_v6_next_hop = self
            .instance
            .config()
            .neighbors
            .iter()
            .find_map(|n| n.ipv6_next_hop)
            .map(IpAddr::V6);
        let args = rib_add_args(a, default_v6_next_hop);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.gobgp(&args).map(drop)
    }
}

impl BgpDaemon for Gobgp {
    fn kind(&self) -> &'static str {
        "gobgp"
    }

    fn processes(&self) -> &[Process] {
        &self.instance.processes
    }

    fn session_state(&self, peer: IpAddr) -> Result<SessionState> {
        parse_neighbor_state(&self.gobgp_json(&["neighbor"])?, peer)
    }

    fn routes(&self) -> Result<Vec<RouteView>> {
        let mut routes = parse_rib(&self.gobgp_json(&["global", "rib", "-a", "ipv4"])?)?;
        routes.extend(parse_rib(
            &self.gobgp_json(&["global", "rib", "-a", "ipv6"])?,
        )?);
        Ok(routes)
    }

    fn announce(&self, announcement: &Announcement) -> Result<()> {
        // Adding the same prefix again replaces the locally originated path.
        self.add_path(announcement)?;
        let mut config = self.instance.config();
        config
            .announcements
            .retain(|a| a.prefix != announcement.prefix);
        config.announcements.push(announcement.clone());
        Ok(())
    }

    fn withdraw(&self, prefix: IpNet) -> Result<()> {
        let family = family(prefix);
        let prefix_text = prefix.to_string();
        self.gobgp(&["global", "rib", "-a", family, "del", &prefix_text])?;
        self.instance
            .config()
            .announcements
            .retain(|a| a.prefix != prefix);
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.instance.kill_all()?;
        self.spawn(true)
    }
}

#[cfg(test)]
mod tests;
