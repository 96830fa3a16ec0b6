//! FRR's `vrrpd` (with the `zebra` it needs) in a router namespace of the [`Lan`].
//!
//! FRR serves a virtual router through a macvlan child of the interface (bridge mode, so the
//! parent still sees every advertisement) carrying the virtual MAC 00-00-5E-00-01-{VRID} and
//! the virtual address; in Backup it sets the macvlan `protodown`. The parent must not answer
//! ARP for the virtual address itself (`arp_ignore=1`), or a backup would claim it with the
//! interface's own MAC.
//!
//! Each instance gets its own pathspace (`-N`) and scratch directory, chowned to the `frr`
//! user the daemons switch to (FRR refuses to run as root).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ferrolb_testbed::process::Process;
use serde_json::Value;

use super::{wait_until, Lan, VIP, VRID};

static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// The macvlan FRR's virtual router uses.
pub const MACVLAN: &str = "vrrp4-51";

/// The IPv4 virtual MAC of the LAN's virtual router (RFC 5798 7.3).
pub fn virtual_mac() -> String {
    format!("00:00:5e:00:01:{VRID:02x}")
}

/// zebra + vrrpd in router `i`'s namespace; stopped when dropped.
pub struct FrrVrrp {
    name: String,
    dir: PathBuf,
    /// vrrpd first, so it goes before zebra on drop.
    pub vrrpd: Process,
    pub zebra: Process,
}

impl FrrVrrp {
    /// Creates the macvlan (if absent) and starts FRR with `priority` and an advertisement
    /// interval of `advert_interval_cs` centiseconds.
    pub fn start(lan: &Lan, i: usize, priority: u8, advert_interval_cs: u16) -> FrrVrrp {
        let ns = &lan.routers[i];
        if ns.ip(&["link", "show", MACVLAN]).is_err() {
            let mac = virtual_mac();
            for args in [
                &[
                    "link", "add", MACVLAN, "link", "eth0", "type", "macvlan", "mode", "bridge",
                ][..],
                &["link", "set", MACVLAN, "address", &mac],
                &["addr", "add", &format!("{VIP}/32"), "dev", MACVLAN],
                &["link", "set", MACVLAN, "up"],
            ] {
                ns.ip(args).unwrap();
            }
            ns.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
        }
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let name = format!("fv{}x{n}", std::process::id());
        let dir = lan.dir.join(&name);
        for sub in [format!("vty/{name}"), format!("etc/{name}")] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join(format!("etc/{name}/vtysh.conf")), "").unwrap();
        let basic = format!("hostname {name}\nlog stdout informational\n");
        std::fs::write(dir.join("zebra.conf"), &basic).unwrap();
        std::fs::write(
            dir.join("vrrpd.conf"),
            format!(
                "{basic}interface eth0\n vrrp {VRID} version 3\n vrrp {VRID} priority {priority}\n \
                 vrrp {VRID} advertisement-interval {}\n vrrp {VRID} ip {VIP}\nexit\n",
                u32::from(advert_interval_cs) * 10
            ),
        )
        .unwrap();
        let status = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        let spawn = |daemon: &str| {
            let path = |f: &str| dir.join(f).display().to_string();
            let args = [
                "-N".to_owned(),
                name.clone(),
                "-f".to_owned(),
                path(&format!("{daemon}.conf")),
                "-i".to_owned(),
                path(&format!("{daemon}.pid")),
                "-z".to_owned(),
                path("zserv.api"),
                "--vty_socket".to_owned(),
                path(&format!("vty/{name}")),
                "-u".to_owned(),
                "frr".to_owned(),
                "-g".to_owned(),
                "frr".to_owned(),
                "-P".to_owned(),
                "0".to_owned(),
            ];
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ns.spawn(
                &format!("frr/{daemon}"),
                &format!("/usr/lib/frr/{daemon}"),
                &args,
                &dir.join(format!("{daemon}.log")),
            )
            .unwrap()
        };
        let zebra = spawn("zebra");
        wait_until("zebra's socket", Duration::from_secs(15), || {
            dir.join("zserv.api").exists()
        });
        let vrrpd = spawn("vrrpd");
        let frr = FrrVrrp {
            name,
            dir,
            vrrpd,
            zebra,
        };
        wait_until("vrrpd to answer", Duration::from_secs(15), || {
            frr.show().is_some()
        });
        frr
    }

    /// `show vrrp json` for the LAN's virtual router, if vrrpd answers.
    fn show(&self) -> Option<Value> {
        let out = Command::new("vtysh")
            .args(["-N", &self.name, "--vty_socket"])
            .arg(self.dir.join("vty"))
            .arg("--config_dir")
            .arg(self.dir.join("etc"))
            .args(["-c", "show vrrp json"])
            .output()
            .ok()?;
        let doc: Value = serde_json::from_slice(&out.stdout).ok()?;
        doc.as_array()?
            .iter()
            .find(|r| r["vrid"] == u64::from(VRID))
            .cloned()
    }

    /// The IPv4 virtual router's state as vrrpd reports it ("Master", "Backup", ...).
    pub fn state(&self) -> Option<String> {
        Some(self.show()?["v4"]["status"].as_str()?.to_owned())
    }

    /// Waits until vrrpd reports `state`.
    pub fn wait_state(&self, state: &str) {
        wait_until(&format!("FRR vrrpd {state}"), super::WAIT, || {
            self.state().as_deref() == Some(state)
        });
    }

    /// Advertisements vrrpd received for the virtual router.
    pub fn adverts_received(&self) -> u64 {
        self.show()
            .and_then(|r| r["v4"]["stats"]["adverRx"].as_u64())
            .unwrap_or(0)
    }
}

impl Drop for FrrVrrp {
    fn drop(&mut self) {
        // `-N` makes the daemons create this (empty) directory.
        let _ = std::fs::remove_dir(format!("/var/run/frr/{}", self.name));
    }
}
