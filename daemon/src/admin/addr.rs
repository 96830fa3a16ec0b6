//! Where the admin server listens: a TCP socket address or a unix socket path.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Prefix that selects a unix socket in [`AdminAddr`]'s text form.
pub const UNIX_PREFIX: &str = "unix:";

/// Address of the admin HTTP server.
///
/// Text form: `127.0.0.1:9612`, `[::1]:9612`, `unix:/run/ferrolb/admin.sock`
/// or an absolute path `/run/ferrolb/admin.sock`. [`fmt::Display`] writes the
/// same form back (`unix:` prefixed for sockets), so a logged address parses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AdminAddr {
    /// A TCP address; port 0 picks a free port at bind time.
    Tcp(SocketAddr),
    /// A unix stream socket at this filesystem path.
    Unix(PathBuf),
}

/// Why an admin address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid admin address {input:?}: expected IP:PORT, [IPv6]:PORT, unix:PATH or an absolute path"
)]
pub struct AdminAddrParseError {
    input: String,
}

impl FromStr for AdminAddr {
    type Err = AdminAddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || AdminAddrParseError {
            input: s.to_owned(),
        };
        if let Some(path) = s.strip_prefix(UNIX_PREFIX) {
            if path.is_empty() {
                return Err(invalid());
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(Self::Unix(PathBuf::from(s)));
        }
        s.parse().map(Self::Tcp).map_err(|_| invalid())
    }
}

impl fmt::Display for AdminAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "{UNIX_PREFIX}{}", path.display()),
        }
    }
}

impl From<SocketAddr> for AdminAddr {
    fn from(addr: SocketAddr) -> Self {
        Self::Tcp(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        // (input, parsed, displayed back)
        let cases: [(&str, Option<AdminAddr>, &str); 10] = [
            (
                "127.0.0.1:9612",
                Some(AdminAddr::Tcp("127.0.0.1:9612".parse().unwrap())),
                "127.0.0.1:9612",
            ),
            (
                "0.0.0.0:0",
                Some(AdminAddr::Tcp("0.0.0.0:0".parse().unwrap())),
                "0.0.0.0:0",
            ),
            (
                "[::1]:80",
                Some(AdminAddr::Tcp("[::1]:80".parse().unwrap())),
                "[::1]:80",
            ),
            (
                "unix:/run/ferrolb/admin.sock",
                Some(AdminAddr::Unix("/run/ferrolb/admin.sock".into())),
                "unix:/run/ferrolb/admin.sock",
            ),
            (
                "unix:admin.sock",
                Some(AdminAddr::Unix("admin.sock".into())),
                "unix:admin.sock",
            ),
            (
                "/run/admin.sock",
                Some(AdminAddr::Unix("/run/admin.sock".into())),
                "unix:/run/admin.sock",
            ),
            ("unix:", None, ""),
            ("localhost:9612", None, ""),
            ("127.0.0.1", None, ""),
            ("", None, ""),
        ];
        for (input, want, shown) in cases {
            let got = input.parse::<AdminAddr>().ok();
            assert_eq!(got, want, "parsing {input:?}");
            if let Some(addr) = got {
                assert_eq!(addr.to_string(), shown);
                assert_eq!(
                    shown.parse::<AdminAddr>().unwrap(),
                    addr,
                    "round trip {shown:?}"
                );
            }
        }
    }
}
