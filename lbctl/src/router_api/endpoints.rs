//! Which routers to ask: `--router` flags or lbctl's config file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// A router to ask, with its bearer token if it needs one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterEndpoint {
    /// Name shown in output (default: the URL's host:port).
    #[serde(default)]
    pub name: String,
    /// Base URL of its admin API, e.g. `http://10.0.0.1:9180`.
    pub url: String,
    /// File holding the bearer token (`admin.tokenFile` on the router).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// `~/.config/lbctl/config.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LbctlConfig {
    /// Routers asked by `peers`, `services`, `explain` and `routes`.
    #[serde(default)]
    pub routers: Vec<RouterEndpoint>,
}

/// Router selection flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RouterArgs {
    /// A router's admin API, `URL` or `NAME=URL`, the URL being
    /// `http://HOST:PORT` or `unix:/PATH` (repeatable). Without it,
    /// the routers of the config file.
    #[arg(long = "router", global = true, value_name = "URL")]
    pub routers: Vec<String>,

    /// Bearer token file for the routers given with --router.
    #[arg(long, global = true, value_name = "PATH")]
    pub router_token_file: Option<PathBuf>,

    /// lbctl's config file (default: ~/.config/lbctl/config.yaml).
    #[arg(long, global = true, env = "LBCTL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Parses `URL` or `NAME=URL`.
pub fn parse_router_flag(flag: &str, token_file: Option<&Path>) -> anyhow::Result<RouterEndpoint> {
    let (name, url) = match flag.split_once('=') {
        Some((name, url)) if !name.contains(['/', ':']) => (name.to_owned(), url),
        _ => (String::new(), flag),
    };
    let endpoint = RouterEndpoint {
        name,
        url: url.trim_end_matches('/').to_owned(),
        token_file: token_file.map(Path::to_path_buf),
    };
    check_url(&endpoint.url)?;
    Ok(named(endpoint))
}

/// Where a router's admin API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTarget {
    /// `http://host:port`: the authority (`host:port`, port 80 by default).
    Tcp(String),
    /// `unix:/path`: the socket file.
    Unix(PathBuf),
}

/// Parses an admin API URL: `http://HOST[:PORT]` or `unix:/PATH`, the
/// forms `admin.listen` takes on the router.
pub fn target(url: &str) -> anyhow::Result<AdminTarget> {
    if let Some(path) = url.strip_prefix("unix:") {
        if path.is_empty() {
            bail!("router URL {url:?} names no socket (for example unix:/run/ferrolb/admin.sock)");
        }
        return Ok(AdminTarget::Unix(PathBuf::from(path)));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "router URL {url:?} must start with http:// or unix: (for example http://10.0.0.1:9180 or unix:/run/ferrolb/admin.sock)"
        );
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let parsed: hyper::http::uri::Authority = authority
        .parse()
        .with_context(|| format!("router URL {url:?} has no valid host:port"))?;
    Ok(AdminTarget::Tcp(format!(
        "{}:{}",
        parsed.host(),
        parsed.port_u16().unwrap_or(80)
    )))
}

fn check_url(url: &str) -> anyhow::Result<()> {
    target(url).map(|_| ())
}

fn named(mut endpoint: RouterEndpoint) -> RouterEndpoint {
    if endpoint.name.is_empty() {
        endpoint.name = endpoint
            .url
            .trim_start_matches("http://")
            .trim_start_matches("unix:")
            .trim_end_matches('/')
            .to_owned();
    }
    endpoint
}

impl RouterArgs {
    /// The routers to ask: the flags, else the config file's (a missing
    /// default config file means none).
    pub fn endpoints(&self) -> anyhow::Result<Vec<RouterEndpoint>> {
        if !self.routers.is_empty() {
            return self
                .routers
                .iter()
                .map(|r| parse_router_flag(r, self.router_token_file.as_deref()))
                .collect();
        }
        let (path, explicit) = match &self.config {
            Some(p) => (p.clone(), true),
            None => match std::env::var_os("HOME") {
                Some(home) => (PathBuf::from(home).join(".config/lbctl/config.yaml"), false),
                None => return Ok(Vec::new()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Vec::new())
            }
            Err(e) => bail!("cannot read lbctl config {}: {e}", path.display()),
        };
        let config: LbctlConfig = serde_yaml::from_str(&text).with_context(|| {
            format!(
                "lbctl config {} is invalid (expected `routers: [{{name, url, tokenFile}}]`)",
                path.display()
            )
        })?;
        config
            .routers
            .into_iter()
            .map(|r| {
                check_url(&r.url).with_context(|| format!("in {}", path.display()))?;
                Ok(named(r))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_flags() {
        let r = parse_router_flag("r1=http://127.0.0.1:9180/", None).unwrap();
        assert_eq!(
            (r.name.as_str(), r.url.as_str()),
            ("r1", "http://127.0.0.1:9180")
        );
        let r = parse_router_flag("http://[::1]:9180", None).unwrap();
        assert_eq!(r.name, "[::1]:9180");
        let r = parse_router_flag("edge=unix:/run/ferrolb/admin.sock", None).unwrap();
        assert_eq!(
            (r.name.as_str(), r.url.as_str()),
            ("edge", "unix:/run/ferrolb/admin.sock")
        );
        let err = parse_router_flag("10.0.0.1:9180", None).unwrap_err();
        assert!(
            err.to_string().contains("must start with http:// or unix:"),
            "{err}"
        );
    }

    #[test]
    fn admin_targets() {
        let table: &[(&str, Option<AdminTarget>)] = &[
            (
                "http://127.0.0.1:9180",
                Some(AdminTarget::Tcp("127.0.0.1:9180".into())),
            ),
            (
                "http://[::1]:9180",
                Some(AdminTarget::Tcp("[::1]:9180".into())),
            ),
            (
                "http://router.example",
                Some(AdminTarget::Tcp("router.example:80".into())),
            ),
            (
                "unix:/run/a.sock",
                Some(AdminTarget::Unix("/run/a.sock".into())),
            ),
            ("unix:", None),
            ("https://r:1", None),
            ("http://", None),
        ];
        for (url, want) in table {
            assert_eq!(target(url).ok(), *want, "{url}");
        }
    }

    #[test]
    fn config_file_shape() {
        let c: LbctlConfig = serde_yaml::from_str(
            "routers:\n- {name: r1, url: 'http://10.0.0.1:9180', tokenFile: /etc/t}\n",
        )
        .unwrap();
        assert_eq!(
            c.routers[0].token_file.as_deref(),
            Some(Path::new("/etc/t"))
        );
        assert!(serde_yaml::from_str::<LbctlConfig>("routers: [{url: x, token: y}]").is_err());
    }
}
