//! FRR 8.4 (`zebra`, `bgpd`, optionally `bfdd`, queried with `vtysh`).
//!
//! Each instance runs its own zebra and bgpd (and bfdd when a neighbour uses BFD) inside a
//! namespace, with every path FRR would otherwise share under `/etc/frr` and `/var/run/frr`
//! moved into the instance's scratch directory, so several instances coexist on one machine:
//!
//! ```text
//! <daemon> -N <name> -f <dir>/<daemon>.conf -i <dir>/<daemon>.pid -z <dir>/zserv.api
//!          --vty_socket <dir>/vty/<name> -u frr -g frr -P 0
//! vtysh -N <name> --vty_socket <dir>/vty --config_dir <dir>/etc -c ...
//! ```
//!
//! Quirks worth knowing when writing interop tests:
//! - FRR refuses to run as root with `-u root`: the user must belong to the `frrvty` group,
//!   which root is not. The daemons therefore run as `frr` and the scratch directory is chowned
//!   to it. (Only bgpd has `-S` to skip the user switch.)
//! - `vtysh -N <name>` appends `/<name>` to its `--vty_socket` directory, while the daemons use
//!   their `--vty_socket` verbatim; `-N` also makes the daemons create an empty
//!   `/var/run/frr/<name>` directory (removed on drop).
//! - FRR 8.4 enforces RFC 8212: eBGP routes are neither accepted nor sent without policy. The
//!   generated config says `no bgp ebgp-requires-policy`.
//! - `network` statements are only announced if the prefix is in the RIB unless
//!   `no bgp network import-check` is set (it is).
//! - Attributes of announced routes come from a route-map on the `network` statement. Changing
//!   the route-map afterwards does not reliably update the announcement: re-announcing removes
//!   the `network` statement first, then recreates map and statement.
//! - Routes from `network` statements carry MED 0 unless the route-map sets one, so peers see
//!   `med == Some(0)` rather than `None`.
//! - Routes carrying `no-export` are not sent to eBGP peers (as the RFC says) -- easy to trip
//!   over in a test.
//! - `show bgp <afi> unicast json` omits communities; `show bgp <afi> unicast json detail` has
//!   them, but its per-prefix arrays start with a header object before the paths.
//! - On an IPv4 session FRR announces IPv6 routes with the outgoing interface's global IPv6
//!   address (and link-local) as next hop by itself.
//! - `neighbor X bfd` needs bfdd, which talks to bgpd through zebra.
//! - The per-session commands `neighbor X graceful-restart[-helper]` are applied but reported
//!   as failed (`% Invalid value`) by FRR 8.4. The generated config uses the global
//!   `bgp graceful-restart` instead, so graceful restart is on for every session of an
//!   instance as soon as one neighbour asks for it (the others would be helpers anyway).
//! - `bgpd -C` (dry run) exits 0 even when lines fail; errors show up as `[EC ...]` log lines.
//! - With [`BgpConfig::no_zebra`] only bgpd runs (`bgpd -Z`). Without zebra it knows no
//!   interfaces or connected routes and treats every next hop as reachable, so received routes
//!   are still selected and re-advertised (nothing reaches the kernel, no BFD).

use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use crate::config::{Announcement, BgpConfig};
use crate::daemon::{BgpDaemon, Instance};
use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::process::{run, Process};
use crate::route::{RouteView, SessionState};
use crate::wait::{poll_until, Poll};

mod render;
mod show;

use crate::route::family_name as afi;
use render::render_basic;
pub use render::{announcement_commands, render_bgpd, withdrawal_commands};
use show::parse_bfd_status;
pub use show::{parse_detail, parse_prefix, parse_summary_state};

/// How long the FRR daemons may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The unprivileged user (member of `frrvty`) the daemons run as.
const FRR_USER: &str = "frr";

static INSTANCES: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// Where `-N` makes FRR create (empty) per-pathspace directories.
const FRR_RUN_DIR: &str = "/var/run/frr";

/// An FRR instance (zebra + bgpd [+ bfdd]) inside a namespace; stopped when dropped.
#[derive(Debug)]
pub struct Frr {
    instance: Instance,
    name: String,
}

