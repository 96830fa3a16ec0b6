//! SIGHUP, the conventional "re-read your configuration" request
//! (`systemctl reload` sends it).

use tokio::signal::unix::{Signal, SignalKind};

use crate::shutdown::{install, SignalError};

/// A stream of reload requests. Once installed, SIGHUP no longer terminates
/// the process.
#[derive(Debug)]
pub struct ReloadSignal {
    hup: Signal,
}

impl ReloadSignal {
    /// Starts catching SIGHUP. Needs a tokio runtime.
    pub fn install() -> Result<Self, SignalError> {
        Ok(Self {
            hup: install(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// Waits for the next SIGHUP. Several signals arriving before this is
    /// polled are reported once.
    pub async fn recv(&mut self) {
        if self.hup.recv().await.is_none() {
            // The signal driver is gone (runtime shutting down): no more
            // reloads will come.
            std::future::pending::<()>().await;
        }
        tracing::info!(signal = "SIGHUP", "reload requested");
    }
}
