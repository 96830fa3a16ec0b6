//! The validating admission webhook, called by the API server over HTTPS
//! through the ValidatingWebhookConfiguration the controller registers.

mod common;

use std::time::Duration;

use common::{Cluster, NAMESPACE, PATIENCE};
use ferrolb_api::IPAddressPool;
use ferrolb_controller::webhook::{self, certs, Endpoint, WebhookSettings};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, PostParams};
use kube::Api;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const CONFIGURATION: &str = "ferrolb-validating-webhook";
const SECRET: &str = "ferrolb-webhook-cert";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A webhook served by the controller's code, as one replica runs it.
struct WebhookReplica {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), webhook::WebhookError>>,
}

impl WebhookReplica {
    fn start(cluster: &Cluster, port: u16) -> WebhookReplica {
        let settings = WebhookSettings {
            listen: ([127, 0, 0, 1], port).into(),
            namespace: NAMESPACE.to_owned(),
            endpoint: Endpoint::Url(format!("https://127.0.0.1:{port}/validate")),
            dns_names: vec!["127.0.0.1".to_owned()],
            secret: SECRET.to_owned(),
            configuration: CONFIGURATION.to_owned(),
            field_manager: "ferrolb-controller".to_owned(),
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(webhook::run(cluster.client(), settings, async move {
            let _ = stopped.await;
        }));
        WebhookReplica {
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// Polls `check` until it yields a value.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pool(name: &str, addresses: &[&str]) -> IPAddressPool {
    serde_json::from_value(json!({
        "apiVersion": "ferrolb.io/v1alpha1", "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"addresses": addresses},
    }))
    .unwrap()
}

async fn create_pool(cluster: &Cluster, name: &str, addresses: &[&str]) -> Result<(), kube::Error> {
    let api: Api<IPAddressPool> = Api::namespaced(cluster.client(), NAMESPACE);
    api.create(&PostParams::default(), &pool(name, addresses))
        .await
        .map(drop)
}

async fn registered(cluster: &Cluster) -> ValidatingWebhookConfiguration {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(cluster.client());
    wait_for("the webhook configuration is registered", || async {
        api.get_opt(CONFIGURATION).await.unwrap()
    })
    .await
}

fn denial(result: Result<(), kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(e)) => *e,
        other => panic!("expected the API server to refuse, got {other:?}"),
    }
}

#[tokio::test]
async fn webhook_refuses_overlapping_and_invalid_pools_naming_the_problem() {
    let cluster = Cluster::start().await;
    let replica = WebhookReplica::start(&cluster, free_port());
    let configuration = registered(&cluster).await;

    // The caBundle is the CA stored in the Secret.
    let secrets: Api<Secret> = Api::namespaced(cluster.client(), NAMESPACE);
    let secret = secrets.get(SECRET).await.unwrap();
    let ca = &secret.data.as_ref().unwrap()[certs::CA_KEY];
    let hook = &configuration.webhooks.as_ref().unwrap()[0];
    assert_eq!(hook.client_config.ca_bundle.as_ref(), Some(ca));
    assert_eq!(hook.failure_policy.as_deref(), Some("Fail"));

    create_pool(&cluster, "a", &["192.0.2.0/28"]).await.unwrap();
    let refused = denial(create_pool(&cluster, "b", &["192.0.2.8/29"]).await);
    assert_eq!(refused.code, 403);
    for fragment in [
        "admission webhook \"validate.ferrolb.io\" denied the request",
        "IPAddressPool \"b\"",
        "spec.addresses[0]",
        "overlaps",
        "IPAddressPool \"a\"",
    ] {
        assert!(
            refused.message.contains(fragment),
            "{:?} lacks {fragment:?}",
            refused.message
        );
    }
    let refused = denial(create_pool(&cluster, "c", &["198.51.100.7/24"]).await);
    assert!(refused.message.contains("host bits"), "{}", refused.message);

    // What was refused was not stored; a good pool still goes in.
    let pools: Api<IPAddressPool> = Api::namespaced(cluster.client(), NAMESPACE);
    assert!(pools.get_opt("b").await.unwrap().is_none());
    create_pool(&cluster, "d", &["192.0.2.16/28"])
        .await
        .unwrap();
    replica.stop().await;
}

#[tokio::test]
async fn a_restarted_replica_keeps_the_certificate_and_a_stopped_one_fails_closed() {
    let cluster = Cluster::start().await;
    let port = free_port();
    let first = WebhookReplica::start(&cluster, port);
    let before = registered(&cluster).await;
    first.stop().await;

    // failurePolicy Fail: with no webhook answering, FerroLB objects are
    // refused with the API server's "failed calling webhook"...
    let refused = denial(create_pool(&cluster, "a", &["192.0.2.0/28"]).await);
    assert!(
        refused.message.contains("failed calling webhook"),
        "{}",
        refused.message
    );
    // ...but nothing outside FerroLB's resources is affected.
    cluster
        .service("default/web", json!({"spec": {"ports": [{"port": 80}]}}))
        .await;

    let second = WebhookReplica::start(&cluster, port);
    let pools: Api<IPAddressPool> = Api::namespaced(cluster.client(), NAMESPACE);
    wait_for("the restarted webhook admits pools", || async {
        pools
            .create(&PostParams::default(), &pool("a", &["192.0.2.0/28"]))
            .await
            .ok()
    })
    .await;
    let after = registered(&cluster).await;
    let bundle = |c: &ValidatingWebhookConfiguration| {
        c.webhooks.as_ref().unwrap()[0]
            .client_config
            .ca_bundle
            .clone()
    };
    assert_eq!(
        bundle(&before),
        bundle(&after),
        "the CA must survive a restart"
    );
    second.stop().await;
}

#[tokio::test]
async fn deleting_the_crds_on_uninstall_removes_the_webhook() {
    let cluster = Cluster::start().await;
    let replica = WebhookReplica::start(&cluster, free_port());
    let configuration = registered(&cluster).await;
    let owners = configuration.metadata.owner_references.unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].name, "ipaddresspools.ferrolb.io");
    replica.stop().await;

    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client());
    crds.delete("ipaddresspools.ferrolb.io", &DeleteParams::default())
        .await
        .unwrap();
    let api: Api<ValidatingWebhookConfiguration> = Api::all(cluster.client());
    wait_for("the webhook configuration is garbage-collected", || async {
        api.get_opt(CONFIGURATION)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}
