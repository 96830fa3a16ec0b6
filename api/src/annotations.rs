//! Service annotations understood by FerroLB.
//!
//! Each annotation exists under `ferrolb.io/` and, for compatibility with
//! existing manifests, under MetalLB's `metallb.io/` and
//! `metallb.universe.tf/` prefixes. When several spellings are present the
//! first of `ferrolb.io`, `metallb.io`, `metallb.universe.tf` wins.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::address::AddressFamily;

/// Asks for addresses from the named IPAddressPool.
pub const ADDRESS_POOL: &str = "ferrolb.io/address-pool";
/// Asks for specific addresses, comma-separated (at most one per family).
pub const LOAD_BALANCER_IPS: &str = "ferrolb.io/loadBalancerIPs";
/// Sharing key: Services with the same key may share an address.
pub const ALLOW_SHARED_IP: &str = "ferrolb.io/allow-shared-ip";
/// Written by the controller: the pool the Service's addresses came from.
pub const IP_ALLOCATED_FROM_POOL: &str = "ferrolb.io/ip-allocated-from-pool";

/// Prefixes accepted for every annotation, highest precedence first.
pub const PREFIXES: [&str; 3] = ["ferrolb.io/", "metallb.io/", "metallb.universe.tf/"];

/// The parsed FerroLB annotations of one Service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAnnotations {
    /// Pool requested with `address-pool`.
    pub address_pool: Option<String>,
    /// Addresses requested with `loadBalancerIPs`, in the order written.
    pub load_balancer_ips: Vec<IpAddr>,
    /// Sharing key from `allow-shared-ip`.
    pub allow_shared_ip: Option<String>,
    /// Pool recorded by the controller in `ip-allocated-from-pool`.
    pub ip_allocated_from_pool: Option<String>,
}

/// An annotation whose value FerroLB cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {annotation}: {reason}")]
pub struct AnnotationError {
    /// The annotation key as written on the Service (with its prefix).
    pub annotation: String,
    /// What is wrong with its value.
    pub reason: String,
}

/// The value of the annotation `key` (a `ferrolb.io/` constant) under the
/// first prefix that has it, with the full key used.
fn lookup<'a>(annotations: &'a BTreeMap<String, String>, key: &str) -> Option<(String, &'a str)> {
    let name = key.strip_prefix(PREFIXES[0]).unwrap_or(key);
    PREFIXES.iter().find_map(|prefix| {
        let key = format!("{prefix}{name}");
        annotations.get(&key).map(|v| (key, v.as_str()))
    })
}

