//! `lbctl`: FerroLB's admin CLI. Also works as the kubectl plugin
//! `kubectl lb` when installed (or linked) as `kubectl-lb`.
//!
//! Exit codes: 0 success, 1 a failed check or operation, 2 a usage error.

mod age;
mod cluster;
mod demo;
mod explain;
mod facts;
mod import;
mod kube_client;
mod neighbor;
mod output;
mod peers;
mod pools;
mod router_api;
mod routes;
mod services;

use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::kube_client::KubeArgs;
use crate::output::{ColorChoice, Format, Printer};
use crate::router_api::RouterArgs;

/// An operation that failed for a reason the message explains to the user.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// The name lbctl is known by when run as a kubectl plugin.
const PLUGIN_NAME: &str = "kubectl-lb";

/// FerroLB admin CLI: pools, services, BGP sessions, routes, diagnosis and
/// migration from MetalLB.
#[derive(Debug, Parser)]
#[command(name = "lbctl", version, about, propagate_version = true)]
struct Cli {
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t)]
    output: Format,

    /// When to color output (NO_COLOR turns off `auto`).
    #[arg(long, global = true, value_enum, default_value_t)]
    color: ColorChoice,

    /// Never color output (same as --color never).
    #[arg(long, global = true)]
    no_color: bool,

    #[command(flatten)]
    kube: KubeArgs,

    #[command(flatten)]
    routers: RouterArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// IP address pools.
    #[command(subcommand, visible_alias = "pool")]
    Pools(pools::PoolsCommand),
    /// LoadBalancer Services: addresses, pool, announcing nodes, routers.
    #[command(visible_alias = "svc")]
    Services(services::ServicesArgs),
    /// BGP sessions, from the speakers and from the routers.
    Peers,
    /// Routes a router learned, with next hops and kernel state.
    Routes,
    /// Walks a Service's path and says where it breaks.
    Explain(explain::ExplainArgs),
    /// Converts other load balancers' configuration to FerroLB objects.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The single-machine demo (`scripts/demo.sh`): `lbctl demo down` removes it.
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Prints a shell completion script.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The command line definition, named after how lbctl was invoked.
fn command_for(argv0: Option<&str>) -> clap::Command {
    let plugin = argv0
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == PLUGIN_NAME);
    let command = Cli::command();
    if plugin {
        command.name("kubectl lb").bin_name("kubectl lb")
    } else {
        command
    }
}

fn main() -> ExitCode {
    let argv0 = std::env::args().next();
    let mut command = command_for(argv0.as_deref());
    let matches = command.get_matches_mut();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut command).exit(),
    };
    if std::env::var_os("LBCTL_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("LBCTL_LOG"))
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, command: clap::Command) -> anyhow::Result<ExitCode> {
    let choice = if cli.no_color {
        ColorChoice::Never
    } else {
        cli.color
    };
    let printer = Printer::new(cli.output, choice);
    match cli.command {
        Command::Completion { shell } => {
            // Completion scripts name the executable, so a plugin's is
            // `kubectl-lb`, not the two words of its usage line.
            let name = match command.get_name() {
                "lbctl" => "lbctl",
                _ => PLUGIN_NAME,
            };
            let mut fresh = Cli::command();
            clap_complete::generate(shell, &mut fresh, name, &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(c) => import::run(c),
        Command::Demo(c) => demo::run(c),
        Command::Routes => {
            routes::run(&printer, &cli.routers.endpoints()?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pools(c) => {
            pools::run(&cli.kube.connect().await?, &printer, c).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Services(args) => {
            let kube = cli.kube.connect().await?;
            services::run(&kube, &printer, &args, &cli.routers.endpoints()?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Peers => {
            let kube = cli.kube.connect().await?;
            peers::run(&kube, &printer, &cli.routers.endpoints()?).await
        }
        Command::Explain(args) => {
            let kube = cli.kube.connect().await?;
            explain::run(&kube, &printer, &args, &cli.routers.endpoints()?).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_name_follows_argv0() {
        let table: &[(Option<&str>, &str)] = &[
            (Some("/usr/local/bin/kubectl-lb"), "kubectl lb"),
            (Some("kubectl-lb"), "kubectl lb"),
            (Some("/usr/bin/lbctl"), "lbctl"),
            (None, "lbctl"),
        ];
        for &(argv0, want) in table {
            assert_eq!(command_for(argv0).get_name(), want, "{argv0:?}");
        }
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
