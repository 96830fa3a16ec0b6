//! Connecting to the Kubernetes API the way kubectl does: `--kubeconfig`,
//! else `$KUBECONFIG` or `~/.kube/config`, else the in-cluster account.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use ferrolb_api::kubeconfig::KubeconfigError;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Connection flags shared by every subcommand that talks to the cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use instead of the current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// FerroLB's namespace, holding its pools, peers and status objects.
    #[arg(
        long,
        global = true,
        env = "FERROLB_NAMESPACE",
        default_value = "ferrolb-system",
        value_name = "NAMESPACE"
    )]
    pub ferrolb_namespace: String,

    /// The spec.loadBalancerClass FerroLB's controller handles (as its
    /// --lb-class); unset: Services without a class.
    #[arg(long, global = true, env = "FERROLB_LB_CLASS", value_name = "CLASS")]
    pub lb_class: Option<String>,
}

/// A client and the kubeconfig context's default namespace.
pub struct Kube {
    /// The client.
    pub client: kube::Client,
    /// The namespace used when none is given.
    pub default_namespace: String,
    /// FerroLB's namespace.
    pub ferrolb_namespace: String,
    /// The class FerroLB handles.
    pub lb_class: Option<String>,
}

impl KubeArgs {
    /// Connects (lazily: nothing is sent until the first request).
    pub async fn connect(&self) -> anyhow::Result<Kube> {
        let path = self.kubeconfig.as_deref();
        let config = match &self.context {
            // Found the way every FerroLB program finds it.
            None => ferrolb_api::kubeconfig::client_config(path)
                .await
                .map_err(|e| match e {
                    KubeconfigError::Read { path, source } => anyhow!(
                        "cannot read kubeconfig {}: check --kubeconfig ({source})",
                        path.display()
                    ),
                    KubeconfigError::Use { path, source } => {
                        anyhow!("cannot use kubeconfig {}: {source}", path.display())
                    }
                    KubeconfigError::Infer(e) => anyhow!(
                        "no Kubernetes configuration found: pass --kubeconfig or set KUBECONFIG ({e})"
                    ),
                })?,
            Some(context) => with_context(path, context).await?,
        };
        let default_namespace = config.default_namespace.clone();
        let client =
            kube::Client::try_from(config).context("cannot create the Kubernetes client")?;
        Ok(Kube {
            client,
            default_namespace,
            ferrolb_namespace: self.ferrolb_namespace.clone(),
            lb_class: self.lb_class.clone(),
        })
    }
}

/// The configuration of kubeconfig `context` (kubectl's `--context`), from
/// `path` or else where kubectl looks.
async fn with_context(path: Option<&Path>, context: &str) -> anyhow::Result<kube::Config> {
    let kubeconfig = match path {
        Some(path) => Kubeconfig::read_from(path).with_context(|| {
            format!(
                "cannot read kubeconfig {}: check --kubeconfig",
                path.display()
            )
        })?,
        None => Kubeconfig::read()
            .context("cannot read the kubeconfig: pass --kubeconfig or set KUBECONFIG")?,
    };
    let options = KubeConfigOptions {
        context: Some(context.to_owned()),
        ..KubeConfigOptions::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("cannot use kubeconfig context {context:?}: check --context"))
}
