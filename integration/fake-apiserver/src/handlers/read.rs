//! Read verbs: get, list (with pagination) and watch.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;

use super::{ensure_fresh, json, App, Ctx};
use crate::list::{paginate, ContinueToken};
use crate::query::{read_at, ReadAt, Selection};
use crate::representation::{self, ListMeta};
use crate::status::ApiError;
use crate::watch::{self, WatchSpec, WatchStart};

/// The real server's default watch length when `timeoutSeconds` is not given.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// GET of one object (or its status).
pub(super) async fn get(app: &App, ctx: &Ctx) -> Result<Response, ApiError> {
    let at = read_at(&ctx.params)?;
    ensure_fresh(app, at.minimum()).await?;
    let stored = app
        .store
        .get_stored(&ctx.key(ctx.name()))
        .ok_or_else(|| ApiError::not_found(&ctx.def.group_resource(), ctx.name()))?;
    Ok(json(
        StatusCode::OK,
        &ctx.render(&stored.value),
        "application/json",
    ))
}

fn parse_limit(ctx: &Ctx) -> Result<usize, ApiError> {
    match ctx.params.get("limit") {
        None => Ok(0),
        Some(l) => l
            .parse::<i64>()
            .map(|n| usize::try_from(n.max(0)).unwrap_or(usize::MAX))
            .map_err(|_| {
                ApiError::bad_request(format!("limit: Invalid value: {l:?}: must be an integer"))
            }),
    }
}

/// LIST of a collection, honouring selectors, `limit`/`continue` and resourceVersion semantics.
pub(super) async fn list(app: &App, ctx: &Ctx) -> Result<Response, ApiError> {
    let selection = Selection::new(&ctx.def, ctx.namespace.as_deref(), &ctx.params, None)?;
    let limit = parse_limit(ctx)?;
    let token = match ctx.params.get("continue") {
        Some(t) => {
            if ctx.params.get("resourceVersion").is_some() {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            Some(ContinueToken::decode(t, ctx.def.namespaced)?)
        }
        None => None,
    };
    let gr = ctx.def.group_resource();
    let (objects, rv) = match &token {
        Some(t) => app
            .store
            .list_at(&gr, ctx.namespace.as_deref(), Some(t.rv))
            .map_err(|_| {
                ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get a consistent result.",
                )
            })?,
        None => {
            let at = read_at(&ctx.params)?;
            ensure_fresh(app, at.minimum()).await?;
            let exact = match at {
                ReadAt::Exact(rv) => Some(rv),
                _ => None,
            };
            app.store
                .list_at(&gr, ctx.namespace.as_deref(), exact)
                .map_err(|t| ApiError::expired(format!("too old resource version: {} ({})", t.requested, t.oldest)))?
        }
    };
    let selected: Vec<_> = objects
        .into_iter()
        .filter(|(_, v)| selection.matches(v))
        .collect();
    let after = token
        .as_ref()
        .map(|t| (t.namespace.as_str(), t.name.as_str()));
    let page = paginate(selected, after, limit, rv, !selection.is_selective());
    let items = page
        .items
        .iter()
        .map(|v| representation::list_item(&ctx.def, &ctx.version, v, ctx.shape))
        .collect();
    let meta = ListMeta {
        resource_version: rv,
        continue_token: page.next.map(|t| t.encode()),
        remaining: page.remaining,
    };
    let body = representation::list(&ctx.def, &ctx.version, items, &meta, ctx.shape);
    Ok(json(StatusCode::OK, &body, "application/json"))
}

/// WATCH of a collection or one object.
pub(super) async fn watch(app: &App, ctx: &Ctx) -> Result<Response, ApiError> {
    let selection = Selection::new(
        &ctx.def,
        ctx.namespace.as_deref(),
        &ctx.params,
        ctx.name.as_deref(),
    )?;
    let bookmarks = ctx.params.flag("allowWatchBookmarks");
    // Like the real server, a zero or absent timeoutSeconds means the default length.
    let timeout = match ctx.params.get("timeoutSeconds") {
        None => DEFAULT_WATCH_TIMEOUT,
        Some(t) => match t.parse::<u64>() {
            Ok(0) => DEFAULT_WATCH_TIMEOUT,
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "timeoutSeconds: Invalid value: {t:?}: must be a non-negative integer"
                )))
            }
        },
    };
    let initial = ctx.params.tristate("sendInitialEvents");
    let matching = ctx.params.get("resourceVersionMatch");
    if initial.is_some() && matching != Some("NotOlderThan") {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            &[crate::status::FieldCause::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
            )],
        ));
    }
    if initial.is_none() && matching.is_some() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            &[crate::status::FieldCause::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )],
        ));
    }
    let rv = match ctx.params.get("resourceVersion") {
        None | Some("0") => None,
        Some(v) => Some(crate::object::parse_rv(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {v:?}: must be an integer"
            ))
        })?),
    };
    if let Some(rv) = rv {
        ensure_fresh(app, rv).await?;
    }
    let start = match (initial, rv) {
        (Some(true), _) => WatchStart::InitialEvents { end_bookmark: true },
        (Some(false), None) => WatchStart::Now,
        (Some(false), Some(rv)) | (None, Some(rv)) => WatchStart::After(rv),
        (None, None) => WatchStart::InitialEvents {
            end_bookmark: false,
        },
    };
    let spec = WatchSpec {
        def: ctx.def.clone(),
        version: ctx.version.clone(),
        selection,
        start,
        bookmarks,
        timeout,
        shape: ctx.shape,
    };
    Ok(watch::serve(app.store.clone(), spec, app.watch.clone()))
}
