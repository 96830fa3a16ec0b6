//! The client's side of a session: its status, and commands to the driver thread.

use tokio::sync::{mpsc, watch};

use super::{Command, SessionKey};
use crate::error::BfdError;
use crate::session::{SessionParams, SessionStatus};

/// A client's handle on one session. Clones share the session; it lives until
/// [`BfdDriver::remove_session`](super::BfdDriver::remove_session).
#[derive(Debug, Clone)]
pub struct SessionHandle {
    key: SessionKey,
    status: watch::Receiver<SessionStatus>,
    commands: mpsc::UnboundedSender<Command>,
}

impl SessionHandle {
    pub(super) fn new(
        key: SessionKey,
        status: watch::Receiver<SessionStatus>,
        commands: mpsc::UnboundedSender<Command>,
    ) -> SessionHandle {
        SessionHandle {
            key,
            status,
            commands,
        }
    }

    /// The session's key.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// A receiver of the session's status, updated on every change.
    pub fn state(&self) -> watch::Receiver<SessionStatus> {
        self.status.clone()
    }

    /// The current status.
    pub fn status(&self) -> SessionStatus {
        *self.status.borrow()
    }

    fn send(&self, command: Command) -> Result<(), BfdError> {
        self.commands
            .send(command)
            .map_err(|_| BfdError::DriverGone)
    }

    /// Changes the timing parameters (with a Poll Sequence while Up).
    pub fn set_params(&self, params: SessionParams) -> Result<(), BfdError> {
        params.validate()?;
        self.send(Command::SetParams(self.key.clone(), params))
    }

    /// Takes the session administratively down; the peer is told, and its clients do not take
    /// it for a failure.
    pub fn admin_down(&self) -> Result<(), BfdError> {
        self.send(Command::AdminDown(self.key.clone()))
    }

    /// Releases an administratively down session.
    pub fn admin_up(&self) -> Result<(), BfdError> {
        self.send(Command::AdminUp(self.key.clone()))
    }

    /// A waiter for the session's failures from now on (RFC 5882: what should bring a
    /// client's session down).
    pub fn failures(&self) -> Failures {
        let mut status = self.status.clone();
        let seen = status.borrow_and_update().failures;
        Failures { status, seen }
    }
}

/// Waits for the failures of one session; see [`SessionHandle::failures`].
#[derive(Debug)]
pub struct Failures {
    status: watch::Receiver<SessionStatus>,
    seen: u64,
}

impl Failures {
    /// Resolves at the next failure (or at once if one happened since the last call) with the
    /// status then; `None` once the session is removed or the driver has stopped.
    pub async fn next(&mut self) -> Option<SessionStatus> {
        loop {
            let status = *self.status.borrow_and_update();
            if status.failures > self.seen {
                self.seen = status.failures;
                return Some(status);
            }
            self.status.changed().await.ok()?;
        }
    }
}
