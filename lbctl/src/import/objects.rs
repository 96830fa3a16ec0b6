//! The FerroLB objects an import produces, and field-by-field copying
//! with a record of what was left behind.

use serde_yaml::{Mapping, Value};

/// Objects produced, in output order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Objects {
    docs: Vec<Value>,
}

impl Objects {
    /// Adds a `ferrolb.io/v1alpha1` object (or a core `v1` one for Secrets).
    pub fn push(
        &mut self,
        api_version: &str,
        kind: &str,
        metadata: Mapping,
        body: (&str, Mapping),
    ) {
        let mut doc = Mapping::new();
        doc.insert("apiVersion".into(), api_version.into());
        doc.insert("kind".into(), kind.into());
        doc.insert("metadata".into(), Value::Mapping(metadata));
        doc.insert(body.0.into(), Value::Mapping(body.1));
        self.docs.push(Value::Mapping(doc));
    }

    /// Whether nothing was produced.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Kinds and names, for tests and messages.
    #[cfg(test)]
    pub fn names(&self) -> Vec<String> {
        self.docs
            .iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    str_at(d, &["kind"]),
                    str_at(d, &["metadata", "name"])
                )
            })
            .collect()
    }

    /// Multi-document YAML.
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        for doc in &self.docs {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(doc)?);
        }
        Ok(out)
    }
}

/// A string at a path in a YAML value, or `""`.
pub fn str_at(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// `metadata` for a converted object: its name, namespace and labels.
pub fn metadata(name: &str, namespace: &str, labels: Option<&Value>) -> Mapping {
    let mut m = Mapping::new();
    m.insert("name".into(), name.into());
    m.insert("namespace".into(), namespace.into());
    if let Some(labels @ Value::Mapping(l)) = labels {
        if !l.is_empty() {
            m.insert("labels".into(), labels.clone());
        }
    }
    m
}

/// Copies fields from `source` to `target` by a `(source key, target key)`
/// table; returns the source keys not in the table (and not null).
pub fn copy_fields(source: &Mapping, target: &mut Mapping, table: &[(&str, &str)]) -> Vec<String> {
    let mut unknown = Vec::new();
    for (k, v) in source {
        let key = k.as_str().unwrap_or_default();
        if v.is_null() {
            continue;
        }
        match table.iter().find(|(from, _)| *from == key) {
            Some((_, to)) => {
                target.insert((*to).into(), v.clone());
            }
            None => unknown.push(key.to_owned()),
        }
    }
    unknown
}

/// A DNS-1123 name from free text (`10.0.0.1` → `10-0-0-1`).
pub fn dns_name(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        for (input, want) in [
            ("10.0.0.1", "10-0-0-1"),
            ("fc00::1", "fc00-1"),
            ("My_Peer", "my-peer"),
        ] {
            assert_eq!(dns_name(input), want);
        }
    }

    #[test]
    fn copy_reports_unknown_keys() {
        let source: Mapping = serde_yaml::from_str("a: 1\nb: 2\nc: null\n").unwrap();
        let mut target = Mapping::new();
        let unknown = copy_fields(&source, &mut target, &[("a", "x")]);
        assert_eq!(unknown, vec!["b"]);
        assert_eq!(serde_yaml::to_string(&target).unwrap(), "x: 1\n");
    }
}
