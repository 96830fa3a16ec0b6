//! The daemon under test, whichever it is, and what it says about NOTIFICATIONs.

use std::net::IpAddr;
use std::ops::Deref;
use std::time::Duration;

use ferrolb_testbed::prelude::*;
use ferrolb_testbed::{poll_until, Poll};

/// Which daemon a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BIRD 2.
    Bird,
    /// FRR 8.4.
    Frr,
    /// GoBGP 3.
    Gobgp,
}

/// A running daemon.
pub enum Daemon {
    /// BIRD 2.
    Bird(Bird),
    /// FRR 8.4.
    Frr(Frr),
    /// GoBGP 3.
    Gobgp(Gobgp),
}

/// Which way a NOTIFICATION went, seen from the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The daemon sent it.
    Sent,
    /// The daemon received it.
    Received,
}

impl Daemon {
    /// Starts a `kind` daemon in `ns`.
    pub fn start(kind: Kind, ns: &Netns, config: BgpConfig) -> Daemon {
        match kind {
            Kind::Bird => Daemon::Bird(Bird::start(ns, config).unwrap()),
            Kind::Frr => Daemon::Frr(Frr::start(ns, config).unwrap()),
            Kind::Gobgp => Daemon::Gobgp(Gobgp::start(ns, config).unwrap()),
        }
    }

    /// Which daemon this is.
    pub fn kind(&self) -> Kind {
        match self {
            Daemon::Bird(_) => Kind::Bird,
            Daemon::Frr(_) => Kind::Frr,
            Daemon::Gobgp(_) => Kind::Gobgp,
        }
    }

    /// Waits until the daemon shows that it exchanged a NOTIFICATION with `code`/`subcode`
    /// with `peer` in `direction` (see [`notification_seen`] for where each daemon shows it).
    pub fn wait_notification(
        &self,
        peer: IpAddr,
        direction: Direction,
        code: u8,
        subcode: u8,
        timeout: Duration,
    ) {
        let what = format!("{direction:?} NOTIFICATION {code}/{subcode}");
        let found = poll_until(&what, timeout, || {
            notification_seen(self, peer, direction, code, subcode)
        });
        if let Err(e) = found {
            panic!("{} {e}", self.kind_name());
        }
    }

    fn kind_name(&self) -> &'static str {
        BgpDaemon::kind(self.deref())
    }
}

impl Deref for Daemon {
    type Target = dyn BgpDaemon;

    fn deref(&self) -> &(dyn BgpDaemon + 'static) {
        match self {
            Daemon::Bird(d) => d,
            Daemon::Frr(d) => d,
            Daemon::Gobgp(d) => d,
        }
    }
}

/// BIRD's names for the errors the scenarios provoke (it logs names, not numbers).
fn bird_error_name(code: u8, subcode: u8) -> Option<&'static str> {
    match (code, subcode) {
        (2, 2) => Some("Bad peer AS"),
        (2, 6) => Some("Unacceptable hold time"),
        (4, _) => Some("Hold timer expired"),
        _ => None,
    }
}

/// GoBGP's descriptions of the errors it sends (it logs the description, not the numbers).
fn gobgp_error_text(code: u8, subcode: u8) -> Option<&'static str> {
    match (code, subcode) {
        (2, 2) => Some("as number mismatch"),
        _ => None,
    }
}

/// Whether the daemon shows the NOTIFICATION; what it showed otherwise.
///
/// - BIRD logs `<protocol>: Error: Bad peer AS: ...` when sending and
///   `<protocol>: Received: Bad peer AS` when receiving.
/// - FRR's `traditional` defaults log no neighbour changes, but `show bgp neighbors <peer>
///   json` keeps the last reset: `lastResetDueTo` ("BGP Notification send" / "... received")
///   and `lastErrorCodeSubcode` ("0202").
/// - GoBGP logs `msg="sent notification" Data="<description>" Key=<peer>` when sending; of a
///   received NOTIFICATION it keeps only a counter (its contents are not logged at the default
///   level), so a received one is shown by the counter.
fn notification_seen(
    daemon: &Daemon,
    peer: IpAddr,
    direction: Direction,
    code: u8,
    subcode: u8,
) -> ferrolb_testbed::Result<Poll<()>> {
    let seen = |yes: bool, evidence: String| {
        Ok(if yes {
            Poll::Ready(())
        } else {
            Poll::Pending(evidence)
        })
    };
    match (daemon, direction) {
        (Daemon::Bird(bird), _) => {
            let name = bird_error_name(code, subcode).expect("a BIRD error name");
            let marker = match direction {
                Direction::Sent => format!("Error: {name}"),
                Direction::Received => format!("Received: {name}"),
            };
            let line = format!("{}: {marker}", Neighbor::new(peer, 1).name());
            let log = bird.log();
            seen(log.lines().any(|l| l.contains(&line)), log)
        }
        (Daemon::Frr(frr), _) => {
            let doc = frr.vtysh_json(&format!("show bgp neighbors {peer} json"))?;
            let neighbor = &doc[peer.to_string().as_str()];
            let field = |name: &str| neighbor[name].as_str().unwrap_or("-").to_owned();
            let due_to = match direction {
                Direction::Sent => "BGP Notification send",
                Direction::Received => "BGP Notification received",
            };
            let last = (field("lastResetDueTo"), field("lastErrorCodeSubcode"));
            let want = (due_to.to_owned(), format!("{code:02}{subcode:02}"));
            seen(last == want, format!("{last:?}"))
        }
        (Daemon::Gobgp(gobgp), Direction::Sent) => {
            let text = gobgp_error_text(code, subcode).expect("a GoBGP error description");
            let fields = [
                "msg=\"sent notification\"".to_owned(),
                format!("Data=\"{text}"),
                // logfmt quotes values with colons (IPv6 addresses).
                if peer.is_ipv6() {
                    format!("Key=\"{peer}\"")
                } else {
                    format!("Key={peer} ")
                },
            ];
            let log = gobgp.log();
            let found = log
                .lines()
                .any(|l| fields.iter().all(|f| l.contains(f.as_str())));
            seen(found, log)
        }
        (Daemon::Gobgp(gobgp), Direction::Received) => {
            let doc = gobgp.gobgp_json(&["neighbor", &peer.to_string()])?;
            let received = doc["state"]["messages"]["received"]["notification"].as_u64();
            seen(received.unwrap_or(0) > 0, format!("{doc}"))
        }
    }
}
