//! The leader-election rules, without I/O.
//!
//! As client-go's leader election: a Lease is expired when it has not
//! changed for its `leaseDurationSeconds` *as measured by the observer's own
//! clock* since it last saw it change. Comparing the holder's `renewTime`
//! with the local wall clock would make the outcome depend on clock skew
//! between nodes; watching for changes does not.

use std::time::{Duration, Instant};

/// The parts of a Lease the election looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    /// `spec.holderIdentity`; `None` or empty when released.
    pub holder: Option<String>,
    /// `spec.leaseDurationSeconds`, as set by the holder.
    pub duration: Option<Duration>,
    /// `metadata.resourceVersion`: changes on every write.
    pub version: String,
}

/// When the Lease was last seen to change, by the local clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    version: String,
    changed_at: Instant,
}

impl Observation {
    /// Records having seen `version` at `now`; returns the time it was
    /// first seen.
    pub fn observe(last: &mut Option<Observation>, version: &str, now: Instant) -> Instant {
        match last {
            Some(o) if o.version == version => o.changed_at,
            _ => {
                *last = Some(Observation {
                    version: version.to_owned(),
                    changed_at: now,
                });
                now
            }
        }
    }
}

/// What to do with the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// There is no Lease: create it, holding it.
    Create,
    /// This replica holds it: renew it.
    Renew,
    /// It is released or expired: take it.
    TakeOver,
    /// Someone else holds it for at least `for_at_least` more.
    Follow {
        /// The holder.
        holder: String,
        /// Time until it would expire without renewal.
        for_at_least: Duration,
    },
}

/// The step for replica `me` seeing `lease` (whose current version was
/// first seen at `seen_since`) at `now`. `default_duration` applies when
/// the Lease does not say.
pub fn next_step(
    lease: Option<&LeaseView>,
    seen_since: Instant,
    me: &str,
    default_duration: Duration,
    now: Instant,
) -> Step {
    let Some(lease) = lease else {
        return Step::Create;
    };
    let holder = match lease.holder.as_deref() {
        None | Some("") => return Step::TakeOver,
        Some(h) if h == me => return Step::Renew,
        Some(h) => h,
    };
    let expires = seen_since + lease.duration.unwrap_or(default_duration);
    if now >= expires {
        Step::TakeOver
    } else {
        Step::Follow {
            holder: holder.to_owned(),
            for_at_least: expires - now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, secs: Option<u64>, version: &str) -> LeaseView {
        LeaseView {
            holder: holder.map(str::to_owned),
            duration: secs.map(Duration::from_secs),
            version: version.to_owned(),
        }
    }

    #[test]
    fn steps() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let default = s(15);
        let table: &[(Option<LeaseView>, u64, Step)] = &[
            (None, 0, Step::Create),
            (Some(lease(Some("me"), Some(15), "1")), 100, Step::Renew),
            (Some(lease(None, Some(15), "1")), 0, Step::TakeOver),
            (Some(lease(Some(""), Some(15), "1")), 0, Step::TakeOver),
            (
                Some(lease(Some("other"), Some(15), "1")),
                5,
                Step::Follow {
                    holder: "other".into(),
                    for_at_least: s(10),
                },
            ),
            (
                Some(lease(Some("other"), Some(15), "1")),
                15,
                Step::TakeOver,
            ),
            (Some(lease(Some("other"), Some(2), "1")), 2, Step::TakeOver),
            (
                Some(lease(Some("other"), None, "1")),
                14,
                Step::Follow {
                    holder: "other".into(),
                    for_at_least: s(1),
                },
            ),
        ];
        for (view, elapsed, want) in table {
            assert_eq!(
                next_step(view.as_ref(), t0, "me", default, t0 + s(*elapsed)),
                *want,
                "{view:?} after {elapsed}s"
            );
        }
    }

    #[test]
    fn expiry_counts_from_the_last_observed_change() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut seen = None;
        assert_eq!(Observation::observe(&mut seen, "1", t0), t0);
        // Unchanged: still first seen at t0.
        assert_eq!(Observation::observe(&mut seen, "1", t0 + s(10)), t0);
        // Renewed by its holder: the clock restarts.
        assert_eq!(Observation::observe(&mut seen, "2", t0 + s(12)), t0 + s(12));
        let view = lease(Some("other"), Some(15), "2");
        assert_eq!(
            next_step(Some(&view), t0 + s(12), "me", s(15), t0 + s(20)),
            Step::Follow {
                holder: "other".into(),
                for_at_least: s(7)
            }
        );
    }
}
