//! Network namespaces: isolated kernel network stacks for one test each.
//!
//! Every namespace is named `flb-<pid>-<counter>-<tag>`, so tests running in parallel processes
//! (cargo-nextest) never collide, and namespaces left behind by a killed test run can be told
//! apart from live ones: the first namespace a process creates sweeps away `flb-*` namespaces
//! whose owning pid no longer exists.
//!
//! Code can enter a namespace in two ways:
//! - as a child process ([`Netns::command`], [`Netns::exec`], [`Netns::spawn`]), through
//!   `ip netns exec`, which is how the routing daemons are started;
//! - as a thread of the test process ([`Netns::spawn_thread_in`], [`Netns::run_in`]) that has
//!   called `setns(CLONE_NEWNET)`, which is how FerroLB's own BGP code runs in-process. Sockets
//!   created on that thread, and threads it spawns (e.g. a tokio runtime's workers), belong to the
//!   namespace. A current-thread tokio runtime built on that thread is the simplest choice.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::process::{run, Process};
use crate::wait::{poll_until, Poll};

/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/run/netns";
/// Prefix of every namespace this crate creates.
pub const NAME_PREFIX: &str = "flb-";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// A uniquely named network namespace with `lo` up. Dropping it kills every process inside and
/// deletes it (also while a test panics).
#[derive(Debug)]
pub struct Netns {
    name: String,
    handle: File,
}

