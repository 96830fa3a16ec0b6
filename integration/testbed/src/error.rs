//! The testbed's error type.

use std::io;

/// Everything that can go wrong while building a topology or driving a daemon.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the testbed was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An external command (`ip`, `birdc`, `vtysh`, `gobgp`, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        /// The command line, for humans.
        command: String,
        /// Exit status as text.
        status: String,
        /// What the command printed (stderr, else stdout), trimmed.
        output: String,
    },
    /// A condition did not become true in time.
    #[error("timed out after {seconds:.1}s waiting for {what}; last observed: {last}")]
    Timeout {
        /// The awaited condition.
        what: String,
        /// How long the testbed waited.
        seconds: f64,
        /// The last thing seen (state, routes, error), to make failures diagnosable.
        last: String,
    },
    /// A daemon's output could not be understood.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// A daemon process is no longer running.
    #[error("{daemon} exited ({status}); log tail:\n{log_tail}")]
    Exited {
        /// Which process.
        daemon: String,
        /// Exit status as text.
        status: String,
        /// The end of its log.
        log_tail: String,
    },
    /// The configuration asks for something impossible or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Code started on a thread inside a namespace failed before it was running.
    #[error("namespace thread: {0}")]
    Thread(String),
    /// The daemon has no way to do what the configuration asks.
    #[error("{daemon} does not support {feature}")]
    Unsupported {
        /// Which daemon.
        daemon: &'static str,
        /// The missing feature.
        feature: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an [`io::Error`] with what the testbed was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A parse error.
    pub(crate) fn parse(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Parse {
            what,
            detail: detail.into(),
        }
    }
}
