//! A speaker's identity in the SWIM group.
//!
//! SWIM never lets an identity that was declared down come back (a stale "alive" rumour must not
//! resurrect a dead member). So an identity is the Kubernetes node name plus a *generation*: a
//! restarted speaker starts with a newer generation (its start time), and a speaker that learns the
//! group declared it down renews itself with the next generation, and either way the newer
//! identity replaces the old one everywhere at once, under the same node name.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One incarnation of a speaker: who it is, where it listens, and which generation it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Speaker {
    /// The Kubernetes node name: the member's stable identity across restarts.
    pub node: String,
    /// The UDP address other members send to.
    pub addr: SocketAddr,
    /// Larger is newer. 0 stands for "some generation": a seed learnt from Kubernetes, whose
    /// real generation is unknown until it answers.
    pub generation: u64,
}

impl Speaker {
    /// The identity a speaker starting now takes: its generation is the wall clock in
    /// milliseconds, so a restart always outranks the identity it replaces.
    pub fn starting(node: String, addr: SocketAddr, now: SystemTime) -> Speaker {
        Speaker {
            node,
            addr,
            // 0 is reserved for seeds.
            generation: unix_millis(now).max(1),
        }
    }

    /// A member known only from Kubernetes (name and address), used as a join target.
    pub fn seed(node: String, addr: SocketAddr) -> Speaker {
        Speaker {
            node,
            addr,
            generation: 0,
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl foca::Identity for Speaker {
    /// Members are told apart by node name: two identities with the same name are two
    /// generations of one speaker, and only the newer one is kept.
    type Addr = String;

    fn renew(&self) -> Option<Self> {
        Some(Speaker {
            node: self.node.clone(),
            addr: self.addr,
            generation: self.generation.checked_add(1)?,
        })
    }

    fn addr(&self) -> String {
        self.node.clone()
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use foca::Identity;

    use super::*;

    fn at(millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(millis)
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:7946".parse().unwrap()
    }

    #[test]
    fn newer_generations_win() {
        let a = |generation| Speaker {
            node: "node-a".into(),
            addr: addr(),
            generation,
        };
        let cases = [
            // (self, adversary, self wins)
            (a(2), a(1), true),
            (a(1), a(2), false),
            (a(1), a(1), false),
            (a(1), Speaker::seed("node-a".into(), addr()), true),
        ];
        for (me, other, wins) in cases {
            assert_eq!(me.win_addr_conflict(&other), wins, "{me:?} vs {other:?}");
        }
    }

    #[test]
    fn a_restart_outranks_the_previous_run_and_keeps_the_name() {
        let first = Speaker::starting("node-a".into(), addr(), at(1_000));
        let renewed = first.renew().unwrap();
        let restarted = Speaker::starting("node-a".into(), addr(), at(5_000));
        assert_eq!(renewed.generation, 1_001);
        assert!(renewed.win_addr_conflict(&first));
        assert!(restarted.win_addr_conflict(&renewed));
        assert_eq!(first.addr(), restarted.addr());
        assert_ne!(first, restarted);
    }

    #[test]
    fn generation_zero_is_reserved_for_seeds() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            Speaker::starting("n".into(), addr(), before_epoch).generation,
            1
        );
        assert_eq!(Speaker::starting("n".into(), addr(), at(0)).generation, 1);
        assert_eq!(Speaker::seed("n".into(), addr()).generation, 0);
    }

    #[test]
    fn renewal_stops_at_the_last_generation() {
        let last = Speaker {
            node: "n".into(),
            addr: addr(),
            generation: u64::MAX,
        };
        assert_eq!(last.renew(), None);
    }
}
