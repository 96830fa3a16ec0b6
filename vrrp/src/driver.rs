//! [`Instance`]: one virtual router on one interface, driven by a tokio task.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::announce::ArpAnnouncer;
use crate::config::InstanceConfig;
use crate::error::VrrpError;
use crate::machine::{Action, Heard, State, VirtualRouter};
use crate::netlink::{LinkInfo, Netlink};
use crate::packet::{decode_ipv4, Advertisement, MULTICAST_V4};
use crate::socket::VrrpSocket;

/// Room for the largest advertisement: 60 bytes of IPv4 header, 8 of VRRP, 255 addresses.
const RECV_BUFFER: usize = 2048;
/// How often the interface is checked for being up (a down interface is a fault).
const LINK_POLL: Duration = Duration::from_secs(1);
/// Pause after a failed receive so a persistent socket error cannot spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What an instance reports (also to metrics and the admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The instance name.
    pub name: String,
    /// The current state.
    pub state: State,
    /// The master as last heard (this router's primary address when master).
    pub master: Option<IpAddr>,
    /// This router's primary address on the interface.
    pub primary: Option<Ipv4Addr>,
    /// Whether a tracked condition (external, or the interface being down) fails.
    pub fault: bool,
    /// State changes so far.
    pub transitions: u64,
    /// Times this router became master.
    pub became_master: u64,
    /// Advertisements sent.
    pub adverts_sent: u64,
    /// Valid advertisements received for this virtual router.
    pub adverts_received: u64,
    /// Packets discarded by the receive checks (TTL, version, checksum, length).
    pub invalid_received: u64,
}

enum Command {
    SetFault(bool),
    Shutdown(oneshot::Sender<()>),
}

/// A running VRRP instance. Dropping it without [`Instance::shutdown`] also resigns and
/// releases the addresses, as soon as the task notices.
#[derive(Debug)]
pub struct Instance {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::SetFault(v) => write!(f, "SetFault({v})"),
            Command::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

impl Instance {
    /// Looks up the interface and its primary IPv4 address, opens the sockets, removes
    /// virtual addresses a previous run may have left behind, and starts (as backup, or as
    /// master for the address owner). Runs in the network namespace of the calling thread.
    pub async fn start(config: InstanceConfig) -> Result<Instance, VrrpError> {
        config.validate()?;
        let netlink = Netlink::connect()?;
        let link = netlink.link(&config.interface).await?;
        let interface_error = |reason: &str| VrrpError::Interface {
            interface: config.interface.clone(),
            reason: reason.to_owned(),
        };
        let primary = netlink
            .ipv4_addresses(link.index)
            .await?
            .into_iter()
            .find(|a| !config.addresses.contains(a))
            .ok_or_else(|| interface_error("no IPv4 address besides the virtual ones"))?;
        let mac = link
            .mac
            .ok_or_else(|| interface_error("no Ethernet address for gratuitous ARP"))?;
        let socket = VrrpSocket::open(
            &config.interface,
            link.index,
            primary,
            config.unicast_peers.is_empty(),
        )
        .map_err(VrrpError::socket("VRRP raw socket"))?;
        let arp = ArpAnnouncer::open(link.index, mac).map_err(VrrpError::socket("ARP socket"))?;
        for address in &config.addresses {
            netlink.remove(link.index, *address).await?;
        }
        let machine = VirtualRouter::new(config.settings(), IpAddr::V4(primary));
        let (status_tx, status_rx) = watch::channel(Status {
            name: config.name.clone(),
            state: State::Initialize,
            master: None,
            primary: Some(primary),
            fault: false,
            transitions: 0,
            became_master: 0,
            adverts_sent: 0,
            adverts_received: 0,
            invalid_received: 0,
        });
        tracing::info!(
            instance = %config.name,
            interface = %config.interface,
            vrid = config.vrid,
            priority = config.priority,
            %primary,
            "VRRP instance starting"
        );
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            config,
            link,
            primary,
            machine,
            socket,
            arp,
            netlink,
            status: status_tx,
            external_fault: false,
            gratuitous_left: 0,
            gratuitous_at: None,
        };
        Ok(Instance {
            commands: commands_tx,
            status: status_rx,
            task: tokio::spawn(driver.run(commands_rx)),
        })
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Reports a tracked condition failing (`true`: resign and stay out) or recovering.
    pub fn set_fault(&self, fault: bool) {
        let _ = self.commands.send(Command::SetFault(fault));
    }

