//! A daemon running as a child process, with its output collected line by
//! line as it arrives.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::TIMEOUT;
use crate::admin::{AdminAddr, LISTENING_MESSAGE};

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line the child printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Where it was printed.
    pub stream: Stream,
    /// The line, without its newline.
    pub text: String,
}

#[derive(Debug, Default)]
struct Output {
    lines: Vec<OutputLine>,
    open_streams: u8,
}

/// A spawned daemon process; killed on drop if still running.
#[derive(Debug)]
pub struct DaemonChild {
    child: Child,
    output: watch::Receiver<Output>,
}

impl DaemonChild {
    /// A command for binary `bin` with piped output and without the
    /// `FERROLB_*` variables of the test's own environment, so only what the
    /// test sets applies.
    pub fn command(bin: &str) -> Command {
        let mut command = Command::new(bin);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FERROLB_") {
                command.env_remove(name);
            }
        }
        command
    }

    /// Spawns `bin args...`.
    pub fn spawn(bin: &str, args: &[&str]) -> Self {
        let mut command = Self::command(bin);
        command.args(args);
        Self::spawn_command(command)
    }

    /// Spawns a command made with [`DaemonChild::command`] (stdout and
    /// stderr must be piped).
    pub fn spawn_command(mut command: Command) -> Self {
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {command:?}: {e}"));
        let (tx, output) = watch::channel(Output {
            lines: Vec::new(),
            open_streams: 2,
        });
        let stdout = child.stdout.take().expect("stdout must be piped");
        let stderr = child.stderr.take().expect("stderr must be piped");
        tokio::spawn(collect(stdout, Stream::Stdout, tx.clone()));
        tokio::spawn(collect(stderr, Stream::Stderr, tx));
        Self { child, output }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        let pid = self.child.id().expect("child already reaped");
        i32::try_from(pid).expect("pid fits i32")
    }

    /// Sends signal `signo` (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signo: i32) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        let rc = unsafe { libc::kill(self.pid(), signo) };
        assert_eq!(
            rc,
            0,
            "kill({}, {signo}): {}",
            self.pid(),
            std::io::Error::last_os_error()
        );
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<OutputLine> {
        self.output.borrow().lines.clone()
    }

    /// Waits for (and returns) the first line matching `matches`; panics
    /// with the output so far if none comes within `timeout` or the child
    /// closes its output first.
    pub async fn wait_for_line(
        &mut self,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        let find = |output: &Output| {
            output
                .lines
                .iter()
                .find(|line| matches(&line.text))
                .map(|line| line.text.clone())
        };
        let found = {
            let waited = tokio::time::timeout(
                timeout,
                self.output
                    .wait_for(|output| find(output).is_some() || output.open_streams == 0),
            )
            .await;
            match waited {
                Ok(Ok(output)) => find(&output),
                _ => None,
            }
        };
        found.unwrap_or_else(|| panic!("expected line not printed; output:\n{}", self.transcript()))
    }

    /// Waits for the admin server's "listening" log line and returns the
    /// bound address from it.
    pub async fn admin_addr(&mut self) -> AdminAddr {
        let line = self
            .wait_for_line(TIMEOUT, |l| parse_listening_line(l).is_some())
            .await;
        parse_listening_line(&line).unwrap_or_else(|| panic!("unparsable line {line:?}"))
    }

    /// Waits for the process to exit and its output to be fully read.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.unwrap_or_else(|e| panic!("waiting for child: {e}")),
            Err(_) => panic!(
                "child did not exit within {timeout:?}; output:\n{}",
                self.transcript()
            ),
        };
        // The pipes close at exit (unless a grandchild inherited them).
        let _ = tokio::time::timeout(timeout, self.output.wait_for(|o| o.open_streams == 0)).await;
        status
    }

    /// The output so far, one line per line, for failure messages.
    pub fn transcript(&self) -> String {
        self.output
            .borrow()
            .lines
            .iter()
            .map(|line| format!("[{:?}] {}\n", line.stream, line.text))
            .collect()
    }
}

async fn collect(pipe: impl AsyncRead + Unpin, stream: Stream, tx: watch::Sender<Output>) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        tx.send_modify(|output| output.lines.push(OutputLine { stream, text }));
    }
    tx.send_modify(|output| output.open_streams -= 1);
}

/// The admin address in a [`LISTENING_MESSAGE`] log line, in the human
/// (`... admin server listening addr=127.0.0.1:9612`) or the JSON
/// (`{"message":"admin server listening","addr":"127.0.0.1:9612",...}`)
/// format.
pub fn parse_listening_line(line: &str) -> Option<AdminAddr> {
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) {
        if object.get("message")?.as_str()? != LISTENING_MESSAGE {
            return None;
        }
        return object.get("addr")?.as_str()?.parse().ok();
    }
    let (_, rest) = line.split_once(LISTENING_MESSAGE)?;
    rest.split_whitespace()
        .find_map(|field| field.strip_prefix("addr="))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines() {
        let cases: [(&str, Option<&str>); 6] = [
            (
                "2025-01-01T00:00:00.000000Z  INFO ferrolb_daemon::admin: admin server listening addr=127.0.0.1:41234",
                Some("127.0.0.1:41234"),
            ),
            (
                "2025-01-01T00:00:00Z  INFO ferrolb_daemon::admin: admin server listening addr=unix:/tmp/a.sock",
                Some("unix:/tmp/a.sock"),
            ),
            (
                r#"{"timestamp":"2025-01-01T00:00:00Z","level":"INFO","message":"admin server listening","addr":"[::1]:9612","target":"ferrolb_daemon::admin"}"#,
                Some("[::1]:9612"),
            ),
            (r#"{"message":"starting","addr":"127.0.0.1:1"}"#, None),
            ("INFO ferrolb_daemon: starting program=x", None),
            ("admin server listening addr=nonsense", None),
        ];
        for (line, want) in cases {
            let want = want.map(|a| a.parse::<AdminAddr>().unwrap());
            assert_eq!(parse_listening_line(line), want, "{line}");
        }
    }
}
