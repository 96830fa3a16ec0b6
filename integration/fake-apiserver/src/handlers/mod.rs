//! HTTP entry point: routes every request to discovery or a resource verb and
//! turns errors into `Status` responses.

mod delete;
mod read;
mod write;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::admission::Admission;
use crate::discovery;
use crate::history::ObjectKey;
use crate::object::Part;
use crate::query::Params;
use crate::registry::ResourceDef;
use crate::representation::Shape;
use crate::resource_ref::ResourceRef;
use crate::routes::{self, ResourcePath, Target};
use crate::status::ApiError;
use crate::store::{Requester, Store};
use crate::watch::WatchSettings;
use crate::writes::Verb;

/// How long a read waits for a future resourceVersion before giving up
/// (the real watch cache waits 3 s).
pub(crate) const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

/// Shared state of the HTTP layer.
pub(crate) struct App {
    pub store: Store,
    pub admission: Arc<Admission>,
    pub watch: WatchSettings,
    pub addr: SocketAddr,
    pub max_body_bytes: usize,
}

/// Everything a resource verb needs about its request.
pub(crate) struct Ctx {
    pub def: Arc<ResourceDef>,
    pub version: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub part: Part,
    pub params: Params,
    pub headers: HeaderMap,
    pub shape: Shape,
}

impl Ctx {
    pub fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            resource: self.def.group_resource(),
            namespace: if self.def.namespaced {
                self.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    pub fn resource_ref(&self) -> ResourceRef {
        ResourceRef::new(
            self.def.group.clone(),
            self.version.clone(),
            self.def.plural.clone(),
        )
    }

    pub fn subresource(&self) -> Option<&'static str> {
        (self.part == Part::Status).then_some("status")
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn requester(&self, verb: Verb) -> Requester {
        Requester {
            verb,
            resource: self.resource_ref(),
            subresource: self.subresource().map(str::to_string),
            field_manager: self.params.get("fieldManager").map(str::to_string),
            user_agent: self.header(header::USER_AGENT).map(str::to_string),
        }
    }

    pub fn dry_run(&self) -> bool {
        self.params.get("dryRun").is_some()
    }

    pub fn render(&self, obj: &Value) -> Value {
        crate::representation::shaped(&self.def, &self.version, obj, self.shape)
    }
}

/// A JSON response.
pub(crate) fn json(code: StatusCode, body: &Value, content_type: &'static str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

fn ok_json(body: &Value) -> Response {
    json(StatusCode::OK, body, "application/json")
}

/// The `Status` response for an error.
/// Like the real server, a `retryAfterSeconds` detail is also sent as `Retry-After`.
pub(crate) fn error_response(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(code, &e.to_status(), "application/json");
    let retry_after = e
        .details
        .as_ref()
        .and_then(|d| d.get("retryAfterSeconds"))
        .and_then(Value::as_u64)
        .filter(|s| *s > 0);
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    resp
}

/// The axum handler for every request.
pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = match dispatch(&app, req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%method, %path, code = e.code, message = %e.message, "request failed");
            error_response(&e)
        }
    };
    tracing::trace!(%method, %path, status = %resp.status(), "request");
    resp
}

async fn dispatch(app: &App, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let target = routes::parse(parts.uri.path());
    let params = Params::parse(parts.uri.query());
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    if !matches!(target, Target::Resource(_)) && parts.method != Method::GET {
        return Err(match target {
            Target::Unknown => ApiError::no_such_path(),
            _ => ApiError::method_not_allowed(),
        });
    }
    let reg = || app.store.registry();
    let aggregated = discovery::wants_aggregated(accept);
    match target {
        Target::Version => Ok(ok_json(&discovery::version())),
        Target::Health => Ok((StatusCode::OK, "ok").into_response()),
        Target::CoreVersions if aggregated => Ok(json(
            StatusCode::OK,
            &discovery::aggregated(&reg(), true),
            discovery::AGGREGATED_CONTENT_TYPE,
        )),
        Target::CoreVersions => Ok(ok_json(&discovery::core_versions(&app.addr.to_string()))),
        Target::Groups if aggregated => Ok(json(
            StatusCode::OK,
            &discovery::aggregated(&reg(), false),
            discovery::AGGREGATED_CONTENT_TYPE,
        )),
        Target::Groups => Ok(ok_json(&discovery::groups(&reg()))),
        Target::Group(g) => discovery::group(&reg(), &g)
            .map(|v| ok_json(&v))
            .ok_or_else(ApiError::no_such_path),
        Target::GroupVersion { group, version } => {
            discovery::resource_list(&reg(), &group, &version)
                .map(|v| ok_json(&v))
                .ok_or_else(ApiError::no_such_path)
        }
        Target::Resource(path) => {
            resource(app, parts.method, parts.headers, params, path, body).await
        }
        Target::Unknown => Err(ApiError::no_such_path()),
    }
}

async fn read_body(app: &App, body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, app.max_body_bytes)
        .await
        .map_err(|_| ApiError::too_large(&format!("limit is {} bytes", app.max_body_bytes)))
}

async fn resource(
    app: &App,
    method: Method,
    headers: HeaderMap,
    params: Params,
    path: ResourcePath,
    body: Body,
) -> Result<Response, ApiError> {
    let def = app
        .store
        .lookup(&path.group, &path.version, &path.plural)
        .ok_or_else(ApiError::no_such_path)?;
    if path.namespace.is_some() && !def.namespaced {
        return Err(ApiError::no_such_path());
    }
    if path.name.is_some() && def.namespaced && path.namespace.is_none() {
        return Err(ApiError::no_such_path());
    }
    let part = match path.subresource.as_deref() {
        None => Part::Main,
        Some("status") if def.has_status(&path.version) => Part::Status,
        Some(_) => return Err(ApiError::no_such_path()),
    };
    let shape = Shape::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let watching = path.legacy_watch || params.flag("watch");
    let ctx = Ctx {
        def,
        version: path.version,
        namespace: path.namespace,
        name: path.name,
        part,
        params,
        headers,
        shape,
    };
    let has_name = ctx.name.is_some();
    match method {
        Method::GET if watching => read::watch(app, &ctx).await,
        Method::GET if has_name => read::get(app, &ctx).await,
        Method::GET if part == Part::Main => read::list(app, &ctx).await,
        Method::POST if !has_name && part == Part::Main => {
            write::create(app, &ctx, &read_body(app, body).await?).await
        }
        Method::PUT if has_name => write::update(app, &ctx, &read_body(app, body).await?).await,
        Method::PATCH if has_name => write::patch(app, &ctx, &read_body(app, body).await?).await,
        Method::DELETE if has_name && part == Part::Main => {
            delete::delete(app, &ctx, &read_body(app, body).await?).await
        }
        Method::DELETE if !has_name && part == Part::Main => {
            delete::delete_collection(app, &ctx, &read_body(app, body).await?).await
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Waits until the store reaches `rv`, or fails like the real server's watch cache.
pub(crate) async fn ensure_fresh(app: &App, rv: u64) -> Result<(), ApiError> {
    app.store
        .wait_for(rv, FRESHNESS_WAIT)
        .await
        .map_err(|current| ApiError::too_large_resource_version(rv, current))
}
