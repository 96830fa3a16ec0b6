//! Import safety: which prefixes a cluster speaker may make this router forward.
//!
//! A speaker may announce only Service addresses. By default that means prefixes inside one of
//! the configured service pools (`import.servicePools`, IPv4 or IPv6), each at least as long as
//! the pool and at most a host route (/32, /128); `import.allowedPrefixes` adds prefix-list
//! entries on top. Everything else is refused with a [`RejectReason`], so a misconfigured or
//! compromised node cannot steer a default route, a covering aggregate or someone else's
//! network through the router.
//!
//! The policy is applied by the router to the routes the BGP instance holds (not by the BGP
//! instance itself), so a changed policy takes effect at once on a configuration reload, for
//! routes already received included, without resetting any session.

use std::fmt;

use ferrolb_api::router_config::{ImportConfig, PrefixFilter};
use ipnet::IpNet;

/// Why a learned prefix is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// `0.0.0.0/0` or `::/0`.
    DefaultRoute,
    /// Shorter than (covering) a service pool, e.g. a /16 around a /24 pool.
    CoversPool,
    /// Neither inside a service pool nor matching an allowed prefix.
    OutsidePools,
}

impl RejectReason {
    /// Every reason, for metric initialisation.
    pub const ALL: [RejectReason; 3] = [
        RejectReason::DefaultRoute,
        RejectReason::CoversPool,
        RejectReason::OutsidePools,
    ];

