//! `ferrolb-router`: runs on a router host, learns the cluster's Service routes from the nodes'
//! speakers over BGP and forwards to them with ECMP through the Linux kernel.
//!
//! See [`app`] for the moving parts, [`import`] for what a speaker may announce, [`fib`] for
//! how routes and nexthop groups are installed, and [`reload`] for what SIGHUP changes.

mod admin;
mod api;
mod app;
mod bfd;
mod bgp;
mod config;
mod fib;
mod forwarder;
mod import;
mod kube_pools;
mod lb;
mod metrics;
mod policy;
mod reload;
mod routes;
mod sysctl;
mod upstream;
mod vrrp;

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};
use ferrolb_api::router_config::{LogFormat, LoggingConfig};
use ferrolb_daemon::{DaemonArgs, LogArgs};

/// FerroLB router: learns Service routes from the cluster over BGP and forwards with ECMP.
#[derive(Debug, Parser)]
#[command(name = "ferrolb-router", version, about)]
struct Cli {
    #[command(flatten)]
    daemon: DaemonArgs,

    /// Configuration file (YAML).
    #[arg(
        long,
        env = "FERROLB_ROUTER_CONFIG",
        value_name = "PATH",
        default_value = "/etc/ferrolb/router.yaml"
    )]
    config: PathBuf,

    /// Check the configuration file (and the files it names) and exit (0 when it is valid).
    #[arg(long)]
    check_config: bool,
}

fn main() -> anyhow::Result<()> {
    ferrolb_daemon::runtime::block_on(run()).context("starting the async runtime")?
}

async fn run() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // A router that cannot read its configuration must not start at all.
    let config = config::load_file(&cli.config)?;
    let secrets = app::Secrets::read(&config)?;
    if cli.check_config {
        println!("{}: configuration OK", cli.config.display());
        return Ok(());
    }
    apply_logging(
        &mut cli.daemon.log,
        &config.logging,
        given(&matches, "format"),
        given(&matches, "filter"),
    );
    app::run(&cli.daemon, &cli.config, config, secrets).await
}

/// Whether the flag with `id` was set on the command line or by its environment variable.
fn given(matches: &clap::ArgMatches, id: &str) -> bool {
    matches
        .value_source(id)
        .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue)
}

/// The `logging:` section, unless `--log-format` / `--log-level` (or their environment
/// variables) say otherwise: the command line wins, as for `--admin-listen`.
fn apply_logging(
    args: &mut LogArgs,
    logging: &LoggingConfig,
    format_given: bool,
    level_given: bool,
) {
    if !format_given {
        args.format = match logging.format {
            LogFormat::Human => ferrolb_daemon::LogFormat::Human,
            LogFormat::Json => ferrolb_daemon::LogFormat::Json,
        };
    }
    if !level_given {
        args.filter = logging.level.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_overrides_the_logging_section() {
        let json_debug = LoggingConfig {
            format: LogFormat::Json,
            level: "debug".to_owned(),
        };
        // (flags, format given, level given, format, filter)
        let cases: [(&[&str], bool, bool, ferrolb_daemon::LogFormat, &str); 3] = [
            (&[], false, false, ferrolb_daemon::LogFormat::Json, "debug"),
            (
                &["--log-level", "warn"],
                false,
                true,
                ferrolb_daemon::LogFormat::Json,
                "warn",
            ),
            (
                &["--log-format", "human"],
                true,
                false,
                ferrolb_daemon::LogFormat::Human,
                "debug",
            ),
        ];
        for (flags, format_given, level_given, format, filter) in cases {
            let argv = std::iter::once("ferrolb-router").chain(flags.iter().copied());
            let matches = Cli::command().try_get_matches_from(argv).unwrap();
            let (f, l) = (given(&matches, "format"), given(&matches, "filter"));
            assert_eq!((f, l), (format_given, level_given), "{flags:?}");
            let mut cli = Cli::from_arg_matches(&matches).unwrap();
            apply_logging(&mut cli.daemon.log, &json_debug, f, l);
            assert_eq!(
                (cli.daemon.log.format, cli.daemon.log.filter.as_str()),
                (format, filter),
                "{flags:?}"
            );
        }
    }
}
