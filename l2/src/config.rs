//! Configuration of the L2 announcer.

use std::time::Duration;

use crate::error::L2Error;
use crate::policy::InterfacePolicy;

/// How the announcer answers and announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Config {
    /// Every owned IP is announced again this often, so switch forwarding tables and neighbour
    /// caches do not age out (default 60 s).
    pub refresh_interval: Duration,
    /// How many gratuitous ARPs / unsolicited NAs announce a newly owned IP (default 3): one
    /// can be lost, and a neighbour may ignore one that arrives within its lock time.
    pub gratuitous_count: u32,
    /// The gap between those announcements (default 250 ms).
    pub gratuitous_spacing: Duration,
    /// Which interfaces may answer.
    pub interfaces: InterfacePolicy,
    /// How often the interface list is re-read to notice interfaces appearing, disappearing or
    /// going down (default 1 s).
    pub link_poll_interval: Duration,
}

impl Default for L2Config {
    fn default() -> Self {
        L2Config {
            refresh_interval: Duration::from_secs(60),
            gratuitous_count: 3,
            gratuitous_spacing: Duration::from_millis(250),
            interfaces: InterfacePolicy::default(),
            link_poll_interval: Duration::from_secs(1),
        }
    }
}

impl L2Config {
    /// Rejects intervals that would make a timer spin.
    pub fn validate(&self) -> Result<(), L2Error> {
        if self.refresh_interval.is_zero() {
            return Err(L2Error::Config("refresh_interval must be positive".into()));
        }
        if self.link_poll_interval.is_zero() {
            return Err(L2Error::Config(
                "link_poll_interval must be positive".into(),
            ));
        }
        if self.gratuitous_count > 1 && self.gratuitous_spacing.is_zero() {
            return Err(L2Error::Config(
                "gratuitous_spacing must be positive when gratuitous_count > 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let ok = L2Config::default();
        let cases = [
            (ok.clone(), true),
            (
                L2Config {
                    refresh_interval: Duration::ZERO,
                    ..ok.clone()
                },
                false,
            ),
            (
                L2Config {
                    link_poll_interval: Duration::ZERO,
                    ..ok.clone()
                },
                false,
            ),
            (
                L2Config {
                    gratuitous_spacing: Duration::ZERO,
                    ..ok.clone()
                },
                false,
            ),
            (
                L2Config {
                    gratuitous_spacing: Duration::ZERO,
                    gratuitous_count: 1,
                    ..ok.clone()
                },
                true,
            ),
            (
                L2Config {
                    gratuitous_count: 0,
                    ..ok.clone()
                },
                true,
            ),
        ];
        for (config, valid) in cases {
            assert_eq!(config.validate().is_ok(), valid, "{config:?}");
        }
        assert_eq!(ok.refresh_interval, Duration::from_secs(60));
        assert_eq!(ok.gratuitous_count, 3);
    }
}
