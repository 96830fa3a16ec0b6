//! Starting a peer.

use super::config::PeerConfig;
use super::error::SessionError;
use super::handle::PeerHandle;
use super::listener::Listener;
use super::socket;
use super::task::PeerTask;

/// Starts a task for one configured peer and returns its handle. The session stays Idle until
/// [`PeerControl::start`](super::PeerControl::start).
///
/// With a `listener`, the peer also accepts connections from its address (and the listener
/// gets the peer's MD5 key); without one it only connects out, so it cannot be passive.
/// Must be called within a tokio runtime.
///
/// Fails on an invalid configuration, an MD5 key the kernel refuses, or a peer address the
/// listener already serves.
pub fn spawn_peer(
    config: PeerConfig,
    listener: Option<&Listener>,
) -> Result<PeerHandle, SessionError> {
    config.validate()?;
    if config.session.passive && listener.is_none() {
        return Err(SessionError::InvalidConfig(format!(
            "peer {}: a passive peer needs a listener",
            config.address
        )));
    }
    if let Some(password) = &config.md5_password {
        socket::probe_md5(config.address, password)?;
    }
    let registration = listener.map(|l| l.register(&config)).transpose()?;
    let (task, handle) = PeerTask::new(config, registration);
    task.spawn();
    Ok(handle)
}
