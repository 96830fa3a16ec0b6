//! One state machine with its timers, its connection and its connection attempt.
//!
//! A peer usually has one slot; while two connections collide (RFC 4271 section 6.8) it has
//! two, each with its own machine, until collision detection dumps one.

use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::fsm::{Fsm, SessionConfig, State, Timer};
use crate::message::Message;

use super::connection::{Connection, Received};
use super::socket::ConnectError;
use super::timers::Timers;

/// What a slot produced.
// Moved once per message, like the `Message` it carries.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SlotInput {
    /// A timer fired.
    Timer(Timer),
    /// The connection produced something.
    Received(Received),
    /// The outgoing connection attempt finished.
    Connected(Result<TcpStream, ConnectError>),
}

/// A state machine and the I/O it drives.
#[derive(Debug)]
pub struct Slot {
    /// The machine.
    pub fsm: Fsm,
    /// Its timers.
    pub timers: Timers,
    /// Its connection, once there is one.
    pub conn: Option<Connection>,
    /// The outgoing connection attempt in progress.
    pub connecting: Option<JoinHandle<Result<TcpStream, ConnectError>>>,
}

impl Slot {
    /// A slot in Idle.
    pub fn new(config: SessionConfig) -> Slot {
        Slot {
            fsm: Fsm::new(config, rand::random()),
            timers: Timers::default(),
            conn: None,
            connecting: None,
        }
    }

    /// The machine's state.
    pub fn state(&self) -> State {
        self.fsm.state()
    }

    /// Waits for the next input: a timer (first, so a busy connection cannot starve them), a
    /// message, or the end of the connection attempt. Cancel-safe.
    pub async fn next(&mut self, read: bool) -> SlotInput {
        tokio::select! {
            biased;
            timer = self.timers.expired() => SlotInput::Timer(timer),
            received = next_received(self.conn.as_mut(), read) => SlotInput::Received(received),
            result = join(self.connecting.as_mut()) => {
                self.connecting = None;
                SlotInput::Connected(result)
            }
        }
    }

    /// Queues a message on the connection, if there is one.
    pub fn send(&mut self, msg: &Message) {
        if let Some(conn) = self.conn.as_mut() {
            if let Err(e) = conn.queue(msg) {
                tracing::warn!(error = %e, msg_type = msg.type_code(), "cannot encode message; not sent");
            }
        }
    }

    /// Closes the connection, or abandons the connection attempt if there is no connection.
    pub fn drop_connection(&mut self) {
        match self.conn.take() {
            Some(conn) => conn.close(),
            None => self.abort_connect(),
        }
    }

    /// Abandons the connection attempt in progress.
    pub fn abort_connect(&mut self) {
        if let Some(attempt) = self.connecting.take() {
            attempt.abort();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.abort_connect();
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

async fn next_received(conn: Option<&mut Connection>, read: bool) -> Received {
    match conn {
        Some(conn) => conn.next(read).await,
        None => std::future::pending().await,
    }
}

async fn join(
    attempt: Option<&mut JoinHandle<Result<TcpStream, ConnectError>>>,
) -> Result<TcpStream, ConnectError> {
    match attempt {
        Some(handle) => match handle.await {
            Ok(result) => result,
            Err(e) => Err(ConnectError::Io(std::io::Error::other(e))),
        },
        None => std::future::pending().await,
    }
}
