//! MetalLB's custom resources (`metallb.io/v1beta1`, `v1beta2`) to
//! FerroLB's. Field names mostly match (FerroLB kept MetalLB's), so most
//! fields are copied; the rest are reported.

use std::collections::BTreeMap;

use anyhow::Context as _;
use ferrolb_api::API_VERSION;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::metallb_legacy;
use super::objects::{copy_fields, dns_name, metadata, str_at, Objects};

/// The result: FerroLB objects and what could not be mapped.
#[derive(Debug, Default)]
pub struct Conversion {
    /// The objects.
    pub objects: Objects,
    /// One line per thing left behind, naming the MetalLB object and field.
    pub notes: Vec<String>,
}

const POOL_FIELDS: &[(&str, &str)] = &[
    ("addresses", "addresses"),
    ("autoAssign", "autoAssign"),
    ("avoidBuggyIPs", "avoidBuggyIPs"),
    ("serviceAllocation", "serviceAllocation"),
];

const PEER_FIELDS: &[(&str, &str)] = &[
    ("myASN", "myASN"),
    ("peerASN", "peerASN"),
    ("peerAddress", "peerAddress"),
    ("peerPort", "peerPort"),
    ("sourceAddress", "sourceAddress"),
    ("holdTime", "holdTime"),
    ("keepaliveTime", "keepaliveTime"),
    ("connectTime", "connectTime"),
    ("routerID", "routerID"),
    ("nodeSelectors", "nodeSelectors"),
    ("passwordSecret", "passwordSecret"),
    ("bfdProfile", "bfdProfile"),
    ("ebgpMultiHop", "ebgpMultiHop"),
    ("enableGracefulRestart", "enableGracefulRestart"),
    ("dualStackAddressFamily", "dualStackAddressFamily"),
];

const BGP_ADV_FIELDS: &[(&str, &str)] = &[
    ("aggregationLength", "aggregationLength"),
    ("aggregationLengthV6", "aggregationLengthV6"),
    ("localPref", "localPref"),
    ("ipAddressPools", "ipAddressPools"),
    ("ipAddressPoolSelectors", "ipAddressPoolSelectors"),
    ("nodeSelectors", "nodeSelectors"),
    ("peers", "peers"),
];

const L2_ADV_FIELDS: &[(&str, &str)] = &[
    ("ipAddressPools", "ipAddressPools"),
    ("ipAddressPoolSelectors", "ipAddressPoolSelectors"),
    ("nodeSelectors", "nodeSelectors"),
    ("interfaces", "interfaces"),
];

const BFD_FIELDS: &[(&str, &str)] = &[
    ("receiveInterval", "receiveInterval"),
    ("transmitInterval", "transmitInterval"),
    ("detectMultiplier", "detectMultiplier"),
    ("echoInterval", "echoInterval"),
    ("echoMode", "echoMode"),
    ("passiveMode", "passiveMode"),
    ("minimumTtl", "minimumTtl"),
];

/// Converts every MetalLB object in `yaml` (multi-document, `kind: List`
/// allowed) into objects in `namespace`.
pub fn convert(yaml: &str, namespace: &str) -> anyhow::Result<Conversion> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let v =
            Value::deserialize(de).with_context(|| format!("document {i} is not valid YAML"))?;
        flatten_lists(v, &mut docs);
    }
    let mut c = Conversion::default();
    // Community objects name values that BGPAdvertisements refer to.
    let mut communities = BTreeMap::new();
    for d in docs
        .iter()
        .filter(|d| is_metallb(d) && str_at(d, &["kind"]) == "Community")
    {
        let name = str_at(d, &["metadata", "name"]);
        for entry in d
            .get("spec")
            .and_then(|s| s.get("communities"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            communities.insert(str_at(entry, &["name"]), str_at(entry, &["value"]));
        }
        c.notes.push(format!(
            "Community {name:?}: FerroLB has no Community kind; its values were written into the BGPAdvertisements that name them"
        ));
    }
    for d in &docs {
        let kind = str_at(d, &["kind"]);
        if str_at(d, &["apiVersion"]) == "v1" && kind == "ConfigMap" {
            if let Some(config) = d.get("data").and_then(|data| data.get("config")) {
                let name = str_at(d, &["metadata", "name"]);
                metallb_legacy::convert(&name, config, namespace, &mut c)?;
            }
            continue;
        }
        if !is_metallb(d) {
            if !kind.is_empty() {
                c.notes.push(format!(
                    "{kind} {:?} ({}) is not a MetalLB object; skipped",
                    str_at(d, &["metadata", "name"]),
                    str_at(d, &["apiVersion"])
                ));
            }
            continue;
        }
        convert_object(d, &kind, namespace, &communities, &mut c);
    }
    Ok(c)
}

