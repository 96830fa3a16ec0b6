//! Validating admission: hooks consulted before a create, update, patch or delete
//! is stored, rejecting it the way a denying validating webhook would.
//!
//! The request type serialises to the `request` of an `admission.k8s.io/v1`
//! `AdmissionReview`, and hooks are asynchronous, so a hook that calls a real
//! webhook endpoint over HTTPS can implement [`AdmissionHook`] unchanged.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;

use crate::resource_ref::ResourceRef;
use crate::status::ApiError;

/// The operation being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// Create (POST, or apply/PUT creating the object).
    Create,
    /// Update (PUT or PATCH).
    Update,
    /// Delete.
    Delete,
}

/// Group/version/kind of the admitted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupVersionKind {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// Group/version/resource of the admitted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupVersionResource {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
}

/// What is being admitted (the `request` of an AdmissionReview).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Unique id of this admission call.
    pub uid: String,
    /// Kind of the object.
    pub kind: GroupVersionKind,
    /// Resource addressed.
    pub resource: GroupVersionResource,
    /// Subresource addressed (`status`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    /// Object name.
    pub name: String,
    /// Namespace, for namespaced objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Operation.
    pub operation: Operation,
    /// The object as it would be stored (absent for delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    /// The stored object (absent for create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Value>,
    /// Whether this is a dry run.
    pub dry_run: bool,
}

/// A hook's rejection: the `status` an AdmissionReview response would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// HTTP code; values below 400 become 403, as on the real server.
    pub code: u16,
    /// `Status.reason`, often empty for webhook denials.
    pub reason: String,
    /// The explanation shown after "admission webhook ... denied the request: ".
    pub message: String,
}

impl Denial {
    /// A 403 denial with the given message and no reason (what most webhooks return).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            code: 403,
            reason: String::new(),
            message: message.into(),
        }
    }

    /// A 422 `Invalid` denial.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: 422,
            reason: "Invalid".into(),
            message: message.into(),
        }
    }
}

/// The future a hook returns.
pub type Verdict<'a> = Pin<Box<dyn Future<Output = Result<(), Denial>> + Send + 'a>>;

/// A validating admission hook.
pub trait AdmissionHook: Send + Sync {
    /// Reviews a request; `Err` rejects it.
    fn review<'a>(&'a self, request: &'a AdmissionRequest) -> Verdict<'a>;
}

struct FnHook<F>(F);

impl<F> AdmissionHook for FnHook<F>
where
    F: Fn(&AdmissionRequest) -> Result<(), String> + Send + Sync,
{
    fn review<'a>(&'a self, request: &'a AdmissionRequest) -> Verdict<'a> {
        let verdict = (self.0)(request).map_err(Denial::forbidden);
        Box::pin(std::future::ready(verdict))
    }
}

/// Wraps a synchronous validation function; an `Err(message)` becomes a 403 denial.
pub fn validator<F>(f: F) -> Arc<dyn AdmissionHook>
where
    F: Fn(&AdmissionRequest) -> Result<(), String> + Send + Sync + 'static,
{
    Arc::new(FnHook(f))
}

/// Which requests a hook sees, in the terms of a webhook's `rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRule {
    /// API group (`*` for any).
    pub group: String,
    /// `plural`, `plural/status`, `*` (any main resource) or `*/*` (anything).
    pub resource: String,
    /// Operations covered.
    pub operations: Vec<Operation>,
}

impl AdmissionRule {
    /// Creates and updates of `group`'s `resource` (e.g. `("ferrolb.io", "pools")`).
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
            operations: vec![Operation::Create, Operation::Update],
        }
    }

    /// Replaces the covered operations.
    pub fn operations(mut self, ops: impl IntoIterator<Item = Operation>) -> Self {
        self.operations = ops.into_iter().collect();
        self
    }

    fn matches(&self, req: &AdmissionRequest) -> bool {
        let group_ok = self.group == "*" || self.group == req.resource.group;
        let plural = &req.resource.resource;
        let resource_ok = match (self.resource.as_str(), req.sub_resource.as_deref()) {
            ("*/*", _) => true,
            ("*", None) => true,
            (r, None) => r == plural,
            (r, Some(sub)) => {
                r == format!("{plural}/{sub}")
                    || r == format!("*/{sub}")
                    || r == format!("{plural}/*")
            }
        };
        group_ok && resource_ok && self.operations.contains(&req.operation)
    }
}

struct Registered {
    name: String,
    rule: AdmissionRule,
    hook: Arc<dyn AdmissionHook>,
}

