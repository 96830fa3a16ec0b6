//! Code under test that needs tokio, running on its own current-thread runtime on a thread
//! inside a namespace until the test drops it: an L2 announcer, a liveness-group member, a
//! BGP speaker. The test's main thread stays free to block on waits and daemon queries.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::netns::{Netns, NsThread};

/// Something started by [`NsRuntime::start`], running inside a namespace. Dropping it drops the
/// test's handle, runs the stop step on the runtime and joins the thread, so the namespace can
/// go right after (also while a test panics).
#[derive(Debug)]
pub struct NsRuntime<H> {
    handle: Option<H>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl<H: Send + 'static> NsRuntime<H> {
    /// Builds a current-thread runtime on a new thread inside `ns` and runs `start` on it.
    /// `start` returns the state kept on the runtime and the handle the test gets; the runtime
    /// then idles (running whatever `start` spawned) until the [`NsRuntime`] is dropped, when
    /// `stop` gets the state. Fails if the runtime cannot be built, `start` panics, or it does
    /// not finish within `timeout` (the thread is then left to end on its own).
    pub fn start<S, Start, Started, Stop, Stopped>(
        ns: &Netns,
        timeout: Duration,
        start: Start,
        stop: Stop,
    ) -> Result<NsRuntime<H>>
    where
        Start: FnOnce() -> Started + Send + 'static,
        Started: Future<Output = (S, H)>,
        Stop: FnOnce(S) -> Stopped + Send + 'static,
        Stopped: Future<Output = ()>,
    {
        let (ready_tx, ready_rx) = mpsc::channel::<std::result::Result<H, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = ns.spawn_thread_in(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("building a tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let (state, handle) = start().await;
                if ready_tx.send(Ok(handle)).is_err() {
                    // The test gave up waiting; nobody will ask for the stop.
                    drop(stop_rx);
                } else {
                    // A dropped sender (the test ended or panicked) stops it too.
                    let _ = stop_rx.await;
                }
                stop(state).await;
            });
        })?;
        match ready_rx.recv_timeout(timeout) {
            Ok(Ok(handle)) => Ok(NsRuntime {
                handle: Some(handle),
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(reason)) => {
                let _ = thread.join();
                Err(Error::Thread(reason))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let reason = match thread.join() {
                    Err(panic) => panic_message(panic.as_ref()),
                    Ok(()) => "it ended without starting".to_owned(),
                };
                Err(Error::Thread(format!(
                    "starting inside {}: {reason}",
                    ns.name()
                )))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Thread(format!(
                "starting inside {}: not done after {timeout:?}",
                ns.name()
            ))),
        }
    }

    /// The handle `start` returned.
    pub fn handle(&self) -> &H {
        // Only `Drop` takes it.
        self.handle
            .as_ref()
            .unwrap_or_else(|| unreachable!("handle taken before drop"))
    }
}

impl<H> Drop for NsRuntime<H> {
    fn drop(&mut self) {
        // The handle first: the stop step may need to be its state's only owner.
        drop(self.handle.take());
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The text of a panic payload (`panic!` with a message, or a formatted one).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        format!("panicked: {text}")
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("panicked: {text}")
    } else {
        "panicked".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_messages() {
        let cases: [(Box<dyn std::any::Any + Send>, &str); 3] = [
            (Box::new("bind failed"), "panicked: bind failed"),
            (Box::new(String::from("no route")), "panicked: no route"),
            (Box::new(7_u32), "panicked"),
        ];
        for (payload, want) in cases {
            assert_eq!(panic_message(payload.as_ref()), want);
        }
    }
}
