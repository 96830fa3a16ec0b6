//! Calls the validating webhooks registered through
//! `admissionregistration.k8s.io/v1` `ValidatingWebhookConfiguration`
//! objects, as the real API server does: for each write whose resource,
//! operation and namespace match a webhook's rules, an `AdmissionReview` is
//! POSTed over HTTPS (verified against the webhook's `caBundle`), and a
//! denial or, under `failurePolicy: Fail`, a failed call rejects the write.
//!
//! Only `clientConfig.url` can be called: there is no cluster network to
//! reach a `clientConfig.service`, so such webhooks count as unreachable
//! (their failure policy decides).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};

use crate::admission::{AdmissionRequest, Operation};
use crate::resource_ref::ResourceRef;
use crate::selector::LabelSelector;
use crate::status::ApiError;
use crate::store::Store;

/// Default `timeoutSeconds` of a webhook.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn configurations() -> ResourceRef {
    ResourceRef::new(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
    )
}

/// Runs every matching registered webhook; the first denial or failed call
/// (under `failurePolicy: Fail`) rejects the request.
pub(crate) async fn review(store: &Store, request: &AdmissionRequest) -> Result<(), ApiError> {
    // The real server never sends webhook configurations themselves to
    // webhooks, so a broken webhook can always be removed.
    if request.resource.group == "admissionregistration.k8s.io" {
        return Ok(());
    }
    let configurations = store.list(&configurations(), None);
    if configurations.is_empty() {
        return Ok(());
    }
    let namespace_labels = request.namespace.as_deref().and_then(|ns| {
        store
            .get(&ResourceRef::core("namespaces"), None, ns)
            .and_then(|n| n["metadata"]["labels"].as_object().cloned())
    });
    for configuration in configurations {
        let Some(webhooks) = configuration["webhooks"].as_array() else {
            continue;
        };
        for webhook in webhooks {
            if !applies(webhook, request, namespace_labels.as_ref()) {
                continue;
            }
            let name = webhook["name"].as_str().unwrap_or_default();
            match call(webhook, request).await {
                Ok(response) => {
                    if response["allowed"].as_bool() != Some(true) {
                        let status = &response["status"];
                        return Err(ApiError::admission_denied(
                            name,
                            status["code"]
                                .as_u64()
                                .and_then(|c| u16::try_from(c).ok())
                                .unwrap_or(403),
                            status["reason"].as_str().unwrap_or_default(),
                            status["message"].as_str().unwrap_or_default(),
                        ));
                    }
                }
                Err(e) if webhook["failurePolicy"].as_str() == Some("Ignore") => {
                    tracing::debug!(webhook = name, error = %e, "webhook failed; ignored by its failure policy");
                }
                Err(e) => {
                    return Err(ApiError::internal(&format!(
                        "failed calling webhook \"{name}\": {e}"
                    )))
                }
            }
        }
    }
    Ok(())
}

fn operation_name(op: Operation) -> &'static str {
    match op {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
    }
}

fn listed(list: &Value, want: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == want))
}

/// Whether one of the webhook's rules covers the request, and its
/// namespace selector matches the request's namespace.
fn applies(
    webhook: &Value,
    request: &AdmissionRequest,
    namespace_labels: Option<&serde_json::Map<String, Value>>,
) -> bool {
    let resource = match &request.sub_resource {
        Some(sub) => format!("{}/{sub}", request.resource.resource),
        None => request.resource.resource.clone(),
    };
    let scope = if request.namespace.is_some() {
        "Namespaced"
    } else {
        "Cluster"
    };
    let rule_matches = |rule: &Value| {
        let resource_ok = rule["resources"].as_array().is_some_and(|rs| {
            rs.iter().filter_map(Value::as_str).any(|r| {
                r == resource
                    || (r == "*" && request.sub_resource.is_none())
                    || r == "*/*"
                    || request.sub_resource.as_deref().is_some_and(|sub| {
                        r == format!("*/{sub}") || r == format!("{}/*", request.resource.resource)
                    })
            })
        });
        listed(&rule["apiGroups"], &request.resource.group)
            && listed(&rule["apiVersions"], &request.resource.version)
            && listed(&rule["operations"], operation_name(request.operation))
            && resource_ok
            && rule["scope"]
                .as_str()
                .is_none_or(|s| s == "*" || s == scope)
    };
    let rules_match = webhook["rules"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(rule_matches));
    let namespace_matches = request.namespace.is_none()
        || selector_string(&webhook["namespaceSelector"])
            .and_then(|s| LabelSelector::parse(&s).ok())
            .is_none_or(|sel| sel.matches(namespace_labels));
    rules_match && namespace_matches
}

/// A structured `LabelSelector` in the `labelSelector` query syntax.
fn selector_string(selector: &Value) -> Option<String> {
    let mut parts = Vec::new();
    for (k, v) in selector["matchLabels"].as_object()? {
        parts.push(format!("{k}={}", v.as_str()?));
    }
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str()?;
        let values = || -> Option<String> {
            let vs: Option<Vec<&str>> = e["values"].as_array()?.iter().map(Value::as_str).collect();
            Some(vs?.join(","))
        };
        parts.push(match e["operator"].as_str()? {
            "In" => format!("{key} in ({})", values()?),
            "NotIn" => format!("{key} notin ({})", values()?),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        });
    }
    Some(parts.join(","))
}

