//! The guard on shrinking a pool: which Services hold addresses that would
//! no longer be in it, and so would be given new ones.

use std::net::IpAddr;

use ferrolb_api::AddressBlock;
use serde::Serialize;

use crate::facts::ServiceFacts;

/// A Service that would lose addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedService {
    /// `namespace/name`.
    pub service: String,
    /// Its addresses that leave the pool.
    pub ips: Vec<IpAddr>,
}

/// Services (of those given) with an address inside `removed` but outside
/// `remaining`; a Service's address still covered by another entry of the
/// pool stays.
pub fn services_losing_addresses(
    removed: &[AddressBlock],
    remaining: &[AddressBlock],
    services: &[ServiceFacts],
) -> Vec<AffectedService> {
    services
        .iter()
        .filter_map(|svc| {
            let ips: Vec<IpAddr> = svc
                .ips_in(removed)
                .into_iter()
                .filter(|ip| !remaining.iter().any(|b| b.contains(*ip)))
                .collect();
            (!ips.is_empty()).then(|| AffectedService {
                service: svc.key(),
                ips,
            })
        })
        .collect()
}

/// The message shown when the guard refuses (or, with `--force`, warns).
pub fn describe(pool: &str, what: &str, affected: &[AffectedService], forced: bool) -> String {
    let list: Vec<String> = affected
        .iter()
        .map(|a| {
            let ips: Vec<String> = a.ips.iter().map(IpAddr::to_string).collect();
            format!("  {} ({})", a.service, ips.join(", "))
        })
        .collect();
    if forced {
        format!(
            "{what} IPAddressPool {pool:?}: these Services will lose their addresses and be given new ones:\n{}",
            list.join("\n")
        )
    } else {
        format!(
            "refusing to {what} IPAddressPool {pool:?}: addresses in it are in use by:\n{}\n\
             pass --force to do it anyway; these Services will then be given new addresses",
            list.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, ips: &[&str]) -> ServiceFacts {
        ServiceFacts {
            namespace: "default".into(),
            name: name.into(),
            ingress: ips.iter().map(|i| i.parse().unwrap()).collect(),
            ..ServiceFacts::default()
        }
    }

    fn blocks(s: &[&str]) -> Vec<AddressBlock> {
        s.iter().map(|b| b.parse().unwrap()).collect()
    }

    #[test]
    fn finds_services_losing_addresses() {
        let services = [
            svc("web", &["192.0.2.10"]),
            svc("dns", &["192.0.2.20", "2001:db8::5"]),
            svc("elsewhere", &["198.51.100.1"]),
            svc("pending", &[]),
        ];
        /// (removed, remaining, affected Services with their addresses)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [(&'a str, &'a [&'a str])]);
        let table: &[Case] = &[
            // Removing a range nobody uses.
            (&["192.0.2.100-192.0.2.110"], &["192.0.2.0/27"], &[]),
            // Removing the range web uses.
            (
                &["192.0.2.8-192.0.2.15"],
                &["192.0.2.16/28"],
                &[("default/web", &["192.0.2.10"])],
            ),
            // Removing a range still covered by another entry: nobody moves.
            (&["192.0.2.8-192.0.2.15"], &["192.0.2.0/24"], &[]),
            // Deleting the whole pool: every holder, only its addresses in it.
            (
                &["192.0.2.0/24", "2001:db8::/120"],
                &[],
                &[
                    ("default/web", &["192.0.2.10"]),
                    ("default/dns", &["192.0.2.20", "2001:db8::5"]),
                ],
            ),
        ];
        for (removed, remaining, want) in table {
            let got = services_losing_addresses(&blocks(removed), &blocks(remaining), &services);
            let want: Vec<AffectedService> = want
                .iter()
                .map(|(s, ips)| AffectedService {
                    service: s.to_string(),
                    ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
                })
                .collect();
            assert_eq!(got, want, "removing {removed:?}");
        }
    }

    #[test]
    fn messages_name_the_pool_and_services() {
        let affected = [AffectedService {
            service: "default/web".into(),
            ips: vec!["192.0.2.10".parse().unwrap()],
        }];
        let refused = describe("public", "delete", &affected, false);
        assert!(refused.starts_with("refusing to delete IPAddressPool \"public\""));
        assert!(refused.contains("  default/web (192.0.2.10)"));
        assert!(refused.contains("--force"));
        let forced = describe("public", "delete", &affected, true);
        assert!(forced.contains("will lose their addresses"));
    }
}
