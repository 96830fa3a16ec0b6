//! The deployment artefacts in deploy/ and integration/kind/ hang together:
//! the Helm chart's default values match its schema (and the schema refuses
//! mistakes), every value a template reads exists, the chart's links to the
//! CRDs and RBAC resolve, the kustomize base names only files that exist,
//! each Dockerfile builds a binary the workspace defines, and the Grafana
//! dashboard is valid JSON. (Helm itself cannot be installed here; the
//! dashboard's metric names are checked against live daemons in
//! netns_demo.rs.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The subset of JSON Schema (draft 7) values.schema.json uses: type,
/// properties, required, additionalProperties, items, enum, minimum,
/// maximum, minLength, minItems, pattern (anchored alternatives of a
/// character class only: checked by the regex-free matcher below), $ref
/// into definitions.
fn problems(schema: &Value, root: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        return problems(&root["definitions"][name], root, value, at, out);
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        out.push(format!("{at}: not a {}", schema["type"]));
        return;
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            out.push(format!("{at}: {value} not one of {options:?}"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| n < min) {
            out.push(format!("{at}: {n} below {}", schema["minimum"]));
        }
        if schema["maximum"].as_f64().is_some_and(|max| n > max) {
            out.push(format!("{at}: {n} above {}", schema["maximum"]));
        }
    }
    if let Some(s) = value.as_str() {
        if schema["minLength"]
            .as_u64()
            .is_some_and(|min| (s.len() as u64) < min)
        {
            out.push(format!("{at}: too short"));
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            if !matches_pattern(pattern, s) {
                out.push(format!("{at}: {s:?} does not match {pattern}"));
            }
        }
    }
    if let Some(map) = value.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            if !map.contains_key(key.as_str().unwrap_or_default()) {
                out.push(format!("{at}: {key} is required"));
            }
        }
        for (key, item) in map {
            let at = format!("{at}.{key}");
            match schema["properties"].get(key) {
                Some(sub) => problems(sub, root, item, &at, out),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => out.push(format!("{at}: unknown key")),
                    sub @ Value::Object(_) => problems(sub, root, item, &at, out),
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = value.as_array() {
        if schema["minItems"]
            .as_u64()
            .is_some_and(|min| (items.len() as u64) < min)
        {
            out.push(format!("{at}: too few items"));
        }
        for (i, item) in items.iter().enumerate() {
            problems(&schema["items"], root, item, &format!("{at}[{i}]"), out);
        }
    }
}

/// The two patterns the schema uses, checked without a regex engine.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    match pattern {
        // Kubernetes object names (DNS labels).
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" => {
            let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
            !s.is_empty()
                && s.chars().all(|c| ok(c) || c == '-')
                && s.starts_with(ok)
                && s.ends_with(ok)
        }
        // Durations: 500ms, 5s, 1m30s.
        "^([0-9]+(ms|s|m|h))+$" => {
            let mut rest = s;
            while !rest.is_empty() {
                let digits =
                    rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if digits == 0 {
                    return false;
                }
                rest = &rest[digits..];
                let unit = ["ms", "s", "m", "h"]
                    .into_iter()
                    .find(|u| rest.starts_with(u));
                let Some(unit) = unit else { return false };
                rest = &rest[unit.len()..];
            }
            !s.is_empty()
        }
        other => panic!("the test does not know pattern {other}"),
    }
}

fn chart_values() -> Value {
    serde_yaml::from_str(&read("deploy/helm/ferrolb/values.yaml")).unwrap()
}

fn check(values: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(&read("deploy/helm/ferrolb/values.schema.json")).unwrap();
    let mut out = Vec::new();
    problems(&schema, &schema, values, "values", &mut out);
    out
}

#[test]
fn helm_values_match_the_schema_and_mistakes_are_refused() {
    assert_eq!(check(&chart_values()), Vec::<String>::new());

    let mut full = chart_values();
    full["pools"] = json!([{"name": "public", "addresses": ["192.0.2.0/27"], "autoAssign": true}]);
    full["peers"] = json!([{"name": "router-1", "myASN": 64513, "peerASN": 64512,
                            "peerAddress": "192.0.2.1", "holdTime": "1m30s"}]);
    full["bgpAdvertisements"] = json!([{"name": "public", "ipAddressPools": ["public"]}]);
    full["l2Advertisements"] =
        json!([{"name": "lan", "ipAddressPools": ["public"], "interfaces": ["eth0"]}]);
    assert_eq!(check(&full), Vec::<String>::new());

    let mistakes: &[(&str, Value, &str)] = &[
        (
            "/controller/replicas",
            json!(0),
            "values.controller.replicas: 0 below 1",
        ),
        (
            "/image/pullPolicy",
            json!("Sometimes"),
            "values.image.pullPolicy: \"Sometimes\" not one of",
        ),
        ("/speaker/drainPeriod", json!("5 seconds"), "does not match"),
        (
            "/pools",
            json!([{"name": "Public", "addresses": ["192.0.2.0/27"]}]),
            "values.pools[0].name",
        ),
        (
            "/pools",
            json!([{"name": "p", "addresses": []}]),
            "values.pools[0].addresses: too few items",
        ),
        (
            "/peers",
            json!([{"name": "r", "myASN": 1, "peerASN": 2}]),
            "\"peerAddress\" is required",
        ),
        (
            "/metrics/scrape",
            json!(true),
            "values.metrics.scrape: unknown key",
        ),
        (
            "/speaker/l2",
            json!("yes"),
            "values.speaker.l2: not a \"boolean\"",
        ),
    ];
    for (pointer, bad, want) in mistakes {
        let mut values = chart_values();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        values
            .pointer_mut(if parent.is_empty() { "" } else { parent })
            .unwrap()[key] = bad.clone();
        let found = check(&values);
        assert!(
            found.iter().any(|p| p.contains(want)),
            "{pointer} = {bad}: {found:?}"
        );
    }
}

