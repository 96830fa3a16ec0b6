//! Structured logging through `tracing`, in a human or a JSON format.
//!
//! Daemons log to stderr. The format comes from `--log-format` (or
//! `FERROLB_LOG_FORMAT`), the filter from `--log-level` (or `FERROLB_LOG`),
//! which accepts anything `tracing_subscriber::EnvFilter` does, e.g.
//! `info,ferrolb_bgp=debug`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Filter used when neither `--log-level` nor `FERROLB_LOG` is given.
pub const DEFAULT_FILTER: &str = "info";

/// Output format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging flags, flattened into every daemon's command line.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LogArgs {
    /// Log output format.
    #[arg(
        long = "log-format",
        env = "FERROLB_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Human
    )]
    pub format: LogFormat,

    /// Log filter: a level (`info`, `debug`, ...) or `EnvFilter` directives
    /// such as `info,ferrolb_bgp=debug`.
    #[arg(
        long = "log-level",
        env = "FERROLB_LOG",
        value_name = "FILTER",
        default_value = DEFAULT_FILTER
    )]
    pub filter: String,
}

impl Default for LogArgs {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: DEFAULT_FILTER.to_owned(),
        }
    }
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter string is not valid `EnvFilter` syntax.
    #[error("invalid log filter {filter:?}")]
    InvalidFilter {
        /// The rejected filter.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was installed before (e.g. `init` was called twice).
    #[error("a global log subscriber is already installed")]
    AlreadyInitialized,
}

/// Parses a log filter, rejecting invalid directives instead of silently
/// dropping them (which `EnvFilter::new` would do).
pub fn parse_filter(filter: &str) -> Result<EnvFilter, LoggingError> {
    EnvFilter::try_new(filter).map_err(|source| LoggingError::InvalidFilter {
        filter: filter.to_owned(),
        source,
    })
}

/// Installs the global `tracing` subscriber described by `args`.
///
/// Call once per process; a second call returns
/// [`LoggingError::AlreadyInitialized`] and leaves the first one in place.
pub fn init(args: &LogArgs) -> Result<(), LoggingError> {
    let filter = parse_filter(&args.filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match args.format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        // A flat object (`{"timestamp":..,"level":..,"message":..,"field":..}`)
        // is what log collectors index best.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    installed.map_err(|_| LoggingError::AlreadyInitialized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn filters() {
        let cases = [
            ("info", true),
            ("debug", true),
            ("warn,ferrolb_bgp=trace", true),
            ("ferrolb_router[session]=debug", true),
            ("off", true),
            ("ferrolb=notalevel", false),
            ("[[", false),
        ];
        for (filter, ok) in cases {
            assert_eq!(parse_filter(filter).is_ok(), ok, "filter {filter:?}");
        }
    }

    #[test]
    fn flags() {
        // Only flags, not env: the env vars are process-global and tests run
        // in parallel threads.
        let cases: [(&[&str], LogFormat, &str); 4] = [
            (&["x"], LogFormat::Human, "info"),
            (&["x", "--log-format", "json"], LogFormat::Json, "info"),
            (&["x", "--log-format=human"], LogFormat::Human, "info"),
            (
                &["x", "--log-level", "debug,hyper=warn"],
                LogFormat::Human,
                "debug,hyper=warn",
            ),
        ];
        for (argv, format, filter) in cases {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert_eq!(cli.log.format, format, "{argv:?}");
            assert_eq!(cli.log.filter, filter, "{argv:?}");
        }
        assert!(Cli::try_parse_from(["x", "--log-format", "xml"]).is_err());
    }
}
