//! The passive side: listening sockets that hand accepted connections to the right peer.
//!
//! A connection from a configured peer's address goes to that peer's task (which runs
//! collision detection if it already has a connection). A connection from inside a
//! [`DynamicNeighbors`] range starts a new passive peer whose OPEN must carry one of the
//! range's ASNs. Anything else is closed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::fsm::PeerAsn;
use crate::types::Asn;

use super::config::PeerConfig;
use super::error::SessionError;
use super::handle::PeerHandle;
use super::md5;
use super::socket;
use super::task::PeerTask;

/// Accepted connections queued for one peer before further ones are refused.
const INCOMING_QUEUE: usize = 4;

/// A range of addresses from which unconfigured peers may connect (BGP dynamic neighbours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicNeighbors {
    /// The prefixes peers may connect from.
    pub prefixes: Vec<IpNet>,
    /// The ASNs such a peer may have.
    pub allowed_asns: Vec<Asn>,
    /// The most peers from this range at once (`None`: no limit).
    pub limit: Option<usize>,
    /// Settings for each peer; the address and peer ASN are filled in per connection and the
    /// peer is always passive. The MD5 password, if any, covers the whole range.
    pub template: PeerConfig,
}

#[derive(Debug)]
struct PeerEntry {
    incoming: mpsc::Sender<TcpStream>,
    /// The smallest TTL the peer's packets may arrive with (GTSM), 0 for any.
    min_ttl: u8,
}

#[derive(Debug)]
struct RangeEntry {
    id: u64,
    range: DynamicNeighbors,
    active: usize,
    handles: mpsc::Sender<PeerHandle>,
}

#[derive(Debug, Default)]
struct Registry {
    peers: HashMap<IpAddr, PeerEntry>,
    ranges: Vec<RangeEntry>,
    next_range_id: u64,
}

impl Registry {
    /// The smallest TTL the listening sockets of a family may demand: the least strict of
    /// every peer and range of that family, so GTSM drops a spoofed SYN at the listener when
    /// all peers use it.
    fn listener_min_ttl(&self, v6: bool) -> u8 {
        let peers = self
            .peers
            .iter()
            .filter(|(a, _)| a.is_ipv6() == v6)
            .map(|(_, e)| e.min_ttl);
        let ranges = self.ranges.iter().flat_map(|r| {
            let min = r.range.template.ttl.min_ttl();
            r.range
                .prefixes
                .iter()
                .filter(move |p| p.addr().is_ipv6() == v6)
                .map(move |_| min)
        });
        peers.chain(ranges).min().unwrap_or(0)
    }
}

#[derive(Debug)]
struct Inner {
    sockets: Vec<Arc<TcpListener>>,
    local_addrs: Vec<SocketAddr>,
    registry: Mutex<Registry>,
    accept_tasks: Mutex<Vec<AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = self
            .accept_tasks
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for task in tasks {
            task.abort();
        }
    }
}

/// Listening sockets for BGP (SO_REUSEADDR, TTL 255, per-peer MD5 keys).
///
/// Cheap to clone. The sockets close when the last clone and the last peer registered with
/// it are gone.
#[derive(Debug, Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

