//! Delete verbs: DELETE of one object and of a collection.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::write::{respond, run, Plan};
use super::{json, App, Ctx};
use crate::admission::Operation;
use crate::defaults::{self, Special};
use crate::object::{self, Part};
use crate::query::Selection;
use crate::representation::{self, ListMeta};
use crate::status::ApiError;
use crate::store::{Action, Stored};
use crate::writes::Verb;

/// Namespaces the real server refuses to delete.
const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// `DeleteOptions.preconditions` from a DELETE body.
#[derive(Debug, Default)]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

fn preconditions(body: &[u8]) -> Result<Preconditions, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Preconditions::default());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
    let text = |k: &str| {
        v.pointer(&format!("/preconditions/{k}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(Preconditions {
        uid: text("uid"),
        resource_version: text("resourceVersion"),
    })
}

fn plan_delete(ctx: &Ctx, cur: &Stored, pre: &Preconditions) -> Result<Plan, ApiError> {
    let gr = ctx.def.group_resource();
    let name = object::name(&cur.value);
    let uid = object::meta_str(&cur.value, "uid");
    if let Some(want) = pre.uid.as_deref().filter(|u| *u != uid) {
        return Err(ApiError::conflict(
            &gr,
            name,
            &format!("Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"),
        ));
    }
    if let Some(want) = pre
        .resource_version
        .as_deref()
        .filter(|rv| object::parse_rv(rv) != Some(cur.rv))
    {
        return Err(ApiError::conflict(
            &gr,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {}",
                cur.rv
            ),
        ));
    }
    let special = Special::of(&ctx.def);
    if special == Special::Namespace && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(
            &gr,
            name,
            "this namespace may not be deleted",
        ));
    }
    if object::is_terminating(&cur.value) {
        return Ok(Plan::Unchanged {
            value: cur.value.clone(),
            verb: Some(Verb::Delete),
        });
    }
    let must_wait = !object::finalizers(&cur.value).is_empty()
        || matches!(special, Special::Namespace | Special::Crd);
    let action = if must_wait {
        let mut v = cur.value.as_ref().clone();
        defaults::mark_terminating(special, &mut v, &crate::ids::now());
        Action::Put(v)
    } else {
        Action::Remove
    };
    Ok(Plan::Write {
        expect: Some(cur.rv),
        action,
        operation: Operation::Delete,
        verb: Verb::Delete,
        code: StatusCode::OK,
    })
}

async fn delete_one(
    app: &App,
    ctx: &Ctx,
    name: &str,
    pre: &Preconditions,
) -> Result<(StatusCode, Arc<Value>), ApiError> {
    run(app, ctx, name, |current| match current {
        Some(cur) => Ok((plan_delete(ctx, cur, pre)?, name.to_string())),
        None => Err(ApiError::not_found(&ctx.def.group_resource(), name)),
    })
    .await
}

/// DELETE of one object: removed at once, or marked for deletion while finalizers
/// (or, for namespaces and CRDs, their contents) remain.
pub(super) async fn delete(app: &App, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let pre = preconditions(body)?;
    let result = delete_one(app, ctx, ctx.name(), &pre).await?;
    Ok(respond(ctx, result))
}

/// DELETE of a collection: every selected object is deleted; the response lists them.
pub(super) async fn delete_collection(
    app: &App,
    ctx: &Ctx,
    body: &[u8],
) -> Result<Response, ApiError> {
    let pre = preconditions(body)?;
    let selection = Selection::new(&ctx.def, ctx.namespace.as_deref(), &ctx.params, None)?;
    let (objects, _) = app
        .store
        .list_at(&ctx.def.group_resource(), ctx.namespace.as_deref(), None)
        .map_err(|_| ApiError::internal("listing for deletecollection failed"))?;
    let mut deleted = Vec::new();
    for (key, _) in objects.iter().filter(|(_, v)| selection.matches(v)) {
        let one = Ctx {
            def: ctx.def.clone(),
            version: ctx.version.clone(),
            namespace: ctx.def.namespaced.then(|| key.namespace.clone()),
            name: Some(key.name.clone()),
            part: Part::Main,
            params: ctx.params.clone(),
            headers: ctx.headers.clone(),
            shape: ctx.shape,
        };
        match delete_one(app, &one, &key.name, &pre).await {
            Ok((_, v)) => deleted.push(representation::list_item(
                &ctx.def,
                &ctx.version,
                &v,
                ctx.shape,
            )),
            Err(e) if e.code == 404 => {}
            Err(e) => {
                tracing::debug!(name = %key.name, error = %e, "deletecollection skipped an object")
            }
        }
    }
    let meta = ListMeta {
        resource_version: app.store.resource_version(),
        ..Default::default()
    };
    let body = representation::list(&ctx.def, &ctx.version, deleted, &meta, ctx.shape);
    Ok(json(StatusCode::OK, &body, "application/json"))
}
