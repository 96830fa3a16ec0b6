//! Write verbs: create, update, patch, delete and deletecollection.
//!
//! Every write is planned against the current object, admitted, then committed
//! only if the object is still at the planned resourceVersion; otherwise it is
//! planned again (the real server's optimistic "guaranteed update" loop).

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{json, App, Ctx};
use crate::admission::{self, Operation};
use crate::crd;
use crate::defaults::{self, Special};
use crate::object::{self, Part, Stamp};
use crate::patch::{self, PatchKind};
use crate::representation;
use crate::status::{ApiError, FieldCause};
use crate::store::{Action, CommitError, Intent, Outcome, Stored};
use crate::writes::Verb;

/// How often a write is re-planned after losing a race before giving up.
const MAX_ATTEMPTS: usize = 16;

/// What a write request amounts to, given the current object.
pub(super) enum Plan {
    /// Nothing to store; answer with this object.
    Unchanged {
        value: Arc<Value>,
        verb: Option<Verb>,
    },
    /// Store (or remove) something.
    Write {
        expect: Option<u64>,
        action: Action,
        operation: Operation,
        verb: Verb,
        code: StatusCode,
    },
}

fn parse_object(body: &[u8], content_type: Option<&str>) -> Result<Value, ApiError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or("application/json");
    let value: Value = match mime {
        "application/json" | "" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body is not a valid object: expected a JSON object",
        ));
    }
    Ok(value)
}

/// Type-specific validation, including CRD consistency.
fn validate(ctx: &Ctx, old: Option<&Value>, new: &Value) -> Result<(), ApiError> {
    let special = Special::of(&ctx.def);
    let mut causes = defaults::validate(special, old, new);
    if special == Special::Crd {
        match crd::resource_def(new) {
            Err(c) => causes.extend(c),
            Ok(def) => {
                if crate::registry::is_builtin_resource(&def.group_resource()) {
                    causes.push(FieldCause::invalid(
                        "spec.names.plural",
                        &json!(def.plural),
                        "conflicts with a built-in resource",
                    ));
                }
            }
        }
        if let Some(old) = old {
            for field in ["group", "scope"] {
                let pointer = format!("/spec/{field}");
                if old.pointer(&pointer) != new.pointer(&pointer) {
                    causes.push(FieldCause::invalid(
                        format!("spec.{field}"),
                        new.pointer(&pointer).unwrap_or(&Value::Null),
                        "field is immutable",
                    ));
                }
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &ctx.def.group,
            &ctx.def.kind,
            object::name(new),
            &causes,
        ))
    }
}

/// Prepares a new object (POST, or PUT/apply of a missing object): metadata,
/// defaults, validation and initial status. Returns it with its (possibly generated) name.
fn prepare_new(ctx: &Ctx, obj: Value) -> Result<(Value, String), ApiError> {
    let stamp = Stamp {
        now: &crate::ids::now(),
        uid: crate::ids::uid(),
        name_suffix: crate::ids::name_suffix(),
    };
    let special = Special::of(&ctx.def);
    let mut value =
        object::prepare_create(&ctx.def, &ctx.version, ctx.namespace.as_deref(), obj, stamp)?;
    defaults::apply_defaults(special, &mut value);
    validate(ctx, None, &value)?;
    if let Some(status) = defaults::initial_status(special, &value, &crate::ids::now()) {
        if let Some(m) = value.as_object_mut() {
            m.insert("status".into(), status);
        }
    }
    let name = object::name(&value).to_string();
    Ok((value, name))
}

/// The plan storing a prepared new object.
fn create_plan(value: Value) -> Plan {
    Plan::Write {
        expect: None,
        action: Action::Put(value),
        operation: Operation::Create,
        verb: Verb::Create,
        code: StatusCode::CREATED,
    }
}

