//! Syntax rules for object names, label keys and label values, with the
//! explanations the real API server gives when they are broken.

use crate::registry::NameRule;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(|c| *c != b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Checks an object name against a resource's rule; `Err` carries the explanation.
pub fn check_name(rule: NameRule, name: &str) -> Result<(), String> {
    match rule {
        NameRule::Subdomain if !is_dns1123_subdomain(name) => Err(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        )),
        NameRule::Label1123 if !is_dns1123_label(name) => Err(format!(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL_FMT}')"
        )),
        NameRule::Label1035 if !is_dns1035_label(name) => Err(format!(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL_FMT}')"
        )),
        NameRule::PathSegment if name == "." || name == ".." => {
            Err(format!("may not be '{name}'"))
        }
        NameRule::PathSegment if name.contains('/') || name.contains('%') => {
            Err("may not contain '/' or '%'".to_string())
        }
        _ => Ok(()),
    }
}

/// The longest prefix of `generateName` the server keeps before appending its suffix.
pub const MAX_GENERATED_PREFIX: usize = 58;

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Checks a label key (`[prefix/]name`); `Err` carries the explanation.
pub fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || !is_dns1123_subdomain(p) {
            return Err(format!(
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
            ));
        }
    }
    if name.is_empty() {
        return Err("name part must be non-empty".to_string());
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        return Err(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')"
        ));
    }
    Ok(())
}

/// Checks a label value (may be empty); `Err` carries the explanation.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err("must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(value) {
        return Err(format!(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_FMT}')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        use NameRule::*;
        let cases = [
            (Subdomain, "a.b-c", true),
            (Subdomain, "A", false),
            (Subdomain, "-a", false),
            (Subdomain, "a..b", false),
            (Subdomain, "", false),
            (Label1123, "1abc", true),
            (Label1123, "a.b", false),
            (Label1035, "abc-1", true),
            (Label1035, "1abc", false),
            (PathSegment, "Any_Thing", true),
            (PathSegment, "..", false),
            (PathSegment, "a/b", false),
        ];
        for (rule, name, ok) in cases {
            assert_eq!(check_name(rule, name).is_ok(), ok, "{rule:?} {name:?}");
        }
        assert!(check_name(Subdomain, &"a".repeat(254)).is_err());
        assert!(check_name(Label1123, &"a".repeat(64)).is_err());
    }

    #[test]
    fn labels() {
        let keys = [
            ("app", true),
            ("ferrolb.io/pool", true),
            ("kubernetes.io/metadata.name", true),
            ("/x", false),
            ("a/", false),
            ("Bad_Prefix/x", false),
            ("-x", false),
            ("x/y/z", false),
        ];
        for (k, ok) in keys {
            assert_eq!(check_label_key(k).is_ok(), ok, "{k:?}");
        }
        let values = [
            ("", true),
            ("v1.2_3-a", true),
            ("-a", false),
            ("a b", false),
        ];
        for (v, ok) in values {
            assert_eq!(check_label_value(v).is_ok(), ok, "{v:?}");
        }
        assert!(check_label_value(&"a".repeat(64)).is_err());
    }
}
