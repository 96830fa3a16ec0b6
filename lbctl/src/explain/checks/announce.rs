//! Announcing: advertisements, which speakers should and do announce over
//! BGP, and their BGP sessions.

use std::collections::{BTreeMap, BTreeSet};

use ferrolb_api::{any_selector_matches, IPAddressPool};

use super::name;
use crate::explain::facts::ExplainFacts;
use crate::explain::verdict::Check;

/// An advertisement's name, `ipAddressPools`, `ipAddressPoolSelectors` and
/// `serviceSelectors` (the same fields in BGP and L2 advertisements).
type Selection<'a> = (
    Option<&'a str>,
    &'a [String],
    &'a [ferrolb_api::LabelSelector],
    &'a [ferrolb_api::LabelSelector],
);

/// The [`Selection`] of a BGP or an L2 advertisement: the same fields,
/// in two types without a common trait.
macro_rules! selection {
    ($a:expr) => {
        (
            $a.metadata.name.as_deref(),
            &$a.spec.ip_address_pools[..],
            &$a.spec.ip_address_pool_selectors[..],
            &$a.spec.service_selectors[..],
        )
    };
}

/// The names of the advertisements selecting pool `pool_name` (labelled
/// `pool_labels`) and a Service labelled `labels`.
fn selecting<'a>(
    advertisements: Vec<Selection<'a>>,
    pool_name: &str,
    pool_labels: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> Vec<&'a str> {
    advertisements
        .into_iter()
        .filter(|(_, names, selectors, services)| {
            let pool_selected = (names.is_empty() && selectors.is_empty())
                || names.iter().any(|n| n == pool_name)
                || (!selectors.is_empty()
                    && any_selector_matches(selectors, pool_labels).unwrap_or(false));
            pool_selected && any_selector_matches(services, labels).unwrap_or(false)
        })
        .filter_map(|(name, ..)| name)
        .collect()
}

/// Which advertisements announce the pool: the check, and whether BGP
/// and L2 are in use.
pub(super) fn advertisements(f: &ExplainFacts, pool: &IPAddressPool) -> (Check, bool, bool) {
    let pool_name = name(pool);
    let pool_labels = pool.metadata.labels.clone().unwrap_or_default();
    let labels = &f.service.labels;
    let bgp = selecting(
        f.objects
            .bgp_advertisements
            .iter()
            .map(|a| selection!(a))
            .collect(),
        pool_name,
        &pool_labels,
        labels,
    );
    let l2 = selecting(
        f.objects
            .l2_advertisements
            .iter()
            .map(|a| selection!(a))
            .collect(),
        pool_name,
        &pool_labels,
        labels,
    );
    let mut said = Vec::new();
    if !bgp.is_empty() {
        said.push(format!("BGP by BGPAdvertisement {}", bgp.join(", ")));
    }
    if !l2.is_empty() {
        said.push(format!("L2 by L2Advertisement {}", l2.join(", ")));
    }
    let check = if said.is_empty() {
        Check::fail(
            "advertisement",
            format!("no BGPAdvertisement or L2Advertisement announces pool {pool_name} for this Service, so no node announces it"),
            format!("create one selecting the pool, e.g. an L2Advertisement or BGPAdvertisement with ipAddressPools: [{pool_name}] in {}", f.ferrolb_namespace),
        )
    } else {
        Check::ok(
            "advertisement",
            format!("pool {pool_name} announced {}", said.join("; ")),
        )
    };
    (check, !bgp.is_empty(), !l2.is_empty())
}

/// Nodes announcing the Service with `protocol` (`bgp`, `l2`).
pub(super) fn announcing(f: &ExplainFacts, protocol: &str) -> BTreeSet<String> {
    f.announcements
        .iter()
        .filter(|a| a.protocol == protocol)
        .map(|a| a.node.clone())
        .collect()
}

