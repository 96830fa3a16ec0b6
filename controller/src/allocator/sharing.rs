//! When two Services may hold the same address (`allow-shared-ip`).
//!
//! As with MetalLB: both set the same sharing key, no `(protocol, port)` is
//! used by both, and both have the same backend — `externalTrafficPolicy:
//! Cluster`, or `Local` with the same pod selector (with `Local`, the nodes
//! announcing the address are those running the selected pods, so the
//! sharing Services must agree on them).

use super::error::SharingConflict;
use super::request::SharingInfo;

/// Whether a Service with `ours` may hold an address `other` (named
/// `other_name`) already holds with `theirs`.
pub fn check_sharing(
    other_name: &str,
    theirs: &SharingInfo,
    ours: &SharingInfo,
) -> Result<(), SharingConflict> {
    let other = || other_name.to_owned();
    let (their_key, our_key) = match (&theirs.key, &ours.key) {
        (None, _) => return Err(SharingConflict::HolderNotShared { other: other() }),
        (Some(_), None) => return Err(SharingConflict::ServiceNotShared { other: other() }),
        (Some(t), Some(o)) => (t, o),
    };
    if their_key != our_key {
        return Err(SharingConflict::KeyMismatch {
            other: other(),
            theirs: their_key.clone(),
            ours: our_key.clone(),
        });
    }
    if theirs.local_selector != ours.local_selector {
        return Err(SharingConflict::BackendMismatch { other: other() });
    }
    if let Some(port) = ours.ports.iter().find(|p| theirs.ports.contains(p)) {
        return Err(SharingConflict::PortConflict {
            other: other(),
            port: port.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::request::PortKey;
    use std::collections::BTreeMap;

    fn info(
        key: Option<&str>,
        local: Option<&[(&str, &str)]>,
        ports: &[(&str, i32)],
    ) -> SharingInfo {
        SharingInfo {
            key: key.map(str::to_owned),
            local_selector: local.map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>()
            }),
            ports: ports
                .iter()
                .map(|(protocol, port)| PortKey {
                    protocol: protocol.to_string(),
                    port: *port,
                })
                .collect(),
        }
    }

    #[test]
    fn sharing_rules() {
        let web: &[(&str, &str)] = &[("app", "web")];
        let db: &[(&str, &str)] = &[("app", "db")];
        let table: &[(SharingInfo, SharingInfo, Option<&str>)] = &[
            (
                info(Some("k"), None, &[("TCP", 80)]),
                info(Some("k"), None, &[("TCP", 443)]),
                None,
            ),
            (
                info(Some("k"), None, &[("TCP", 53)]),
                info(Some("k"), None, &[("UDP", 53)]),
                None,
            ),
            (
                info(Some("k"), Some(web), &[("TCP", 80)]),
                info(Some("k"), Some(web), &[("UDP", 80)]),
                None,
            ),
            (
                info(None, None, &[("TCP", 80)]),
                info(Some("k"), None, &[("TCP", 443)]),
                Some(
                    "default/a holds it and does not allow sharing (no allow-shared-ip annotation)",
                ),
            ),
            (
                info(Some("k"), None, &[("TCP", 80)]),
                info(None, None, &[("TCP", 443)]),
                Some("default/a holds it and this Service has no allow-shared-ip annotation"),
            ),
            (
                info(Some("k"), None, &[("TCP", 80)]),
                info(Some("j"), None, &[("TCP", 443)]),
                Some("default/a holds it with sharing key \"k\", not \"j\""),
            ),
            (
                info(Some("k"), None, &[("TCP", 80)]),
                info(Some("k"), None, &[("TCP", 80)]),
                Some("default/a already uses TCP/80 on it"),
            ),
            (
                info(Some("k"), Some(web), &[("TCP", 80)]),
                info(Some("k"), Some(db), &[("TCP", 443)]),
                Some(
                    "default/a holds it with a different traffic policy or pod selector; Services \
                     sharing an address with externalTrafficPolicy Local must select the same pods",
                ),
            ),
            (
                info(Some("k"), None, &[("TCP", 80)]),
                info(Some("k"), Some(web), &[("TCP", 443)]),
                Some(
                    "default/a holds it with a different traffic policy or pod selector; Services \
                     sharing an address with externalTrafficPolicy Local must select the same pods",
                ),
            ),
        ];
        for (theirs, ours, want) in table {
            let got = check_sharing("default/a", theirs, ours)
                .err()
                .map(|e| e.to_string());
            assert_eq!(got.as_deref(), *want, "{theirs:?} vs {ours:?}");
        }
    }
}
