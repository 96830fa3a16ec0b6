//! What the three routing daemons have in common: a per-instance directory, supervised
//! processes, and the query/wait interface tests use.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ipnet::IpNet;
use tempfile::TempDir;

use crate::config::{Announcement, BgpConfig};
use crate::error::{Error, Result};
use crate::netns::{command_in, Netns};
use crate::process::Process;
use crate::route::{learned, paths_to, RouteView, SessionState};
use crate::wait::{poll_until, Poll};

/// How long a daemon gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A running BGP daemon. Implemented by [`crate::Bird`], [`crate::Frr`] and [`crate::Gobgp`],
/// so a test can be written once and run against each (`Box<dyn BgpDaemon>` works).
pub trait BgpDaemon {
    /// `"bird"`, `"frr"` or `"gobgp"`.
    fn kind(&self) -> &'static str;

    /// The daemon's processes (FRR has several).
    fn processes(&self) -> &[Process];

    /// The state of the session with `peer` (its configured address).
    fn session_state(&self, peer: IpAddr) -> Result<SessionState>;

    /// Every path the daemon holds, IPv4 and IPv6: received ones and locally originated ones.
    fn routes(&self) -> Result<Vec<RouteView>>;

    /// Starts originating a route (replacing an earlier announcement of the same prefix).
    fn announce(&self, announcement: &Announcement) -> Result<()>;

    /// Stops originating `prefix`.
    fn withdraw(&self, prefix: IpNet) -> Result<()>;

    /// Kills the daemon abruptly and starts it again with the same configuration (and the
    /// routes announced at run time), e.g. to exercise graceful restart.
    fn restart(&mut self) -> Result<()>;

    /// `Ok` while every process runs, else [`Error::Exited`] with the log tail.
    fn check_running(&self) -> Result<()> {
        self.processes().iter().try_for_each(Process::check_running)
    }

    /// Freezes the daemon (SIGSTOP): sessions stay open but fall silent until the peers' hold
    /// timers expire.
    fn pause(&self) -> Result<()> {
        self.processes().iter().try_for_each(Process::pause)
    }

    /// Thaws a paused daemon (SIGCONT).
    fn resume(&self) -> Result<()> {
        self.processes().iter().try_for_each(Process::resume)
    }

    /// Kills the daemon (SIGKILL), as in a crash: no NOTIFICATION is sent, routes it installed
    /// stay in the kernel.
    fn kill(&self) -> Result<()> {
        self.processes().iter().rev().try_for_each(Process::kill)
    }

    /// The ends of all the daemon's logs.
    fn log(&self) -> String {
        let mut text = String::new();
        for p in self.processes() {
            text.push_str(&format!("===== {} =====\n{}\n", p.label(), p.log()));
        }
        text
    }

    /// Waits until the session with `peer` is Established.
    fn wait_established(&self, peer: IpAddr, timeout: Duration) -> Result<()> {
        self.wait_state(peer, SessionState::Established, timeout)
    }

