//! [`Instance`]: one virtual router on one interface, driven by a tokio task.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::announce::Announcer;
use crate::config::InstanceConfig;
use crate::error::VrrpError;
use crate::machine::{Action, Heard, State, VirtualRouter, RESIGN_PRIORITY};
use crate::netlink::{LinkInfo, Netlink};
use crate::packet::{Advertisement, PacketError, Received, MULTICAST_V4, MULTICAST_V6};
use crate::socket::{Endpoints, VrrpSocket};
use crate::status::Status;
use crate::vmac::VirtualMacLink;

/// Room for the largest advertisement: 60 bytes of IPv4 header, 8 of VRRP, 255 IPv6
/// addresses.
const RECV_BUFFER: usize = 4200;
/// How often the interface is checked for being up (a down interface is a fault).
const LINK_POLL: Duration = Duration::from_secs(1);
/// Pause after a failed receive so a persistent socket error cannot spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(100);

enum Command {
    SetFault(bool),
    MasterUnreachable(IpAddr),
    Reconfigure(Box<InstanceConfig>),
    Shutdown(oneshot::Sender<()>),
}

/// A running VRRP instance. Dropping it without [`Instance::shutdown`] also resigns and
/// releases the addresses, as soon as the task notices.
#[derive(Debug)]
pub struct Instance {
    config: InstanceConfig,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::SetFault(v) => write!(f, "SetFault({v})"),
            Command::MasterUnreachable(a) => write!(f, "MasterUnreachable({a})"),
            Command::Reconfigure(c) => write!(f, "Reconfigure({:?})", c.name),
            Command::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

impl Instance {
    /// Looks up the interface and its primary address (IPv4: the first one that is not
    /// virtual; IPv6: the link-local one), opens the sockets, removes
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
        let primary =
            primary_address(&netlink.addresses(link.index).await?, &config).ok_or_else(|| {
                interface_error(if config.is_ipv6() {
                    "no IPv6 link-local address"
                } else {
                    "no IPv4 address besides the virtual ones"
                })
            })?;
        let serving = if config.virtual_mac {
            Some(VirtualMacLink::create(&netlink, &config, &link).await?)
        } else {
            None
        };
        let opened = Self::open_sockets(&netlink, &config, &link, serving.as_ref(), primary).await;
        let (socket, arp, address_index) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                if let Some(v) = &serving {
                    let _ = netlink.delete_link(v.index).await;
                }
                return Err(error);
            }
        };
        let machine = VirtualRouter::new(config.settings(), primary);
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
            checksum_errors: 0,
            ttl_errors: 0,
            priority_zero_sent: 0,
            priority_zero_received: 0,
            takeovers_on_unreachable: 0,
            priority: config.priority,
            addresses: config.addresses.clone(),
            interface: config.interface.clone(),
            vrid: config.vrid,
            mac: serving.as_ref().map(|v| v.mac).or(link.mac),
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
            address_index,
            macvlan: serving.map(|v| v.index),
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
            config: driver.config.clone(),
            commands: commands_tx,
            status: status_rx,
            task: tokio::spawn(driver.run(commands_rx)),
        })
    }

    /// Opens the VRRP and ARP sockets and removes virtual addresses a previous run may have
    /// left behind; returns them with the index of the link the addresses go on.
    async fn open_sockets(
        netlink: &Netlink,
        config: &InstanceConfig,
        link: &LinkInfo,
        serving: Option<&VirtualMacLink>,
        primary: IpAddr,
    ) -> Result<(VrrpSocket, Announcer, u32), VrrpError> {
        let (send_interface, index, mac) = match serving {
            Some(v) => (v.name.as_str(), v.index, Some(v.mac)),
            None => (config.interface.as_str(), link.index, link.mac),
        };
        let mac = mac.ok_or_else(|| VrrpError::Interface {
            interface: config.interface.clone(),
            reason: "no Ethernet address for gratuitous ARP".into(),
        })?;
        let socket = VrrpSocket::open(Endpoints {
            interface: &config.interface,
            ifindex: link.index,
            send_interface,
            primary,
            multicast: config.unicast_peers.is_empty(),
        })
        .map_err(VrrpError::socket("VRRP raw socket"))?;
        let arp = Announcer::open(index, mac).map_err(VrrpError::socket("announcement socket"))?;
        for address in &config.addresses {
            netlink.remove(link.index, *address).await?;
            if index != link.index {
                netlink.remove(index, *address).await?;
            }
        }
        Ok((socket, arp, index))
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The configuration in force.
    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// Applies `new` in place (priority, preemption, interval), without leaving the current
    /// state; fails, changing nothing, if `new` is invalid or needs a new instance (see
    /// [`InstanceConfig::reconfigurable_to`]).
    pub fn reconfigure(&mut self, new: InstanceConfig) -> Result<(), VrrpError> {
        new.validate()?;
        if !self.config.reconfigurable_to(&new) {
            return Err(VrrpError::Config(format!(
                "instance {:?}: only priority, preemption and timers change in place",
                new.name
            )));
        }
        self.config = new.clone();
        let _ = self.commands.send(Command::Reconfigure(Box::new(new)));
        Ok(())
    }

    /// Reports a tracked condition failing (`true`: resign and stay out) or recovering.
    pub fn set_fault(&self, fault: bool) {
        let _ = self.commands.send(Command::SetFault(fault));
    }

    /// Reports the router at `address` unreachable (its BFD session failed): a backup whose
    /// master it is takes over now rather than after Master_Down_Interval.
    pub fn master_unreachable(&self, address: IpAddr) {
        let _ = self.commands.send(Command::MasterUnreachable(address));
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
    /// The link the virtual addresses go on: the interface, or the virtual MAC's macvlan.
    address_index: u32,
    /// The virtual MAC's macvlan, deleted at stop.
    macvlan: Option<u32>,
    primary: IpAddr,
    machine: VirtualRouter,
    socket: VrrpSocket,
    arp: Announcer,
    netlink: Netlink,
    status: watch::Sender<Status>,
    external_fault: bool,
    gratuitous_left: u32,
    gratuitous_at: Option<Instant>,
}

/// The source of advertisements among the interface's `addresses`: IPv4, the first address
/// that is not virtual (the kernel lists the primary first); IPv6, the link-local address
/// (RFC 5798 5.1.2.1).
fn primary_address(addresses: &[IpAddr], config: &InstanceConfig) -> Option<IpAddr> {
    let v6 = config.is_ipv6();
    addresses.iter().copied().find(|a| match a {
        IpAddr::V4(_) => !v6 && !config.addresses.contains(a),
        IpAddr::V6(a) => v6 && a.is_unicast_link_local(),
    })
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
                    Some(Command::MasterUnreachable(address)) => {
                        let actions = self.machine.on_master_unreachable(now(), address);
                        if !actions.is_empty() {
                            tracing::warn!(instance = %self.config.name, master = %address, "the master is unreachable: taking over");
                            self.status.send_modify(|s| s.takeovers_on_unreachable += 1);
                        }
                        self.execute(actions).await;
                    }
                    Some(Command::Reconfigure(new)) => self.reconfigure(*new).await,
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
                    Ok(received) => self.on_datagram(received).await,
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

    /// The VRRP group of the instance's family.
    fn multicast(&self) -> IpAddr {
        if self.primary.is_ipv6() {
            MULTICAST_V6.into()
        } else {
            MULTICAST_V4.into()
        }
    }

    async fn reconfigure(&mut self, new: InstanceConfig) {
        tracing::info!(
            instance = %new.name,
            priority = new.priority,
            preempt = new.preempt,
            advert_interval = new.advert_interval,
            "VRRP instance reconfigured"
        );
        let actions = self.machine.reconfigure(now(), new.settings());
        self.status.send_modify(|s| s.priority = new.priority);
        self.config = new;
        self.execute(actions).await;
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
        if let Some(index) = self.macvlan {
            if let Err(error) = self.netlink.delete_link(index).await {
                tracing::warn!(instance = %self.config.name, %error, "deleting the virtual MAC interface");
            }
        }
        tracing::info!(instance = %self.config.name, "VRRP instance stopped");
    }

    async fn on_datagram(&mut self, received: Result<Received, PacketError>) {
        let received = match received {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(instance = %self.config.name, %error, "VRRP packet discarded");
                self.status.send_modify(|s| {
                    s.invalid_received += 1;
                    match error {
                        PacketError::BadChecksum => s.checksum_errors += 1,
                        PacketError::BadTtl(_) => s.ttl_errors += 1,
                        _ => {}
                    }
                });
                return;
            }
        };
        let ours = self.primary;
        let to_us = received.destination == self.multicast() || received.destination == ours;
        if received.source == ours || !to_us || received.advertisement.vrid != self.config.vrid {
            return;
        }
        let advertisement = received.advertisement;
        if advertisement.addresses.len() != self.config.addresses.len()
            || !self
                .config
                .addresses
                .iter()
                .all(|a| advertisement.addresses.contains(a))
        {
            // RFC 5798 7.1 allows acting on it anyway; a mismatch is a configuration error.
            tracing::debug!(
                instance = %self.config.name,
                source = %received.source,
                addresses = ?advertisement.addresses,
                "advertisement lists other virtual addresses"
            );
        }
        let resigned = advertisement.priority == RESIGN_PRIORITY;
        self.status.send_modify(|s| {
            s.adverts_received += 1;
            s.priority_zero_received += u64::from(resigned);
        });
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
                        if let Err(error) = self.netlink.add(self.address_index, *address).await {
                            tracing::error!(instance = %self.config.name, %address, %error, "adding virtual address");
                        }
                    }
                    self.announce_again();
                }
                Action::Announce => self.announce_again(),
                Action::ReleaseAddresses => {
                    self.gratuitous_left = 0;
                    self.gratuitous_at = None;
                    for address in &self.config.addresses {
                        if let Err(error) = self.netlink.remove(self.address_index, *address).await
                        {
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

    /// Starts the configured series of gratuitous ARP / unsolicited NA rounds.
    fn announce_again(&mut self) {
        self.gratuitous_left = self.config.gratuitous_count;
        self.announce(now());
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
            addresses: self.config.addresses.clone(),
        };
        let destinations = if self.config.unicast_peers.is_empty() {
            vec![self.multicast()]
        } else {
            self.config.unicast_peers.clone()
        };
        for destination in destinations {
            let message = match advertisement.encode(self.primary, destination) {
                Ok(m) => m,
                Err(error) => {
                    // Validation rules this out; log rather than panic if it ever happens.
                    tracing::error!(instance = %self.config.name, %error, "encoding advertisement");
                    return;
                }
            };
            match self.socket.send(&message, destination).await {
                Ok(()) => self.status.send_modify(|s| {
                    s.adverts_sent += 1;
                    s.priority_zero_sent += u64::from(priority == RESIGN_PRIORITY);
                }),
                Err(error) => {
                    tracing::warn!(instance = %self.config.name, %destination, %error, "sending advertisement")
                }
            }
        }
    }
}
