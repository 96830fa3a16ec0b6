//! `ferrolb-router`: runs on a router host, learns the cluster's Service routes from the nodes'
//! speakers over BGP and forwards to them with ECMP through the Linux kernel.
//!
//! See [`app`] for the moving parts, [`import`] for what a speaker may announce, [`fib`] for
//! how routes and nexthop groups are installed, and [`reload`] for what SIGHUP changes.

mod admin;
mod api;
mod app;
mod bgp;
mod config;
mod fib;
mod forwarder;
mod import;
mod lb;
mod metrics;
mod reload;
mod routes;
mod sysctl;

use std::path::PathBuf;

use clap::Parser;
use ferrolb_daemon::DaemonArgs;

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A router that cannot read its configuration must not start at all.
    let config = config::load_file(&cli.config)?;
    let secrets = app::Secrets::read(&config)?;
    if cli.check_config {
        println!("{}: configuration OK", cli.config.display());
        return Ok(());
    }
    app::run(&cli.daemon, &cli.config, config, secrets).await
}
