//! The three routers under test, each given the same job in its own syntax: accept the workers'
//! eBGP sessions (passively, hold time 90 s), import the service pool, send them nothing, and
//! install every prefix as one ECMP kernel route over all workers announcing it, optionally with
//! BFD on every session:
//!
//! - FerroLB: `ferrolb-router` with a peer group over the workers' subnet ([`ferrolb_yaml`]);
//! - BIRD 2: `bird` with a kernel protocol merging up to 64 paths ([`bird_conf`]);
//! - FRR 8.4: zebra + bgpd (+ bfdd) from the testbed, then `maximum-paths 64` and the BFD
//!   profile set through vtysh ([`frr_commands`]).

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use ferrolb_testbed::{Advertise, BgpConfig, BgpDaemon, Frr, Neighbor, Netns, Process};
use ipnet::Ipv4Net;

use crate::memory::ProcessGroup;

/// How long a daemon may take to answer on its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The BFD profile's name in FerroLB's and FRR's configuration.
const BFD_PROFILE: &str = "bench";

/// Which router is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum RouterKind {
    /// `ferrolb-router`.
    Ferrolb,
    /// BIRD 2.
    Bird,
    /// FRR 8.4 (zebra + bgpd).
    Frr,
}

impl RouterKind {
    /// All three, FerroLB first (the others are compared with it).
    pub const ALL: [RouterKind; 3] = [RouterKind::Ferrolb, RouterKind::Bird, RouterKind::Frr];
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouterKind::Ferrolb => "FerroLB",
            RouterKind::Bird => "BIRD 2",
            RouterKind::Frr => "FRR 8.4",
        })
    }
}

/// BFD timers: the same interval both ways and a detection multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdTimers {
    /// Transmit and receive interval, in milliseconds.
    pub interval_ms: u32,
    /// Detection multiplier.
    pub multiplier: u8,
}

/// What every router is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterPlan {
    /// The router's AS.
    pub asn: u32,
    /// Its address on the workers' segment (also its router id).
    pub address: Ipv4Addr,
    /// The segment.
    pub subnet: Ipv4Net,
    /// The workers' AS (all share one, like a cluster's speakers).
    pub worker_asn: u32,
    /// The workers' addresses.
    pub workers: Vec<Ipv4Addr>,
    /// The service pool every benchmark prefix lies in.
    pub pool: Ipv4Net,
    /// BGP hold time on every session, in seconds.
    pub hold_time: u16,
    /// BFD on every session, when set.
    pub bfd: Option<BfdTimers>,
}

/// `ferrolb-router`'s configuration.
pub fn ferrolb_yaml(plan: &RouterPlan) -> String {
    let mut y = String::new();
    let _ = writeln!(y, "routerId: {}\nasn: {}", plan.address, plan.asn);
    if let Some(t) = plan.bfd {
        let _ = writeln!(
            y,
            "bfd:\n  profiles:\n    - {{name: {BFD_PROFILE}, transmitInterval: {i}, receiveInterval: {i}, detectMultiplier: {m}}}",
            i = t.interval_ms,
            m = t.multiplier
        );
    }
    let _ = writeln!(
        y,
        "bgp:\n  listenAddresses: [{}]\n  peerGroups:\n    - name: workers\n      listenRanges: [{}]\n      allowedAsns: [{}]\n      holdTime: {}s",
        plan.address, plan.subnet, plan.worker_asn, plan.hold_time
    );
    if plan.bfd.is_some() {
        let _ = writeln!(y, "      bfd: {BFD_PROFILE}");
    }
    let _ = writeln!(
        y,
        "import:\n  servicePools: [{}]\nlogging:\n  format: human\n  level: info",
        plan.pool
    );
    y
}

/// BIRD's protocol name for a worker.
fn bird_protocol(worker: Ipv4Addr) -> String {
    format!("w{}", worker.to_string().replace('.', "_"))
}

