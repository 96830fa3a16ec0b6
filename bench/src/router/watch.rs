//! Watching the router's kernel FIB until it reaches a goal: every benchmark prefix routed
//! through exactly the expected next hops, and none through the one that must go. Dumps run
//! back to back (a short pause between them) from a thread inside the router's namespace; the
//! moment a dump ends showing the goal is the moment it was reached (a dump of 100,000 routes
//! takes tens of milliseconds: that is the resolution).

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_testbed::Netns;

use super::fib::{gateways, parse_nexthops, FibError, Forwarding, RouteDumper, Tally};
use crate::prefixes::PrefixSet;

/// Pause between dumps, so that watching does not take a core from the router.
const PAUSE: Duration = Duration::from_millis(5);

/// What the FIB must show.
#[derive(Debug, Clone)]
pub struct Goal {
    /// The benchmark's prefixes.
    pub set: PrefixSet,
    /// The gateways each must be routed through, exactly.
    pub expected: BTreeSet<Ipv4Addr>,
    /// A gateway no route may use any more.
    pub avoided: Option<Ipv4Addr>,
}

impl Goal {
    /// Whether a tally of a consistent dump meets the goal.
    pub fn is_met(&self, tally: &Tally) -> bool {
        tally.complete == self.set.count() && tally.referencing == 0
    }
}

/// How watching ended.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    /// When the goal was first seen met; `None` if it was not within the time limit.
    pub reached: Option<Instant>,
    /// The kernel's last FIB change before that dump ended (see [`super::events`]): the moment
    /// the goal was met, more precisely than the dump's end. `None` when it is unknown.
    pub changed: Option<Instant>,
    /// The last dump's tally.
    pub last: Tally,
    /// Dumps taken.
    pub dumps: u32,
    /// The longest a dump (with its nexthop lookup) took.
    pub slowest_dump: Duration,
}

/// Dumps the FIB of `router` until `goal` is met or `timeout` passes.
pub fn wait_for(router: &Netns, goal: &Goal, timeout: Duration) -> Result<Observation, FibError> {
    let name = router.name().to_owned();
    router
        .run_in(|| watch(&name, goal, timeout))
        .map_err(|e| FibError::Dump(format!("entering the router's namespace: {e}")))?
}

fn watch(netns: &str, goal: &Goal, timeout: Duration) -> Result<Observation, FibError> {
    let deadline = Instant::now() + timeout;
    let mut dumper = RouteDumper::open()?;
    let mut observation = Observation {
        reached: None,
        changed: None,
        last: Tally::default(),
        dumps: 0,
        slowest_dump: Duration::ZERO,
    };
    loop {
        let began = Instant::now();
        let dump = dumper.dump()?;
        let uses_objects = dump
            .routes
            .iter()
            .any(|r| matches!(r.forwarding, Forwarding::Object(_)));
        let objects = if uses_objects {
            nexthop_objects(netns)?
        } else {
            HashMap::new()
        };
        let tally = Tally::of(
            dump.routes
                .iter()
                .map(|r| (&r.destination, gateways(&r.forwarding, &objects))),
            &goal.set,
            &goal.expected,
            goal.avoided,
        );
        let now = Instant::now();
        observation.dumps += 1;
        observation.slowest_dump = observation.slowest_dump.max(now - began);
        observation.last = tally;
        if !dump.interrupted && goal.is_met(&tally) {
            observation.reached = Some(now);
            return Ok(observation);
        }
        if now >= deadline {
            return Ok(observation);
        }
        std::thread::sleep(PAUSE);
    }
}

/// The namespace's nexthop objects.
fn nexthop_objects(netns: &str) -> Result<HashMap<u32, super::fib::NexthopObject>, FibError> {
    let out = Command::new("ip")
        .args(["-n", netns, "-j", "nexthop", "show"])
        .output()
        .map_err(|e| FibError::Nexthops(format!("running ip: {e}")))?;
    if !out.status.success() {
        return Err(FibError::Nexthops(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // With no objects at all, `ip -j` prints nothing rather than `[]`.
    if text.trim().is_empty() {
        return Ok(HashMap::new());
    }
    parse_nexthops(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_goal_needs_every_prefix_complete_and_none_on_the_avoided_hop() {
        let goal = Goal {
            set: PrefixSet::new(Ipv4Addr::new(16, 0, 0, 0), 32, 10).unwrap(),
            expected: BTreeSet::new(),
            avoided: None,
        };
        let tally = |present, complete, referencing| Tally {
            present,
            complete,
            referencing,
        };
        let cases = [
            (tally(10, 10, 0), true),
            (tally(10, 9, 0), false),
            (tally(10, 10, 1), false),
            (tally(0, 0, 0), false),
        ];
        for (t, want) in cases {
            assert_eq!(goal.is_met(&t), want, "{t:?}");
        }
    }
}
