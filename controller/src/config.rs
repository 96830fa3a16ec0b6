//! The controller's settings.

use std::time::Duration;

/// Name of the controller, as Event reporter and default field manager.
pub const CONTROLLER_NAME: &str = "ferrolb-controller";

/// Default of [`ControllerConfig::max_concurrent_reconciles`].
pub const DEFAULT_CONCURRENT_RECONCILES: u16 = 16;

/// Leader-election timings and the Lease they apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Name of the `coordination.k8s.io/v1` Lease (in
    /// [`ControllerConfig::namespace`]).
    pub name: String,
    /// How long a leader's claim lasts without renewal; other replicas take
    /// over once the Lease has not changed for this long.
    pub duration: Duration,
    /// A leader that could not renew for this long stops writing. Shorter
    /// than `duration`, so that it stops before anyone else may start.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew the Lease.
    pub retry_period: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            name: CONTROLLER_NAME.to_owned(),
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaseSettings {
    /// Settings for a lease of `duration`, renewing at about a fifth of it
    /// and giving up after two thirds, the proportions of the defaults.
    pub fn scaled(name: impl Into<String>, duration: Duration) -> Self {
        LeaseSettings {
            name: name.into(),
            duration,
            renew_deadline: duration * 2 / 3,
            retry_period: duration / 6,
        }
    }

    /// Checks that the timings can work: a leader must give up before its
    /// lease expires, and must retry more than once before giving up.
    pub fn check(&self) -> Result<(), String> {
        if self.retry_period.is_zero() {
            return Err("the retry period must be positive".to_owned());
        }
        if self.renew_deadline >= self.duration {
            return Err(format!(
                "the renew deadline ({:?}) must be shorter than the lease duration ({:?})",
                self.renew_deadline, self.duration
            ));
        }
        if self.retry_period >= self.renew_deadline {
            return Err(format!(
                "the retry period ({:?}) must be shorter than the renew deadline ({:?})",
                self.retry_period, self.renew_deadline
            ));
        }
        Ok(())
    }
}

/// Everything the controller needs besides a Kubernetes client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// FerroLB's namespace: where IPAddressPools and the Lease live.
    pub namespace: String,
    /// This replica's identity in the Lease and as Event reporting instance
    /// (the pod name in a cluster).
    pub identity: String,
    /// The `fieldManager` of every write.
    pub field_manager: String,
    /// The `spec.loadBalancerClass` handled: `None` handles Services without
    /// a class (as MetalLB does by default), `Some(c)` only those of class
    /// `c`.
    pub load_balancer_class: Option<String>,
    /// Leader election.
    pub lease: LeaseSettings,
    /// How often pool statuses and pool metrics are brought up to date.
    pub pool_status_interval: Duration,
    /// Reconciles running at once. Each holds an API request in flight;
    /// without a bound a start with thousands of waiting Services opens
    /// thousands of connections to the API server, and holds their buffers.
    pub max_concurrent_reconciles: u16,
}

impl ControllerConfig {
    /// Defaults for a replica called `identity` in `namespace`.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        ControllerConfig {
            namespace: namespace.into(),
            identity: identity.into(),
            field_manager: CONTROLLER_NAME.to_owned(),
            load_balancer_class: None,
            lease: LeaseSettings::default(),
            pool_status_interval: Duration::from_secs(1),
            max_concurrent_reconciles: DEFAULT_CONCURRENT_RECONCILES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_timings_are_checked() {
        assert_eq!(LeaseSettings::default().check(), Ok(()));
        assert_eq!(
            LeaseSettings::scaled("x", Duration::from_secs(2)).check(),
            Ok(())
        );
        let bad = LeaseSettings {
            renew_deadline: Duration::from_secs(15),
            ..LeaseSettings::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .contains("must be shorter than the lease duration"));
        let bad = LeaseSettings {
            retry_period: Duration::from_secs(10),
            ..LeaseSettings::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .contains("must be shorter than the renew deadline"));
    }
}