/// BIRD 2's configuration.
pub fn bird_conf(plan: &RouterPlan) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "log stderr {{ info, warning, error, fatal }};");
    let _ = writeln!(c, "router id {};", plan.address);
    let _ = writeln!(c, "protocol device {{ scan time 10; }}");
    let _ = writeln!(
        c,
        "protocol kernel {{ ipv4 {{ import none; export where source = RTS_BGP; }}; merge paths on limit 64; }}"
    );
    if let Some(t) = plan.bfd {
        let _ = writeln!(
            c,
            "protocol bfd {{ interface \"*\" {{ min rx interval {i} ms; min tx interval {i} ms; multiplier {m}; }}; }}",
            i = t.interval_ms,
            m = t.multiplier
        );
    }
    for w in &plan.workers {
        let _ = writeln!(c, "protocol bgp {} {{", bird_protocol(*w));
        let _ = writeln!(c, "  local {} as {};", plan.address, plan.asn);
        let _ = writeln!(c, "  neighbor {w} as {};", plan.worker_asn);
        let _ = writeln!(c, "  passive on;");
        let _ = writeln!(c, "  hold time {};", plan.hold_time);
        let _ = writeln!(c, "  error wait time 1, 4;");
        if plan.bfd.is_some() {
            let _ = writeln!(c, "  bfd on;");
        }
        let _ = writeln!(
            c,
            "  ipv4 {{ import where net ~ [ {}+ ]; export none; }};",
            plan.pool
        );
        let _ = writeln!(c, "}}");
    }
    c
}

/// The testbed configuration FRR starts from: passive sessions to the workers, routes to the
/// kernel through zebra, multipath, nothing advertised.
pub fn frr_config(plan: &RouterPlan) -> BgpConfig {
    let mut config = BgpConfig::new(plan.asn, plan.address)
        .fib_install(true)
        .multipath(true);
    for w in &plan.workers {
        let mut n = Neighbor::new(IpAddr::V4(*w), plan.worker_asn)
            .passive()
            .hold_time(plan.hold_time)
            .advertise(Advertise::Nothing);
        if plan.bfd.is_some() {
            n = n.bfd();
        }
        config = config.neighbor(n);
    }
    config
}

/// The vtysh commands that finish FRR's configuration: up to 64 ECMP paths and, with BFD, the
/// profile on every neighbour.
pub fn frr_commands(plan: &RouterPlan) -> Vec<String> {
    let mut c = vec!["configure terminal".to_owned()];
    if let Some(t) = plan.bfd {
        c.extend([
            "bfd".to_owned(),
            format!("profile {BFD_PROFILE}"),
            format!("transmit-interval {}", t.interval_ms),
            format!("receive-interval {}", t.interval_ms),
            format!("detect-multiplier {}", t.multiplier),
            "exit".to_owned(),
            "exit".to_owned(),
        ]);
    }
    c.push(format!("router bgp {}", plan.asn));
    if plan.bfd.is_some() {
        for w in &plan.workers {
            c.push(format!("neighbor {w} bfd profile {BFD_PROFILE}"));
        }
    }
    c.extend([
        "address-family ipv4 unicast".to_owned(),
        "maximum-paths 64".to_owned(),
        "exit-address-family".to_owned(),
        "exit".to_owned(),
    ]);
    c
}

/// A running router; its processes stop when it is dropped.
#[derive(Debug)]
pub enum RunningRouter {
    /// `ferrolb-router` or `bird`, with the directory holding its configuration and log.
    Single {
        /// The process.
        process: Process,
        /// Its files.
        dir: tempfile::TempDir,
    },
    /// FRR's daemons.
    Frr(Box<Frr>),
}

fn io_error(context: &str) -> impl FnOnce(std::io::Error) -> ferrolb_testbed::Error + '_ {
    move |source| ferrolb_testbed::Error::Io {
        context: context.to_owned(),
        source,
    }
}

impl RunningRouter {
    /// Starts `kind` in `netns` configured from `plan`; `ferrolb_router` is that executable.
    /// Returns once it is ready to accept sessions (FRR and BIRD answer their CLIs).
    pub fn start(
        kind: RouterKind,
        netns: &Netns,
        plan: &RouterPlan,
        ferrolb_router: &Path,
    ) -> ferrolb_testbed::Result<RunningRouter> {
        if kind == RouterKind::Frr {
            let frr = Frr::start(netns, frr_config(plan))?;
            let commands = frr_commands(plan);
            let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
            frr.vtysh(&commands)?;
            return Ok(RunningRouter::Frr(Box::new(frr)));
        }
        let dir = tempfile::Builder::new()
            .prefix("flb-router-bench-")
            .tempdir()
            .map_err(io_error("creating a directory"))?;
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let (conf, text) = match kind {
            RouterKind::Bird => (path("bird.conf"), bird_conf(plan)),
            _ => (path("router.yaml"), ferrolb_yaml(plan)),
        };
        std::fs::write(&conf, text).map_err(io_error("writing the configuration"))?;
        let log = dir.path().join("dut.log");
        let process = match kind {
            RouterKind::Bird => {
                let socket = path("bird.ctl");
                let pid = path("bird.pid");
                let args = ["-c", &conf, "-s", &socket, "-P", &pid, "-f"];
                let process = netns.spawn("bird", "bird", &args, &log)?;
                ferrolb_testbed::poll_until("BIRD to start", START_TIMEOUT, || {
                    process.check_running()?;
                    let out = std::process::Command::new("birdc")
                        .args(["-s", &socket, "show", "status"])
                        .output();
                    Ok(match out {
                        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("up and running") => {
                            ferrolb_testbed::Poll::Ready(())
                        }
                        _ => ferrolb_testbed::Poll::Pending("no answer".into()),
                    })
                })?;
                process
            }
            _ => {
                let program = ferrolb_router.to_string_lossy();
                netns.spawn("ferrolb-router", &program, &["--config", &conf], &log)?
            }
        };
        Ok(RunningRouter::Single { process, dir })
    }

