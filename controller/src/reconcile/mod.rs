//! The Kubernetes side of allocation: watches Services, Namespaces and
//! IPAddressPools, feeds them to the [allocator](crate::allocator) and
//! writes the outcome back — `status.loadBalancer.ingress`, the
//! `ferrolb.io/ip-allocated-from-pool` annotation, Events and pool statuses.
//!
//! The decisions live in [`mod@decide`], [`service`] and [`pools`] as pure
//! functions; this module only moves data between them and the API server.
//!
//! Start-up order matters: before any Service is reconciled, the allocation
//! state is rebuilt from every Service's status (see [`decide::rebuild`]),
//! so a Service never gets an address another one already shows, and no
//! address changes across a restart or a change of leader.

pub mod cached;
pub mod decide;
pub mod pools;
pub mod service;
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ferrolb_api::{IPAddressPool, ServiceReference};
use futures::channel::mpsc;
use futures::{stream, SinkExt, Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, ResourceExt};
use tokio::sync::{watch, Notify};

use crate::allocator::Allocator;
use crate::config::ControllerConfig;
use crate::metrics::Metrics;
use cached::CachedService;
use decide::{decide, plan, Decision, EventKind, PlannedEvent};
use service::{ingress_ips, service_ref};

/// Why one reconcile did not finish; the Service is retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The Service's namespace is not in the cache yet; its labels may
    /// select pools, so deciding without them could pick the wrong one.
    #[error("namespace {0:?} is not known yet")]
    NamespaceUnknown(String),
    /// Writing the Service failed.
    #[error("updating Service {service}: {source}")]
    Write {
        /// `namespace/name`.
        service: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Why [`run`] returned: its watches never end on their own.
#[derive(Debug, thiserror::Error)]
#[error("the {0} stopped unexpectedly")]
pub struct Stopped(&'static str);

/// State shared by every reconcile.
struct Context {
    client: Client,
    config: ControllerConfig,
    metrics: Metrics,
    allocator: Mutex<Allocator>,
    services: Store<CachedService>,
    namespaces: Store<Namespace>,
    pools: Store<IPAddressPool>,
    /// Set once the allocation state has been rebuilt from the statuses.
    rebuilt: watch::Sender<bool>,
    /// The last Event emitted per Service, so none is emitted twice in a
    /// row; those that are `AllocationFailed` also list the Services to
    /// retry when addresses free up.
    events: Mutex<BTreeMap<ServiceReference, PlannedEvent>>,
    /// Fired when addresses were freed: retry the failed Services.
    retry_failed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent before anything
    // that could panic; keep going after a poisoning panic elsewhere.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn service_object_ref(key: &ServiceReference) -> ObjectRef<CachedService> {
    ObjectRef::new(&key.name).within(&key.namespace)
}

impl Context {
    fn allocator(&self) -> MutexGuard<'_, Allocator> {
        lock(&self.allocator)
    }

    async fn wait_rebuilt(&self) {
        let mut rebuilt = self.rebuilt.subscribe();
        // The sender lives in `self`: the channel cannot close.
        let _ = rebuilt.wait_for(|done| *done).await;
    }

    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.namespaces
            .get(&ObjectRef::new(namespace))
            .map(|ns| ns.labels().clone())
    }

    /// Rebuilds the allocation state from the caches; see [`decide::rebuild`].
    fn rebuild(&self) {
        let started = Instant::now();
        let (pools, invalid) = pools::parse_pools(&self.pools.state());
        for pool in invalid {
            tracing::warn!(pool = %pool.name, reason = %pool.reason, "ignoring unusable IPAddressPool");
        }
        let services = self.services.state();
        let class = self.config.load_balancer_class.as_deref();
        let (restored, conflicts, assigned) = {
            let mut allocator = self.allocator();
            let (restored, conflicts) = decide::rebuild(
                &mut allocator,
                pools,
                &services,
                |ns| self.namespace_labels(ns).unwrap_or_default(),
                class,
            );
            let assigned = decide::assign_waiting(
                &mut allocator,
                &services,
                |ns| self.namespace_labels(ns),
                class,
            );
            (restored, conflicts, assigned)
        };
        for c in conflicts {
            tracing::warn!(
                service = %format!("{}/{}", c.service.namespace, c.service.name),
                ips = ?c.ips, error = %c.error,
                "recorded addresses not restored; the Service will be given new ones"
            );
        }
        tracing::info!(
            restored,
            assigned,
            services = services.len(),
            took = ?started.elapsed(),
            "rebuilt the allocation state from Service statuses"
        );
        self.rebuilt.send_replace(true);
    }

    /// Hands changed pools to the allocator; true if they changed.
    fn refresh_pools(&self) -> bool {
        let (pools, invalid) = pools::parse_pools(&self.pools.state());
        for pool in invalid {
            tracing::warn!(pool = %pool.name, reason = %pool.reason, "ignoring unusable IPAddressPool");
        }
        let mut allocator = self.allocator();
        if allocator.pools().eq(pools.iter()) {
            return false;
        }
        for lost in allocator.set_pools(pools) {
            tracing::info!(
                service = %format!("{}/{}", lost.service.namespace, lost.service.name),
                ips = ?lost.ips,
                "addresses left every IPAddressPool"
            );
        }
        if *self.rebuilt.borrow() {
            self.assign_waiting(&mut allocator, self.services.state());
        }
        true
    }

    /// Serves waiting Services in a fixed order; their reconciles then
    /// write what was decided.
    fn assign_waiting(&self, allocator: &mut Allocator, services: Vec<Arc<CachedService>>) {
        decide::assign_waiting(
            allocator,
            &services,
            |ns| self.namespace_labels(ns),
            self.config.load_balancer_class.as_deref(),
        );
    }

    /// Reacts to Service watch events the reconciler cannot see: deletions
    /// (the object is gone from the cache) and re-lists (deletions missed
    /// while the watch was down).
    fn on_service_event(&self, event: &Event<CachedService>) {
        match event {
            Event::Delete(service) => self.forget(&service_ref(service)),
            Event::InitDone if *self.rebuilt.borrow() => {
                let gone: Vec<ServiceReference> = {
                    let allocator = self.allocator();
                    let held = allocator.allocations().map(|(k, _)| k);
                    let kept = allocator.releasing().map(|(_, k)| k);
                    held.chain(kept)
                        .filter(|k| self.services.get(&service_object_ref(k)).is_none())
                        .cloned()
                        .collect()
                };
                for key in gone {
                    self.forget(&key);
                }
            }
            _ => {}
        }
    }

    fn forget(&self, key: &ServiceReference) {
        lock(&self.events).remove(key);
        let mut allocator = self.allocator();
        if let Some(allocation) = allocator.forget(key) {
            let failed: BTreeSet<ServiceReference> = self.failed().into_iter().collect();
            let failed = self
                .services
                .state_filter(|s| failed.contains(&service_ref(s)));
            self.assign_waiting(&mut allocator, failed);
            drop(allocator);
            tracing::info!(
                service = %format!("{}/{}", key.namespace, key.name),
                ips = ?allocation.ips,
                "Service deleted; released its addresses"
            );
            self.metrics.released();
            self.retry_failed.notify_one();
        }
    }

    /// The Services whose last Event is `AllocationFailed`.
    fn failed(&self) -> Vec<ServiceReference> {
        lock(&self.events)
            .iter()
            .filter(|(_, e)| e.kind == EventKind::AllocationFailed)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn failed_services(&self) -> Vec<ObjectRef<CachedService>> {
        self.failed().iter().map(service_object_ref).collect()
    }
}

/// One reconcile of one Service.
async fn reconcile(
    service: Arc<CachedService>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    ctx.wait_rebuilt().await;
    let started = Instant::now();
    let key = service_ref(&service);
    let Some(namespace_labels) = ctx.namespace_labels(&key.namespace) else {
        return Err(ReconcileError::NamespaceUnknown(key.namespace));
    };
    let (current, decision) = {
        let mut allocator = ctx.allocator();
        // Deletions release under this lock after leaving the cache, so a
        // Service gone from the cache must not be given anything.
        let Some(current) = ctx.services.get(&ObjectRef::from_obj(&*service)) else {
            return Ok(Action::await_change());
        };
        let before = allocator
            .allocation(&key)
            .map(|a| a.ips.clone())
            .unwrap_or_default();
        let decision = decide(
            &mut allocator,
            &current,
            namespace_labels,
            ctx.config.load_balancer_class.as_deref(),
        );
        // Addresses it gave up but still lists stay out of circulation
        // until its status says otherwise.
        let still_listed: Vec<IpAddr> = ingress_ips(&current)
            .into_iter()
            .filter(|ip| before.contains(ip))
            .collect();
        allocator.retain_for_status(&key, &still_listed);
        (current, decision)
    };
    let last_event = lock(&ctx.events).get(&key).cloned();
    let plan = plan(&current, &decision, last_event.as_ref());
    writer::apply(&ctx, &current, &key, &plan).await?;
    let listed = plan
        .ingress
        .clone()
        .unwrap_or_else(|| ingress_ips(&current));
    let freed = !ctx.allocator().status_updated(&key, &listed).is_empty();

    {
        let mut events = lock(&ctx.events);
        match (&plan.event, &decision) {
            (Some(event), _) => {
                events.insert(key, event.clone());
            }
            (None, Decision::Failed(_)) => {}
            // No longer failing: not a Service to retry any more.
            (None, _) => {
                if events
                    .get(&key)
                    .is_some_and(|e| e.kind == EventKind::AllocationFailed)
                {
                    events.remove(&key);
                }
            }
        }
    }
    if let (Some(_), Decision::Failed(error)) = (&plan.event, &decision) {
        ctx.metrics.failed(error.reason());
    }
    match plan.event.as_ref().map(|e| e.kind) {
        Some(EventKind::IpAllocated) => ctx.metrics.allocated(),
        Some(EventKind::IpReleased) => ctx.metrics.released(),
        _ => {}
    }
    if freed || matches!(decision, Decision::Released(Some(_))) {
        ctx.retry_failed.notify_one();
    }
    ctx.metrics.observe_reconcile(started.elapsed());
    Ok(Action::await_change())
}

fn error_policy(service: Arc<CachedService>, error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    tracing::debug!(service = %service.name_any(), %error, "reconcile failed; retrying");
    match error {
        ReconcileError::NamespaceUnknown(_) => Action::requeue(Duration::from_millis(200)),
        ReconcileError::Write { .. } => Action::requeue(Duration::from_secs(1)),
    }
}

/// Keeps the pools in the allocator up to date; asks for every Service to
/// be reconciled when they change.
async fn drive_pools(
    ctx: Arc<Context>,
    events: impl Stream<Item = Result<Event<IPAddressPool>, watcher::Error>>,
    mut reconcile_all: mpsc::Sender<()>,
) {
    let mut events = std::pin::pin!(events);
    // The problems last reported per pool, so each is reported once.
    let mut reported: BTreeMap<String, String> = BTreeMap::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(_) | Event::Delete(_) | Event::InitDone) => {
                if ctx.refresh_pools() && *ctx.rebuilt.borrow() {
                    // A full channel already asks for a pass.
                    let _ = reconcile_all.try_send(());
                }
                report_pool_problems(&ctx, &mut reported).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching IPAddressPools"),
        }
    }
}

