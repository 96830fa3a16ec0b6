//! `fake-apiserver`: runs FerroLB's fake Kubernetes API server until interrupted,
//! for the single-machine demo and manual use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ferrolb_fake_apiserver::{FakeApiServer, Options};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "fake-apiserver",
    about = "In-process Kubernetes API server for FerroLB tests and demos"
)]
struct Args {
    /// Address to listen on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig pointing at the server to this path.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Interval between watch bookmarks, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    bookmark_interval_ms: u64,
    /// Number of changes kept in the watch history.
    #[arg(long, default_value_t = 10_000)]
    history_capacity: usize,
    /// Accept namespaced objects in namespaces that do not exist.
    #[arg(long)]
    allow_missing_namespaces: bool,
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let server = FakeApiServer::start_with(Options {
        listen: args.listen,
        bookmark_interval: Duration::from_millis(args.bookmark_interval_ms.max(1)),
        history_capacity: args.history_capacity,
        require_namespaces: !args.allow_missing_namespaces,
        ..Options::default()
    })
    .await
    .context("starting the fake API server")?;
    if let Some(path) = &args.kubeconfig_out {
        server
            .write_kubeconfig(path)
            .with_context(|| format!("writing kubeconfig to {}", path.display()))?;
    }
    println!("{}", server.url());
    terminated().await;
    server.shutdown().await;
    Ok(())
}
