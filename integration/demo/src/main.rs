//! `ferrolb-demo`: FerroLB's whole system on one machine (run by
//! `scripts/demo.sh`), and the stand-in servers it starts (`serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ferrolb_demo::{scenario, summary, Cancel, Options, Programs};

/// FerroLB's demo: controller, speakers and routers in network namespaces.
#[derive(Debug, Parser)]
#[command(name = "ferrolb-demo", version, about)]
struct Cli {
    /// Leave everything up (with instructions) until Ctrl-C or `lbctl demo down`.
    #[arg(long)]
    keep: bool,

    /// Requests sent to each Service address.
    #[arg(long, default_value_t = 1000)]
    requests: usize,

    /// The demo's directory: state file, kubeconfig, sockets, logs.
    #[arg(long, default_value = ferrolb_demo::state::DEFAULT_DIR)]
    dir: PathBuf,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A stand-in server answering every HTTP request with its name.
    Serve {
        /// The name it answers with.
        #[arg(long)]
        name: String,
        /// Addresses to listen on.
        #[arg(long, required = true)]
        listen: Vec<SocketAddr>,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Serve { name, listen }) = cli.command {
        ferrolb_demo::standin::serve(&name, &listen)?;
        return Ok(ExitCode::SUCCESS);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROLB_DEMO_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "ferrolb-demo: run as root (sudo ./scripts/demo.sh): it creates network namespaces"
        );
        return Ok(ExitCode::from(2));
    }
    let cancel = Cancel::on_signals()?;
    let options = Options {
        programs: Programs::beside_current_exe()?,
        dir: cli.dir,
        requests: cli.requests,
        keep: cli.keep,
    };
    let report = scenario::run(&options, &cancel);
    println!("\n==> summary\n{}", summary::render(&report.steps));
    if !report.all_ok() {
        println!("daemon logs: {}/*.log", options.dir.display());
    }
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