    /// Resigns (priority 0, so a backup takes over after Skew_Time), removes the virtual
    /// addresses and stops.
    pub async fn shutdown(self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
        let _ = self.task.await;
    }
}

struct Driver {
    config: InstanceConfig,
    link: LinkInfo,
    primary: Ipv4Addr,
    machine: VirtualRouter,
    socket: VrrpSocket,
    arp: ArpAnnouncer,
    netlink: Netlink,
    status: watch::Sender<Status>,
    external_fault: bool,
    gratuitous_left: u32,
    gratuitous_at: Option<Instant>,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let actions = self.machine.startup(now());
        self.execute(actions).await;
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut link_poll = tokio::time::interval(LINK_POLL);
        link_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = match (self.machine.next_deadline(), self.gratuitous_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::SetFault(fault)) => {
                        self.external_fault = fault;
                        self.update_fault().await;
                    }
                    Some(Command::Shutdown(done)) => {
                        self.stop().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                received = self.socket.recv(&mut buf) => match received {
                    Ok(n) => self.on_datagram(buf.get(..n).unwrap_or_default()).await,
                    Err(error) => {
                        tracing::warn!(instance = %self.config.name, %error, "receiving VRRP");
                        tokio::time::sleep(RECV_ERROR_PAUSE).await;
                    }
                },
                () = sleep_until(deadline) => {
                    let now = now();
                    if self.gratuitous_at.is_some_and(|t| t <= now) {
                        self.announce(now);
                    }
                    let actions = self.machine.on_timer(now);
                    self.execute(actions).await;
                }
                _ = link_poll.tick() => {
                    match self.netlink.link(&self.config.interface).await {
                        Ok(link) => self.link.up = link.up && link.index == self.link.index,
                        Err(_) => self.link.up = false,
                    }
                    self.update_fault().await;
                }
            }
        }
    }

    async fn update_fault(&mut self) {
        let fault = self.external_fault || !self.link.up;
        if fault != self.status.borrow().fault {
            tracing::warn!(
                instance = %self.config.name,
                fault,
                interface_up = self.link.up,
                tracked_failure = self.external_fault,
                "VRRP fault state changed"
            );
            self.status.send_modify(|s| s.fault = fault);
        }
        let actions = self.machine.set_fault(now(), fault);
        self.execute(actions).await;
    }

    async fn stop(&mut self) {
        let actions = self.machine.shutdown();
        self.execute(actions).await;
        tracing::info!(instance = %self.config.name, "VRRP instance stopped");
    }

    async fn on_datagram(&mut self, datagram: &[u8]) {
        let received = match decode_ipv4(datagram) {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(instance = %self.config.name, %error, "VRRP packet discarded");
                self.status.send_modify(|s| s.invalid_received += 1);
                return;
            }
        };
        let ours = IpAddr::V4(self.primary);
        let to_us =
            received.destination == IpAddr::V4(MULTICAST_V4) || received.destination == ours;
        if received.source == ours || !to_us || received.advertisement.vrid != self.config.vrid {
            return;
        }
        let advertisement = received.advertisement;
        if advertisement.addresses.len() != self.config.addresses.len()
            || !self
                .config
                .addresses
                .iter()
                .all(|a| advertisement.addresses.contains(&IpAddr::V4(*a)))
        {
            // RFC 5798 7.1 allows acting on it anyway; a mismatch is a configuration error.
            tracing::debug!(
                instance = %self.config.name,
                source = %received.source,
                addresses = ?advertisement.addresses,
                "advertisement lists other virtual addresses"
            );
        }
        self.status.send_modify(|s| s.adverts_received += 1);
        let heard = Heard {
            source: received.source,
            priority: advertisement.priority,
            max_advert_interval: advertisement.max_advert_interval,
        };
        let actions = self.machine.on_advertisement(now(), heard);
        self.execute(actions).await;
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Advertise { priority } => self.advertise(priority).await,
                Action::TakeAddresses => {
                    for address in &self.config.addresses {
                        if let Err(error) = self.netlink.add(self.link.index, *address).await {
                            tracing::error!(instance = %self.config.name, %address, %error, "adding virtual address");
                        }
                    }
                    self.gratuitous_left = self.config.gratuitous_count;
                    self.announce(now());
                }
                Action::ReleaseAddresses => {
                    self.gratuitous_left = 0;
                    self.gratuitous_at = None;
                    for address in &self.config.addresses {
                        if let Err(error) = self.netlink.remove(self.link.index, *address).await {
                            tracing::error!(instance = %self.config.name, %address, %error, "removing virtual address");
                        }
                    }
                }
                Action::Transition { from, to } => {
                    tracing::info!(
                        instance = %self.config.name,
                        from = from.as_str(),
                        to = to.as_str(),
                        master = ?self.machine.master(),
                        "VRRP state changed"
                    );
                    self.status.send_modify(|s| {
                        s.transitions += 1;
                        if to == State::Master {
                            s.became_master += 1;
                        }
                    });
                }
            }
        }
        let (state, master) = (self.machine.state(), self.machine.master());
        self.status.send_if_modified(|s| {
            let changed = s.state != state || s.master != master;
            s.state = state;
            s.master = master;
            changed
        });
    }

    /// Sends one round of gratuitous ARP and schedules the next.
    fn announce(&mut self, now: Instant) {
        if self.gratuitous_left == 0 {
            self.gratuitous_at = None;
            return;
        }
        self.gratuitous_left -= 1;
        for address in &self.config.addresses {
            if let Err(error) = self.arp.announce(*address) {
                tracing::debug!(instance = %self.config.name, %address, %error, "gratuitous ARP");
            }
        }
        self.gratuitous_at =
            (self.gratuitous_left > 0).then(|| now + self.config.gratuitous_spacing);
    }

    async fn advertise(&mut self, priority: u8) {
        let advertisement = Advertisement {
            vrid: self.config.vrid,
            priority,
            max_advert_interval: self.config.advert_interval,
            addresses: self
                .config
                .addresses
                .iter()
                .map(|a| IpAddr::V4(*a))
                .collect(),
        };
        let destinations = if self.config.unicast_peers.is_empty() {
            vec![MULTICAST_V4]
        } else {
            self.config.unicast_peers.clone()
        };
        for destination in destinations {
            let message = match advertisement.encode(self.primary.into(), destination.into()) {
                Ok(m) => m,
                Err(error) => {
                    // Validation rules this out; log rather than panic if it ever happens.
                    tracing::error!(instance = %self.config.name, %error, "encoding advertisement");
                    return;
                }
            };
            match self.socket.send(&message, destination).await {
                Ok(()) => self.status.send_modify(|s| s.adverts_sent += 1),
                Err(error) => {
                    tracing::warn!(instance = %self.config.name, %destination, %error, "sending advertisement")
                }
            }
        }
    }
}
