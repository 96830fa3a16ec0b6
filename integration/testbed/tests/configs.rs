//! The generated configurations, with every knob turned on, are accepted by the daemons' own
//! parsers (`bird -p`, `gobgpd -d`, `bgpd -C`). This covers the options the runtime tests do not
//! exercise (multihop, passive, per-session local AS, ...).

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use ferrolb_testbed::prelude::*;
use ferrolb_testbed::{bird, frr, gobgp};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A configuration using every knob, eBGP and iBGP, IPv4 and IPv6 sessions.
fn everything(bfd: bool) -> BgpConfig {
    let mut tor = Neighbor::new(ip("198.18.0.2"), 65002)
        .named("tor")
        .source(ip("198.18.0.1"))
        .hold_time(6)
        .keepalive(2)
        .connect_retry(2)
        .password("s3cret!")
        .passive()
        .graceful_restart(30)
        .ipv6()
        .ipv6_next_hop("2001:db8::1".parse().unwrap())
        .local_as(4_200_000_009);
    if bfd {
        tor = tor.bfd();
    }
    BgpConfig::new(4_200_000_001, "198.18.0.1".parse().unwrap())
        .neighbor(tor)
        .neighbor(
            Neighbor::new(ip("10.255.0.2"), 65003)
                .multihop(4)
                .hold_time(0),
        )
        .neighbor(Neighbor::new(ip("2001:db8::2"), 4_200_000_001).ipv4())
        .announce(
            Announcement::new("198.51.100.0/24".parse().unwrap())
                .community(65000, 1)
                .large_community(4_200_000_001, 1, 2)
                .local_pref(200)
                .med(10),
        )
        .announce(
            Announcement::new("2001:db8:100::/48".parse().unwrap())
                .community(65000, 2)
                .med(5),
        )
}

/// A directory the `frr` user can read.
fn scratch(name: &str, contents: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn bird_accepts_the_generated_config() {
    for bfd in [false, true] {
        let text = bird::render_config(&everything(bfd)).unwrap();
        let (_dir, path) = scratch("bird.conf", &text);
        let (ok, out) = output(Command::new("bird").args(["-p", "-c", &path]));
        assert!(ok, "{out}\n{text}");
    }
}

#[test]
fn gobgpd_accepts_the_generated_config() {
    let text = gobgp::render_config(&everything(false)).unwrap();
    let (_dir, path) = scratch("gobgpd.toml", &text);
    let (ok, out) = output(Command::new("gobgpd").args(["-d", "-t", "toml", "-f", &path]));
    assert!(ok, "{out}\n{text}");
}

#[test]
fn frr_bgpd_accepts_the_generated_config() {
    let text = frr::render_bgpd("check", &everything(true));
    let (_dir, path) = scratch("bgpd.conf", &text);
    // bgpd -C exits 0 even on errors; it reports them as "[EC ...]" log lines.
    let (ok, out) = output(
        Command::new("/usr/lib/frr/bgpd")
            .args(["-C", "-f", &path, "-u", "frr", "-g", "frr", "-P", "0", "-Z"]),
    );
    assert!(ok && !out.contains("[EC "), "{out}\n{text}");
}
