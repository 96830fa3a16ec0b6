//! MetalLB's legacy configuration (before 0.13): one ConfigMap whose
//! `config` key holds YAML with `peers`, `address-pools`,
//! `bgp-communities` and `bfd-profiles`, in kebab-case.

use std::collections::BTreeMap;

use anyhow::Context as _;
use ferrolb_api::API_VERSION;
use serde_yaml::{Mapping, Value};

use super::metallb::{normalize_addresses, peer_extras, push_pool_advertisement, Conversion};
use super::objects::{copy_fields, dns_name, metadata, str_at};

const PEER_FIELDS: &[(&str, &str)] = &[
    ("my-asn", "myASN"),
    ("peer-asn", "peerASN"),
    ("peer-address", "peerAddress"),
    ("peer-port", "peerPort"),
    ("source-address", "sourceAddress"),
    ("hold-time", "holdTime"),
    ("keepalive-time", "keepaliveTime"),
    ("router-id", "routerID"),
    ("bfd-profile", "bfdProfile"),
    ("ebgp-multihop", "ebgpMultiHop"),
];

const POOL_FIELDS: &[(&str, &str)] = &[
    ("addresses", "addresses"),
    ("auto-assign", "autoAssign"),
    ("avoid-buggy-ips", "avoidBuggyIPs"),
];

const ADV_FIELDS: &[(&str, &str)] = &[
    ("aggregation-length", "aggregationLength"),
    ("aggregation-length-v6", "aggregationLengthV6"),
    ("localpref", "localPref"),
];

const BFD_FIELDS: &[(&str, &str)] = &[
    ("receive-interval", "receiveInterval"),
    ("transmit-interval", "transmitInterval"),
    ("detect-multiplier", "detectMultiplier"),
    ("echo-interval", "echoInterval"),
    ("echo-mode", "echoMode"),
    ("passive-mode", "passiveMode"),
    ("minimum-ttl", "minimumTtl"),
];

fn seq(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default()
}

fn map(v: &Value) -> Mapping {
    v.as_mapping().cloned().unwrap_or_default()
}

/// `node-selectors` entries (`match-labels`, `match-expressions`) as label selectors.
fn node_selectors(list: &[Value]) -> Value {
    list.iter()
        .map(|s| {
            let mut out = Mapping::new();
            if let Some(l) = s.get("match-labels") {
                out.insert("matchLabels".into(), l.clone());
            }
            if let Some(e) = s.get("match-expressions") {
                out.insert("matchExpressions".into(), e.clone());
            }
            Value::Mapping(out)
        })
        .collect::<Vec<_>>()
        .into()
}

