//! Kernel settings the router depends on: IP forwarding, and the ECMP hash policy.
//!
//! Forwarding must be on or the router drops what it routes; it is switched on when
//! `fib.setForwardingSysctls` allows, otherwise the router refuses to start with a clear error.
//!
//! The hash policy decides which fields pick a path of an ECMP route. The kernel's default
//! (policy 0) hashes source and destination address only, so every connection of one client
//! (or of thousands of clients behind one NAT address) lands on the same node. Policy 1 (`l4`)
//! adds protocol and ports, spreading connections over all nodes while keeping each one on
//! a single path. `fib.multipathHashPolicy` sets it for IPv4 and IPv6.
//!
//! `fib.nexthopCompatMode` sets `net.ipv4.nexthop_compat_mode` (IPv4 and IPv6 alike): off, a
//! nexthop group rewrite no longer makes the kernel send a notification for every route using
//! the group, which is most of the time a node's departure takes in a large table.

use std::path::PathBuf;

use anyhow::{bail, Context};
use ferrolb_api::router_config::FibConfig;

/// IPv4 forwarding.
pub const IPV4_FORWARD: &str = "net.ipv4.ip_forward";
/// IPv6 forwarding (all interfaces).
pub const IPV6_FORWARDING: &str = "net.ipv6.conf.all.forwarding";
/// IPv4 ECMP hash policy.
pub const IPV4_HASH_POLICY: &str = "net.ipv4.fib_multipath_hash_policy";
/// IPv6 ECMP hash policy.
pub const IPV6_HASH_POLICY: &str = "net.ipv6.fib_multipath_hash_policy";
/// Whether nexthop changes are also announced route by route (both families).
pub const NEXTHOP_COMPAT_MODE: &str = "net.ipv4.nexthop_compat_mode";

/// The current values of the settings (`None`: not present, e.g. IPv6 disabled).
pub type Current = std::collections::BTreeMap<&'static str, Option<String>>;

/// Every setting [`plan`] may look at.
pub const KEYS: [&str; 5] = [
    IPV4_FORWARD,
    IPV6_FORWARDING,
    IPV4_HASH_POLICY,
    IPV6_HASH_POLICY,
    NEXTHOP_COMPAT_MODE,
];

/// The writes needed, or why the router cannot run. IPv6 forwarding is required when
/// `ipv6` (an IPv6 service pool exists).
pub fn plan(
    fib: &FibConfig,
    ipv6: bool,
    current: &Current,
) -> Result<Vec<(&'static str, String)>, String> {
    let value = |key: &str| current.get(key).cloned().flatten();
    let mut writes = Vec::new();
    let mut forwarding = vec![IPV4_FORWARD];
    if ipv6 {
        forwarding.push(IPV6_FORWARDING);
    }
    for key in forwarding {
        match value(key).as_deref() {
            Some("1") => {}
            None => return Err(format!("{key} is not available on this host")),
            Some(other) if fib.set_forwarding_sysctls => {
                tracing::debug!(key, from = other, "forwarding will be enabled");
                writes.push((key, "1".to_owned()));
            }
            Some(other) => {
                return Err(format!(
                    "{key} is {other}, so the router would drop what it routes: enable it \
                     (sysctl -w {key}=1) or set fib.setForwardingSysctls: true"
                ))
            }
        }
    }
    if let Some(policy) = fib.multipath_hash_policy {
        let want = policy.sysctl_value().to_string();
        for key in [IPV4_HASH_POLICY, IPV6_HASH_POLICY] {
            match value(key) {
                Some(v) if v == want => {}
                Some(_) => writes.push((key, want.clone())),
                // No IPv6 on this host: only IPv4 matters.
                None if key == IPV6_HASH_POLICY => {}
                None => return Err(format!("{key} is not available on this host")),
            }
        }
    }
    if let Some(compat) = fib.nexthop_compat_mode {
        let want = u8::from(compat).to_string();
        match value(NEXTHOP_COMPAT_MODE) {
            Some(v) if v == want => {}
            Some(_) => writes.push((NEXTHOP_COMPAT_MODE, want)),
            None => {
                return Err(format!(
                    "{NEXTHOP_COMPAT_MODE} is not available on this host (a kernel without \
                     nexthop objects): remove fib.nexthopCompatMode"
                ))
            }
        }
    }
    Ok(writes)
}

fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// Reads the settings [`plan`] needs, in this process's network namespace.
pub fn read_current() -> Current {
    KEYS.iter()
        .map(|key| {
            let value = std::fs::read_to_string(path(key))
                .ok()
                .map(|v| v.trim().to_owned());
            (*key, value)
        })
        .collect()
}

