//! The `ValidatingWebhookConfiguration` that points the API server at the
//! controller's webhook.
//!
//! It is applied only once the webhook answers, so installing FerroLB never
//! produces "failed calling webhook" errors while the controller is still
//! starting. It is owned by the `ipaddresspools.ferrolb.io` CRD, so removing
//! FerroLB's CRDs on uninstall garbage-collects it and no dangling webhook
//! blocks later writes.

use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use k8s_openapi::ByteString;
use kube::api::ObjectMeta;

use super::review::VALIDATED_RESOURCES;

/// Path the webhook serves AdmissionReviews on.
pub const WEBHOOK_PATH: &str = "/validate";
/// Name of the single webhook in the configuration.
pub const WEBHOOK_NAME: &str = "validate.ferrolb.io";
/// The CRD that owns the configuration.
pub const OWNER_CRD: &str = "ipaddresspools.ferrolb.io";

/// Where the API server sends reviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The webhook Service in the cluster (the normal case).
    Service {
        /// Namespace of the Service.
        namespace: String,
        /// Name of the Service.
        name: String,
        /// Service port.
        port: i32,
    },
    /// A fixed HTTPS URL (a controller running outside the cluster).
    Url(String),
}

/// The configuration object to apply.
///
/// `failurePolicy: Fail`: an invalid pool must not slip in while the
/// webhook is briefly unreachable (the reconciler would then refuse it with
/// an Event, later and less visibly). The webhook only covers FerroLB's own
/// resources in FerroLB's namespace, so an unavailable controller never
/// blocks Services or anything else in the cluster.
pub fn configuration(
    name: &str,
    namespace: &str,
    endpoint: &Endpoint,
    ca_pem: &str,
    owner: Option<OwnerReference>,
) -> ValidatingWebhookConfiguration {
    let client_config = match endpoint {
        Endpoint::Service {
            namespace,
            name,
            port,
        } => WebhookClientConfig {
            ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
            service: Some(ServiceReference {
                namespace: namespace.clone(),
                name: name.clone(),
                path: Some(WEBHOOK_PATH.to_owned()),
                port: Some(*port),
            }),
            url: None,
        },
        Endpoint::Url(url) => WebhookClientConfig {
            ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
            service: None,
            url: Some(url.clone()),
        },
    };
    let namespace_selector = LabelSelector {
        match_labels: Some(
            [(
                "kubernetes.io/metadata.name".to_owned(),
                namespace.to_owned(),
            )]
            .into(),
        ),
        match_expressions: None,
    };
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([("app.kubernetes.io/part-of".to_owned(), "ferrolb".to_owned())].into()),
            owner_references: owner.map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        webhooks: Some(vec![ValidatingWebhook {
            name: WEBHOOK_NAME.to_owned(),
            admission_review_versions: vec!["v1".to_owned()],
            client_config,
            failure_policy: Some("Fail".to_owned()),
            match_policy: Some("Equivalent".to_owned()),
            namespace_selector: Some(namespace_selector),
            rules: Some(vec![RuleWithOperations {
                api_groups: Some(vec![ferrolb_api::GROUP.to_owned()]),
                api_versions: Some(vec![ferrolb_api::VERSION.to_owned()]),
                operations: Some(vec!["CREATE".to_owned(), "UPDATE".to_owned()]),
                resources: Some(
                    VALIDATED_RESOURCES
                        .iter()
                        .map(|(plural, _)| (*plural).to_owned())
                        .collect(),
                ),
                scope: Some("Namespaced".to_owned()),
            }]),
            side_effects: "None".to_owned(),
            timeout_seconds: Some(10),
            ..ValidatingWebhook::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_covers_ferrolb_objects_in_ferrolb_namespace_only() {
        let endpoint = Endpoint::Service {
            namespace: "ferrolb-system".into(),
            name: "ferrolb-webhook".into(),
            port: 443,
        };
        let c = configuration("ferrolb", "ferrolb-system", &endpoint, "PEM", None);
        let value = serde_json::to_value(&c).unwrap();
        let hook = &value["webhooks"][0];
        assert_eq!(hook["clientConfig"]["service"]["path"], "/validate");
        assert_eq!(hook["clientConfig"]["caBundle"], "UEVN"); // base64("PEM")
        assert_eq!(hook["failurePolicy"], "Fail");
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["rules"][0]["apiGroups"][0], "ferrolb.io");
        assert_eq!(hook["rules"][0]["resources"].as_array().unwrap().len(), 5);
        assert_eq!(
            hook["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "ferrolb-system"
        );
        let by_url = configuration(
            "f",
            "ns",
            &Endpoint::Url("https://h/validate".into()),
            "P",
            None,
        );
        let value = serde_json::to_value(&by_url).unwrap();
        assert_eq!(
            value["webhooks"][0]["clientConfig"]["url"],
            "https://h/validate"
        );
        assert!(value["webhooks"][0]["clientConfig"]["service"].is_null());
    }
}