impl Netns {
    /// Creates a namespace; `tag` (a few letters, e.g. `"tor"`) only makes its name readable.
    pub fn new(tag: &str) -> Result<Netns> {
        SWEEP.call_once(sweep_stale);
        let tag: String = tag
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let pid = std::process::id();
        // A leftover namespace from an earlier process with the same pid makes `ip netns add`
        // fail with EEXIST; just move on to the next counter value.
        let mut last_error = None;
        for _ in 0..64 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{NAME_PREFIX}{pid}-{n}-{tag}");
            if Path::new(NETNS_DIR).join(&name).exists() {
                continue;
            }
            match run(Command::new("ip").args(["netns", "add", &name])) {
                Ok(_) => return Netns::open(name),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Config("no free namespace name".into())))
    }

    fn open(name: String) -> Result<Netns> {
        let path = Path::new(NETNS_DIR).join(&name);
        let handle = match File::open(&path) {
            Ok(handle) => handle,
            Err(e) => {
                delete_namespace(&name);
                return Err(Error::io(format!("opening {}", path.display()), e));
            }
        };
        let ns = Netns { name, handle };
        ns.ip(&["link", "set", "lo", "up"])?;
        // Without DAD, IPv6 addresses (including link-local ones) are usable immediately;
        // addresses are also added with `nodad` for good measure.
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        // Linux flushes an interface's IPv6 addresses when it goes down; keep them, so that
        // taking a link down and up (a partition) does not silently leave it IPv4-only.
        ns.sysctl("net.ipv6.conf.all.keep_addr_on_down", "1")?;
        tracing::debug!(netns = %ns.name, "created");
        Ok(ns)
    }

    /// The namespace's name as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A [`Command`] that runs `program` inside the namespace (`ip netns exec <name> program`).
    pub fn command(&self, program: &str) -> Command {
        command_in(&self.name, program)
    }

    /// Runs a command inside the namespace to completion and returns its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        run(self.command(program).args(args))
    }

    /// Runs `ip -n <name> <args>` and returns its stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        ip_in(&self.name, args)
    }

    /// Starts a long-running process inside the namespace, logging to `log`. The returned
    /// [`Process`] stops it when dropped; dropping the namespace kills it too.
    pub fn spawn(&self, label: &str, program: &str, args: &[&str], log: &Path) -> Result<Process> {
        let mut cmd = self.command(program);
        cmd.args(args);
        Process::spawn(label, cmd, log)
    }

    /// Sets a sysctl of this namespace, e.g. `("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = sysctl_path(key)?;
        let value = value.to_owned();
        self.run_in(move || std::fs::write(&path, value.as_bytes()))?
            .map_err(|e| Error::io(format!("setting {key} in {}", self.name), e))
    }

    /// Reads a sysctl of this namespace.
    pub fn read_sysctl(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key)?;
        self.run_in(move || std::fs::read_to_string(&path))?
            .map(|v| v.trim().to_owned())
            .map_err(|e| Error::io(format!("reading {key} in {}", self.name), e))
    }

    /// Turns on IPv4 and IPv6 forwarding, making the namespace a router.
    pub fn enable_forwarding(&self) -> Result<()> {
        self.sysctl("net.ipv4.ip_forward", "1")?;
        self.sysctl("net.ipv6.conf.all.forwarding", "1")
    }

    /// Sets `fib_multipath_hash_policy` for IPv4 and IPv6 (0 = L3, 1 = L4 five-tuple, ...), which
    /// decides how ECMP routes spread flows.
    pub fn set_multipath_hash_policy(&self, policy: u8) -> Result<()> {
        let policy = policy.to_string();
        self.sysctl("net.ipv4.fib_multipath_hash_policy", &policy)?;
        self.sysctl("net.ipv6.fib_multipath_hash_policy", &policy)
    }

    /// Adds an address to `lo` (how service IPs and router loopbacks are modelled; the kernel has
    /// no `dummy` links here).
    pub fn add_loopback_addr(&self, addr: IpNet) -> Result<()> {
        add_addr(&self.name, "lo", addr)
    }

    /// Sends one ICMP echo from inside the namespace; `Ok` if it was answered within a second.
    pub fn ping(&self, addr: IpAddr) -> Result<()> {
        self.exec(
            "ping",
            &["-n", "-q", "-c", "1", "-W", "1", &addr.to_string()],
        )
        .map(drop)
    }

    /// Pings until `addr` answers (e.g. while IPv6 neighbour discovery settles).
    pub fn wait_reachable(&self, addr: IpAddr, timeout: Duration) -> Result<()> {
        poll_until(
            format_args!("{addr} to answer pings from {}", self.name),
            timeout,
            || {
                Ok(match self.ping(addr) {
                    Ok(()) => Poll::Ready(()),
                    Err(e) => Poll::Pending(e.to_string()),
                })
            },
        )
    }

    /// Process ids of everything running inside the namespace.
    pub fn pids(&self) -> Result<Vec<u32>> {
        namespace_pids(&self.name)
    }

    /// Runs `f` on a new OS thread that has entered the namespace and returns a handle to join
    /// it. Use this for long-running in-process code (e.g. a tokio runtime driving a BGP speaker).
    ///
    /// Join the thread before the namespace is dropped: while it runs, the namespace's kernel
    /// object stays alive even after its name is deleted.
    pub fn spawn_thread_in<F, T>(&self, f: F) -> Result<NsThread<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = self
            .handle
            .try_clone()
            .map_err(|e| Error::io("duplicating namespace handle", e))?;
        let name = self.name.clone();
        let (entered_tx, entered_rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name(format!("netns {name}"))
            .spawn(move || {
                let entered = enter(&handle, &name);
                drop(handle);
                let ok = entered.is_ok();
                // The receiver waits for this message, so the send cannot fail in practice.
                let _ = entered_tx.send(entered);
                ok.then(f)
            })
            .map_err(|e| Error::io("spawning namespace thread", e))?;
        match entered_rx.recv() {
            Ok(Ok(())) => Ok(NsThread { thread }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(Error::Config(
                "namespace thread ended before entering the namespace".into(),
            )),
        }
    }

    /// Runs `f` to completion on a thread inside the namespace and returns its result; a panic
    /// in `f` is propagated. `f` may borrow from the caller.
    pub fn run_in<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        thread::scope(|scope| {
            let joined = scope
                .spawn(|| -> Result<T> {
                    enter(&self.handle, &self.name)?;
                    Ok(f())
                })
                .join();
            match joined {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete_namespace(&self.name);
        tracing::debug!(netns = %self.name, "deleted");
    }
}

/// A thread running inside a namespace; see [`Netns::spawn_thread_in`].
#[derive(Debug)]
pub struct NsThread<T> {
    thread: JoinHandle<Option<T>>,
}

impl<T> NsThread<T> {
    /// Waits for the thread to finish; `Err` carries its panic payload.
    pub fn join(self) -> thread::Result<T> {
        self.thread.join().and_then(|value| {
            value.ok_or_else(|| Box::new("thread never entered its namespace") as _)
        })
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

/// Moves the calling thread into the namespace behind `handle`.
fn enter(handle: &File, name: &str) -> Result<()> {
    // SAFETY: setns(2) only reads the descriptor, which `handle` keeps open for the call.
    // CLONE_NEWNET is per-thread, so the rest of the process is unaffected.
    let rc = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(Error::io(
            format!("setns into {name}"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// `net.ipv4.ip_forward` -> `/proc/sys/net/ipv4/ip_forward`. Keys naming an interface with a dot
/// in it are not supported (none of the testbed's do).
fn sysctl_path(key: &str) -> Result<String> {
    if key.is_empty() || key.contains(['/', ' ']) || key.split('.').any(str::is_empty) {
        return Err(Error::Config(format!("bad sysctl key {key:?}")));
    }
    Ok(format!("/proc/sys/{}", key.replace('.', "/")))
}

/// A [`Command`] running `program` inside the namespace named `ns`.
pub(crate) fn command_in(ns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]);
    cmd
}

/// Runs `ip -n <ns> <args>`.
pub(crate) fn ip_in(ns: &str, args: &[&str]) -> Result<String> {
    run(Command::new("ip").args(["-n", ns]).args(args))
}

/// Adds `addr` to interface `dev` in namespace `ns`. IPv6 addresses get `nodad` so they are
/// usable at once instead of after duplicate address detection.
pub(crate) fn add_addr(ns: &str, dev: &str, addr: IpNet) -> Result<()> {
    let addr = addr.to_string();
    let mut args = vec!["addr", "add", addr.as_str(), "dev", dev];
    if addr.contains(':') {
        args.push("nodad");
    }
    ip_in(ns, &args).map(drop)
}

fn namespace_pids(name: &str) -> Result<Vec<u32>> {
    let out = run(Command::new("ip").args(["netns", "pids", name]))?;
    Ok(out
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect())
}

/// Kills everything inside the namespace, then deletes it. Best effort: this runs in `Drop`.
fn delete_namespace(name: &str) {
    let own = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let pids: Vec<u32> = namespace_pids(name)
            .unwrap_or_default()
            .into_iter()
            .filter(|&pid| pid != own)
            .collect();
        if pids.is_empty() || Instant::now() >= deadline {
            if !pids.is_empty() {
                tracing::warn!(netns = name, ?pids, "processes survived SIGKILL");
            }
            break;
        }
        for pid in pids {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) has no memory-safety preconditions. The pid was just listed as
                // living in our namespace, which only the test's own daemons use.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    if let Err(e) = run(Command::new("ip").args(["netns", "delete", name])) {
        tracing::warn!(netns = name, error = %e, "deleting namespace");
    }
}

/// The pid embedded in a testbed namespace name, if it is one.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(NAME_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Deletes testbed namespaces whose creating process is gone (left over from killed test runs).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = owner_pid(&name) {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                tracing::info!(netns = %name, "removing stale namespace");
                delete_namespace(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_map_to_proc_paths() {
        let cases = [
            ("net.ipv4.ip_forward", Some("/proc/sys/net/ipv4/ip_forward")),
            (
                "net.ipv6.conf.all.forwarding",
                Some("/proc/sys/net/ipv6/conf/all/forwarding"),
            ),
            ("net..x", None),
            ("", None),
            ("net/ipv4", None),
            ("net.ipv4.ip_forward ", None),
        ];
        for (key, want) in cases {
            assert_eq!(sysctl_path(key).ok().as_deref(), want, "key {key:?}");
        }
    }

    #[test]
    fn owner_pid_is_read_from_testbed_names_only() {
        let cases = [
            ("flb-1234-0-tor", Some(1234)),
            ("flb-77-12-", Some(77)),
            ("flb-x-1", None),
            ("other-1234-0", None),
            ("flb-", None),
        ];
        for (name, want) in cases {
            assert_eq!(owner_pid(name), want, "name {name:?}");
        }
    }
}
