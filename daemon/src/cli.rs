//! Command-line flags shared by every FerroLB daemon.

use crate::admin::AdminAddr;
use crate::logging::LogArgs;

/// Flags every daemon flattens into its own command line:
/// `--log-format`, `--log-level` and `--admin-listen`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DaemonArgs {
    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,

    /// Admin HTTP server address (`/metrics`, `/healthz`, `/readyz`):
    /// IP:PORT, or unix:PATH for a unix socket. Defaults to a loopback port
    /// specific to each daemon.
    #[arg(long, env = "FERROLB_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<AdminAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::LogFormat;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        daemon: DaemonArgs,
        #[arg(long)]
        config: Option<String>,
    }

    #[test]
    fn flattened_flags() {
        let cli = Cli::try_parse_from([
            "ferrolb-router",
            "--config",
            "/etc/ferrolb/router.yaml",
            "--admin-listen",
            "unix:/run/ferrolb/router.sock",
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ])
        .unwrap();
        assert_eq!(cli.config.as_deref(), Some("/etc/ferrolb/router.yaml"));
        assert_eq!(
            cli.daemon.admin_listen,
            Some(AdminAddr::Unix("/run/ferrolb/router.sock".into()))
        );
        assert_eq!(cli.daemon.log.format, LogFormat::Json);
        assert_eq!(cli.daemon.log.filter, "debug");
    }

    #[test]
    fn bad_admin_address_is_a_usage_error() {
        let err = Cli::try_parse_from(["x", "--admin-listen", "localhost"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("invalid admin address"), "{err}");
    }
}