/// Checks the settings and applies what `fib` asks for.
pub fn apply(fib: &FibConfig, ipv6: bool) -> anyhow::Result<()> {
    let current = read_current();
    let writes = match plan(fib, ipv6, &current) {
        Ok(writes) => writes,
        Err(why) => bail!("{why}"),
    };
    for (key, value) in writes {
        std::fs::write(path(key), value.as_bytes())
            .with_context(|| format!("setting {key}={value}"))?;
        let old = current.get(key).cloned().flatten().unwrap_or_default();
        tracing::info!(key, from = %old, to = %value, "kernel setting changed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ferrolb_api::router_config::MultipathHashPolicy;

    use super::*;

    fn current(values: &[(&'static str, &str)]) -> Current {
        let mut c: Current = KEYS.iter().map(|k| (*k, None)).collect();
        for (k, v) in values {
            c.insert(k, Some((*v).to_owned()));
        }
        c
    }

    fn fib(set: bool, policy: Option<MultipathHashPolicy>) -> FibConfig {
        FibConfig {
            set_forwarding_sysctls: set,
            multipath_hash_policy: policy,
            ..FibConfig::default()
        }
    }

    fn compat(mode: bool) -> FibConfig {
        FibConfig {
            nexthop_compat_mode: Some(mode),
            ..FibConfig::default()
        }
    }

    #[test]
    fn forwarding_and_hash_policy() {
        let all_off = current(&[
            (IPV4_FORWARD, "0"),
            (IPV6_FORWARDING, "0"),
            (IPV4_HASH_POLICY, "0"),
            (IPV6_HASH_POLICY, "0"),
        ]);
        let l4 = Some(MultipathHashPolicy::L4);
        let w = |k: &'static str, v: &str| (k, v.to_owned());
        type Case = (
            &'static str,
            FibConfig,
            bool,
            Current,
            Result<Vec<(&'static str, String)>, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "set v4 only",
                fib(true, None),
                false,
                all_off.clone(),
                Ok(vec![w(IPV4_FORWARD, "1")]),
            ),
            (
                "set both and hash",
                fib(true, l4),
                true,
                all_off.clone(),
                Ok(vec![
                    w(IPV4_FORWARD, "1"),
                    w(IPV6_FORWARDING, "1"),
                    w(IPV4_HASH_POLICY, "1"),
                    w(IPV6_HASH_POLICY, "1"),
                ]),
            ),
            (
                "refuse",
                fib(false, None),
                false,
                all_off.clone(),
                Err("net.ipv4.ip_forward is 0"),
            ),
            (
                "refuse v6",
                fib(false, None),
                true,
                current(&[(IPV4_FORWARD, "1"), (IPV6_FORWARDING, "0")]),
                Err("net.ipv6.conf.all.forwarding is 0"),
            ),
            (
                "already right",
                fib(false, l4),
                true,
                current(&[
                    (IPV4_FORWARD, "1"),
                    (IPV6_FORWARDING, "1"),
                    (IPV4_HASH_POLICY, "1"),
                    (IPV6_HASH_POLICY, "1"),
                ]),
                Ok(vec![]),
            ),
            (
                "no IPv6 on the host",
                fib(true, l4),
                false,
                current(&[(IPV4_FORWARD, "1"), (IPV4_HASH_POLICY, "0")]),
                Ok(vec![w(IPV4_HASH_POLICY, "1")]),
            ),
            (
                "compat mode off",
                compat(false),
                false,
                current(&[(IPV4_FORWARD, "1"), (NEXTHOP_COMPAT_MODE, "1")]),
                Ok(vec![w(NEXTHOP_COMPAT_MODE, "0")]),
            ),
            (
                "compat mode already on",
                compat(true),
                false,
                current(&[(IPV4_FORWARD, "1"), (NEXTHOP_COMPAT_MODE, "1")]),
                Ok(vec![]),
            ),
            (
                "compat mode left alone",
                fib(true, None),
                false,
                current(&[(IPV4_FORWARD, "1"), (NEXTHOP_COMPAT_MODE, "1")]),
                Ok(vec![]),
            ),
            (
                "compat mode on an old kernel",
                compat(false),
                false,
                current(&[(IPV4_FORWARD, "1")]),
                Err("remove fib.nexthopCompatMode"),
            ),
            (
                "IPv6 pools without IPv6",
                fib(true, None),
                true,
                current(&[(IPV4_FORWARD, "1")]),
                Err("not available"),
            ),
        ];
        for (name, f, v6, cur, want) in cases {
            let got = plan(&f, v6, &cur);
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{name}: {got}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn keys_map_to_proc_paths() {
        assert_eq!(
            path(IPV6_FORWARDING),
            PathBuf::from("/proc/sys/net/ipv6/conf/all/forwarding")
        );
    }
}
