//! BFD tracking of the VRRP master, in process: a `ferrolb-bfd` session from a router
//! namespace to its peer whose failure tells a FerroLB instance that its master is
//! unreachable, as `ferrolb-router` does for `vrrp.instances[].bfd`.

use std::net::Ipv4Addr;
use std::time::Duration;

use ferrolb_bfd::{BfdDriver, DriverConfig, SessionKey, SessionParams, State};
use ferrolb_testbed::netns::{Netns, NsThread};
use tokio::sync::{oneshot, watch};

use super::{current_thread_runtime, wait_until, FerroNode, WAIT};

/// A BFD session (detect multiplier 3) reporting its failures to a FerroLB instance.
pub struct BfdWatch {
    up: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl BfdWatch {
    /// Starts a single-hop session from `local` to `peer` on `ns`'s eth0 at `interval`; each
    /// failure tells `node` that `peer` is unreachable.
    pub fn start(
        ns: &Netns,
        local: Ipv4Addr,
        peer: Ipv4Addr,
        interval: Duration,
        node: &FerroNode,
    ) -> BfdWatch {
        let notify = node.unreachable_notifier();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (up_tx, up) = watch::channel(false);
        let thread = ns
            .spawn_thread_in(move || {
                let rt = current_thread_runtime();
                let driver = BfdDriver::start(DriverConfig::default()).unwrap();
                let key = SessionKey::single_hop(peer.into(), local.into()).on_interface("eth0");
                let handle = driver
                    .add_session(key, SessionParams::new(interval, 3))
                    .unwrap();
                rt.block_on(async move {
                    let mut state = handle.state();
                    let mut failures = handle.failures();
                    let watch_failures = async {
                        while failures.next().await.is_some() {
                            notify(peer.into());
                        }
                    };
                    let watch_state = async {
                        while state.changed().await.is_ok() {
                            let _ = up_tx.send(state.borrow().state == State::Up);
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        () = watch_failures => {}
                        () = watch_state => {}
                    }
                });
                driver.shutdown();
            })
            .unwrap();
        BfdWatch {
            up,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Waits until the session is Up.
    pub fn wait_up(&self) {
        wait_until("the BFD session Up", WAIT, || *self.up.borrow());
    }

    fn shut(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BfdWatch {
    fn drop(&mut self) {
        self.shut();
    }
}