/// A non-empty, trimmed string value.
fn non_empty(
    annotations: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<String>, AnnotationError> {
    let Some((key, value)) = lookup(annotations, key) else {
        return Ok(None);
    };
    match value.trim() {
        "" => Err(AnnotationError {
            annotation: key,
            reason: "value is empty".to_owned(),
        }),
        v => Ok(Some(v.to_owned())),
    }
}

fn parse_ips(annotations: &BTreeMap<String, String>) -> Result<Vec<IpAddr>, AnnotationError> {
    let Some((key, value)) = lookup(annotations, LOAD_BALANCER_IPS) else {
        return Ok(Vec::new());
    };
    let fail = |reason: String| AnnotationError {
        annotation: key.clone(),
        reason,
    };
    if value.trim().is_empty() {
        return Err(fail("value is empty".to_owned()));
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for part in value.split(',').map(str::trim) {
        let ip: IpAddr = part
            .parse()
            .map_err(|_| fail(format!("{part:?} is not an IP address")))?;
        if let Some(other) = ips
            .iter()
            .find(|o| AddressFamily::of(**o) == AddressFamily::of(ip))
        {
            return Err(fail(format!(
                "{ip} and {other} are both {}; ask for at most one address per family",
                AddressFamily::of(ip)
            )));
        }
        ips.push(ip);
    }
    Ok(ips)
}

impl ServiceAnnotations {
    /// Parses a Service's annotations. Unrelated annotations are ignored;
    /// the first unusable FerroLB annotation is an error naming it.
    pub fn parse(annotations: &BTreeMap<String, String>) -> Result<Self, AnnotationError> {
        Ok(ServiceAnnotations {
            address_pool: non_empty(annotations, ADDRESS_POOL)?,
            load_balancer_ips: parse_ips(annotations)?,
            allow_shared_ip: non_empty(annotations, ALLOW_SHARED_IP)?,
            ip_allocated_from_pool: non_empty(annotations, IP_ALLOCATED_FROM_POOL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_every_annotation() {
        let got = ServiceAnnotations::parse(&annotations(&[
            (ADDRESS_POOL, "public"),
            (LOAD_BALANCER_IPS, "192.0.2.10, 2001:db8::10"),
            (ALLOW_SHARED_IP, "web"),
            (IP_ALLOCATED_FROM_POOL, "public"),
            ("example.com/other", "ignored"),
        ]))
        .unwrap();
        assert_eq!(
            got,
            ServiceAnnotations {
                address_pool: Some("public".into()),
                load_balancer_ips: vec![
                    "192.0.2.10".parse().unwrap(),
                    "2001:db8::10".parse().unwrap()
                ],
                allow_shared_ip: Some("web".into()),
                ip_allocated_from_pool: Some("public".into()),
            }
        );
        assert_eq!(
            ServiceAnnotations::parse(&BTreeMap::new()).unwrap(),
            ServiceAnnotations::default()
        );
    }

    #[test]
    fn precedence_is_ferrolb_then_metallb_io_then_universe() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    ("metallb.universe.tf/address-pool", "c"),
                    ("metallb.io/address-pool", "b"),
                    ("ferrolb.io/address-pool", "a"),
                ],
                "a",
            ),
            (
                &[
                    ("metallb.universe.tf/address-pool", "c"),
                    ("metallb.io/address-pool", "b"),
                ],
                "b",
            ),
            (&[("metallb.universe.tf/address-pool", "c")], "c"),
        ];
        for (pairs, want) in table {
            let got = ServiceAnnotations::parse(&annotations(pairs)).unwrap();
            assert_eq!(got.address_pool.as_deref(), Some(*want), "{pairs:?}");
        }
        let got = ServiceAnnotations::parse(&annotations(&[
            ("metallb.universe.tf/loadBalancerIPs", "192.0.2.1"),
            ("metallb.io/allow-shared-ip", "k"),
        ]))
        .unwrap();
        assert_eq!(
            got.load_balancer_ips,
            vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(got.allow_shared_ip.as_deref(), Some("k"));
    }

    #[test]
    fn errors_name_the_annotation() {
        let table: &[(&str, &str, &str)] = &[
            (
                "ferrolb.io/loadBalancerIPs",
                "192.0.2.1,banana",
                "\"banana\" is not an IP address",
            ),
            (
                "metallb.universe.tf/loadBalancerIPs",
                "192.0.2.1, 192.0.2.2",
                "192.0.2.2 and 192.0.2.1 are both IPv4; ask for at most one address per family",
            ),
            ("metallb.io/loadBalancerIPs", "  ", "value is empty"),
            (
                "metallb.io/loadBalancerIPs",
                "192.0.2.1,",
                "\"\" is not an IP address",
            ),
            ("ferrolb.io/address-pool", "", "value is empty"),
            ("metallb.io/allow-shared-ip", " ", "value is empty"),
        ];
        for (key, value, reason) in table {
            let err = ServiceAnnotations::parse(&annotations(&[(key, value)])).unwrap_err();
            assert_eq!(
                err,
                AnnotationError {
                    annotation: key.to_string(),
                    reason: reason.to_string()
                }
            );
            assert_eq!(err.to_string(), format!("annotation {key}: {reason}"));
        }
    }

    #[test]
    fn constants_are_under_ferrolb_io() {
        for key in [
            ADDRESS_POOL,
            LOAD_BALANCER_IPS,
            ALLOW_SHARED_IP,
            IP_ALLOCATED_FROM_POOL,
        ] {
            assert!(key.starts_with(PREFIXES[0]), "{key}");
        }
    }
}