impl Frr {
    /// Writes configurations for `config` and starts the daemons in `netns`; returns once bgpd
    /// answers through vtysh.
    pub fn start(netns: &Netns, config: BgpConfig) -> Result<Frr> {
        config.validate()?;
        SWEEP.call_once(sweep_stale_pathspaces);
        let name = format!(
            "flb{}x{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        );
        let bgpd_conf = render_bgpd(&name, &config);
        let instance = Instance::new("frr", netns, config)?;
        instance.write("zebra.conf", &render_basic(&name))?;
        instance.write("bfdd.conf", &render_basic(&name))?;
        instance.write("bgpd.conf", &bgpd_conf)?;
        let vty = instance.dir().join("vty").join(&name);
        let etc = instance.dir().join("etc").join(&name);
        for dir in [&vty, &etc] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        // An empty vtysh.conf keeps vtysh from complaining on every call.
        instance.write(&format!("etc/{name}/vtysh.conf"), "")?;
        run(Command::new("chown")
            .arg("-R")
            .arg(format!("{FRR_USER}:{FRR_USER}"))
            .arg(instance.dir()))?;
        let mut frr = Frr { instance, name };
        frr.spawn()?;
        Ok(frr)
    }

    /// The pathspace (`-N`) name of this instance.
    pub fn pathspace(&self) -> &str {
        &self.name
    }

    fn path(&self, name: &str) -> String {
        self.instance.file(name).to_string_lossy().into_owned()
    }

    fn spawn_daemon(&mut self, daemon: &str, extra: &[&str]) -> Result<()> {
        let program = format!("/usr/lib/frr/{daemon}");
        let conf = self.path(&format!("{daemon}.conf"));
        let pid = self.path(&format!("{daemon}.pid"));
        let zserv = self.path("zserv.api");
        let vty = self.path(&format!("vty/{}", self.name));
        let mut args = vec![
            "-N",
            &self.name,
            "-f",
            &conf,
            "-i",
            &pid,
            "-z",
            &zserv,
            "--vty_socket",
            &vty,
            "-u",
            FRR_USER,
            "-g",
            FRR_USER,
            "-P",
            "0",
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.instance
            .spawn(&format!("frr/{daemon}"), &program, &args)
    }

    /// Waits until `file` (relative to the scratch directory) exists, e.g. a daemon's socket.
    fn wait_file(&self, file: &str) -> Result<()> {
        let path = self.instance.file(file);
        poll_until(format_args!("{}", path.display()), START_TIMEOUT, || {
            self.check_running()?;
            Ok(if path.exists() {
                Poll::Ready(())
            } else {
                Poll::Pending("absent".into())
            })
        })
    }

    fn spawn(&mut self) -> Result<()> {
        let (fib_install, bfd, no_zebra) = {
            let config = self.instance.config();
            (
                config.fib_install,
                config.neighbors.iter().any(|n| n.bfd),
                config.no_zebra,
            )
        };
        // Sockets left by killed daemons (restart) would make the waits below pass too early.
        for stale in ["zserv.api", &format!("vty/{}/bfdd.vty", self.name)] {
            let _ = std::fs::remove_file(self.instance.file(stale));
        }
        if !no_zebra {
            self.spawn_daemon("zebra", &[])?;
            self.wait_file("zserv.api")?;
        }
        if bfd {
            let ctl = self.path("bfdd.sock");
            self.spawn_daemon("bfdd", &["--bfdctl", &ctl])?;
            self.wait_file(&format!("vty/{}/bfdd.vty", self.name))?;
        }
        let extra: &[&str] = match (no_zebra, fib_install) {
            (true, _) => &["-Z"],
            (false, true) => &[],
            (false, false) => &["-n"],
        };
        self.spawn_daemon("bgpd", extra)?;
        poll_until("FRR bgpd to answer", START_TIMEOUT, || {
            self.check_running()?;
            Ok(match self.vtysh_json("show bgp summary json") {
                Ok(_) => Poll::Ready(()),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })
    }

    /// Runs `vtysh` with one `-c` per command and returns its output; lines starting with `%`
    /// (FRR's error marker) make it an error.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let mut cmd = Command::new("vtysh");
        cmd.args(["-N", &self.name, "--vty_socket"])
            .arg(self.instance.file("vty"))
            .arg("--config_dir")
            .arg(self.instance.file("etc"));
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = run(&mut cmd)?;
        if let Some(line) = out.lines().find(|l| l.starts_with('%')) {
            return Err(Error::Command {
                command: format!("vtysh -c {}", commands.join(" -c ")),
                status: "rejected".into(),
                output: line.to_owned(),
            });
        }
        Ok(out)
    }

    /// Runs one `... json` show command and parses the output.
    pub fn vtysh_json(&self, command: &str) -> Result<Value> {
        let out = self.vtysh(&[command])?;
        serde_json::from_str(&out).map_err(|e| Error::parse("vtysh JSON", format!("{e}: {out}")))
    }

    /// The paths to exactly `prefix` (`show bgp <afi> unicast <prefix> json`).
    pub fn route(&self, prefix: IpNet) -> Result<Vec<RouteView>> {
        let afi = afi(prefix);
        let doc = self.vtysh_json(&format!("show bgp {afi} unicast {prefix} json"))?;
        parse_prefix(&doc)
    }

    /// The BFD session status with `peer` (`"up"`, `"down"`, `"init"`), if bfdd knows the peer.
    pub fn bfd_status(&self, peer: IpAddr) -> Result<Option<String>> {
        let doc = self.vtysh_json("show bfd peers json")?;
        Ok(parse_bfd_status(&doc, peer))
    }

    /// Runs configuration commands in `configure terminal`.
    fn configure(&self, commands: &[String]) -> Result<()> {
        let mut all = vec!["configure terminal"];
        all.extend(commands.iter().map(String::as_str));
        self.vtysh(&all).map(drop)
    }
}

impl BgpDaemon for Frr {
    fn kind(&self) -> &'static str {
        "frr"
    }

    fn processes(&self) -> &[Process] {
        &self.instance.processes
    }

    fn session_state(&self, peer: IpAddr) -> Result<SessionState> {
        parse_summary_state(&self.vtysh_json("show bgp summary json")?, peer)
    }

    fn routes(&self) -> Result<Vec<RouteView>> {
        let mut routes = Vec::new();
        for afi in ["ipv4", "ipv6"] {
            let doc = self.vtysh_json(&format!("show bgp {afi} unicast json detail"))?;
            routes.extend(parse_detail(&doc)?);
        }
        Ok(routes)
    }

    fn announce(&self, announcement: &Announcement) -> Result<()> {
        let mut config = self.instance.config();
        let asn = config.local_as;
        let mut commands = Vec::new();
        if config
            .announcements
            .iter()
            .any(|a| a.prefix == announcement.prefix)
        {
            commands.extend(withdrawal_commands(asn, announcement.prefix));
        }
        commands.extend(announcement_commands(asn, announcement));
        self.configure(&commands)?;
        config
            .announcements
            .retain(|a| a.prefix != announcement.prefix);
        config.announcements.push(announcement.clone());
        Ok(())
    }

    fn withdraw(&self, prefix: IpNet) -> Result<()> {
        let mut config = self.instance.config();
        if !config.announcements.iter().any(|a| a.prefix == prefix) {
            return Ok(());
        }
        self.configure(&withdrawal_commands(config.local_as, prefix))?;
        config.announcements.retain(|a| a.prefix != prefix);
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.instance.kill_all()?;
        let text = render_bgpd(&self.name, &self.instance.config());
        self.instance.write("bgpd.conf", &text)?;
        self.spawn()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.instance.stop_all();
        // `-N` makes the daemons create this (empty) directory even though every path inside
        // it is overridden.
        let _ = std::fs::remove_dir(format!("{FRR_RUN_DIR}/{}", self.name));
    }
}

/// Removes pathspace directories left by test processes that were killed before cleaning up.
fn sweep_stale_pathspaces() {
    let Ok(entries) = std::fs::read_dir(FRR_RUN_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("flb")
            .and_then(|rest| rest.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                // Only ever empty; remove_dir refuses anything else.
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests;