    /// Waits until the session with `peer` is in `state`.
    fn wait_state(&self, peer: IpAddr, state: SessionState, timeout: Duration) -> Result<()> {
        let what = format!("{} session with {peer} to be {state}", self.kind());
        poll_until(what, timeout, || {
            self.check_running()?;
            Ok(match self.session_state(peer) {
                Ok(s) if s == state => Poll::Ready(()),
                Ok(s) => Poll::Pending(s.to_string()),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })
    }

    /// Waits until the session with `peer` is anything but Established.
    fn wait_down(&self, peer: IpAddr, timeout: Duration) -> Result<SessionState> {
        let what = format!("{} session with {peer} to go down", self.kind());
        poll_until(what, timeout, || {
            self.check_running()?;
            Ok(match self.session_state(peer) {
                Ok(SessionState::Established) => Poll::Pending("Established".into()),
                Ok(s) => Poll::Ready(s),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })
    }
}

/// Waiting on routes; implemented for every [`BgpDaemon`] (including `dyn BgpDaemon`).
pub trait BgpDaemonExt: BgpDaemon {
    /// Polls [`BgpDaemon::routes`] until `predicate` accepts them; returns that snapshot.
    fn wait_routes<F>(&self, mut predicate: F, timeout: Duration) -> Result<Vec<RouteView>>
    where
        F: FnMut(&[RouteView]) -> bool,
    {
        let what = format!("{} routes to match the predicate", self.kind());
        poll_until(what, timeout, || {
            self.check_running()?;
            Ok(match self.routes() {
                Ok(routes) if predicate(&routes) => Poll::Ready(routes),
                Ok(routes) => Poll::Pending(format!("{routes:#?}")),
                Err(e) => Poll::Pending(e.to_string()),
            })
        })
    }

    /// Waits for a path to `prefix` learned from `peer` and returns it.
    fn wait_route_from(&self, prefix: IpNet, peer: IpAddr, timeout: Duration) -> Result<RouteView> {
        let routes = self.wait_routes(|rs| learned(rs, prefix, peer).is_some(), timeout)?;
        let route = learned(&routes, prefix, peer).cloned();
        route.ok_or_else(|| Error::parse("routes", "path vanished between checks"))
    }

    /// Waits until no path to `prefix` remains.
    fn wait_no_route(&self, prefix: IpNet, timeout: Duration) -> Result<()> {
        self.wait_routes(|rs| paths_to(rs, prefix).next().is_none(), timeout)
            .map(drop)
    }
}

impl<T: BgpDaemon + ?Sized> BgpDaemonExt for T {}

/// A daemon instance's scratch directory (config, sockets, pid files, logs) and processes.
///
/// The directory is removed on drop unless a test is panicking: then it is kept and its path
/// printed, for post-mortems.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) netns: String,
    /// The configuration in effect, including announcements made at run time.
    config: Mutex<BgpConfig>,
    pub(crate) processes: Vec<Process>,
    dir: Option<TempDir>,
    path: PathBuf,
}

impl Instance {
    /// Creates the scratch directory for a `kind` daemon in `netns` running `config`.
    pub(crate) fn new(kind: &str, netns: &Netns, config: BgpConfig) -> Result<Instance> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("flb-{kind}-"))
            .tempdir()
            .map_err(|e| Error::io("creating daemon directory", e))?;
        Ok(Instance {
            netns: netns.name().to_owned(),
            config: Mutex::new(config),
            processes: Vec::new(),
            path: dir.path().to_owned(),
            dir: Some(dir),
        })
    }

    /// The configuration in effect.
    pub(crate) fn config(&self) -> MutexGuard<'_, BgpConfig> {
        // A poisoned lock only means a panic elsewhere; the configuration is still whole.
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scratch directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.path
    }

    /// A path inside the scratch directory.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file into the scratch directory.
    pub(crate) fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.file(name);
        std::fs::write(&path, contents)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }

    /// Starts a process inside the namespace, logging to `<label>.log`.
    pub(crate) fn spawn(&mut self, label: &str, program: &str, args: &[&str]) -> Result<()> {
        let log = self.file(&format!("{}.log", label.replace('/', "-")));
        let mut cmd = command_in(&self.netns, program);
        cmd.args(args);
        let process = Process::spawn(label, cmd, &log)?;
        self.processes.push(process);
        Ok(())
    }

    /// Kills and forgets all processes (for restarts).
    pub(crate) fn kill_all(&mut self) -> Result<()> {
        for p in self.processes.iter().rev() {
            p.kill()?;
        }
        self.processes.clear();
        Ok(())
    }

    /// Stops all processes gracefully (SIGTERM, then SIGKILL after a grace period), in reverse
    /// start order (e.g. FRR's bgpd before zebra).
    pub(crate) fn stop_all(&mut self) {
        while let Some(p) = self.processes.pop() {
            if let Err(e) = p.terminate(STOP_GRACE) {
                tracing::warn!(label = p.label(), error = %e, "stopping daemon");
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop_all();
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("daemon files kept in {}", kept.display());
            }
        }
    }
}