impl Listener {
    /// Listens on each address (port 0 picks a free port; see [`Listener::local_addrs`]).
    /// Must be called within a tokio runtime.
    pub fn bind(addrs: &[SocketAddr]) -> Result<Listener, SessionError> {
        let sockets = addrs
            .iter()
            .map(|a| socket::bind_listener(*a).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let local_addrs = sockets
            .iter()
            .zip(addrs)
            .map(|(s, a)| {
                s.local_addr()
                    .map_err(|source| SessionError::Bind { addr: *a, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let inner = Arc::new(Inner {
            sockets,
            local_addrs,
            registry: Mutex::new(Registry::default()),
            accept_tasks: Mutex::new(Vec::new()),
        });
        let tasks: Vec<AbortHandle> = inner
            .sockets
            .iter()
            .map(|s| tokio::spawn(accept_loop(s.clone(), Arc::downgrade(&inner))).abort_handle())
            .collect();
        *lock(&inner.accept_tasks) = tasks;
        for addr in &inner.local_addrs {
            tracing::info!(%addr, "BGP listener up");
        }
        Ok(Listener { inner })
    }

    /// The bound addresses, with the ports actually in use.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.local_addrs
    }

    /// Accepts peers from a range; each one's [`PeerHandle`] arrives on the returned receiver
    /// once its session is Established. Its events end when its connection does; a later
    /// connection from the same address is a new peer.
    pub fn add_dynamic(
        &self,
        range: DynamicNeighbors,
    ) -> Result<mpsc::Receiver<PeerHandle>, SessionError> {
        range.template.validate()?;
        if range.allowed_asns.is_empty() {
            return Err(SessionError::InvalidConfig(
                "dynamic neighbour range without allowed ASNs".into(),
            ));
        }
        if let Some(password) = &range.template.md5_password {
            for prefix in &range.prefixes {
                self.inner.install_key(*prefix, password.as_bytes())?;
            }
        }
        let (tx, rx) = mpsc::channel(64);
        let mut reg = lock(&self.inner.registry);
        let id = reg.next_range_id;
        reg.next_range_id += 1;
        reg.ranges.push(RangeEntry {
            id,
            range,
            active: 0,
            handles: tx,
        });
        self.inner.update_min_ttl(&reg);
        Ok(rx)
    }

    /// Registers a configured peer; its task receives the connections from its address.
    pub(crate) fn register(
        &self,
        config: &PeerConfig,
    ) -> Result<(Registration, mpsc::Receiver<TcpStream>), SessionError> {
        let addr = config.address;
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        {
            let mut reg = lock(&self.inner.registry);
            if reg.peers.contains_key(&addr) {
                return Err(SessionError::DuplicatePeer(addr));
            }
            let min_ttl = config.ttl.min_ttl();
            reg.peers.insert(
                addr,
                PeerEntry {
                    incoming: tx,
                    min_ttl,
                },
            );
            self.inner.update_min_ttl(&reg);
        }
        let registration = Registration {
            inner: self.inner.clone(),
            addr,
            range: None,
            md5: config.md5_password.is_some(),
        };
        if let Some(password) = &config.md5_password {
            // On error, dropping `registration` undoes the registration.
            self.inner
                .install_key(IpNet::from(addr), password.as_bytes())?;
        }
        Ok((registration, rx))
    }
}

impl Inner {
    fn update_min_ttl(&self, reg: &Registry) {
        for (socket, local) in self.sockets.iter().zip(&self.local_addrs) {
            let min = reg.listener_min_ttl(local.is_ipv6());
            if let Err(e) = socket::set_min_ttl(socket.as_ref(), local.is_ipv6(), min) {
                tracing::warn!(%local, error = %e, "cannot set the listener's minimum TTL");
            }
        }
    }

    /// Installs an MD5 key on every listening socket of the address's family.
    fn install_key(&self, prefix: IpNet, key: &[u8]) -> Result<(), SessionError> {
        for (socket, local) in self.sockets.iter().zip(&self.local_addrs) {
            if local.is_ipv4() == prefix.addr().is_ipv4() {
                md5::set_key(socket.as_ref(), prefix, key)?;
            }
        }
        Ok(())
    }

    fn remove_key(&self, prefix: IpNet) {
        for (socket, local) in self.sockets.iter().zip(&self.local_addrs) {
            if local.is_ipv4() == prefix.addr().is_ipv4() {
                if let Err(e) = md5::remove_key(socket.as_ref(), prefix) {
                    tracing::warn!(%prefix, error = %e, "cannot remove MD5 key");
                }
            }
        }
    }

    fn dispatch(self: &Arc<Self>, stream: TcpStream, remote: SocketAddr) {
        let ip = remote.ip().to_canonical();
        let mut reg = lock(&self.registry);
        if let Some(peer) = reg.peers.get(&ip) {
            if peer.incoming.try_send(stream).is_err() {
                tracing::warn!(%remote, "peer is not taking connections; closed");
            }
            return;
        }
        let Some(range) = reg
            .ranges
            .iter_mut()
            .find(|r| r.range.prefixes.iter().any(|p| p.contains(&ip)))
        else {
            tracing::warn!(%remote, "connection from an address that is no configured peer; closed");
            return;
        };
        if range.handles.is_closed() {
            tracing::warn!(%remote, "dynamic neighbour range no longer served; closed");
            return;
        }
        if range.range.limit.is_some_and(|limit| range.active >= limit) {
            tracing::warn!(%remote, limit = ?range.range.limit, "dynamic neighbour limit reached; closed");
            return;
        }
        let mut config = range.range.template.clone();
        config.address = ip;
        config.session.peer_asn = PeerAsn::OneOf(range.range.allowed_asns.clone());
        config.session.passive = true;
        let v6 = ip.is_ipv6();
        if let Err(e) = socket::configure_session(&stream, v6, config.ttl) {
            tracing::warn!(%remote, error = %e, "cannot configure accepted connection; closed");
            return;
        }
        range.active += 1;
        let (id, handles) = (range.id, range.handles.clone());
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        let min_ttl = config.ttl.min_ttl();
        reg.peers.insert(
            ip,
            PeerEntry {
                incoming: tx,
                min_ttl,
            },
        );
        drop(reg);
        tracing::info!(%remote, "dynamic neighbour connected");
        let registration = Registration {
            inner: self.clone(),
            addr: ip,
            range: Some(id),
            md5: false,
        };
        let (task, handle) = PeerTask::new(config, Some((registration, rx)));
        task.dynamic(stream, (handles, handle)).spawn();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves the data usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(socket: Arc<TcpListener>, inner: Weak<Inner>) {
    loop {
        match socket.accept().await {
            Ok((stream, remote)) => match inner.upgrade() {
                Some(inner) => inner.dispatch(stream, remote),
                None => return,
            },
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A peer's place in the listener's table (keeping the listener alive); dropping it (when the
/// peer task ends) removes the peer and its MD5 key.
#[derive(Debug)]
pub(crate) struct Registration {
    inner: Arc<Inner>,
    addr: IpAddr,
    range: Option<u64>,
    md5: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let inner = &self.inner;
        {
            let mut reg = lock(&inner.registry);
            reg.peers.remove(&self.addr);
            if let Some(range) = self
                .range
                .and_then(|id| reg.ranges.iter_mut().find(|r| r.id == id))
            {
                range.active = range.active.saturating_sub(1);
            }
            inner.update_min_ttl(&reg);
        }
        if self.md5 {
            inner.remove_key(IpNet::from(self.addr));
        }
    }
}