/// POSTs the AdmissionReview and returns its `response`.
async fn call(webhook: &Value, request: &AdmissionRequest) -> Result<Value, String> {
    let config = &webhook["clientConfig"];
    let Some(url) = config["url"].as_str() else {
        return Err("clientConfig.service cannot be reached from the fake API server".into());
    };
    let timeout = webhook["timeoutSeconds"]
        .as_u64()
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let mut body = serde_json::to_value(request).map_err(|e| e.to_string())?;
    body["userInfo"] = json!({"username": "system:admin", "groups": ["system:masters"]});
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": body,
    });
    let ca = config["caBundle"].as_str().unwrap_or_default();
    let reply = tokio::time::timeout(timeout, post(url, ca, review.to_string()))
        .await
        .map_err(|_| format!("Post \"{url}\": context deadline exceeded"))?
        .map_err(|e| format!("failed to call webhook: Post \"{url}\": {e}"))?;
    let reply: Value = serde_json::from_slice(&reply)
        .map_err(|e| format!("received invalid webhook response: {e}"))?;
    if reply["response"]["uid"] != body["uid"] {
        return Err("expected response.uid to match the request".into());
    }
    Ok(reply["response"].clone())
}

async fn post(url: &str, ca_bundle_b64: &str, body: String) -> Result<Bytes, String> {
    use base64::Engine as _;
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err("webhook URLs must use https".into());
    }
    let host = uri.host().ok_or("URL has no host")?.to_owned();
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);

    let ca = base64::engine::general_purpose::STANDARD
        .decode(ca_bundle_b64)
        .map_err(|e| format!("caBundle is not base64: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&ca) {
        let cert = cert.map_err(|e| format!("caBundle: {e}"))?;
        roots.add(cert).map_err(|e| format!("caBundle: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(bare_host.clone()).map_err(|e| e.to_string())?;

    let tcp = tokio::net::TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::post(path)
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("webhook answered HTTP {status}"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::{GroupVersionKind, GroupVersionResource};

    fn request(
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        op: Operation,
    ) -> AdmissionRequest {
        AdmissionRequest {
            uid: "u".into(),
            kind: GroupVersionKind {
                group: group.into(),
                version: "v1alpha1".into(),
                kind: "K".into(),
            },
            resource: GroupVersionResource {
                group: group.into(),
                version: "v1alpha1".into(),
                resource: resource.into(),
            },
            sub_resource: None,
            name: "n".into(),
            namespace: namespace.map(str::to_owned),
            operation: op,
            object: None,
            old_object: None,
            dry_run: false,
        }
    }

    #[test]
    fn rule_and_namespace_matching() {
        let webhook = json!({
            "name": "v.ferrolb.io",
            "rules": [{"apiGroups": ["ferrolb.io"], "apiVersions": ["v1alpha1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["ipaddresspools"],
                       "scope": "Namespaced"}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ferrolb-system"}},
        });
        let labels = |ns: &str| {
            json!({"kubernetes.io/metadata.name": ns})
                .as_object()
                .cloned()
        };
        let cases = [
            (
                "matching create",
                request(
                    "ferrolb.io",
                    "ipaddresspools",
                    Some("ferrolb-system"),
                    Operation::Create,
                ),
                "ferrolb-system",
                true,
            ),
            (
                "delete is not covered",
                request(
                    "ferrolb.io",
                    "ipaddresspools",
                    Some("ferrolb-system"),
                    Operation::Delete,
                ),
                "ferrolb-system",
                false,
            ),
            (
                "other resource",
                request(
                    "ferrolb.io",
                    "bgppeers",
                    Some("ferrolb-system"),
                    Operation::Create,
                ),
                "ferrolb-system",
                false,
            ),
            (
                "other group",
                request(
                    "metallb.io",
                    "ipaddresspools",
                    Some("ferrolb-system"),
                    Operation::Create,
                ),
                "ferrolb-system",
                false,
            ),
            (
                "other namespace",
                request(
                    "ferrolb.io",
                    "ipaddresspools",
                    Some("default"),
                    Operation::Update,
                ),
                "default",
                false,
            ),
        ];
        for (case, req, ns, expected) in cases {
            assert_eq!(
                applies(&webhook, &req, labels(ns).as_ref()),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn structured_selectors_become_query_syntax() {
        let s = json!({"matchLabels": {"a": "b"},
                       "matchExpressions": [{"key": "c", "operator": "In", "values": ["d", "e"]},
                                            {"key": "f", "operator": "DoesNotExist"}]});
        assert_eq!(selector_string(&s).as_deref(), Some("a=b,c in (d,e),!f"));
        assert_eq!(selector_string(&json!({})).as_deref(), None);
    }
}
