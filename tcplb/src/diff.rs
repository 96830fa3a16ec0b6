//! What a new `loadBalancer` configuration changes, frontend by frontend and backend by
//! backend, so a reload touches only that (pure).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ferrolb_api::router_config::{Backend, Frontend};

/// Changes between two lists of frontends.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Frontends that are new: start listening.
    pub added: Vec<String>,
    /// Frontends that are gone: stop listening (their connections stay).
    pub removed: Vec<String>,
    /// Frontends present in both with a difference.
    pub changed: Vec<FrontendChange>,
}

/// The difference in one frontend.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FrontendChange {
    /// The frontend's name.
    pub name: String,
    /// Listen addresses to open.
    pub listen_added: Vec<SocketAddr>,
    /// Listen addresses to close.
    pub listen_removed: Vec<SocketAddr>,
    /// Backends to add.
    pub backends_added: Vec<Backend>,
    /// Backends that take no new connections from now on.
    pub backends_removed: Vec<SocketAddr>,
    /// Backends whose weight changed, with the new weight.
    pub reweighted: Vec<(SocketAddr, u32)>,
    /// Algorithm, limits, timeouts, health check, slow start or PROXY protocol changed.
    pub settings_changed: bool,
}

impl FrontendChange {
    fn is_empty(&self) -> bool {
        self.listen_added.is_empty()
            && self.listen_removed.is_empty()
            && self.backends_added.is_empty()
            && self.backends_removed.is_empty()
            && self.reweighted.is_empty()
            && !self.settings_changed
    }
}

/// Everything of a frontend except its listen addresses and backends.
fn settings(f: &Frontend) -> Frontend {
    Frontend {
        listen: Vec::new(),
        backends: Vec::new(),
        ..f.clone()
    }
}

/// Compares the running frontends with the new ones.
pub fn diff(old: &[Frontend], new: &[Frontend]) -> Plan {
    let before: BTreeMap<&str, &Frontend> = old.iter().map(|f| (f.name.as_str(), f)).collect();
    let after: BTreeMap<&str, &Frontend> = new.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut plan = Plan::default();
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        plan.removed.push((*name).to_owned());
    }
    for (name, f) in &after {
        let Some(o) = before.get(name) else {
            plan.added.push((*name).to_owned());
            continue;
        };
        let old_weights: BTreeMap<SocketAddr, u32> =
            o.backends.iter().map(|b| (b.address, b.weight)).collect();
        let new_weights: BTreeMap<SocketAddr, u32> =
            f.backends.iter().map(|b| (b.address, b.weight)).collect();
        let change = FrontendChange {
            name: (*name).to_owned(),
            listen_added: f
                .listen
                .iter()
                .filter(|a| !o.listen.contains(a))
                .copied()
                .collect(),
            listen_removed: o
                .listen
                .iter()
                .filter(|a| !f.listen.contains(a))
                .copied()
                .collect(),
            backends_added: f
                .backends
                .iter()
                .filter(|b| !old_weights.contains_key(&b.address))
                .cloned()
                .collect(),
            backends_removed: old_weights
                .keys()
                .filter(|a| !new_weights.contains_key(a))
                .copied()
                .collect(),
            reweighted: new_weights
                .iter()
                .filter(|(a, w)| old_weights.get(a).is_some_and(|old| old != *w))
                .map(|(a, w)| (*a, *w))
                .collect(),
            settings_changed: settings(o) != settings(f),
        };
        if !change.is_empty() {
            plan.changed.push(change);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frontend(yaml: &str) -> Frontend {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const BASE: &str = "{name: api, listen: ['127.0.0.1:6443'], backends: [{address: '10.0.0.1:6443'}, {address: '10.0.0.2:6443'}]}";

    #[test]
    fn plans() {
        let api = frontend(BASE);
        let other =
            frontend("{name: dns, listen: ['127.0.0.1:53'], backends: [{address: '10.0.0.9:53'}]}");
        let moved = frontend("{name: api, listen: ['127.0.0.2:6443'], backends: [{address: '10.0.0.2:6443', weight: 3}, {address: '10.0.0.3:6443'}]}");
        let tuned = frontend("{name: api, listen: ['127.0.0.1:6443'], algorithm: leastConnections, backends: [{address: '10.0.0.1:6443'}, {address: '10.0.0.2:6443'}]}");
        // (old, new, expected)
        let cases = [
            (vec![api.clone()], vec![api.clone()], Plan::default()),
            (
                vec![api.clone()],
                vec![api.clone(), other.clone()],
                Plan {
                    added: vec!["dns".into()],
                    ..Plan::default()
                },
            ),
            (
                vec![api.clone(), other.clone()],
                vec![other.clone()],
                Plan {
                    removed: vec!["api".into()],
                    ..Plan::default()
                },
            ),
            (
                vec![api.clone()],
                vec![moved.clone()],
                Plan {
                    changed: vec![FrontendChange {
                        name: "api".into(),
                        listen_added: vec![addr("127.0.0.2:6443")],
                        listen_removed: vec![addr("127.0.0.1:6443")],
                        backends_added: vec![Backend {
                            address: addr("10.0.0.3:6443"),
                            weight: 1,
                        }],
                        backends_removed: vec![addr("10.0.0.1:6443")],
                        reweighted: vec![(addr("10.0.0.2:6443"), 3)],
                        settings_changed: false,
                    }],
                    ..Plan::default()
                },
            ),
            (
                vec![api.clone()],
                vec![tuned],
                Plan {
                    changed: vec![FrontendChange {
                        name: "api".into(),
                        settings_changed: true,
                        ..FrontendChange::default()
                    }],
                    ..Plan::default()
                },
            ),
        ];
        for (old, new, expected) in cases {
            assert_eq!(diff(&old, &new), expected);
        }
    }
}