/// `.Values.a.b` paths read by the chart's templates.
fn values_read(template: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (i, _) in template.match_indices(".Values.") {
        let path: String = template[i + ".Values.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        paths.insert(path.trim_end_matches('.').to_owned());
    }
    paths
}

#[test]
fn every_value_a_template_reads_has_a_default() {
    let values = chart_values();
    let dir = repo().join("deploy/helm/ferrolb/templates");
    let mut read_any = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for value in values_read(&text) {
            read_any += 1;
            let pointer = format!("/{}", value.replace('.', "/"));
            assert!(
                values.pointer(&pointer).is_some(),
                "{} reads .Values.{value}, which values.yaml does not define",
                path.display()
            );
        }
    }
    assert!(read_any > 10, "the templates read {read_any} values");
    assert_eq!(
        values_read(
            "{{ .Values.image.tag | default .Chart.AppVersion }} {{- if .Values.speaker.l2 }}"
        ),
        ["image.tag", "speaker.l2"].map(String::from).into()
    );
}

#[test]
fn chart_links_and_kustomize_resources_resolve() {
    let chart = repo().join("deploy/helm/ferrolb");
    let crds: Vec<_> = std::fs::read_dir(chart.join("crds")).unwrap().collect();
    assert_eq!(crds.len(), 7, "the chart's crds/ link");
    for file in ["files/controller-rbac.yaml", "files/speaker-rbac.yaml"] {
        assert!(
            read(&format!("deploy/helm/ferrolb/{file}")).contains("kind: ClusterRole"),
            "{file}"
        );
    }
    for base in ["deploy", "integration/kind/overlay"] {
        let kustomization: Value =
            serde_yaml::from_str(&read(&format!("{base}/kustomization.yaml"))).unwrap();
        for resource in kustomization["resources"].as_array().unwrap() {
            let path = repo().join(base).join(resource.as_str().unwrap());
            assert!(
                path.is_file() || path.join("kustomization.yaml").is_file(),
                "{base}: resource {} missing",
                path.display()
            );
        }
    }
}

#[test]
fn each_dockerfile_builds_a_workspace_binary() {
    let manifests = ["controller", "speaker", "router", "lbctl"]
        .map(|c| read(&format!("{c}/Cargo.toml")))
        .join("\n");
    for program in [
        "ferrolb-controller",
        "ferrolb-speaker",
        "ferrolb-router",
        "lbctl",
    ] {
        let file = format!("deploy/docker/{program}.Dockerfile");
        let text = read(&file);
        assert!(
            manifests.contains(&format!("name = \"{program}\"")),
            "{program}: no such [[bin]]"
        );
        assert!(
            text.contains(&format!("cargo build --release --locked --bin {program}")),
            "{file}"
        );
        assert_eq!(
            text.matches("\nFROM ").count(),
            2,
            "{file}: a build and a runtime stage"
        );
        assert!(
            text.contains("FROM gcr.io/distroless/"),
            "{file}: distroless runtime"
        );
        assert!(
            text.contains(&format!(
                "COPY --from=build /out/{program} /usr/local/bin/{program}"
            )),
            "{file}"
        );
        assert!(
            text.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{program}\"")),
            "{file}"
        );
        assert!(
            read(&format!("{file}.dockerignore"))
                .lines()
                .any(|l| l == "target"),
            "{file}"
        );
    }
}

#[test]
fn the_dashboard_has_the_panels_the_issue_asks_for() {
    let dashboard: Value = serde_json::from_str(&read("deploy/grafana/ferrolb.json")).unwrap();
    let titles: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for topic in ["pool", "session", "announce", "ecmp", "backend"] {
        assert!(
            titles.iter().any(|t| t.contains(topic)),
            "no {topic} panel in {titles:?}"
        );
    }
    assert!(ferrolb_demo::dashboard::queried_metrics(&dashboard).len() >= 5);
}
