//! A LAN of network namespaces for VRRP tests and the failover benchmark: two routers and a
//! client on one bridge, FerroLB instances run in-process on a thread inside a router's
//! namespace, and keepalived run as a process.
#![allow(dead_code)]

pub mod bfd;
pub mod capture;
pub mod frr;
pub mod member;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ferrolb_testbed::netns::{Netns, NsThread};
use ferrolb_testbed::process::Process;
use ferrolb_vrrp::{Instance, InstanceConfig, State, Status};
use tokio::sync::{mpsc, watch};

/// The virtual address the routers share.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
/// The IPv6 virtual address of [`Lan::new_ipv6`].
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 0x50);
/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
/// The virtual router ID.
pub const VRID: u8 = 51;
/// Generous bound for anything to happen (never a performance assertion).
pub const WAIT: Duration = Duration::from_secs(30);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The address of router `i` (0 or 1).
pub fn router_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, 1 + i as u8)
}

/// Two routers and a client on one bridge.
pub struct Lan {
    pub routers: [Netns; 2],
    pub client: Netns,
    /// The namespace holding the bridge (dropped last).
    pub switch: Netns,
    /// Logs and configuration files.
    pub dir: PathBuf,
    /// The virtual address: [`VIP`], or [`VIP6`] on an IPv6 LAN.
    pub vip: IpAddr,
}

impl Lan {
    /// A LAN sharing [`VIP6`]: every host also has an address in fd00:77::/64.
    pub fn new_ipv6() -> Lan {
        let mut lan = Lan::new();
        lan.vip = VIP6.into();
        lan
    }

