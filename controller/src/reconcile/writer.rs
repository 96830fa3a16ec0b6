//! Writes to the API server: Service status and annotation, Events, pool
//! statuses. Every write carries the configured field manager.

use ferrolb_api::annotations::IP_ALLOCATED_FROM_POOL;
use ferrolb_api::{IPAddressPool, ServiceReference};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource, ResourceExt};
use serde_json::{json, Value};

use super::cached::CachedService;
use super::decide::{Plan, PlannedEvent};
use super::pools::pool_status;
use super::{Context, ReconcileError};
use crate::config::CONTROLLER_NAME;

fn params(ctx: &Context) -> PatchParams {
    PatchParams {
        field_manager: Some(ctx.config.field_manager.clone()),
        ..PatchParams::default()
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Carries out `plan` on `service`: status first (what speakers act on),
/// then the annotation, then the Event. A Service deleted meanwhile is not
/// an error.
pub(super) async fn apply(
    ctx: &Context,
    service: &CachedService,
    key: &ServiceReference,
    plan: &Plan,
) -> Result<(), ReconcileError> {
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let fail = |source| ReconcileError::Write {
        service: format!("{}/{}", key.namespace, key.name),
        source,
    };
    if let Some(ips) = &plan.ingress {
        let ingress = if ips.is_empty() {
            Value::Null
        } else {
            ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect()
        };
        let body = json!({"status": {"loadBalancer": {"ingress": ingress}}});
        match api
            .patch_status(&key.name, &params(ctx), &Patch::Merge(&body))
            .await
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(fail(e)),
            Ok(_) => {}
        }
    }
    if let Some(pool) = &plan.recorded_pool {
        let body = json!({"metadata": {"annotations": {IP_ALLOCATED_FROM_POOL: pool}}});
        match api
            .patch(&key.name, &params(ctx), &Patch::Merge(&body))
            .await
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(fail(e)),
            Ok(_) => {}
        }
    }
    if let Some(event) = &plan.event {
        publish(ctx, service, event).await;
    }
    Ok(())
}

/// Emits an Event on the Service; failures are logged, not retried (the
/// Service's state is already right).
async fn publish(ctx: &Context, service: &CachedService, event: &PlannedEvent) {
    let kind = event.kind;
    let emitted = emit(
        ctx,
        &service.object_ref(&()),
        kind.is_warning(),
        kind.reason(),
        &event.note,
        "AllocateIP",
    )
    .await;
    if emitted {
        tracing::info!(
            service = %format!("{}/{}", service.namespace().unwrap_or_default(), service.name_any()),
            reason = kind.reason(),
            note = %event.note,
            "emitted Event"
        );
    }
}

/// Emits a Warning `InvalidPool` Event on a pool the validator refuses
/// (`kubectl describe ipaddresspool` shows why it is not used).
pub(super) async fn warn_invalid_pool(ctx: &Context, pool: &IPAddressPool, problems: &str) {
    if emit(
        ctx,
        &pool.object_ref(&()),
        true,
        "InvalidPool",
        problems,
        "ValidatePool",
    )
    .await
    {
        tracing::warn!(pool = %pool.name_any(), %problems, "IPAddressPool is invalid");
    }
}

/// Publishes one Event; false (and a log line) if that failed.
async fn emit(
    ctx: &Context,
    object: &k8s_openapi::api::core::v1::ObjectReference,
    warning: bool,
    reason: &str,
    note: &str,
    action: &str,
) -> bool {
    // A recorder per Event: the recorder's de-duplication ignores the
    // message, and each of these Events says something new.
    let recorder = Recorder::new(
        ctx.client.clone(),
        Reporter {
            controller: CONTROLLER_NAME.to_owned(),
            instance: Some(ctx.config.identity.clone()),
        },
    );
    let published = recorder
        .publish(
            &Event {
                type_: if warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: reason.to_owned(),
                note: Some(note.to_owned()),
                action: action.to_owned(),
                secondary: None,
            },
            object,
        )
        .await;
    match published {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, reason, "could not emit Event");
            false
        }
    }
}

/// Writes each pool's usage to its status where it changed, and to the
/// pool metrics.
pub(super) async fn update_pool_statuses(ctx: &Context) {
    let objects = ctx.pools.state();
    let usages: Vec<_> = {
        let allocator = ctx.allocator();
        objects
            .iter()
            .filter_map(|o| Some((o.clone(), allocator.usage(&o.name_any())?)))
            .collect()
    };
    let named: Vec<_> = usages.iter().map(|(o, u)| (o.name_any(), *u)).collect();
    ctx.metrics.set_pools(&named);
    let api: Api<IPAddressPool> = Api::namespaced(ctx.client.clone(), &ctx.config.namespace);
    for (object, usage) in usages {
        let status = pool_status(&usage);
        if object.status.as_ref() == Some(&status) {
            continue;
        }
        let body = json!({ "status": status });
        if let Err(e) = api
            .patch_status(&object.name_any(), &params(ctx), &Patch::Merge(&body))
            .await
        {
            if !is_not_found(&e) {
                tracing::warn!(pool = %object.name_any(), error = %e, "could not update IPAddressPool status");
            }
        }
    }
}
