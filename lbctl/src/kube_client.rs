//! Connecting to the Kubernetes API the way kubectl does: `--kubeconfig`,
//! else `$KUBECONFIG` or `~/.kube/config`, else the in-cluster account.

use std::path::PathBuf;

use anyhow::Context as _;
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
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).with_context(|| {
                    format!(
                        "cannot read kubeconfig {}: check --kubeconfig",
                        path.display()
                    )
                })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .with_context(|| format!("cannot use kubeconfig {}", path.display()))?
            }
            None if self.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .context("cannot use the kubeconfig context given by --context")?,
            None => kube::Config::infer().await.context(
                "no Kubernetes configuration found: pass --kubeconfig or set KUBECONFIG",
            )?,
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
