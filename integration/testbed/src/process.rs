//! Running external commands and supervising long-running processes.
//!
//! A [`Process`] is a child whose stdout and stderr go to a log file. It is terminated when
//! dropped, and when the drop happens while a test is panicking, the end of the log is printed so
//! the failure explains itself.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How much of a log is shown in errors and on test failure.
const LOG_TAIL_BYTES: u64 = 48 * 1024;

/// Renders a command line for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` to completion and returns its stdout, or [`Error::Command`] if it failed.
pub fn run(cmd: &mut Command) -> Result<String> {
    let line = describe(cmd);
    tracing::debug!(command = %line, "running");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("spawning `{line}`"), e))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = if stderr.trim().is_empty() {
        stdout.trim()
    } else {
        stderr.trim()
    };
    Err(Error::Command {
        command: line,
        status: output.status.to_string(),
        output: shown.to_owned(),
    })
}

/// Reads at most the last 48 KiB of a log file (lossily decoded).
pub fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return format!("(unreadable log at {})", path.display());
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        format!("[... {start} bytes elided ...]\n{text}")
    } else {
        text
    }
}

/// A supervised child process with its output captured to a log file.
///
/// Dropping it sends SIGTERM, waits up to a second, then SIGKILLs and reaps it.
#[derive(Debug)]
pub struct Process {
    label: String,
    pid: u32,
    log: PathBuf,
    child: Mutex<Child>,
}

impl Process {
    /// Starts `cmd` with stdin closed and stdout/stderr appended to `log`.
    pub fn spawn(label: impl Into<String>, mut cmd: Command, log: &Path) -> Result<Process> {
        let label = label.into();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("opening log {}", log.display()), e))?;
        let err_file = file
            .try_clone()
            .map_err(|e| Error::io("duplicating log descriptor", e))?;
        let line = describe(&cmd);
        tracing::debug!(%label, command = %line, "spawning");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err_file))
            .spawn()
            .map_err(|e| Error::io(format!("spawning `{line}`"), e))?;
        Ok(Process {
            label,
            pid: child.id(),
            log: log.to_owned(),
            child: Mutex::new(child),
        })
    }

    /// A short human name (e.g. `bird`, `frr/bgpd`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The end of the log (up to 48 KiB).
    pub fn log(&self) -> String {
        log_tail(&self.log)
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        // A poisoned lock only means another thread panicked while holding it; the child handle
        // itself is still valid.
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exit status if the process has exited (it is reaped then), else `None`.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child().try_wait().ok().flatten()
    }

    /// Whether the process is still running (a stopped process counts as running).
    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// `Ok` while running, else [`Error::Exited`] carrying the log tail.
    pub fn check_running(&self) -> Result<()> {
        match self.exit_status() {
            None => Ok(()),
            Some(status) => Err(Error::Exited {
                daemon: self.label.clone(),
                status: status.to_string(),
                log_tail: self.log(),
            }),
        }
    }

    /// Sends `signal` unless the process has already been reaped (its pid could be reused).
    pub fn signal(&self, signal: libc::c_int) -> Result<()> {
        let mut child = self.child();
        if child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.pid)
            .map_err(|_| Error::Config(format!("pid {} out of range", self.pid)))?;
        // SAFETY: kill(2) has no memory-safety preconditions; the pid belongs to our own
        // unreaped child, so it cannot have been recycled.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc != 0 {
            return Err(Error::io(
                format!("kill({}, {signal}) for {}", self.pid, self.label),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Freezes the process (SIGSTOP): its sockets stay open but it stops answering, so peers'
    /// hold timers run out.
    pub fn pause(&self) -> Result<()> {
        self.signal(libc::SIGSTOP)
    }

    /// Thaws a paused process (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.signal(libc::SIGCONT)
    }

    /// Kills the process abruptly (SIGKILL), as in a crash, and reaps it.
    pub fn kill(&self) -> Result<()> {
        self.signal(libc::SIGKILL)?;
        let mut child = self.child();
        child
            .wait()
            .map(drop)
            .map_err(|e| Error::io(format!("reaping {}", self.label), e))
    }

    /// Asks the process to exit (SIGTERM, after SIGCONT in case it is paused), waits up to
    /// `grace`, then kills it.
    pub fn terminate(&self, grace: Duration) -> Result<()> {
        self.signal(libc::SIGCONT)?;
        self.signal(libc::SIGTERM)?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(e) = self.terminate(Duration::from_secs(1)) {
            tracing::warn!(label = %self.label, error = %e, "stopping process");
        }
        if thread::panicking() {
            eprintln!(
                "----- log of {} ({}) -----\n{}\n----- end of log of {} -----",
                self.label,
                self.log.display(),
                self.log(),
                self.label
            );
        }
    }
}
