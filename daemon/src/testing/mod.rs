//! Test helpers (feature `test-util`): spawn a daemon binary, follow its log
//! output, talk HTTP to its admin server over real sockets, and the
//! lifecycle checks every FerroLB daemon must pass.
//!
//! These helpers panic with a descriptive message when an expectation is not
//! met; they are meant for tests only.

mod child;
mod http;
mod scenario;
mod temp;

pub use child::{parse_listening_line, DaemonChild, OutputLine, Stream};
pub use http::{get, HttpResponse};
pub use scenario::{
    check_admin_bind_failure, check_json_logs, check_lifecycle, wait_ready, DaemonUnderTest,
};
pub use temp::TempDir;

use std::time::Duration;

/// How long helpers wait for a daemon to start, answer or exit.
pub const TIMEOUT: Duration = Duration::from_secs(10);
