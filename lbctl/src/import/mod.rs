//! `lbctl import`: conversion of other load balancers' configuration.

mod metallb;
mod metallb_legacy;
mod objects;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use ferrolb_api::{validate_objects, ClusterObjects};

/// `lbctl import ...`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Converts MetalLB configuration (metallb.io v1beta1/v1beta2 objects
    /// and the legacy `config` ConfigMap) to FerroLB objects on stdout;
    /// what cannot be converted is reported on stderr.
    Metallb {
        /// The MetalLB YAML (`-` for stdin); several documents allowed.
        #[arg(short = 'f', long = "filename", value_name = "FILE")]
        file: PathBuf,
        /// Namespace of the FerroLB objects written.
        #[arg(long, default_value = "ferrolb-system")]
        target_namespace: String,
    },
}

/// Runs an import: exit 1 when the input cannot be read or the result
/// fails FerroLB's validator.
pub fn run(command: ImportCommand) -> anyhow::Result<ExitCode> {
    let ImportCommand::Metallb {
        file,
        target_namespace,
    } = command;
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read MetalLB configuration from stdin")?;
        s
    } else {
        std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read MetalLB configuration {}", file.display()))?
    };
    let conversion = metallb::convert(&text, &target_namespace)?;
    let yaml = conversion.objects.to_yaml()?;
    print!("{yaml}");
    for note in &conversion.notes {
        eprintln!("note: {note}");
    }
    if conversion.objects.is_empty() {
        eprintln!("warning: no MetalLB objects found in the input");
    }
    let parsed = ClusterObjects::from_yaml_str(&yaml)
        .map_err(|e| anyhow::anyhow!("the converted objects do not decode: {e}"))?;
    let errors = validate_objects(&parsed);
    if errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "error: the converted objects fail FerroLB's validator ({} problem(s)); fix them before applying:",
        errors.len()
    );
    for e in errors {
        eprintln!("  {e}");
    }
    Ok(ExitCode::FAILURE)
}