/// The registered hooks of a server.
#[derive(Default)]
pub struct Admission {
    hooks: RwLock<Vec<Registered>>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .hooks
            .read()
            .map(|h| h.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        f.debug_struct("Admission").field("hooks", &names).finish()
    }
}

impl Admission {
    /// Registers a hook under a webhook-style name (e.g. `vpool.ferrolb.io`).
    pub fn register(
        &self,
        name: impl Into<String>,
        rule: AdmissionRule,
        hook: Arc<dyn AdmissionHook>,
    ) {
        if let Ok(mut hooks) = self.hooks.write() {
            hooks.push(Registered {
                name: name.into(),
                rule,
                hook,
            });
        }
    }

    /// Removes every hook with this name.
    pub fn unregister(&self, name: &str) {
        if let Ok(mut hooks) = self.hooks.write() {
            hooks.retain(|r| r.name != name);
        }
    }

    /// Runs every matching hook in registration order; the first denial wins.
    pub async fn review(&self, request: &AdmissionRequest) -> Result<(), ApiError> {
        let matching: Vec<(String, Arc<dyn AdmissionHook>)> = self
            .hooks
            .read()
            .map(|hooks| {
                hooks
                    .iter()
                    .filter(|r| r.rule.matches(request))
                    .map(|r| (r.name.clone(), r.hook.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (name, hook) in matching {
            if let Err(d) = hook.review(request).await {
                return Err(ApiError::admission_denied(
                    &name, d.code, &d.reason, &d.message,
                ));
            }
        }
        Ok(())
    }
}

/// Builds the request for a write.
#[allow(clippy::too_many_arguments)]
pub(crate) fn request(
    resource: &ResourceRef,
    kind: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
    name: &str,
    operation: Operation,
    object: Option<Value>,
    old_object: Option<Value>,
    dry_run: bool,
) -> AdmissionRequest {
    AdmissionRequest {
        uid: crate::ids::uid(),
        kind: GroupVersionKind {
            group: resource.group.clone(),
            version: resource.version.clone(),
            kind: kind.to_string(),
        },
        resource: GroupVersionResource {
            group: resource.group.clone(),
            version: resource.version.clone(),
            resource: resource.plural.clone(),
        },
        sub_resource: subresource.map(str::to_string),
        name: name.to_string(),
        namespace: namespace.map(str::to_string),
        operation,
        object,
        old_object,
        dry_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(plural: &str, sub: Option<&str>, op: Operation) -> AdmissionRequest {
        request(
            &ResourceRef::new("ferrolb.io", "v1alpha1", plural),
            "Pool",
            sub,
            None,
            "p",
            op,
            Some(json!({})),
            None,
            false,
        )
    }

    #[test]
    fn rule_matching() {
        let rule = AdmissionRule::new("ferrolb.io", "pools");
        assert!(rule.matches(&req("pools", None, Operation::Create)));
        assert!(!rule.matches(&req("pools", None, Operation::Delete)));
        assert!(!rule.matches(&req("pools", Some("status"), Operation::Update)));
        assert!(!rule.matches(&req("peers", None, Operation::Create)));
        let status = AdmissionRule::new("*", "pools/status");
        assert!(status.matches(&req("pools", Some("status"), Operation::Update)));
        let all = AdmissionRule::new("*", "*/*").operations([Operation::Delete]);
        assert!(all.matches(&req("peers", Some("status"), Operation::Delete)));
    }

    #[tokio::test]
    async fn denial_message_matches_webhooks() {
        let adm = Admission::default();
        adm.register(
            "vpool.ferrolb.io",
            AdmissionRule::new("ferrolb.io", "pools"),
            validator(|r| {
                if r.name == "p" {
                    Err("pool p is reserved".into())
                } else {
                    Ok(())
                }
            }),
        );
        let err = adm
            .review(&req("pools", None, Operation::Create))
            .await
            .unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "admission webhook \"vpool.ferrolb.io\" denied the request: pool p is reserved"
        );
        adm.unregister("vpool.ferrolb.io");
        assert!(adm
            .review(&req("pools", None, Operation::Create))
            .await
            .is_ok());
    }

    #[test]
    fn serialises_like_an_admission_review_request() {
        let v = serde_json::to_value(req("pools", Some("status"), Operation::Update)).unwrap();
        assert_eq!(v["operation"], "UPDATE");
        assert_eq!(v["subResource"], "status");
        assert_eq!(v["resource"]["resource"], "pools");
        assert_eq!(v["kind"]["kind"], "Pool");
        assert_eq!(v["dryRun"], false);
    }
}
