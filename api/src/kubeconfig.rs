//! Finding the Kubernetes API the way every FerroLB program does: an
//! explicit kubeconfig file, else `$KUBECONFIG`, `~/.kube/config`, then the
//! in-cluster service account.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Why no client configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The named kubeconfig file could not be read or parsed.
    #[error("reading kubeconfig {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig file was read but cannot be used.
    #[error("using kubeconfig {path}: {source}")]
    Use {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: kube::config::KubeconfigError,
    },
    /// Neither the environment, the home directory nor the service account
    /// gave a configuration.
    #[error("finding a Kubernetes configuration: {0}")]
    Infer(#[from] kube::config::InferConfigError),
}

/// The client configuration from `path`, or inferred when there is none.
pub async fn client_config(path: Option<&Path>) -> Result<kube::Config, KubeconfigError> {
    match path {
        Some(path) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|source| KubeconfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|source| KubeconfigError::Use {
                    path: path.to_owned(),
                    source,
                })
        }
        None => Ok(kube::Config::infer().await?),
    }
}
