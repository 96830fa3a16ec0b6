//! Kubernetes label selectors as used by FerroLB resources, and the pure
//! matching logic every program shares.
//!
//! Selector lists follow MetalLB's convention: an empty list selects
//! everything, otherwise an object is selected when any selector matches.

use std::collections::BTreeMap;

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// A defect in a label selector, located relative to the selector itself
/// (e.g. `matchExpressions[0].values`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SelectorProblem {
    /// Path inside the selector.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// All defects in `selector`: unknown operators, missing or superfluous
/// values, and label keys or values Kubernetes would not accept.
pub fn selector_problems(selector: &LabelSelector) -> Vec<SelectorProblem> {
    let mut problems = Vec::new();
    let mut push = |field: String, reason: String| problems.push(SelectorProblem { field, reason });
    for (key, value) in selector.match_labels.iter().flatten() {
        if let Err(reason) = check_label_key(key) {
            push(format!("matchLabels[{key:?}]"), reason);
        }
        if let Err(reason) = check_label_value(value) {
            push(format!("matchLabels[{key:?}]"), reason);
        }
    }
    for (i, req) in selector.match_expressions.iter().flatten().enumerate() {
        let at = |leaf: &str| format!("matchExpressions[{i}].{leaf}");
        if let Err(reason) = check_label_key(&req.key) {
            push(at("key"), reason);
        }
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => push(
                at("values"),
                format!("operator {} needs at least one value", req.operator),
            ),
            "Exists" | "DoesNotExist" if !values.is_empty() => push(
                at("values"),
                format!("operator {} takes no values", req.operator),
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => push(
                at("operator"),
                format!("unknown operator {other:?} (expected In, NotIn, Exists or DoesNotExist)"),
            ),
        }
        for (j, v) in values.iter().enumerate() {
            if let Err(reason) = check_label_value(v) {
                push(format!("matchExpressions[{i}].values[{j}]"), reason);
            }
        }
    }
    problems
}

/// Whether `selector` selects an object with `labels`. An empty selector
/// selects everything. Fails on the first defect [`selector_problems`] finds.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorProblem> {
    if let Some(problem) = selector_problems(selector).into_iter().next() {
        return Err(problem);
    }
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_match = selector.match_expressions.iter().flatten().all(|req| {
        let values = req.values.as_deref().unwrap_or_default();
        let value = labels.get(&req.key);
        match req.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            // "DoesNotExist": selector_problems rejected anything else.
            _ => value.is_none(),
        }
    });
    Ok(labels_match && expressions_match)
}

/// MetalLB-style selector list: empty selects everything, otherwise any
/// matching selector selects.
pub fn any_selector_matches(
    selectors: &[LabelSelector],
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorProblem> {
    if selectors.is_empty() {
        return Ok(true);
    }
    for selector in selectors {
        if selector_matches(selector, labels)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    !s.is_empty()
        && s.len() <= 63
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A DNS-1123 subdomain: dot-separated lowercase labels, at most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.first()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.last()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if prefix.is_some_and(|p| !is_dns_subdomain(p)) {
        return Err(format!(
            "label key {key:?} has an invalid prefix (must be a DNS subdomain)"
        ));
    }
    if !is_label_name(name) {
        return Err(format!(
            "label key {key:?} is invalid (at most 63 alphanumerics, '-', '_' or '.', \
             starting and ending with an alphanumeric)"
        ));
    }
    Ok(())
}

fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!(
            "label value {value:?} is invalid (at most 63 alphanumerics, '-', '_' or '.', \
             starting and ending with an alphanumeric)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selector(yaml: &str) -> LabelSelector {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn matches_labels_and_expressions() {
        let node = labels(&[("zone", "a"), ("kubernetes.io/hostname", "w1")]);
        let table: &[(&str, bool)] = &[
            ("{}", true),
            ("matchLabels: {zone: a}", true),
            ("matchLabels: {zone: b}", false),
            (
                "matchExpressions: [{key: zone, operator: In, values: [a, b]}]",
                true,
            ),
            (
                "matchExpressions: [{key: zone, operator: NotIn, values: [a]}]",
                false,
            ),
            (
                "matchExpressions: [{key: rack, operator: NotIn, values: [a]}]",
                true,
            ),
            (
                "matchExpressions: [{key: kubernetes.io/hostname, operator: Exists}]",
                true,
            ),
            (
                "matchExpressions: [{key: rack, operator: DoesNotExist}]",
                true,
            ),
            (
                "{matchLabels: {zone: a}, matchExpressions: [{key: rack, operator: Exists}]}",
                false,
            ),
        ];
        for (yaml, want) in table {
            assert_eq!(
                selector_matches(&selector(yaml), &node),
                Ok(*want),
                "{yaml}"
            );
        }
        assert_eq!(any_selector_matches(&[], &node), Ok(true));
        let none = [
            selector("matchLabels: {zone: b}"),
            selector("matchLabels: {zone: c}"),
        ];
        assert_eq!(any_selector_matches(&none, &node), Ok(false));
    }

    #[test]
    fn reports_defects() {
        let table: &[(&str, &str, &str)] = &[
            (
                "matchExpressions: [{key: zone, operator: Equals, values: [a]}]",
                "matchExpressions[0].operator",
                "unknown operator \"Equals\" (expected In, NotIn, Exists or DoesNotExist)",
            ),
            (
                "matchExpressions: [{key: zone, operator: In}]",
                "matchExpressions[0].values",
                "operator In needs at least one value",
            ),
            (
                "matchExpressions: [{key: zone, operator: Exists, values: [a]}]",
                "matchExpressions[0].values",
                "operator Exists takes no values",
            ),
            (
                "matchLabels: {\"bad key\": a}",
                "matchLabels[\"bad key\"]",
                "label key \"bad key\" is invalid (at most 63 alphanumerics, '-', '_' or '.', \
                 starting and ending with an alphanumeric)",
            ),
            (
                "matchLabels: {\"Bad_Prefix/x\": a}",
                "matchLabels[\"Bad_Prefix/x\"]",
                "label key \"Bad_Prefix/x\" has an invalid prefix (must be a DNS subdomain)",
            ),
            (
                "matchLabels: {zone: \"-a\"}",
                "matchLabels[\"zone\"]",
                "label value \"-a\" is invalid (at most 63 alphanumerics, '-', '_' or '.', \
                 starting and ending with an alphanumeric)",
            ),
        ];
        for (yaml, field, reason) in table {
            let problems = selector_problems(&selector(yaml));
            assert_eq!(
                problems,
                vec![SelectorProblem {
                    field: field.to_string(),
                    reason: reason.to_string()
                }],
                "{yaml}"
            );
            assert!(selector_matches(&selector(yaml), &BTreeMap::new()).is_err());
        }
    }
}