fn flatten_lists(v: Value, out: &mut Vec<Value>) {
    if v.is_null() {
        return;
    }
    if str_at(&v, &["kind"]) == "List" {
        for item in v
            .get("items")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default()
        {
            flatten_lists(item, out);
        }
    } else {
        out.push(v);
    }
}

fn is_metallb(d: &Value) -> bool {
    str_at(d, &["apiVersion"]).starts_with("metallb.io/")
}

fn convert_object(
    d: &Value,
    kind: &str,
    namespace: &str,
    communities: &BTreeMap<String, String>,
    c: &mut Conversion,
) {
    let name = str_at(d, &["metadata", "name"]);
    let labels = d.get("metadata").and_then(|m| m.get("labels"));
    let spec = d
        .get("spec")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let object = format!("{kind} {name:?}");
    let mut out = Mapping::new();
    let unknown = match kind {
        "IPAddressPool" => {
            let unknown = copy_fields(&spec, &mut out, POOL_FIELDS);
            normalize_addresses(&object, &mut out, &mut c.notes);
            unknown
        }
        "BGPPeer" => {
            let mut rest = Mapping::new();
            let mut unknown = copy_fields(&spec, &mut out, PEER_FIELDS);
            unknown.retain(|k| {
                let v = spec.get(k.as_str()).cloned().unwrap_or(Value::Null);
                rest.insert(k.as_str().into(), v);
                false
            });
            peer_extras(&object, &name, namespace, &rest, &mut out, c);
            unknown
        }
        "BGPAdvertisement" => {
            let unknown = copy_fields(&spec, &mut out, BGP_ADV_FIELDS);
            if let Some(list) = spec.get("communities").and_then(Value::as_sequence) {
                let resolved = resolve_communities(&object, list, communities, &mut c.notes);
                if !resolved.is_empty() {
                    out.insert("communities".into(), resolved.into());
                }
            }
            unknown.into_iter().filter(|k| k != "communities").collect()
        }
        "L2Advertisement" => copy_fields(&spec, &mut out, L2_ADV_FIELDS),
        "BFDProfile" => copy_fields(&spec, &mut out, BFD_FIELDS),
        "Community" => return,
        "AddressPool" => {
            // MetalLB's pre-0.13 AddressPool: a pool plus its protocol.
            let unknown = copy_fields(&spec, &mut out, POOL_FIELDS);
            normalize_addresses(&object, &mut out, &mut c.notes);
            let protocol = str_at(d, &["spec", "protocol"]);
            c.objects.push(
                API_VERSION,
                "IPAddressPool",
                metadata(&name, namespace, labels),
                ("spec", out),
            );
            push_pool_advertisement(&name, &protocol, namespace, c);
            for k in unknown
                .iter()
                .filter(|k| *k != "protocol" && *k != "bgpAdvertisements")
            {
                c.notes
                    .push(format!("{object}: spec.{k} has no FerroLB equivalent"));
            }
            if spec.contains_key("bgpAdvertisements") {
                c.notes.push(format!("{object}: spec.bgpAdvertisements: write BGPAdvertisements selecting pool {name:?} instead (a default one was generated)"));
            }
            return;
        }
        other => {
            c.notes
                .push(format!("{other} {name:?}: unknown MetalLB kind; skipped"));
            return;
        }
    };
    for k in unknown {
        c.notes.push(format!(
            "{object}: spec.{k} has no FerroLB equivalent; dropped"
        ));
    }
    c.objects.push(
        API_VERSION,
        kind,
        metadata(&name, namespace, labels),
        ("spec", out),
    );
}

/// An advertisement for a legacy pool, by its protocol.
pub fn push_pool_advertisement(pool: &str, protocol: &str, namespace: &str, c: &mut Conversion) {
    let mut spec = Mapping::new();
    spec.insert("ipAddressPools".into(), vec![Value::from(pool)].into());
    match protocol {
        "bgp" => c.objects.push(
            API_VERSION,
            "BGPAdvertisement",
            metadata(&format!("{pool}-bgp"), namespace, None),
            ("spec", spec),
        ),
        "layer2" | "" => c.objects.push(
            API_VERSION,
            "L2Advertisement",
            metadata(&format!("{pool}-l2"), namespace, None),
            ("spec", spec),
        ),
        other => c.notes.push(format!(
            "pool {pool:?}: protocol {other:?} is not supported; no advertisement generated"
        )),
    }
}