    /// A short name for logs, the admin API and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::DefaultRoute => "default-route",
            RejectReason::CoversPool => "covers-service-pool",
            RejectReason::OutsidePools => "outside-service-pools",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compiled `import:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPolicy {
    pools: Vec<IpNet>,
    allowed: Vec<PrefixFilter>,
}

impl ImportPolicy {
    /// The policy of an `import:` section. The pools of `import.kubernetes` are added with
    /// [`ImportPolicy::with_pools`].
    pub fn new(config: &ImportConfig) -> ImportPolicy {
        ImportPolicy {
            pools: config.service_pools.iter().map(IpNet::trunc).collect(),
            allowed: config.allowed_prefixes.clone(),
        }
    }

    /// The same policy with `pools` (the cluster's) added to the service pools.
    pub fn with_pools<'a>(mut self, pools: impl IntoIterator<Item = &'a IpNet>) -> ImportPolicy {
        for pool in pools {
            let pool = pool.trunc();
            if !self.pools.contains(&pool) {
                self.pools.push(pool);
            }
        }
        self
    }

    /// Whether any pool or allowed prefix is IPv6 (IPv6 forwarding is then needed).
    pub fn has_ipv6(&self) -> bool {
        self.pools.iter().any(|p| matches!(p, IpNet::V6(_)))
            || self
                .allowed
                .iter()
                .any(|a| matches!(a.prefix, IpNet::V6(_)))
    }

    /// Accepts `prefix` or says why not.
    pub fn evaluate(&self, prefix: &IpNet) -> Result<(), RejectReason> {
        let prefix = prefix.trunc();
        // Inside a pool: at least as long as the pool, at most a host route (`contains` checks
        // both the address range and that the prefix is not shorter).
        if self.pools.iter().any(|pool| pool.contains(&prefix)) {
            return Ok(());
        }
        if self.allowed.iter().any(|entry| entry.matches(&prefix)) {
            return Ok(());
        }
        if prefix.prefix_len() == 0 {
            return Err(RejectReason::DefaultRoute);
        }
        if self.pools.iter().any(|pool| prefix.contains(pool)) {
            return Err(RejectReason::CoversPool);
        }
        Err(RejectReason::OutsidePools)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pools: &[&str], allowed: &[(&str, Option<u8>, Option<u8>)]) -> ImportPolicy {
        ImportPolicy::new(&ImportConfig {
            service_pools: pools.iter().map(|p| p.parse().unwrap()).collect(),
            allowed_prefixes: allowed
                .iter()
                .map(|(p, ge, le)| PrefixFilter {
                    prefix: p.parse().unwrap(),
                    ge: *ge,
                    le: *le,
                })
                .collect(),
            kubernetes: None,
        })
    }

    #[test]
    fn service_pools_and_allowed_prefixes() {
        let p = policy(
            &["10.96.0.0/24", "2001:db8:96::/112"],
            &[
                ("192.0.2.0/24", None, Some(28)),
                ("198.51.100.7/32", None, None),
            ],
        );
        use RejectReason::*;
        let cases: &[(&str, Result<(), RejectReason>)] = &[
            ("10.96.0.10/32", Ok(())),
            ("10.96.0.0/24", Ok(())),
            ("10.96.0.128/25", Ok(())),
            // Host bits set: judged by the network the prefix denotes.
            ("10.96.0.10/24", Ok(())),
            ("10.96.0.0/23", Err(CoversPool)),
            ("10.0.0.0/8", Err(CoversPool)),
            ("0.0.0.0/0", Err(DefaultRoute)),
            ("10.96.1.1/32", Err(OutsidePools)),
            ("8.8.8.0/24", Err(OutsidePools)),
            ("2001:db8:96::1/128", Ok(())),
            ("2001:db8:96::/112", Ok(())),
            ("2001:db8:96::/64", Err(CoversPool)),
            ("2001:db8:97::1/128", Err(OutsidePools)),
            ("::/0", Err(DefaultRoute)),
            // An IPv4 pool never admits IPv6 and vice versa.
            ("::ffff:10.96.0.10/128", Err(OutsidePools)),
            // Allowed prefixes: 192.0.2.0/24 le 28 and exactly 198.51.100.7/32.
            ("192.0.2.0/24", Ok(())),
            ("192.0.2.16/28", Ok(())),
            ("192.0.2.16/29", Err(OutsidePools)),
            ("198.51.100.7/32", Ok(())),
            ("198.51.100.8/32", Err(OutsidePools)),
        ];
        for (prefix, want) in cases {
            assert_eq!(p.evaluate(&prefix.parse().unwrap()), *want, "{prefix}");
        }
    }

    #[test]
    fn an_empty_policy_accepts_nothing_and_only_an_allowed_default_passes() {
        let empty = policy(&[], &[]);
        assert_eq!(
            empty.evaluate(&"10.0.0.1/32".parse().unwrap()),
            Err(RejectReason::OutsidePools)
        );
        let with_default = policy(&[], &[("0.0.0.0/0", None, None)]);
        assert_eq!(with_default.evaluate(&"0.0.0.0/0".parse().unwrap()), Ok(()));
        assert_eq!(
            with_default.evaluate(&"10.0.0.0/8".parse().unwrap()),
            Err(RejectReason::OutsidePools)
        );
    }

    #[test]
    fn cluster_pools_add_to_the_file_pools() {
        let p = policy(&["10.96.0.0/24"], &[]);
        let cluster: Vec<IpNet> = vec![
            "10.97.0.0/24".parse().unwrap(),
            "10.96.0.0/24".parse().unwrap(),
        ];
        let merged = p.clone().with_pools(&cluster);
        assert_eq!(merged.pools.len(), 2);
        for (prefix, before, after) in [
            ("10.96.0.10/32", true, true),
            ("10.97.0.10/32", false, true),
            ("10.97.0.0/23", false, false),
        ] {
            let prefix: IpNet = prefix.parse().unwrap();
            assert_eq!(p.evaluate(&prefix).is_ok(), before, "{prefix}");
            assert_eq!(merged.evaluate(&prefix).is_ok(), after, "{prefix}");
        }
    }

    #[test]
    fn families_needed() {
        assert!(!policy(&["10.96.0.0/24"], &[]).has_ipv6());
        assert!(policy(&["10.96.0.0/24", "2001:db8::/120"], &[]).has_ipv6());
        assert!(policy(&[], &[("2001:db8::/32", Some(48), None)]).has_ipv6());
    }
}
