//! A steady client load: a few workers in the client namespace sending
//! requests to one Service address, one new connection each, until told to
//! stop; every outcome is tallied. Requests that fail while something is
//! restarting are what a user of the Service would have seen fail.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_testbed::{Netns, NsThread};

use crate::error::{Error, Result};
use crate::http::whoami;
use crate::spread::Spread;

/// The running load; stopped (threads joined) on drop too.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<NsThread<Spread>>,
}

impl Load {
    /// Starts `workers` workers in `ns`, each sending a request to `target`
    /// (answered within `timeout`, or failed), then pausing `pause`.
    pub fn start(
        ns: &Netns,
        target: SocketAddr,
        workers: usize,
        timeout: Duration,
        pause: Duration,
    ) -> Result<Load> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Load {
            stop: stop.clone(),
            workers: Vec::with_capacity(workers),
        };
        for _ in 0..workers {
            let stop = stop.clone();
            let worker = ns.spawn_thread_in(move || {
                let mut spread = Spread::default();
                while !stop.load(Ordering::SeqCst) {
                    spread.add(whoami(target, timeout));
                    std::thread::sleep(pause);
                }
                spread
            })?;
            load.workers.push(worker);
        }
        Ok(load)
    }

    /// Stops the workers and tallies every request they sent.
    pub fn finish(mut self) -> Result<Spread> {
        self.stop.store(true, Ordering::SeqCst);
        let mut total = Spread::default();
        for worker in std::mem::take(&mut self.workers) {
            let spread = worker
                .join()
                .map_err(|_| Error::Check("a load worker panicked".into()))?;
            total = total.merge(spread);
        }
        Ok(total)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
