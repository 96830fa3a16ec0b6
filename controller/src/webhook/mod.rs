//! The validating admission webhook: runs the shared validator on
//! IPAddressPools, BGPPeers, BGPAdvertisements, L2Advertisements and
//! BFDProfiles before the API server stores them.
//!
//! Every replica serves it (leader or not); the order of start-up is what
//! keeps installs free of "failed calling webhook" errors:
//! 1. [`certs`]: take the shared certificate from its Secret, or make one;
//! 2. [`tls`]: listen with it;
//! 3. [`registration`]: only then apply the `ValidatingWebhookConfiguration`
//!    with the CA as its caBundle.
//!
//! [`review`] holds the decision itself, without I/O.

pub mod certs;
pub mod registration;
pub mod review;
pub mod tls;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ferrolb_api::{
    BFDProfile, BGPAdvertisement, BGPPeer, ClusterObjects, IPAddressPool, L2Advertisement,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::ByteString;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use kube::core::DynamicObject;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

pub use certs::CertBundle;
pub use registration::Endpoint;

/// Where and how the webhook is served and registered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Address the HTTPS server listens on.
    pub listen: SocketAddr,
    /// FerroLB's namespace: where the Secret lives and the only namespace
    /// whose objects are validated.
    pub namespace: String,
    /// Where the API server reaches the webhook.
    pub endpoint: Endpoint,
    /// DNS names (or IP addresses) the certificate must cover.
    pub dns_names: Vec<String>,
    /// Name of the Secret holding the certificates.
    pub secret: String,
    /// Name of the `ValidatingWebhookConfiguration`.
    pub configuration: String,
    /// Field manager of the configuration's server-side apply.
    pub field_manager: String,
}

/// Why the webhook could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Reading or writing the certificate Secret failed.
    #[error("webhook certificate Secret {secret}: {source}")]
    Secret {
        /// The Secret's name.
        secret: String,
        /// The API error.
        source: kube::Error,
    },
    /// Making the certificate failed.
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The listening socket could not be bound.
    #[error("webhook cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Serves the webhook until `shutdown` completes, registering it once it
/// listens. Registration is retried until it succeeds.
pub async fn run(
    client: Client,
    settings: WebhookSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebhookError> {
    let bundle = ensure_certificate(&client, &settings).await?;
    let tcp = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| WebhookError::Bind {
            addr: settings.listen,
            source,
        })?;
    let local = tcp.local_addr().map_err(|source| WebhookError::Bind {
        addr: settings.listen,
        source,
    })?;
    let listener = tls::TlsListener::new(tcp, tls::server_config(&bundle)?);
    let state = Arc::new(ReviewState {
        client: client.clone(),
        namespace: settings.namespace.clone(),
    });
    let app = Router::new()
        .route(registration::WEBHOOK_PATH, post(handle_review))
        .with_state(state);
    tracing::info!(addr = %local, "admission webhook listening");
    let serve = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .into_future();
    let register = register_until_done(&client, &settings, &bundle);
    tokio::pin!(serve);
    tokio::select! {
        served = &mut serve => {
            log_end(served);
            return Ok(());
        }
        () = register => {}
    }
    log_end(serve.await);
    Ok(())
}

fn log_end(served: std::io::Result<()>) {
    if let Err(e) = served {
        tracing::warn!(error = %e, "admission webhook stopped with an error");
    }
}

/// Takes the certificate from the Secret if it is still good, otherwise
/// makes a new one and stores it. Replicas racing to create or replace it
/// settle on whichever write won (a 409 makes the loser read it back).
async fn ensure_certificate(
    client: &Client,
    settings: &WebhookSettings,
) -> Result<CertBundle, WebhookError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &settings.namespace);
    let err = |source| WebhookError::Secret {
        secret: settings.secret.clone(),
        source,
    };
    loop {
        let existing = secrets.get_opt(&settings.secret).await.map_err(err)?;
        if let Some(bundle) = existing.as_ref().and_then(bundle_of) {
            if bundle.usable(&settings.dns_names, SystemTime::now()) {
                return Ok(bundle);
            }
            tracing::info!(secret = %settings.secret, "webhook certificate expiring or for other names; replacing it");
        }
        let bundle = certs::generate(&settings.dns_names, SystemTime::now())?;
        let mut secret = Secret {
            metadata: ObjectMeta {
                name: Some(settings.secret.clone()),
                namespace: Some(settings.namespace.clone()),
                annotations: Some(bundle.to_annotations()),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".to_owned()),
            data: Some(
                bundle
                    .to_secret_data()
                    .into_iter()
                    .map(|(k, v)| (k, ByteString(v)))
                    .collect(),
            ),
            ..Secret::default()
        };
        let written = match existing {
            None => secrets.create(&PostParams::default(), &secret).await,
            Some(old) => {
                secret.metadata.resource_version = old.metadata.resource_version;
                secrets
                    .replace(&settings.secret, &PostParams::default(), &secret)
                    .await
            }
        };
        match written {
            Ok(_) => {
                tracing::info!(secret = %settings.secret, "stored a new webhook certificate");
                return Ok(bundle);
            }
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(err(e)),
        }
    }
}

