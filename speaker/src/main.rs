//! `ferrolb-speaker`: announces load-balancer IPs from Kubernetes nodes.

use std::net::{Ipv4Addr, SocketAddr};

use clap::Parser;
use ferrolb_daemon::{AdminAddr, Daemon, DaemonArgs};

/// Admin server address unless `--admin-listen` says otherwise.
const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9611);

/// FerroLB speaker: announces load-balancer IPs from this node.
#[derive(Debug, Parser)]
#[command(name = "ferrolb-speaker", version, about)]
struct Cli {
    #[command(flatten)]
    daemon: DaemonArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let daemon = Daemon::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .default_admin_listen(AdminAddr::Tcp(DEFAULT_ADMIN_LISTEN))
        .start(&cli.daemon)
        .await?;
    daemon.readiness().set_ready();
    daemon.shutdown().wait().await;
    daemon.finish().await?;
    Ok(())
}