/// The object's name (and namespace, if set) must match the URL.
fn check_identity(ctx: &Ctx, obj: &Value) -> Result<(), ApiError> {
    let name = ctx.name();
    let body_name = object::name(obj);
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let body_ns = object::namespace(obj);
    let url_ns = ctx.namespace.as_deref().unwrap_or_default();
    if ctx.def.namespaced && !body_ns.is_empty() && body_ns != url_ns {
        return Err(ApiError::bad_request(format!(
            "the namespace of the object ({body_ns}) does not match the namespace on the URL ({url_ns})"
        )));
    }
    Ok(())
}

/// Plans replacing the current object with `new` (PUT, or the result of a PATCH).
fn plan_replace(ctx: &Ctx, current: &Stored, mut new: Value, verb: Verb) -> Result<Plan, ApiError> {
    let gr = ctx.def.group_resource();
    let name = ctx.name();
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the request body is not a valid object: expected a JSON object",
        ));
    }
    check_identity(ctx, &new)?;
    let body_rv = object::meta_str(&new, "resourceVersion");
    if body_rv.is_empty() {
        if verb == Verb::Update && !ctx.def.unconditional_update {
            return Err(ApiError::invalid(
                &ctx.def.group,
                &ctx.def.kind,
                name,
                &[FieldCause::invalid(
                    "metadata.resourceVersion",
                    &json!("0x0"),
                    "must be specified for an update",
                )],
            ));
        }
    } else if object::parse_rv(body_rv) != Some(current.rv) {
        return Err(ApiError::stale(&gr, name));
    }
    let special = Special::of(&ctx.def);
    if ctx.part == Part::Main {
        defaults::carry_allocations(special, &current.value, &mut new);
    }
    let mut value = object::prepare_update(&ctx.def, &ctx.version, &current.value, new, ctx.part)?;
    if ctx.part == Part::Main {
        defaults::apply_defaults(special, &mut value);
        validate(ctx, Some(&current.value), &value)?;
    }
    object::set_resource_version(&mut value, current.rv);
    let stored_view = representation::object(&ctx.def, &ctx.version, &current.value);
    if !object::differs(&value, &stored_view) {
        return Ok(Plan::Unchanged {
            value: current.value.clone(),
            verb: Some(verb),
        });
    }
    Ok(Plan::Write {
        expect: Some(current.rv),
        action: Action::Put(value),
        operation: Operation::Update,
        verb,
        code: StatusCode::OK,
    })
}

/// Plans, admits and commits a write until it sticks.
pub(super) async fn run<F>(
    app: &App,
    ctx: &Ctx,
    name: &str,
    mut plan: F,
) -> Result<(StatusCode, Arc<Value>), ApiError>
where
    F: FnMut(Option<&Stored>) -> Result<(Plan, String), ApiError>,
{
    for _ in 0..MAX_ATTEMPTS {
        let current = app.store.get_stored(&ctx.key(name));
        let (planned, name) = plan(current.as_ref())?;
        let key = ctx.key(&name);
        match planned {
            Plan::Unchanged { value, verb } => {
                if let Some(verb) = verb {
                    app.store.record_unchanged(ctx.requester(verb), &key);
                }
                return Ok((StatusCode::OK, value));
            }
            Plan::Write {
                expect,
                action,
                operation,
                verb,
                code,
            } => {
                let old = current
                    .as_ref()
                    .map(|c| representation::object(&ctx.def, &ctx.version, &c.value));
                let new = match &action {
                    Action::Put(v) => Some(v.clone()),
                    Action::Remove => None,
                };
                let request = admission::request(
                    &ctx.resource_ref(),
                    &ctx.def.kind,
                    ctx.subresource(),
                    ctx.def.namespaced.then_some(key.namespace.as_str()),
                    &name,
                    operation,
                    new.clone(),
                    old.clone(),
                    ctx.dry_run(),
                );
                app.admission.review(&request).await?;
                crate::webhooks::review(&app.store, &request).await?;
                if ctx.dry_run() {
                    let shown = new.or(old).unwrap_or_default();
                    return Ok((code, Arc::new(shown)));
                }
                let intent = Intent {
                    key,
                    expect,
                    action,
                    requester: Some(ctx.requester(verb)),
                };
                match app.store.commit(intent) {
                    Ok(Outcome::Stored(v) | Outcome::Removed(v)) => return Ok((code, v)),
                    Err(CommitError::Changed) => continue,
                    Err(CommitError::Api(e)) => return Err(e),
                }
            }
        }
    }
    Err(ApiError::stale(&ctx.def.group_resource(), name))
}

