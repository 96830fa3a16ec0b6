//! What every benchmark program does first.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Logs to stderr at `info` (or `RUST_LOG`), in colour on a terminal.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Refuses to go on unless running as root, naming `program` and why it needs root.
pub fn require_root(program: &str) -> anyhow::Result<()> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        anyhow::bail!("{program} must run as root (network namespaces, port 179, the daemons)");
    }
    Ok(())
}