/// Emits an `InvalidPool` Event for each pool whose problems changed.
async fn report_pool_problems(ctx: &Context, reported: &mut BTreeMap<String, String>) {
    let objects = ctx.pools.state();
    let problems = pools::pool_problems(&objects);
    reported.retain(|name, _| problems.contains_key(name));
    for (name, text) in problems {
        if reported.get(&name) == Some(&text) {
            continue;
        }
        if let Some(pool) = objects.iter().find(|p| p.name_any() == name) {
            writer::warn_invalid_pool(ctx, pool, &text).await;
        }
        reported.insert(name, text);
    }
}

/// Asks for the Services of a namespace to be reconciled when its labels
/// change (they may select pools).
async fn drive_namespaces(
    ctx: Arc<Context>,
    events: impl Stream<Item = Result<Event<Namespace>, watcher::Error>>,
    mut reconcile: mpsc::Sender<ObjectRef<CachedService>>,
) {
    let mut events = std::pin::pin!(events);
    let mut seen: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    while let Some(event) = events.next().await {
        let namespace = match event {
            Ok(Event::Apply(ns) | Event::InitApply(ns)) => ns,
            Ok(Event::Delete(ns)) => {
                seen.remove(&ns.name_any());
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "watching Namespaces");
                continue;
            }
        };
        let name = namespace.name_any();
        let labels = namespace.labels().clone();
        let changed = seen.get(&name).is_some_and(|old| *old != labels);
        seen.insert(name.clone(), labels);
        if !changed {
            continue;
        }
        let services = ctx
            .services
            .state_filter(|s| s.namespace().as_deref() == Some(name.as_str()));
        for service in services {
            if reconcile
                .send(ObjectRef::from_obj(&*service))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Keeps pool statuses and pool metrics up to date.
async fn drive_pool_status(ctx: Arc<Context>) {
    ctx.wait_rebuilt().await;
    let mut ticks = tokio::time::interval(ctx.config.pool_status_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        writer::update_pool_statuses(&ctx).await;
    }
}

/// Runs the controller's reconcilers until an error stops them: a leader's
/// term. Returns only if a watch ends, which it does not on its own; drop
/// the future to stop.
pub async fn run(client: Client, config: ControllerConfig, metrics: Metrics) -> Stopped {
    let (pool_store, pool_writer) = reflector::store::<IPAddressPool>();
    let (namespace_store, namespace_writer) = reflector::store::<Namespace>();
    let (service_store, service_writer) = reflector::store::<CachedService>();
    let pools_api: Api<IPAddressPool> = Api::namespaced(client.clone(), &config.namespace);
    let pool_events = watcher(pools_api, watcher::Config::default())
        .default_backoff()
        .reflect(pool_writer);
    let namespace_events = watcher(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(namespace_writer);

    let ctx = Arc::new(Context {
        client: client.clone(),
        config,
        metrics,
        allocator: Mutex::new(Allocator::new()),
        services: service_store.clone(),
        namespaces: namespace_store.clone(),
        pools: pool_store.clone(),
        rebuilt: watch::Sender::new(false),
        events: Mutex::new(BTreeMap::new()),
        retry_failed: Notify::new(),
    });

    let watching = ctx.clone();
    let concurrency = ctx.config.max_concurrent_reconciles;
    let service_events = watcher(
        Api::<CachedService>::all(client),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(service_writer)
    .inspect_ok(move |event| watching.on_service_event(event))
    .applied_objects();

    let (reconcile_all_tx, reconcile_all_rx) = mpsc::channel::<()>(1);
    let (namespace_tx, namespace_rx) = mpsc::channel::<ObjectRef<CachedService>>(256);
    let retry = stream::unfold(ctx.clone(), |ctx| async move {
        ctx.retry_failed.notified().await;
        let failed = ctx.failed_services();
        Some((stream::iter(failed), ctx))
    })
    .flatten();

    let rebuild = {
        let ctx = ctx.clone();
        async move {
            // Waits for the first complete list of each; the writers live
            // as long as the watches.
            let _ = service_store.wait_until_ready().await;
            let _ = pool_store.wait_until_ready().await;
            let _ = namespace_store.wait_until_ready().await;
            ctx.rebuild();
            std::future::pending::<()>().await;
        }
    };

    let controller = Controller::for_stream(service_events, ctx.services.clone())
        .with_config(controller::Config::default().concurrency(concurrency))
        .reconcile_all_on(reconcile_all_rx)
        .reconcile_on(stream::select(namespace_rx, retry))
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| {
            match result {
                Ok(_) => {}
                Err(controller::Error::ObjectNotFound(obj)) => {
                    tracing::debug!(service = %obj, "Service gone before its reconcile")
                }
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
            std::future::ready(())
        });

    tokio::select! {
        () = drive_pools(ctx.clone(), pool_events, reconcile_all_tx) => Stopped("IPAddressPool watch"),
        () = drive_namespaces(ctx.clone(), namespace_events, namespace_tx) => Stopped("Namespace watch"),
        () = controller => Stopped("Service controller"),
        () = rebuild => Stopped("rebuild"),
        () = drive_pool_status(ctx.clone()) => Stopped("pool status updater"),
    }
}