pub(super) fn respond(ctx: &Ctx, (code, value): (StatusCode, Arc<Value>)) -> Response {
    json(code, &ctx.render(&value), "application/json")
}

/// POST to a collection.
pub(super) async fn create(app: &App, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let obj = parse_object(body, ctx.header(header::CONTENT_TYPE))?;
    // Prepared once: a generated name and UID stay the same across retries.
    let (value, name) = prepare_new(ctx, obj)?;
    let result = run(app, ctx, &name, |current| match current {
        Some(_) => Err(ApiError::already_exists(&ctx.def.group_resource(), &name)),
        None => Ok((create_plan(value.clone()), name.clone())),
    })
    .await?;
    Ok(respond(ctx, result))
}

/// PUT of an object or its status.
pub(super) async fn update(app: &App, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let obj = parse_object(body, ctx.header(header::CONTENT_TYPE))?;
    check_identity(ctx, &obj)?;
    let name = ctx.name().to_string();
    let result = run(app, ctx, &name, |current| match current {
        Some(cur) => Ok((
            plan_replace(ctx, cur, obj.clone(), Verb::Update)?,
            name.clone(),
        )),
        None if ctx.def.create_on_update && ctx.part == Part::Main => {
            let mut fresh = obj.clone();
            if let Some(m) = object::meta_mut(&mut fresh) {
                m.remove("resourceVersion");
            }
            let (value, name) = prepare_new(ctx, fresh)?;
            Ok((create_plan(value), name))
        }
        None => Err(ApiError::not_found(&ctx.def.group_resource(), &name)),
    })
    .await?;
    Ok(respond(ctx, result))
}

/// The applied configuration of a server-side apply, checked.
fn applied_config(ctx: &Ctx, body: &[u8]) -> Result<Value, ApiError> {
    if ctx.params.get("fieldManager").is_none() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &[FieldCause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        ));
    }
    let applied = patch::parse_apply(body)?;
    for field in ["apiVersion", "kind"] {
        if applied
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(format!(
                "{field} must be set in an apply patch"
            )));
        }
    }
    Ok(applied)
}

/// PATCH of an object or its status, in any of the four patch types.
pub(super) async fn patch(app: &App, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let content_type = ctx.header(header::CONTENT_TYPE).unwrap_or_default();
    let kind = PatchKind::from_content_type(content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
    let applied = match kind {
        PatchKind::Apply => Some(applied_config(ctx, body)?),
        _ => None,
    };
    let name = ctx.name().to_string();
    let result = run(app, ctx, &name, |current| match (current, &applied) {
        (Some(cur), _) => {
            let view = representation::object(&ctx.def, &ctx.version, &cur.value);
            let patched = patch::apply(kind, &view, body)?;
            Ok((plan_replace(ctx, cur, patched, Verb::Patch)?, name.clone()))
        }
        (None, Some(applied)) if ctx.part == Part::Main => {
            let mut obj = applied.clone();
            let body_name = object::name(&obj).to_string();
            if !body_name.is_empty() && body_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            if let Some(m) = object::meta_mut(&mut obj) {
                m.insert("name".into(), json!(name));
                m.remove("resourceVersion");
            }
            let (value, name) = prepare_new(ctx, obj)?;
            Ok((create_plan(value), name))
        }
        (None, _) => Err(ApiError::not_found(&ctx.def.group_resource(), &name)),
    })
    .await?;
    Ok(respond(ctx, result))
}