    pub fn new() -> Lan {
        let switch = Netns::new("vsw").unwrap();
        switch
            .ip(&[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
                "mcast_snooping",
                "0",
            ])
            .unwrap();
        switch.ip(&["link", "set", "br0", "up"]).unwrap();
        let routers = [Netns::new("vr1").unwrap(), Netns::new("vr2").unwrap()];
        let client = Netns::new("vcl").unwrap();
        let hosts = [
            (&routers[0], "p0", router_addr(0)),
            (&routers[1], "p1", router_addr(1)),
            (&client, "pc", CLIENT),
        ];
        for (ns, port, addr) in hosts {
            switch
                .ip(&[
                    "link",
                    "add",
                    port,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    ns.name(),
                ])
                .unwrap();
            switch
                .ip(&["link", "set", port, "master", "br0", "up"])
                .unwrap();
            // No duplicate address detection: the link-local address is usable at once.
            ns.sysctl("net.ipv6.conf.eth0.accept_dad", "0").unwrap();
            ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"])
                .unwrap();
            let v6 = format!("fd00:77::{}/64", addr.octets()[3]);
            ns.ip(&["addr", "add", &v6, "dev", "eth0", "nodad"])
                .unwrap();
            ns.ip(&["link", "set", "eth0", "up"]).unwrap();
        }
        let dir = std::env::temp_dir().join(format!(
            "ferrolb-vrrp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Lan {
            routers,
            client,
            switch,
            dir,
            vip: VIP.into(),
        }
    }

    /// Cuts (or restores) the routers off from each other; the client still reaches both
    /// (bridge port isolation: isolated ports only talk to non-isolated ones).
    pub fn partition(&self, on: bool) {
        let flag = if on { "on" } else { "off" };
        for port in ["p0", "p1"] {
            self.switch
                .exec("bridge", &["link", "set", "dev", port, "isolated", flag])
                .unwrap();
        }
    }

    /// Takes router `i`'s link down or up, as a dead or revived machine looks to the LAN.
    pub fn set_router_link(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        self.routers[i].ip(&["link", "set", "eth0", state]).unwrap();
    }

    /// Router `i`'s MAC address.
    pub fn mac(&self, i: usize) -> String {
        let out = self.routers[i].ip(&["-o", "link", "show", "eth0"]).unwrap();
        let mac = out
            .split("link/ether ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next());
        mac.unwrap().to_owned()
    }

    /// Whether router `i` serves the VIP: the address on an interface that is up (its own
    /// interface, or a macvlan child of it carrying the virtual MAC).
    pub fn holds_vip(&self, i: usize) -> bool {
        let out = self.routers[i].ip(&["-o", "addr", "show"]).unwrap();
        let vip = format!(" {}/{} ", self.vip, self.vip_prefix());
        out.lines()
            .filter(|l| l.contains(&vip))
            .filter_map(|l| l.split_whitespace().nth(1))
            .any(|dev| {
                let link = self.routers[i].ip(&["-o", "link", "show", dev]).unwrap();
                link.contains("state UP")
            })
    }

    /// The switch port behind which the bridge last saw `mac`.
    pub fn switch_port_of(&self, mac: &str) -> Option<String> {
        let out = self
            .switch
            .exec("bridge", &["fdb", "show", "br", "br0"])
            .ok()?;
        let line = out.lines().find(|l| l.starts_with(&format!("{mac} ")))?;
        Some(
            line.split(" dev ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_owned(),
        )
    }

    /// The VIP's prefix length (a host address).
    pub fn vip_prefix(&self) -> u8 {
        if self.vip.is_ipv6() {
            128
        } else {
            32
        }
    }

    /// A FerroLB instance config for this LAN's VIP.
    pub fn ferrolb_config(&self, priority: u8, advert_interval: u16) -> InstanceConfig {
        let mut c = ferrolb_config(priority, advert_interval);
        c.addresses = vec![self.vip];
        c
    }

    /// Which routers hold the VIP.
    pub fn holders(&self) -> Vec<usize> {
        (0..2).filter(|&i| self.holds_vip(i)).collect()
    }

    /// The MAC the client reaches the VIP at, if a ping through it is answered.
    pub fn client_reaches_vip(&self) -> Option<String> {
        self.client.ping(self.vip).ok()?;
        self.client_neighbor()
    }

    /// The MAC in the client's neighbour entry for the VIP, read without sending anything.
    pub fn client_neighbor(&self) -> Option<String> {
        let out = self
            .client
            .ip(&["neigh", "show", &self.vip.to_string(), "dev", "eth0"])
            .ok()?;
        let mac = out.split("lladdr ").nth(1)?.split_whitespace().next()?;
        Some(mac.to_owned())
    }

    /// Waits until router `i` alone holds the VIP and the client reaches it at `i`'s MAC.
    pub fn wait_vip_at(&self, i: usize) {
        self.wait_vip_at_mac(i, &self.mac(i));
    }

    /// Waits until router `i` alone holds the VIP and the client reaches it at `mac`.
    pub fn wait_vip_at_mac(&self, i: usize, mac: &str) {
        wait_until(&format!("VIP at router {i} ({mac}) only"), WAIT, || {
            self.holders() == [i] && self.client_reaches_vip().as_deref() == Some(mac)
        });
    }

    /// Asserts that the VIP stays on router `i` alone for `window` (checked every 50 ms).
    pub fn assert_vip_stays_at(&self, i: usize, window: Duration) {
        let end = Instant::now() + window;
        while Instant::now() < end {
            assert_eq!(self.holders(), [i], "VIP holders during a quiet period");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` until it holds, or panics after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A runtime for a thread inside a namespace (its sockets are made there).
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An instance config for router `i` of the LAN.
pub fn ferrolb_config(priority: u8, advert_interval: u16) -> InstanceConfig {
    let mut c = InstanceConfig::new("vip", "eth0", VRID, vec![VIP]);
    c.priority = priority;
    c.advert_interval = advert_interval;
    c
}

enum Command {
    Fault(bool),
    MasterUnreachable(IpAddr),
    Stop,
    Kill,
}

/// A FerroLB VRRP instance on its own thread inside a router namespace.
pub struct FerroNode {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    thread: Option<NsThread<()>>,
    virtual_mac: bool,
}

impl FerroNode {
    pub fn start(ns: &Netns, config: InstanceConfig) -> FerroNode {
        let virtual_mac = config.virtual_mac;
        let (commands, mut commands_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = ns
            .spawn_thread_in(move || {
                let rt = current_thread_runtime();
                let left = rt.block_on(async move {
                    let instance = match Instance::start(config).await {
                        Ok(i) => i,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return None;
                        }
                    };
                    let _ = ready_tx.send(Ok(instance.watch()));
                    loop {
                        match commands_rx.recv().await {
                            Some(Command::Fault(f)) => instance.set_fault(f),
                            Some(Command::MasterUnreachable(a)) => instance.master_unreachable(a),
                            Some(Command::Stop) | None => {
                                instance.shutdown().await;
                                return None;
                            }
                            Some(Command::Kill) => return Some(instance),
                        }
                    }
                });
                // A kill: the runtime goes first, so the instance's task never runs again
                // (no resignation, the addresses stay), as when the process dies.
                drop(rt);
                drop(left);
            })
            .unwrap();
        let status = ready_rx.recv().unwrap().unwrap();
        FerroNode {
            commands,
            status,
            thread: Some(thread),
            virtual_mac,
        }
    }

    /// Whether the instance serves its addresses from the virtual MAC.
    pub fn uses_virtual_mac(&self) -> bool {
        self.virtual_mac
    }

    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub fn wait_state(&self, state: State) {
        wait_until(&format!("FerroLB {state:?}"), WAIT, || {
            self.status().state == state
        });
    }

    pub fn set_fault(&self, fault: bool) {
        self.commands.send(Command::Fault(fault)).unwrap();
    }

    /// A function telling the instance that the router at an address is unreachable (as the
    /// router does when a BFD session fails).
    pub fn unreachable_notifier(&self) -> impl Fn(IpAddr) + Send + 'static {
        let commands = self.commands.clone();
        move |address| {
            let _ = commands.send(Command::MasterUnreachable(address));
        }
    }

    /// A clean stop: resigns with priority 0 and removes the VIP.
    pub fn stop(mut self) {
        let _ = self.commands.send(Command::Stop);
        self.join();
    }

    /// An abrupt stop: no resignation, the VIP stays on the interface.
    pub fn kill(mut self) {
        let _ = self.commands.send(Command::Kill);
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for FerroNode {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// keepalived (VRRP only, `vrrp_version 3`) in a router namespace.
pub struct Keepalived {
    pub process: Process,
    /// Whether it serves the VIP from the virtual MAC.
    pub virtual_mac: bool,
}

impl Keepalived {
    /// keepalived on router `i`, serving the VIP from the interface's own MAC.
    pub fn start(lan: &Lan, i: usize, priority: u8, advert_interval_cs: u16) -> Keepalived {
        Self::start_with_mac(lan, i, priority, advert_interval_cs, false)
    }

    /// keepalived on router `i`; with `virtual_mac`, from a macvlan carrying the virtual MAC
    /// (`use_vmac`).
    pub fn start_with_mac(
        lan: &Lan,
        i: usize,
        priority: u8,
        advert_interval_cs: u16,
        virtual_mac: bool,
    ) -> Keepalived {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = lan.dir.join(format!("keepalived-{i}-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("keepalived.conf");
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  router_id r{i}\n  vrrp_version 3\n  enable_script_security\n}}\n\
                 vrrp_instance VI {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {VRID}\n  \
                 priority {priority}\n  advert_int {}\n{}  virtual_ipaddress {{\n    {}/{}{}\n  }}\n}}\n",
                f64::from(advert_interval_cs) / 100.0,
                if virtual_mac { "  use_vmac\n" } else { "" },
                lan.vip,
                lan.vip_prefix(),
                if virtual_mac { "" } else { " dev eth0" },
            ),
        )
        .unwrap();
        let path = |f: &str| dir.join(f).display().to_string();
        let args = [
            "-n".to_owned(),
            "-l".to_owned(),
            "-D".to_owned(),
            "--vrrp".to_owned(),
            "-f".to_owned(),
            conf.display().to_string(),
            "-p".to_owned(),
            path("keepalived.pid"),
            "-r".to_owned(),
            path("vrrp.pid"),
            "-c".to_owned(),
            path("checkers.pid"),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = lan.routers[i]
            .spawn(
                "keepalived",
                "keepalived",
                &args,
                &dir.join("keepalived.log"),
            )
            .unwrap();
        Keepalived {
            process,
            virtual_mac,
        }
    }

    /// Whether keepalived's log says it entered `state` (e.g. "MASTER", "BACKUP") lately.
    pub fn last_state(&self) -> Option<String> {
        let log = self.process.log();
        log.lines().rev().find_map(|l| {
            let rest = l.split("Entering ").nth(1)?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
    }

    /// SIGKILL to every keepalived process of the namespace (parent and VRRP child). All are
    /// frozen first: the child must not see its parent die (keepalived's children then get
    /// SIGTERM and resign cleanly) before its own SIGKILL.
    pub fn kill_all(&self, ns: &Netns) {
        let pids = ns.pids().unwrap();
        for signal in [libc::SIGSTOP, libc::SIGKILL] {
            for &pid in &pids {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid as libc::pid_t, signal) };
            }
        }
        let _ = self.process.kill();
    }
}
