//! The admission decision: does a FerroLB object, as it would be stored,
//! pass the shared validator together with the objects already in the
//! cluster?
//!
//! Pure: the caller lists the existing objects and hands them in, so every
//! rule (including the ones spanning objects, such as overlapping pools) is
//! table-tested without a server.

use ferrolb_api::validate::ObjectKind;
use ferrolb_api::{validate_objects, ClusterObjects};
use kube::ResourceExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The FerroLB kinds the webhook validates, with their plural resource names.
pub const VALIDATED_RESOURCES: [(&str, ObjectKind); 5] = [
    ("ipaddresspools", ObjectKind::IPAddressPool),
    ("bgppeers", ObjectKind::BGPPeer),
    ("bgpadvertisements", ObjectKind::BGPAdvertisement),
    ("l2advertisements", ObjectKind::L2Advertisement),
    ("bfdprofiles", ObjectKind::BFDProfile),
];

/// The validator's kind for an object `kind` (`IPAddressPool`, ...).
pub fn object_kind(kind: &str) -> Option<ObjectKind> {
    match kind {
        "IPAddressPool" => Some(ObjectKind::IPAddressPool),
        "BGPPeer" => Some(ObjectKind::BGPPeer),
        "BGPAdvertisement" => Some(ObjectKind::BGPAdvertisement),
        "L2Advertisement" => Some(ObjectKind::L2Advertisement),
        "BFDProfile" => Some(ObjectKind::BFDProfile),
        _ => None,
    }
}

/// Reviews `object` (of `kind`) as it would be stored next to `existing`.
///
/// `Err` carries the message shown to the user: every problem with this
/// object, one per line, each naming the field and, for overlaps, the other
/// pool. Problems of *other* objects are not this request's fault and do
/// not block it.
pub fn review(
    kind: ObjectKind,
    object: &Value,
    mut existing: ClusterObjects,
) -> Result<(), String> {
    let name = match kind {
        ObjectKind::IPAddressPool => replace(&mut existing.pools, object)?,
        ObjectKind::BGPPeer => replace(&mut existing.peers, object)?,
        ObjectKind::BGPAdvertisement => replace(&mut existing.bgp_advertisements, object)?,
        ObjectKind::L2Advertisement => replace(&mut existing.l2_advertisements, object)?,
        ObjectKind::BFDProfile => replace(&mut existing.bfd_profiles, object)?,
        ObjectKind::RouterConfig => return Ok(()),
    };
    let problems: Vec<String> = validate_objects(&existing)
        .into_iter()
        .filter(|e| e.kind == kind && e.name == name)
        .map(|e| e.to_string())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Puts `object` last in `list` (replacing a stored version of it), so that
/// cross-object problems such as an overlap are reported against it rather
/// than against the object that was there first. Returns its name.
fn replace<K>(list: &mut Vec<K>, object: &Value) -> Result<String, String>
where
    K: DeserializeOwned + ResourceExt,
{
    let parsed: K = serde_json::from_value(object.clone())
        .map_err(|e| format!("the object does not match its schema: {e}"))?;
    let name = parsed.name_any();
    list.retain(|k| k.name_any() != name);
    list.push(parsed);
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(name: &str, addresses: &[&str]) -> Value {
        json!({
            "apiVersion": "ferrolb.io/v1alpha1", "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": "ferrolb-system"},
            "spec": {"addresses": addresses},
        })
    }

    fn stored_pools(pools: &[Value]) -> ClusterObjects {
        ClusterObjects {
            pools: pools
                .iter()
                .map(|p| serde_json::from_value(p.clone()).unwrap())
                .collect(),
            ..ClusterObjects::default()
        }
    }

    #[test]
    fn verdicts() {
        let a = pool("a", &["192.0.2.0/28"]);
        // (case, object, already stored, expected fragments of the denial; empty = allowed)
        let cases: Vec<(&str, Value, Vec<Value>, Vec<&str>)> = vec![
            ("first pool", a.clone(), vec![], vec![]),
            (
                "disjoint pool",
                pool("b", &["192.0.2.16/28"]),
                vec![a.clone()],
                vec![],
            ),
            (
                "overlapping pool names both pools",
                pool("b", &["192.0.2.8/29"]),
                vec![a.clone()],
                vec![
                    "IPAddressPool \"b\"",
                    "spec.addresses[0]",
                    "IPAddressPool \"a\"",
                ],
            ),
            (
                "updating a pool does not overlap its old self",
                pool("a", &["192.0.2.0/27"]),
                vec![a.clone()],
                vec![],
            ),
            (
                "host bits set",
                pool("c", &["198.51.100.1/24"]),
                vec![],
                vec!["IPAddressPool \"c\"", "host bits"],
            ),
            (
                "schema mismatch",
                json!({"apiVersion": "ferrolb.io/v1alpha1", "kind": "IPAddressPool",
                       "metadata": {"name": "d"}, "spec": {"addresses": "10.0.0.0/8"}}),
                vec![],
                vec!["does not match its schema"],
            ),
        ];
        for (case, object, stored, expected) in cases {
            let verdict = review(ObjectKind::IPAddressPool, &object, stored_pools(&stored));
            match (expected.is_empty(), verdict) {
                (true, Ok(())) => {}
                (true, Err(e)) => panic!("{case}: denied: {e}"),
                (false, Ok(())) => panic!("{case}: allowed"),
                (false, Err(message)) => {
                    for fragment in expected {
                        assert!(
                            message.contains(fragment),
                            "{case}: {message:?} lacks {fragment:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_existing_problem_elsewhere_does_not_block_an_unrelated_object() {
        // Two stored pools already overlap (created before the webhook was
        // registered); a new, clean pool is still admitted.
        let stored = stored_pools(&[pool("x", &["10.0.0.0/24"]), pool("y", &["10.0.0.0/25"])]);
        assert_eq!(
            review(
                ObjectKind::IPAddressPool,
                &pool("z", &["10.1.0.0/24"]),
                stored
            ),
            Ok(())
        );
    }

    #[test]
    fn kinds_map_to_the_validator() {
        for (_, kind) in VALIDATED_RESOURCES {
            assert_eq!(object_kind(&kind.to_string()), Some(kind));
        }
        assert_eq!(object_kind("Service"), None);
    }
}
