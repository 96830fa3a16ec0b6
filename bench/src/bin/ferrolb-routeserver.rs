//! FerroLB's BGP route server as a process of its own: the device under test of `bgp-bench`,
//! measured (time, peak memory) exactly like the BIRD, FRR and GoBGP processes.
//!
//! It listens on `--router-id` port 179, waits for its (passive) neighbours and runs until
//! SIGTERM or SIGINT. The tokio runtime is the router's (`ferrolb_daemon::runtime`), one worker
//! per core.

use anyhow::Context;
use clap::Parser;
use ferrolb_bench::routeserver::RouteServerConfig;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> anyhow::Result<()> {
    ferrolb_daemon::runtime::block_on(run()).context("starting the async runtime")?
}

async fn run() -> anyhow::Result<()> {
    ferrolb_bench::cli::init_logging();
    let config = RouteServerConfig::parse();
    let mut terminate = signal(SignalKind::terminate()).context("watching SIGTERM")?;
    let instance = config.start().await.context("starting the route server")?;
    tracing::info!(
        asn = config.asn,
        router_id = %config.router_id,
        neighbors = config.neighbors.len(),
        transparent = config.transparent,
        "route server running"
    );
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
    instance.shutdown().await.context("shutting down")?;
    Ok(())
}