/// Converts the ConfigMap `configmap`'s `config` value.
pub fn convert(
    configmap: &str,
    config: &Value,
    namespace: &str,
    c: &mut Conversion,
) -> anyhow::Result<()> {
    let text = config
        .as_str()
        .context("the ConfigMap's data.config is not a string")?;
    let config: Value = serde_yaml::from_str(text)
        .with_context(|| format!("ConfigMap {configmap:?}: data.config is not valid YAML"))?;
    for key in map(&config).keys().filter_map(Value::as_str) {
        if !["peers", "address-pools", "bgp-communities", "bfd-profiles"].contains(&key) {
            c.notes.push(format!(
                "ConfigMap {configmap:?}: config.{key} has no FerroLB equivalent; dropped"
            ));
        }
    }
    let communities: BTreeMap<String, String> =
        map(config.get("bgp-communities").unwrap_or(&Value::Null))
            .iter()
            .map(|(k, v)| (str_at(k, &[]), str_at(v, &[])))
            .collect();
    for (i, peer) in seq(&config, "peers").iter().enumerate() {
        let address = str_at(peer, &["peer-address"]);
        let name = if address.is_empty() {
            format!("peer-{i}")
        } else {
            format!("peer-{}", dns_name(&address))
        };
        let object = format!("ConfigMap {configmap:?} peers[{i}]");
        let mut spec = Mapping::new();
        let mut rest = Mapping::new();
        for k in copy_fields(&map(peer), &mut spec, PEER_FIELDS) {
            let v = peer.get(k.as_str()).cloned().unwrap_or(Value::Null);
            if k == "node-selectors" {
                spec.insert(
                    "nodeSelectors".into(),
                    node_selectors(v.as_sequence().map(Vec::as_slice).unwrap_or_default()),
                );
            } else {
                rest.insert(k.into(), v);
            }
        }
        peer_extras(&object, &name, namespace, &rest, &mut spec, c);
        c.objects.push(
            API_VERSION,
            "BGPPeer",
            metadata(&name, namespace, None),
            ("spec", spec),
        );
    }
    for (i, profile) in seq(&config, "bfd-profiles").iter().enumerate() {
        let name = str_at(profile, &["name"]);
        let mut spec = Mapping::new();
        for k in copy_fields(&map(profile), &mut spec, BFD_FIELDS)
            .into_iter()
            .filter(|k| k != "name")
        {
            c.notes.push(format!(
                "ConfigMap {configmap:?} bfd-profiles[{i}]: {k} has no FerroLB equivalent; dropped"
            ));
        }
        c.objects.push(
            API_VERSION,
            "BFDProfile",
            metadata(&name, namespace, None),
            ("spec", spec),
        );
    }
    for (i, pool) in seq(&config, "address-pools").iter().enumerate() {
        pool_objects(configmap, i, pool, &communities, namespace, c);
    }
    Ok(())
}

fn pool_objects(
    configmap: &str,
    i: usize,
    pool: &Value,
    communities: &BTreeMap<String, String>,
    namespace: &str,
    c: &mut Conversion,
) {
    let name = str_at(pool, &["name"]);
    let object = format!("ConfigMap {configmap:?} address-pools[{i}] ({name})");
    let protocol = str_at(pool, &["protocol"]);
    let mut spec = Mapping::new();
    for k in copy_fields(&map(pool), &mut spec, POOL_FIELDS) {
        if !["name", "protocol", "bgp-advertisements"].contains(&k.as_str()) {
            c.notes
                .push(format!("{object}: {k} has no FerroLB equivalent; dropped"));
        }
    }
    normalize_addresses(&object, &mut spec, &mut c.notes);
    c.objects.push(
        API_VERSION,
        "IPAddressPool",
        metadata(&name, namespace, None),
        ("spec", spec),
    );
    let advertisements = seq(pool, "bgp-advertisements");
    if protocol != "bgp" || advertisements.is_empty() {
        push_pool_advertisement(&name, &protocol, namespace, c);
        return;
    }
    for (j, adv) in advertisements.iter().enumerate() {
        let mut spec = Mapping::new();
        spec.insert(
            "ipAddressPools".into(),
            vec![Value::from(name.clone())].into(),
        );
        for k in copy_fields(&map(adv), &mut spec, ADV_FIELDS) {
            if k != "communities" {
                c.notes.push(format!(
                    "{object} bgp-advertisements[{j}]: {k} has no FerroLB equivalent; dropped"
                ));
            }
        }
        let values: Vec<Value> = seq(adv, "communities")
            .iter()
            .filter_map(|v| {
                let s = str_at(v, &[]);
                let value = communities.get(&s).cloned().unwrap_or(s.clone());
                if value.parse::<ferrolb_api::BgpCommunity>().is_ok() {
                    Some(Value::from(value))
                } else {
                    c.notes.push(format!("{object} bgp-advertisements[{j}]: community {s:?} is not defined in bgp-communities; dropped"));
                    None
                }
            })
            .collect();
        if !values.is_empty() {
            spec.insert("communities".into(), values.into());
        }
        c.objects.push(
            API_VERSION,
            "BGPAdvertisement",
            metadata(&format!("{name}-bgp-{j}"), namespace, None),
            ("spec", spec),
        );
    }
}
