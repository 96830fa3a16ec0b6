//! An in-process Kubernetes API server for FerroLB's tests and demo.
//!
//! It speaks the real Kubernetes HTTP API closely enough for kube-rs clients,
//! kube-runtime watchers/reflectors and programs started with a kubeconfig:
//! discovery, get/list/watch/create/update/patch/delete(collection) on built-in
//! resources and on custom resources registered by creating CRDs, resourceVersion
//! semantics (including consistent pagination and 410 Expired), bookmarks,
//! selectors, the status subresource, finalizers, namespace and CRD cascading
//! deletion, and pluggable validating admission.
//!
//! Tests reach the server through [`FakeApiServer::client`] (or a kubeconfig from
//! [`FakeApiServer::write_kubeconfig`] for spawned programs), and behind the API
//! through [`FakeApiServer::store`] (seed/inspect objects, [`Store::compact`],
//! the write log) and [`FakeApiServer::admission`] (validating hooks).
//!
//! Known simplifications, compared with a real API server:
//! - strategic-merge patches are applied as merge patches (lists are replaced, not
//!   merged by key); server-side apply deep-merges the applied configuration and
//!   neither tracks field ownership (`managedFields`) nor reports conflicts;
//! - custom resources are neither validated against, pruned by nor defaulted from
//!   the CRD's OpenAPI schema, and versions are not converted (only `apiVersion`
//!   changes, as with `conversion: None`);
//! - `core/v1` and `events.k8s.io/v1` Events are stored separately;
//! - deletion is immediate unless finalizers (or, for namespaces and CRDs, their
//!   contents) hold it; `gracePeriodSeconds` and `propagationPolicy` are ignored and
//!   dependents whose owners are all gone are deleted at once (background GC);
//! - no authentication, authorization, protobuf, Table output or API aggregation;
//!   ValidatingWebhookConfigurations are called only when they give a
//!   `clientConfig.url` (there is no cluster network to reach a Service); tests
//!   can also register in-process [`AdmissionHook`]s;
//! - Services get sequential ClusterIPs from 10.96.0.0/12 (IPv4 single-stack) and
//!   NodePorts from 30000-32767.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ferrolb_fake_apiserver::FakeApiServer;
//! use k8s_openapi::api::core::v1::Service;
//!
//! let server = FakeApiServer::start().await?;
//! let services: kube::Api<Service> = kube::Api::namespaced(server.client(), "default");
//! let list = services.list(&Default::default()).await?;
//! assert!(list.items.is_empty());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod admission;
mod cascade;
mod crd;
mod defaults;
mod discovery;
mod handlers;
mod history;
mod ids;
mod kubeconfig;
mod list;
mod object;
mod patch;
mod query;
mod registry;
mod representation;
mod resource_ref;
mod routes;
mod selector;
mod server;
mod status;
mod store;
mod store_access;
mod validation;
mod watch;
mod webhooks;
mod writes;

pub use admission::{
    validator, Admission, AdmissionHook, AdmissionRequest, AdmissionRule, Denial, GroupVersionKind,
    GroupVersionResource, Operation, Verdict,
};
pub use resource_ref::ResourceRef;
pub use server::{FakeApiServer, Options, StartError};
pub use status::{ApiError, FieldCause, GroupResource};
pub use store::Store;
pub use writes::{Verb, WriteRecord};
