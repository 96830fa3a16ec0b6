//! API errors, rendered as `meta.k8s.io/v1` `Status` objects exactly the way
//! the real API server shapes them (message wording, reason, code, details).

use std::fmt;

use serde_json::{json, Map, Value};

/// A group-qualified resource name such as `services` or `leases.coordination.k8s.io`,
/// used in error messages and `Status.details`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// A group-qualified resource.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// One field-level cause of an `Invalid` error (`Status.details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// Machine-readable cause type, e.g. `FieldValueRequired`, `FieldValueInvalid`.
    pub reason: &'static str,
    /// Path of the offending field, e.g. `metadata.name`.
    pub field: String,
    /// Human-readable explanation, including the field path prefix-free body.
    pub message: String,
}

impl FieldCause {
    /// `Required value` for a missing field.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }

    /// `Invalid value` for a field whose value breaks a rule.
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {value}: {detail}"),
        }
    }

    /// `Forbidden` for a change the API does not allow.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    fn describe(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// An error returned to API clients as a `Status` object with an HTTP status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} ({code} {reason})")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason` (may be empty, as for webhook denials without a reason).
    pub reason: String,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`, when the real server fills it.
    pub details: Option<Value>,
}

fn details(gr: &GroupResource, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !gr.group.is_empty() {
        d.insert("group".into(), json!(gr.group));
    }
    d.insert("kind".into(), json!(gr.resource));
    Value::Object(d)
}

impl ApiError {
    fn new(code: u16, reason: &str, message: String, details: Option<Value>) -> Self {
        Self {
            code,
            reason: reason.to_string(),
            message,
            details,
        }
    }

    /// 404 `NotFound` for a named object.
    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{gr} \"{name}\" not found"),
            Some(details(gr, name)),
        )
    }

    /// 404 for a path the server does not serve at all.
    pub fn no_such_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            Some(json!({})),
        )
    }

    /// 409 `AlreadyExists` on create.
    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{gr} \"{name}\" already exists"),
            Some(details(gr, name)),
        )
    }

    /// 409 `Conflict` with the given explanation.
    pub fn conflict(gr: &GroupResource, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {gr} \"{name}\": {why}"),
            Some(details(gr, name)),
        )
    }

    /// 409 `Conflict` for an optimistic-concurrency failure (stale resourceVersion).
    pub fn stale(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 `Invalid` with field causes; `kind` is the Kind (not the resource).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[FieldCause]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let listed: Vec<String> = causes.iter().map(FieldCause::describe).collect();
        let message = match listed.len() {
            0 => format!("{qualified} \"{name}\" is invalid"),
            1 => format!("{qualified} \"{name}\" is invalid: {}", listed.join("")),
            _ => format!("{qualified} \"{name}\" is invalid: [{}]", listed.join(", ")),
        };
        let mut d = Map::new();
        if !name.is_empty() {
            d.insert("name".into(), json!(name));
        }
        if !group.is_empty() {
            d.insert("group".into(), json!(group));
        }
        d.insert("kind".into(), json!(kind));
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        d.insert("causes".into(), Value::Array(causes));
        Self::new(422, "Invalid", message, Some(Value::Object(d)))
    }

    /// 422 `Invalid` for a request the server could not apply (e.g. a failed JSON-patch `test`).
    pub fn unprocessable() -> Self {
        Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request".into(),
            Some(json!({})),
        )
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), None)
    }

    /// 403 `Forbidden` for an action on a resource.
    pub fn forbidden(gr: &GroupResource, name: &str, why: &str) -> Self {
        let message = if name.is_empty() {
            format!("{gr} is forbidden: {why}")
        } else {
            format!("{gr} \"{name}\" is forbidden: {why}")
        };
        Self::new(403, "Forbidden", message, Some(details(gr, name)))
    }

    /// 410 `Expired`: the requested resourceVersion or continue token is no longer available.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message.into(), None)
    }

    /// 405 `MethodNotAllowed` for a verb a resource does not support.
    pub fn method_not_supported(gr: &GroupResource, action: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("{action} is not supported on resources of kind \"{gr}\""),
            Some(json!({"group": gr.group, "kind": gr.resource})),
        )
    }

    /// 405 `MethodNotAllowed` for an HTTP method the path does not accept.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            Some(json!({})),
        )
    }

    /// 415 `UnsupportedMediaType` for an unknown request Content-Type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
            None,
        )
    }

    /// 413 `RequestEntityTooLarge`.
    pub fn too_large(message: &str) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: {message}"),
            None,
        )
    }

    /// 504 `Timeout` when the requested resourceVersion is newer than anything stored.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        Self::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
            Some(json!({
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1
            })),
        )
    }

    /// An admission denial, shaped like the real server reports a webhook rejection.
    pub fn admission_denied(hook: &str, code: u16, reason: &str, message: &str) -> Self {
        let code = if code < 400 { 403 } else { code };
        let denied_by = format!("admission webhook \"{hook}\" denied the request");
        let message = if message.is_empty() {
            format!("{denied_by} without explanation")
        } else {
            format!("{denied_by}: {message}")
        };
        Self::new(code, reason, message, None)
    }

    /// 500 `InternalError`.
    pub fn internal(message: &str) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
            Some(json!({"causes": [{"message": message}]})),
        )
    }

    /// The `Status` object the server sends for this error.
    pub fn to_status(&self) -> Value {
        let mut s = Map::new();
        s.insert("kind".into(), json!("Status"));
        s.insert("apiVersion".into(), json!("v1"));
        s.insert("metadata".into(), json!({}));
        s.insert("status".into(), json!("Failure"));
        s.insert("message".into(), json!(self.message));
        if !self.reason.is_empty() {
            s.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            s.insert("details".into(), d.clone());
        }
        s.insert("code".into(), json!(self.code));
        Value::Object(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_real_server() {
        let svc = GroupResource::new("", "services");
        let lease = GroupResource::new("coordination.k8s.io", "leases");
        let cases = [
            (ApiError::not_found(&svc, "a"), 404, "NotFound", "services \"a\" not found"),
            (
                ApiError::already_exists(&lease, "l"),
                409,
                "AlreadyExists",
                "leases.coordination.k8s.io \"l\" already exists",
            ),
            (
                ApiError::stale(&svc, "a"),
                409,
                "Conflict",
                "Operation cannot be fulfilled on services \"a\": the object has been modified; please apply your changes to the latest version and try again",
            ),
            (
                ApiError::invalid("", "Service", "a", &[FieldCause::required("metadata.name", "name or generateName is required")]),
                422,
                "Invalid",
                "Service \"a\" is invalid: metadata.name: Required value: name or generateName is required",
            ),
            (
                ApiError::admission_denied("v.ferrolb.io", 0, "", "nope"),
                403,
                "",
                "admission webhook \"v.ferrolb.io\" denied the request: nope",
            ),
        ];
        for (err, code, reason, message) in cases {
            assert_eq!(err.code, code);
            assert_eq!(err.reason, reason);
            assert_eq!(err.message, message);
            let status = err.to_status();
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["status"], "Failure");
            assert_eq!(status["code"], code);
        }
        let d = ApiError::not_found(&lease, "l").details.unwrap();
        assert_eq!(
            d,
            json!({"name": "l", "group": "coordination.k8s.io", "kind": "leases"})
        );
    }

    #[test]
    fn several_causes_are_bracketed() {
        let err = ApiError::invalid(
            "ferrolb.io",
            "Pool",
            "p",
            &[
                FieldCause::required("a", ""),
                FieldCause::forbidden("b", "no"),
            ],
        );
        assert_eq!(
            err.message,
            "Pool.ferrolb.io \"p\" is invalid: [a: Required value, b: Forbidden: no]"
        );
    }
}