fn bundle_of(secret: &Secret) -> Option<CertBundle> {
    let data = secret
        .data
        .as_ref()?
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    CertBundle::from_secret(&data, secret.metadata.annotations.as_ref()?)
}

/// Applies the webhook configuration, retrying with backoff (the CRD may
/// not exist yet on a fresh install, RBAC may lag).
async fn register_until_done(client: &Client, settings: &WebhookSettings, bundle: &CertBundle) {
    let mut delay = Duration::from_millis(200);
    loop {
        match register(client, settings, bundle).await {
            Ok(()) => {
                tracing::info!(configuration = %settings.configuration, "admission webhook registered");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "registering the admission webhook failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn register(
    client: &Client,
    settings: &WebhookSettings,
    bundle: &CertBundle,
) -> Result<(), kube::Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let owner = crds
        .get_opt(registration::OWNER_CRD)
        .await?
        .and_then(|crd| {
            Some(OwnerReference {
                api_version: CustomResourceDefinition::api_version(&()).into_owned(),
                kind: CustomResourceDefinition::kind(&()).into_owned(),
                name: registration::OWNER_CRD.to_owned(),
                uid: crd.metadata.uid?,
                ..OwnerReference::default()
            })
        });
    let mut configuration = registration::configuration(
        &settings.configuration,
        &settings.namespace,
        &settings.endpoint,
        &bundle.ca_pem,
        owner,
    );
    // Server-side apply needs the type in the body.
    let value = {
        configuration.metadata.managed_fields = None;
        let mut v = serde_json::to_value(&configuration).map_err(kube::Error::SerdeError)?;
        v["apiVersion"] = "admissionregistration.k8s.io/v1".into();
        v["kind"] = "ValidatingWebhookConfiguration".into();
        v
    };
    let api: Api<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration> =
        Api::all(client.clone());
    api.patch(
        &settings.configuration,
        &PatchParams::apply(&settings.field_manager).force(),
        &Patch::Apply(&value),
    )
    .await?;
    Ok(())
}

struct ReviewState {
    client: Client,
    namespace: String,
}

async fn handle_review(
    State(state): State<Arc<ReviewState>>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(e) => return Json(AdmissionResponse::invalid(e.to_string()).into_review()),
    };
    let response = AdmissionResponse::from(&request);
    let verdict = decide(&state, &request).await;
    let response = match verdict {
        Ok(()) => response,
        Err(message) => {
            tracing::info!(kind = %request.kind.kind, name = %request.name, %message, "admission denied");
            response.deny(message)
        }
    };
    Json(response.into_review())
}

async fn decide(
    state: &ReviewState,
    request: &AdmissionRequest<DynamicObject>,
) -> Result<(), String> {
    let Some(kind) = review::object_kind(&request.kind.kind) else {
        return Ok(());
    };
    let Some(object) = &request.object else {
        return Ok(());
    };
    let namespace = request.namespace.as_deref().unwrap_or(&state.namespace);
    let object = serde_json::to_value(object).map_err(|e| e.to_string())?;
    let existing = existing_objects(&state.client, namespace)
        .await
        .map_err(|e| format!("cannot check against the existing FerroLB objects: {e}"))?;
    review::review(kind, &object, existing)
}

async fn existing_objects(client: &Client, namespace: &str) -> Result<ClusterObjects, kube::Error> {
    Ok(ClusterObjects {
        pools: list::<IPAddressPool>(client, namespace).await?,
        peers: list::<BGPPeer>(client, namespace).await?,
        bgp_advertisements: list::<BGPAdvertisement>(client, namespace).await?,
        l2_advertisements: list::<L2Advertisement>(client, namespace).await?,
        bfd_profiles: list::<BFDProfile>(client, namespace).await?,
    })
}

async fn list<K>(client: &Client, namespace: &str) -> Result<Vec<K>, kube::Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.list(&ListParams::default()).await?.items)
}
