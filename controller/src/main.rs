//! `ferrolb-controller`: allocates load-balancer IPs to Kubernetes Services.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use ferrolb_controller::config::DEFAULT_CONCURRENT_RECONCILES;
use ferrolb_controller::webhook::{self, certs::service_dns_names, Endpoint, WebhookSettings};
use ferrolb_controller::{ControllerConfig, LeaseSettings, Metrics, CONTROLLER_NAME};
use ferrolb_daemon::{AdminAddr, Daemon, DaemonArgs};

/// Admin server address unless `--admin-listen` says otherwise.
const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9610);

/// FerroLB controller: assigns load-balancer IPs to Kubernetes Services.
#[derive(Debug, Parser)]
#[command(name = "ferrolb-controller", version, about)]
struct Cli {
    #[command(flatten)]
    daemon: DaemonArgs,

    /// Kubeconfig file. Without it: $KUBECONFIG, ~/.kube/config, then the
    /// in-cluster service account.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,

    /// FerroLB's namespace, holding the IPAddressPools and the leader Lease.
    #[arg(long, env = "FERROLB_NAMESPACE", default_value = "ferrolb-system")]
    namespace: String,

    /// This replica's name in the leader Lease and in Events (default: the
    /// host name, which is the pod name in a cluster).
    #[arg(long, env = "FERROLB_IDENTITY")]
    identity: Option<String>,

    /// Field manager of every write; also the User-Agent's product name.
    #[arg(long, default_value = CONTROLLER_NAME)]
    field_manager: String,

    /// Handle only Services with this spec.loadBalancerClass. Without it,
    /// only Services that have no class are handled.
    #[arg(long, env = "FERROLB_LB_CLASS")]
    lb_class: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(long, default_value = CONTROLLER_NAME)]
    lease_name: String,

    /// How long a leader's Lease lasts without renewal.
    #[arg(long, default_value = "15s")]
    lease_duration: ferrolb_api::Duration,

    /// A leader that could not renew for this long stops (shorter than
    /// --lease-duration).
    #[arg(long, default_value = "10s")]
    renew_deadline: ferrolb_api::Duration,

    /// Time between attempts to acquire or renew the Lease.
    #[arg(long, default_value = "2s")]
    retry_period: ferrolb_api::Duration,

    /// How often pool statuses and metrics are brought up to date.
    #[arg(long, default_value = "1s")]
    pool_status_interval: ferrolb_api::Duration,

    /// Service reconciles running at once (each holds one API request).
    #[arg(long, default_value_t = DEFAULT_CONCURRENT_RECONCILES, value_parser = clap::value_parser!(u16).range(1..))]
    max_concurrent_reconciles: u16,

    #[command(flatten)]
    webhook: WebhookArgs,
}

/// The validating admission webhook.
#[derive(Debug, clap::Args)]
struct WebhookArgs {
    /// Do not serve or register the admission webhook.
    #[arg(long)]
    no_webhook: bool,

    /// Address the webhook's HTTPS server listens on.
    #[arg(long, default_value = "0.0.0.0:9443")]
    webhook_listen: SocketAddr,

    /// The Service in front of the webhook (in --namespace).
    #[arg(long, default_value = "ferrolb-webhook")]
    webhook_service: String,

    /// Port of that Service.
    #[arg(long, default_value_t = 443)]
    webhook_service_port: u16,

    /// Register this HTTPS URL instead of the Service (a controller running
    /// outside the cluster); its host goes into the certificate.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,

    /// Secret holding the webhook's CA and serving certificate.
    #[arg(long, default_value = "ferrolb-webhook-cert")]
    webhook_secret: String,

    /// Name of the ValidatingWebhookConfiguration.
    #[arg(long, default_value = "ferrolb-validating-webhook")]
    webhook_configuration: String,
}

