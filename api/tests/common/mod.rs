//! Test helpers: reading the committed CRDs, a structural-schema checker
//! and a minimal OpenAPI v3 instance validator for CRD schemas.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Map, Value};

/// `deploy/crds/` in the repository.
pub fn crd_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    dir.canonicalize().unwrap_or(dir)
}

/// `configs/` in the repository.
pub fn configs_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../configs");
    dir.canonicalize().unwrap_or(dir)
}

/// The committed CRD files as `(file name, text)`, sorted by name.
pub fn committed_crd_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(crd_dir())
        .expect("deploy/crds exists")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .filter(|(name, _)| name.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

/// The committed CRDs as JSON values, keyed by kind.
pub fn committed_crds_by_kind() -> Vec<(String, Value)> {
    committed_crd_files()
        .into_iter()
        .map(|(_, text)| {
            let crd: Value = serde_yaml::from_str(&text).unwrap();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
            (kind, crd)
        })
        .collect()
}

/// The openAPIV3Schema of the first version of a CRD.
pub fn crd_schema(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

// ---------------------------------------------------------------------------
// Structural schema checker (Kubernetes "structural schema" rules).
// ---------------------------------------------------------------------------

/// Keywords a CRD schema node may carry (JSONSchemaProps plus vendor
/// extensions). Anything else, such as `$ref`, `definitions` or `const`,
/// is rejected by the API server.
const ALLOWED_KEYWORDS: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "nullable",
    "example",
    "externalDocs",
];
const JUNCTORS: &[&str] = &["allOf", "anyOf", "oneOf", "not"];
/// Keys a schema inside a junctor must not set (structural rule 3).
const FORBIDDEN_IN_JUNCTORS: &[&str] = &[
    "description",
    "type",
    "default",
    "additionalProperties",
    "nullable",
];
const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

/// Problems making `schema` non-structural, each prefixed by its location.
pub fn structural_problems(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {}
        other => problems.push(format!("(root): type must be object, is {other:?}")),
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        problems.push("(root): must not be nullable".into());
    }
    if let Some(meta) = schema.pointer("/properties/metadata") {
        let allowed = ["name", "generateName"];
        if let Some(props) = meta.get("properties").and_then(Value::as_object) {
            for key in props.keys().filter(|k| !allowed.contains(&k.as_str())) {
                problems.push(format!(
                    "metadata: only name and generateName may be restricted, not {key}"
                ));
            }
        }
    }
    check_node(schema, "", Junctor::Outside, &mut problems);
    problems
}

/// Where a schema node sits relative to allOf/anyOf/oneOf/not.
#[derive(Clone, Copy, PartialEq)]
enum Junctor {
    Outside,
    Inside,
    /// Inside the junctor of an `x-kubernetes-int-or-string` node, where
    /// `anyOf: [{type: integer}, {type: string}]` is explicitly allowed.
    IntOrString,
}

