//! The demo's error type.

use std::path::PathBuf;

/// Why a step of the demo could not go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Ctrl-C or SIGTERM arrived; everything is being removed.
    #[error("interrupted")]
    Interrupted,
    /// A program the demo runs was not found.
    #[error("{program} not found at {path}: build it with `{build}`")]
    MissingProgram {
        /// The program's name.
        program: String,
        /// Where it was looked for.
        path: PathBuf,
        /// The command that builds it.
        build: String,
    },
    /// Namespaces, links, processes or a routing daemon.
    #[error(transparent)]
    Testbed(#[from] ferrolb_testbed::Error),
    /// A Kubernetes API call.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A file or socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// YAML or JSON that does not say what the demo expects.
    #[error("{0}")]
    Format(String),
    /// Something did not happen in time, or happened wrong.
    #[error("{0}")]
    Check(String),
}

impl Error {
    /// An [`Error::Io`] saying what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// The demo's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