impl WebhookArgs {
    fn settings(&self, namespace: &str, field_manager: &str) -> anyhow::Result<WebhookSettings> {
        let (endpoint, dns_names) = match &self.webhook_url {
            Some(url) => {
                let uri: http::Uri = url
                    .parse()
                    .with_context(|| format!("--webhook-url {url:?} is not a URL"))?;
                let host = uri
                    .host()
                    .with_context(|| format!("--webhook-url {url:?} has no host"))?
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                (Endpoint::Url(url.clone()), vec![host])
            }
            None => (
                Endpoint::Service {
                    namespace: namespace.to_owned(),
                    name: self.webhook_service.clone(),
                    port: i32::from(self.webhook_service_port),
                },
                service_dns_names(namespace, &self.webhook_service),
            ),
        };
        Ok(WebhookSettings {
            listen: self.webhook_listen,
            namespace: namespace.to_owned(),
            endpoint,
            dns_names,
            secret: self.webhook_secret.clone(),
            configuration: self.webhook_configuration.clone(),
            field_manager: field_manager.to_owned(),
        })
    }
}

/// The host name, else a name unique to this process.
fn default_identity() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("{CONTROLLER_NAME}-{}", std::process::id()))
}

async fn kube_client(cli: &Cli) -> anyhow::Result<kube::Client> {
    let mut config = ferrolb_api::kubeconfig::client_config(cli.kubeconfig.as_deref()).await?;
    // Writes without a field manager (Events) are attributed to the
    // User-Agent's product name.
    let agent = format!("{}/{}", cli.field_manager, env!("CARGO_PKG_VERSION"));
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&agent)
            .context("--field-manager is not a valid header value")?,
    ));
    kube::Client::try_from(config).context("creating the Kubernetes client")
}

/// glibc gives each thread that allocates under contention an arena of its
/// own, and memory freed in one arena cannot serve another: with thousands
/// of Services that fragmentation costs more than the cache itself. Two
/// arenas are plenty for a process that mostly waits on the API server.
fn limit_malloc_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator tunable; it runs before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let daemon = Daemon::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .default_admin_listen(AdminAddr::Tcp(DEFAULT_ADMIN_LISTEN))
        .start(&cli.daemon)
        .await?;
    let client = kube_client(&cli).await?;
    let config = ControllerConfig {
        namespace: cli.namespace.clone(),
        identity: cli.identity.clone().unwrap_or_else(default_identity),
        field_manager: cli.field_manager.clone(),
        load_balancer_class: cli.lb_class.clone(),
        lease: LeaseSettings {
            name: cli.lease_name.clone(),
            duration: cli.lease_duration.as_std(),
            renew_deadline: cli.renew_deadline.as_std(),
            retry_period: cli.retry_period.as_std(),
        },
        pool_status_interval: cli.pool_status_interval.as_std(),
        max_concurrent_reconciles: cli.max_concurrent_reconciles,
    };
    tracing::info!(
        identity = %config.identity,
        namespace = %config.namespace,
        class = ?config.load_balancer_class,
        "controller configured"
    );
    let webhook_settings = (!cli.webhook.no_webhook)
        .then(|| {
            cli.webhook
                .settings(&config.namespace, &config.field_manager)
        })
        .transpose()?;
    let metrics = Metrics::register(daemon.metrics());
    let shutdown = daemon.shutdown().clone();
    let controller = ferrolb_controller::run(
        client.clone(),
        config,
        metrics,
        daemon.readiness().clone(),
        async move { shutdown.wait().await },
    );
    let webhook_shutdown = daemon.shutdown().clone();
    let admission = async move {
        match webhook_settings {
            Some(settings) => {
                webhook::run(
                    client,
                    settings,
                    async move { webhook_shutdown.wait().await },
                )
                .await
            }
            None => Ok(()),
        }
    };
    // The webhook serves until shutdown; if it cannot start (say, its port
    // is taken), the replica exits at once rather than run without it.
    {
        tokio::pin!(controller, admission);
        tokio::select! {
            controlled = &mut controller => controlled?,
            admitted = &mut admission => {
                admitted?;
                controller.await?;
            }
        }
    }
    daemon.finish().await?;
    Ok(())
}