fn check_node(node: &Value, at: &str, junctor: Junctor, problems: &mut Vec<String>) {
    let in_junctor = junctor != Junctor::Outside;
    let here = if at.is_empty() { "(root)" } else { at };
    let Some(obj) = node.as_object() else {
        problems.push(format!("{here}: schema must be an object, is {node}"));
        return;
    };
    for key in obj.keys() {
        if !ALLOWED_KEYWORDS.contains(&key.as_str()) && !key.starts_with("x-kubernetes-") {
            problems.push(format!(
                "{here}: keyword {key:?} is not allowed in CRD schemas"
            ));
        }
    }
    let flag = |name: &str| obj.get(name) == Some(&Value::Bool(true));
    let int_or_string = flag("x-kubernetes-int-or-string");
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    for ext in [
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
    ] {
        if obj.get(ext).is_some_and(|v| *v != Value::Bool(true)) {
            problems.push(format!("{here}: {ext} must be true when set"));
        }
    }
    if in_junctor {
        for key in FORBIDDEN_IN_JUNCTORS {
            if obj.contains_key(*key) && !(junctor == Junctor::IntOrString && *key == "type") {
                problems.push(format!(
                    "{here}: {key} must not be set inside allOf/anyOf/oneOf/not"
                ));
            }
        }
    } else {
        match obj.get("type") {
            None if !int_or_string && !preserve => {
                problems.push(format!("{here}: type is missing (and neither x-kubernetes-int-or-string nor x-kubernetes-preserve-unknown-fields is set)"));
            }
            Some(t) if !t.as_str().is_some_and(|t| TYPES.contains(&t)) => {
                problems.push(format!("{here}: type {t} is not one of {TYPES:?}"));
            }
            Some(_) if int_or_string => {
                problems.push(format!(
                    "{here}: x-kubernetes-int-or-string must not be combined with type"
                ));
            }
            _ => {}
        }
    }
    if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
        problems.push(format!("{here}: uniqueItems: true is not allowed"));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        problems.push(format!(
            "{here}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if obj
        .get("additionalProperties")
        .is_some_and(Value::is_boolean)
    {
        problems.push(format!(
            "{here}: additionalProperties must be a schema, not a boolean"
        ));
    }
    if let Some(props) = obj.get("properties") {
        match props.as_object() {
            Some(props) => {
                for (name, sub) in props {
                    check_node(sub, &format!("{at}.{name}"), junctor, problems);
                }
            }
            None => problems.push(format!("{here}: properties must be a map")),
        }
    }
    if let Some(items) = obj.get("items") {
        if items.is_array() {
            problems.push(format!("{here}: items must be a single schema, not a list"));
        } else {
            check_node(items, &format!("{at}[]"), junctor, problems);
        }
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        check_node(additional, &format!("{at}{{}}"), junctor, problems);
    }
    for junctor in JUNCTORS {
        let Some(value) = obj.get(*junctor) else {
            continue;
        };
        let branches: Vec<&Value> = match value {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for (i, branch) in branches.into_iter().enumerate() {
            let at_branch = format!("{at}.{junctor}[{i}]");
            let inside = if int_or_string {
                Junctor::IntOrString
            } else {
                Junctor::Inside
            };
            check_node(branch, &at_branch, inside, problems);
            check_specified_outside(obj, branch, &at_branch, problems);
        }
    }
    if !in_junctor {
        if let Some(default) = obj.get("default") {
            for problem in instance_problems(default, node, &format!("{at}(default)")) {
                problems.push(format!("default is invalid: {problem}"));
            }
        }
        for (i, value) in obj
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for problem in
                instance_problems(value, &strip(node, "enum"), &format!("{at}(enum[{i}])"))
            {
                problems.push(format!("enum value is invalid: {problem}"));
            }
        }
    }
}

/// Structural rule 2: every property and item inside a junctor is also
/// specified outside it.
fn check_specified_outside(
    outer: &Map<String, Value>,
    branch: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    if let Some(props) = branch.get("properties").and_then(Value::as_object) {
        for name in props.keys() {
            if outer.get("properties").and_then(|p| p.get(name)).is_none() {
                problems.push(format!(
                    "{at}.{name}: property is only specified inside a junctor"
                ));
            }
        }
    }
    if branch.get("items").is_some() && !outer.contains_key("items") {
        problems.push(format!("{at}[]: items are only specified inside a junctor"));
    }
}

fn strip(node: &Value, key: &str) -> Value {
    let mut copy = node.clone();
    if let Some(obj) = copy.as_object_mut() {
        obj.remove(key);
    }
    copy
}

// ---------------------------------------------------------------------------
// Minimal OpenAPI v3 instance validation, as the API server does on create.
// ---------------------------------------------------------------------------

/// Problems with `value` against `schema`. Stricter than the API server in
/// one way: unknown fields are errors rather than silently pruned, so a
/// typo in an example fails the test.
pub fn instance_problems(value: &Value, schema: &Value, at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    check_instance(value, schema, at, &mut problems);
    problems
}

/// Checks a whole object against its CRD's root schema; `apiVersion`,
/// `kind` and `metadata` are the API server's business.
pub fn object_problems(object: &Value, crd: &Value) -> Vec<String> {
    let mut body = object.clone();
    if let Some(obj) = body.as_object_mut() {
        for key in ["apiVersion", "kind", "metadata"] {
            obj.remove(key);
        }
    }
    instance_problems(&body, crd_schema(crd), "")
}

fn check_instance(value: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    let here = if at.is_empty() { "(root)" } else { at };
    let mut fail = |msg: String| problems.push(format!("{here}: {msg}"));
    let flag = |name: &str| schema.get(name) == Some(&Value::Bool(true));
    if value.is_null() {
        if !flag("nullable") {
            fail("null is not allowed".into());
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            fail(format!("{value} is not one of {allowed:?}"));
        }
    }
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            fail(format!("{value} is neither an integer nor a string"));
        }
        return;
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => {
            let Some(s) = value.as_str() else {
                return fail(format!("expected a string, got {value}"));
            };
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(pattern).expect("schema pattern compiles");
                if !re.is_match(s) {
                    fail(format!("{s:?} does not match pattern {pattern}"));
                }
            }
        }
        Some("integer") | Some("number") => {
            let Some(n) = value.as_f64() else {
                return fail(format!("expected a number, got {value}"));
            };
            if schema.get("type").and_then(Value::as_str) == Some("integer")
                && !(value.is_i64() || value.is_u64())
            {
                fail(format!("expected an integer, got {value}"));
            }
            if number("minimum").is_some_and(|min| n < min) {
                fail(format!("{n} is below the minimum {}", schema["minimum"]));
            }
            if number("maximum").is_some_and(|max| n > max) {
                fail(format!("{n} is above the maximum {}", schema["maximum"]));
            }
        }
        Some("boolean") if !value.is_boolean() => {
            fail(format!("expected a boolean, got {value}"));
        }
        Some("boolean") => {}
        Some("array") => {
            let Some(list) = value.as_array() else {
                return fail(format!("expected an array, got {value}"));
            };
            if let Some(items) = schema.get("items") {
                for (i, item) in list.iter().enumerate() {
                    check_instance(item, items, &format!("{at}[{i}]"), problems);
                }
            }
        }
        Some("object") => {
            let Some(map) = value.as_object() else {
                return fail(format!("expected an object, got {value}"));
            };
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = required.as_str().unwrap_or_default();
                if !map.contains_key(name) {
                    fail(format!("required field {name:?} is missing"));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, sub) in map {
                let sub_at = format!("{at}.{key}");
                match (props.and_then(|p| p.get(key)), additional) {
                    (Some(sub_schema), _) | (None, Some(sub_schema)) => {
                        check_instance(sub, sub_schema, &sub_at, problems)
                    }
                    (None, None)
                        if props.is_some() && !flag("x-kubernetes-preserve-unknown-fields") =>
                    {
                        problems.push(format!("{sub_at}: unknown field"))
                    }
                    (None, None) => {}
                }
            }
        }
        Some(other) => fail(format!("unsupported type {other}")),
        None => {}
    }
}