    /// The ends of its logs.
    pub fn log(&self) -> String {
        match self {
            RunningRouter::Single { process, .. } => process.log(),
            RunningRouter::Frr(frr) => frr.log(),
        }
    }
}

impl ProcessGroup for RunningRouter {
    fn processes(&self) -> &[Process] {
        match self {
            RunningRouter::Single { process, .. } => std::slice::from_ref(process),
            RunningRouter::Frr(frr) => frr.processes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(bfd: bool) -> RouterPlan {
        RouterPlan {
            asn: 65000,
            address: Ipv4Addr::new(198, 18, 0, 1),
            subnet: "198.18.0.0/24".parse().unwrap(),
            worker_asn: 65100,
            workers: vec![Ipv4Addr::new(198, 18, 0, 11), Ipv4Addr::new(198, 18, 0, 12)],
            pool: "16.0.0.0/4".parse().unwrap(),
            hold_time: 90,
            bfd: bfd.then_some(BfdTimers {
                interval_ms: 50,
                multiplier: 3,
            }),
        }
    }

    #[test]
    fn ferrolb_gets_a_valid_configuration_with_the_same_job() {
        for bfd in [false, true] {
            let yaml = ferrolb_yaml(&plan(bfd));
            let config = ferrolb_api::RouterConfig::from_yaml_str(&yaml)
                .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            let group = &config.bgp.peer_groups[0];
            assert_eq!(group.allowed_asns, vec![65100]);
            assert_eq!(group.listen_ranges, vec!["198.18.0.0/24".parse().unwrap()]);
            assert_eq!(
                config.import.service_pools,
                vec!["16.0.0.0/4".parse().unwrap()]
            );
            assert_eq!(group.bfd.is_some(), bfd);
            if bfd {
                let profile = &config.bfd.profiles[0];
                assert_eq!(
                    (
                        profile.transmit_interval,
                        profile.receive_interval,
                        profile.detect_multiplier
                    ),
                    (Some(50), Some(50), Some(3))
                );
            }
        }
    }

    #[test]
    fn bird_merges_paths_and_peers_with_every_worker() {
        let text = bird_conf(&plan(true));
        for want in [
            "merge paths on limit 64;",
            "min rx interval 50 ms; min tx interval 50 ms; multiplier 3;",
            "neighbor 198.18.0.11 as 65100;",
            "neighbor 198.18.0.12 as 65100;",
            "import where net ~ [ 16.0.0.0/4+ ]; export none;",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        assert_eq!(text.matches("bfd on;").count(), 2);
        assert!(!bird_conf(&plan(false)).contains("bfd"));
    }

    #[test]
    fn frr_gets_64_paths_and_the_bfd_profile_on_every_neighbour() {
        let commands = frr_commands(&plan(true));
        for want in [
            "maximum-paths 64",
            "transmit-interval 50",
            "receive-interval 50",
            "detect-multiplier 3",
            "neighbor 198.18.0.12 bfd profile bench",
        ] {
            assert!(
                commands.iter().any(|c| c == want),
                "{want:?} in {commands:?}"
            );
        }
        let config = frr_config(&plan(true));
        assert!(config.validate().is_ok());
        assert!(config.fib_install && config.multipath);
        assert!(config
            .neighbors
            .iter()
            .all(|n| n.passive && n.bfd && n.hold_time == 90));
        assert!(!frr_commands(&plan(false)).iter().any(|c| c.contains("bfd")));
    }
}
