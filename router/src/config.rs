//! The router's configuration file: read with a size limit, parsed into the shared model and
//! checked by the shared validator (`ferrolb_api::RouterConfig`).

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use ferrolb_api::RouterConfig;

/// Largest configuration file accepted; far above any real configuration,
/// it only keeps a wrong path (a device, a huge log) from being slurped.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads, parses and validates the configuration file at `path`.
pub fn load_file(path: &Path) -> anyhow::Result<RouterConfig> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open configuration file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        bail!(
            "configuration file {} is larger than {MAX_CONFIG_BYTES} bytes",
            path.display()
        );
    }
    parse(&text, path).with_context(|| format!("invalid configuration file {}", path.display()))
}

fn parse(text: &str, path: &Path) -> anyhow::Result<RouterConfig> {
    RouterConfig::from_yaml_str_named(text, &path.display().to_string())
        .map_err(anyhow::Error::from)
}