/// What the speakers last said in an `AnnouncingFromNode` Event, for a
/// Service no speaker announces any more.
fn last_announcing_event(f: &ExplainFacts) -> String {
    f.events
        .iter()
        .rev()
        .find(|e| e.reason == "AnnouncingFromNode")
        .map_or(String::new(), |e| {
            format!(
                "; the last AnnouncingFromNode Event said {:?}, so it stopped since",
                e.note
            )
        })
}

pub(super) fn speaker_hint(f: &ExplainFacts) -> String {
    format!(
        "check the speakers: kubectl -n {} get pods -l app.kubernetes.io/component=speaker -o wide; kubectl -n {} get serviceannouncements",
        f.ferrolb_namespace, f.ferrolb_namespace
    )
}

/// Nodes that should announce over BGP: all nodes (selected by the
/// advertisements' node selectors), or with `externalTrafficPolicy: Local`
/// only those with a ready endpoint.
fn expected_bgp_nodes(f: &ExplainFacts) -> BTreeSet<String> {
    let advs: Vec<_> = f.objects.bgp_advertisements.iter().collect();
    let selected = |labels: &std::collections::BTreeMap<String, String>| {
        advs.iter()
            .any(|a| any_selector_matches(&a.spec.node_selectors, labels).unwrap_or(false))
    };
    let local: Option<BTreeSet<&str>> = (f.service.external_traffic_policy == "Local").then(|| {
        f.endpoints
            .iter()
            .filter(|e| e.ready)
            .filter_map(|e| e.node.as_deref())
            .collect()
    });
    f.nodes
        .iter()
        .filter(|(_, node)| selected(&node.labels))
        .filter(|(n, _)| local.as_ref().is_none_or(|l| l.contains(n.as_str())))
        .map(|(n, _)| n.clone())
        .collect()
}

pub(super) fn bgp_speakers(f: &ExplainFacts) -> Check {
    let expected = expected_bgp_nodes(f);
    let doing = announcing(f, "bgp");
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    if doing.is_empty() {
        return Check::fail(
            "speakers",
            format!(
                "no speaker announces it over BGP (expected: {}){}",
                if expected.is_empty() {
                    "none".to_owned()
                } else {
                    join(&expected)
                },
                last_announcing_event(f)
            ),
            speaker_hint(f),
        );
    }
    let missing: BTreeSet<String> = expected.difference(&doing).cloned().collect();
    if missing.is_empty() {
        Check::ok(
            "speakers",
            format!("announced over BGP by {}", join(&doing)),
        )
    } else {
        Check::warn(
            "speakers",
            format!("announced by {}; not by {}", join(&doing), join(&missing)),
            speaker_hint(f),
        )
    }
}

pub(super) fn bgp_sessions(f: &ExplainFacts) -> Check {
    let doing = announcing(f, "bgp");
    let sessions: Vec<_> = f
        .sessions
        .iter()
        .filter(|s| doing.contains(&s.node))
        .collect();
    let up: Vec<_> = sessions
        .iter()
        .filter(|s| s.state == "Established")
        .collect();
    let down: Vec<String> = sessions
        .iter()
        .filter(|s| s.state != "Established")
        .map(|s| {
            let why = s
                .last_error
                .as_deref()
                .map_or(String::new(), |e| format!(": {e}"));
            format!(
                "{} to {} ({}) is {}{why}",
                s.node, s.peer, s.address, s.state
            )
        })
        .collect();
    let hint =
        "check the peer's address, ASNs, password and reachability; lbctl peers shows both sides"
            .to_owned();
    if sessions.is_empty() {
        Check::fail(
            "bgp sessions",
            "the announcing nodes report no BGP sessions (no BGPSessionState objects)",
            hint,
        )
    } else if up.is_empty() {
        Check::fail(
            "bgp sessions",
            format!("no session is Established: {}", down.join("; ")),
            hint,
        )
    } else if !down.is_empty() {
        Check::warn(
            "bgp sessions",
            format!("{} Established; {}", up.len(), down.join("; ")),
            hint,
        )
    } else {
        Check::ok(
            "bgp sessions",
            format!(
                "{} Established ({})",
                up.len(),
                up.iter()
                    .map(|s| format!("{}→{}", s.node, s.peer))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}
