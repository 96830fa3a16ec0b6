//! Listen sockets: per address, `acceptWorkers` SO_REUSEPORT sockets, each with its own
//! accepting task. A reload adds sockets or stops extra ones in place; established
//! connections never depend on the socket that accepted them.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Listen backlog: bursts of new connections wait here, not in SYN retries.
const BACKLOG: u32 = 4096;
/// Pause after an accept error such as running out of file descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What a worker does with each accepted connection.
pub(crate) trait Admit: Send + Sync + Sized + 'static {
    /// Takes over one accepted client connection.
    fn admit(owner: &Arc<Self>, client: TcpStream, peer: SocketAddr);
    /// Names the owner in logs.
    fn name(&self) -> &str;
}

/// One listen socket and the task accepting on it.
#[derive(Debug)]
pub(crate) struct Worker {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Binds a socket on `address` and starts accepting into `owner`.
    fn start<A: Admit>(address: SocketAddr, owner: Arc<A>) -> io::Result<Worker> {
        let listener = bind(address)?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, stopped, owner));
        Ok(Worker {
            stop: Some(stop),
            task,
        })
    }

    /// Stops accepting. Connections already in its queue are still taken (with SO_REUSEPORT
    /// the queue is this socket's own) before the socket closes; one completing its
    /// handshake in that last instant is reset unless `net.ipv4.tcp_migrate_req` is set,
    /// which moves it to a remaining socket.
    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            // An ended task has nothing to stop.
            let _ = stop.send(());
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.stop.is_some() {
            // Not stopped in order (the runtime is going away): end it now.
            self.task.abort();
        }
    }
}

async fn accept_loop<A: Admit>(
    listener: TcpListener,
    mut stopped: oneshot::Receiver<()>,
    owner: Arc<A>,
) {
    loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => A::admit(&owner, client, peer),
                Err(error) => {
                    tracing::warn!(frontend = owner.name(), %error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
        }
    }
    drain(listener, &owner);
}

/// Accepts what waits in the queue of a socket about to close.
fn drain<A: Admit>(listener: TcpListener, owner: &Arc<A>) {
    let Ok(listener) = listener.into_std() else {
        return;
    };
    while let Ok((client, peer)) = listener.accept() {
        let client = client
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(client));
        if let Ok(client) = client {
            A::admit(owner, client, peer);
        }
    }
}

/// The listen sockets of one frontend, by address.
#[derive(Debug, Default)]
pub(crate) struct Listeners(BTreeMap<SocketAddr, Vec<Worker>>);

impl Listeners {
    /// Addresses listened on.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.0.keys().copied().collect()
    }

    /// Sockets open on `address`.
    pub fn sockets(&self, address: SocketAddr) -> usize {
        self.0.get(&address).map_or(0, Vec::len)
    }

    /// Brings `address` to `workers` sockets (at least one): opens the missing ones or stops
    /// the extra ones. On error the sockets opened so far stay; calling again retries.
    pub fn resize<A: Admit>(
        &mut self,
        address: SocketAddr,
        workers: usize,
        owner: &Arc<A>,
    ) -> io::Result<()> {
        let workers = workers.max(1);
        let sockets = self.0.entry(address).or_default();
        while sockets.len() > workers {
            if let Some(w) = sockets.pop() {
                w.stop();
            }
        }
        let mut result = Ok(());
        while sockets.len() < workers {
            match Worker::start(address, owner.clone()) {
                Ok(w) => sockets.push(w),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if sockets.is_empty() {
            self.0.remove(&address);
        }
        result
    }

    /// Stops every socket of `address`; `false` if it had none.
    pub fn remove(&mut self, address: SocketAddr) -> bool {
        let Some(sockets) = self.0.remove(&address) else {
            return false;
        };
        sockets.into_iter().for_each(Worker::stop);
        true
    }
}

fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    if address.is_ipv6() {
        socket2::SockRef::from(&socket).set_only_v6(true)?;
    }
    // The service address may be a VRRP address not (yet) present on this router.
    let sock = socket2::SockRef::from(&socket);
    let _ = if address.is_ipv4() {
        sock.set_freebind_v4(true)
    } else {
        sock.set_freebind_v6(true)
    };
    socket.bind(address)?;
    socket.listen(BACKLOG)
}
