//! `ferrolb-router`: runs on a router host and announces FerroLB service
//! addresses to the network over BGP.

mod config;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use ferrolb_daemon::{AdminAddr, Daemon, DaemonArgs, ReloadSignal};

/// Admin server address unless `--admin-listen` says otherwise.
const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9612);

/// FerroLB router: announces service addresses to the network over BGP.
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

    /// Check the configuration file and exit (0 when it is valid).
    #[arg(long)]
    check_config: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A router that cannot read its configuration must not start at all.
    let _config = config::load_file(&cli.config)?;
    if cli.check_config {
        println!("{}: configuration OK", cli.config.display());
        return Ok(());
    }

    let daemon = Daemon::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .default_admin_listen(AdminAddr::Tcp(DEFAULT_ADMIN_LISTEN))
        .start(&cli.daemon)
        .await?;
    let mut reload = ReloadSignal::install()?;
    daemon.readiness().set_ready();
    loop {
        tokio::select! {
            () = daemon.shutdown().wait() => break,
            () = reload.recv() => match config::load_file(&cli.config) {
                Ok(_) => tracing::info!(path = %cli.config.display(), "configuration re-checked"),
                Err(error) => tracing::error!(
                    path = %cli.config.display(),
                    error = format!("{error:#}"),
                    "configuration rejected; keeping the running one"
                ),
            },
        }
    }
    daemon.finish().await?;
    Ok(())
}