/// MetalLB accepts bare addresses; FerroLB wants a prefix length.
pub fn normalize_addresses(object: &str, spec: &mut Mapping, notes: &mut Vec<String>) {
    let Some(Value::Sequence(list)) = spec.get_mut("addresses") else {
        return;
    };
    for entry in list.iter_mut() {
        let Some(s) = entry.as_str() else { continue };
        let trimmed: String = s.split('-').map(str::trim).collect::<Vec<_>>().join("-");
        let fixed = match trimmed.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => format!("{trimmed}/32"),
            Ok(std::net::IpAddr::V6(_)) => format!("{trimmed}/128"),
            Err(_) => trimmed,
        };
        if fixed != s {
            notes.push(format!("{object}: address {s:?} written as {fixed:?}"));
            *entry = fixed.into();
        }
    }
}

fn resolve_communities(
    object: &str,
    list: &[Value],
    communities: &BTreeMap<String, String>,
    notes: &mut Vec<String>,
) -> Vec<Value> {
    list.iter()
        .filter_map(|v| {
            let s = v.as_str().map(str::to_owned).unwrap_or_else(|| str_at(v, &[]));
            if s.parse::<ferrolb_api::BgpCommunity>().is_ok() {
                return Some(Value::from(s));
            }
            match communities.get(&s) {
                Some(value) => Some(Value::from(value.clone())),
                None => {
                    notes.push(format!("{object}: community {s:?} is neither a value nor defined in a Community object; dropped"));
                    None
                }
            }
        })
        .collect()
}

/// BGPPeer fields FerroLB handles differently: a plain-text password
/// becomes a Secret; VRFs, unnumbered peering and dynamic ASNs are reported.
pub fn peer_extras(
    object: &str,
    name: &str,
    namespace: &str,
    rest: &Mapping,
    out: &mut Mapping,
    c: &mut Conversion,
) {
    for (k, v) in rest {
        let key = k.as_str().unwrap_or_default();
        match key {
            "password" => {
                let secret = format!("{}-bgp-password", dns_name(name));
                let mut data = Mapping::new();
                data.insert("password".into(), v.clone());
                c.objects.push(
                    "v1",
                    "Secret",
                    metadata(&secret, namespace, None),
                    ("stringData", data),
                );
                let mut reference = Mapping::new();
                reference.insert("name".into(), secret.clone().into());
                out.insert("passwordSecret".into(), Value::Mapping(reference));
                c.notes.push(format!("{object}: the plain-text password was moved to Secret {secret:?} (FerroLB reads passwords only from Secrets)"));
            }
            "vrf" if v.as_str().is_some_and(str::is_empty) => {}
            "disableMP" => {
                if v.as_bool() == Some(false) {
                    c.notes.push(format!("{object}: disableMP: false: set dualStackAddressFamily: true to announce both families over this session"));
                }
            }
            "vrf" => c.notes.push(format!(
                "{object}: vrf {:?}: FerroLB peers only from the default VRF; dropped",
                str_at(v, &[])
            )),
            "interface" => c.notes.push(format!(
                "{object}: interface (BGP unnumbered) is not supported; set peerAddress instead"
            )),
            "dynamicASN" => c.notes.push(format!(
                "{object}: dynamicASN is not supported; set peerASN"
            )),
            other => c.notes.push(format!(
                "{object}: spec.{other} has no FerroLB equivalent; dropped"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_each_kind_and_reports_leftovers() {
        let yaml = r#"
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system, labels: {zone: a}}
spec: {addresses: [192.0.2.1, " 192.0.2.10 - 192.0.2.20 "], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c}
spec: {communities: [{name: vpn-only, value: "1234:1"}]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a}
spec: {communities: [vpn-only, "65535:65282", nope], localPref: 50}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 10.0.0.1, password: s3cret, vrf: red, disableMP: true}
"#;
        let c = convert(yaml, "ferrolb-system").unwrap();
        assert_eq!(
            c.objects.names(),
            vec![
                "IPAddressPool/p",
                "BGPAdvertisement/a",
                "Secret/r1-bgp-password",
                "BGPPeer/r1"
            ]
        );
        let out = c.objects.to_yaml().unwrap();
        assert!(
            out.contains("- 192.0.2.1/32\n  - 192.0.2.10-192.0.2.20\n"),
            "{out}"
        );
        assert!(out.contains("- 1234:1\n  - 65535:65282\n"), "{out}");
        assert!(
            out.contains("passwordSecret:\n    name: r1-bgp-password"),
            "{out}"
        );
        let notes = c.notes.join("\n");
        for want in [
            "Community \"c\": FerroLB has no Community kind",
            "BGPAdvertisement \"a\": community \"nope\"",
            "BGPPeer \"r1\": vrf \"red\"",
            "IPAddressPool \"p\": address \"192.0.2.1\" written as \"192.0.2.1/32\"",
        ] {
            assert!(notes.contains(want), "{want} missing from:\n{notes}");
        }
    }
}
