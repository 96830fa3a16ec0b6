//! The VRRPv3 state machine of one virtual router (RFC 5798 6.4), pure: the driver passes
//! the time in and carries out the returned [`Action`]s.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The priority of the router that owns the virtual addresses (RFC 5798 5.2.4).
pub const OWNER_PRIORITY: u8 = 255;
/// The priority a master advertises when it gives up, so a backup takes over at once.
pub const RESIGN_PRIORITY: u8 = 0;

/// What the state machine needs to know about its virtual router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Virtual router ID.
    pub vrid: u8,
    /// This router's priority, 1 to 255 (255 only for the address owner).
    pub priority: u8,
    /// Advertisement interval in centiseconds, 1 to 4095.
    pub advert_interval: u16,
    /// Whether a higher-priority backup takes over from a lower-priority master.
    pub preempt: bool,
    /// No preemption until this long after startup (so a rebooted router settles first).
    pub preempt_delay: Duration,
    /// Whether the addresses are served from the virtual MAC. Then clients' neighbour entries
    /// stay right whoever is master; with the interface's own MAC they follow announcements.
    pub virtual_mac: bool,
}

/// The RFC's three states, plus `Fault`: Initialize while a tracked condition fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Not running.
    Initialize,
    /// Watching the master, ready to take over.
    Backup,
    /// Owning the virtual addresses and advertising.
    Master,
    /// Held out of the election by a failed tracked condition.
    Fault,
}

impl State {
    /// The lower-case name used in logs, metrics and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send an ADVERTISEMENT with this priority (and the configured interval and addresses).
    Advertise {
        /// 0 when resigning, else this router's priority.
        priority: u8,
    },
    /// Add the virtual addresses to the interface and announce them (gratuitous ARP /
    /// unsolicited NA).
    TakeAddresses,
    /// Announce the virtual addresses again (gratuitous ARP / unsolicited NA), for clients
    /// that followed another master's announcements.
    Announce,
    /// Remove the virtual addresses from the interface.
    ReleaseAddresses,
    /// The state changed (for logs and metrics).
    Transition {
        /// The previous state.
        from: State,
        /// The new state.
        to: State,
    },
}

/// A received advertisement, already checked by the codec and matched to this VRID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// The sender's primary address.
    pub source: IpAddr,
    /// The sender's priority.
    pub priority: u8,
    /// The sender's advertisement interval, centiseconds.
    pub max_advert_interval: u16,
}

/// Converts centiseconds to a duration.
pub fn centiseconds(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

/// Skew_Time: `((256 - Priority) * Master_Adver_Interval) / 256`, so higher priorities
/// time out first.
pub fn skew_time(priority: u8, master_advert_interval: u16) -> Duration {
    let micros = (256 - u64::from(priority)) * u64::from(master_advert_interval) * 10_000 / 256;
    Duration::from_micros(micros)
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time`.
pub fn master_down_interval(priority: u8, master_advert_interval: u16) -> Duration {
    centiseconds(master_advert_interval) * 3 + skew_time(priority, master_advert_interval)
}

/// One virtual router's state machine.
#[derive(Debug, Clone)]
pub struct VirtualRouter {
    settings: Settings,
    /// This router's primary address on the interface (the tie-break).
    primary: IpAddr,
    state: State,
    /// Whether a tracked condition currently fails.
    fault: bool,
    master_advert_interval: u16,
    master_down_at: Option<Instant>,
    advert_at: Option<Instant>,
    preempt_from: Option<Instant>,
    /// The current master as last heard (ourselves when master).
    master: Option<IpAddr>,
}

impl VirtualRouter {
    /// A virtual router in Initialize.
    pub fn new(settings: Settings, primary: IpAddr) -> VirtualRouter {
        VirtualRouter {
            master_advert_interval: settings.advert_interval,
            settings,
            primary,
            state: State::Initialize,
            fault: false,
            master_down_at: None,
            advert_at: None,
            preempt_from: None,
            master: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The master's address as last known, if any.
    pub fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The earliest time [`VirtualRouter::on_timer`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.master_down_at, self.advert_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The Startup event.
    pub fn startup(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != State::Initialize {
            return actions;
        }
        self.preempt_from = Some(now + self.settings.preempt_delay);
        if self.fault {
            self.go(State::Fault, &mut actions);
        } else if self.settings.priority == OWNER_PRIORITY {
            self.become_master(now, &mut actions);
        } else {
            self.become_backup(now, self.settings.advert_interval, None, &mut actions);
        }
        actions
    }

    /// The Shutdown event: a master resigns with priority 0 and releases the addresses.
    pub fn shutdown(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        self.leave(&mut actions);
        self.go(State::Initialize, &mut actions);
        actions
    }

    /// A tracked condition failed (`true`) or recovered (`false`). A failing master resigns
    /// like at shutdown; a recovered router starts again.
    pub fn set_fault(&mut self, now: Instant, fault: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if fault == self.fault {
            return actions;
        }
        self.fault = fault;
        match (fault, self.state) {
            (true, State::Backup | State::Master) => {
                self.leave(&mut actions);
                self.go(State::Fault, &mut actions);
            }
            (false, State::Fault) => {
                self.state = State::Initialize;
                let restart = self.startup(now);
                // Report one transition, Fault -> Backup/Master, not via Initialize.
                actions.extend(restart.into_iter().map(|a| match a {
                    Action::Transition { to, .. } => Action::Transition {
                        from: State::Fault,
                        to,
                    },
                    other => other,
                }));
            }
            _ => {}
        }
        actions
    }

    /// New settings for the same virtual router (a configuration reload). A master
    /// advertises a changed priority or interval at once, so backups re-elect without waiting
    /// (a lowered priority lets a preempting backup take over); a backup uses them from the
    /// next advertisement it hears. Becoming or ceasing to be the address owner changes how
    /// the router starts, so callers restart the instance for that instead.
    pub fn reconfigure(&mut self, now: Instant, settings: Settings) -> Vec<Action> {
        let mut actions = Vec::new();
        let advertised_changed = settings.priority != self.settings.priority
            || settings.advert_interval != self.settings.advert_interval;
        self.settings = settings;
        if self.state == State::Master && advertised_changed {
            self.advertise_now(now, &mut actions);
        }
        actions
    }

    /// Expired timers: Master_Down_Timer in Backup, Adver_Timer in Master.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.state {
            State::Backup if self.master_down_at.is_some_and(|t| t <= now) => {
                self.become_master(now, &mut actions);
            }
            State::Master if self.advert_at.is_some_and(|t| t <= now) => {
                self.advertise_now(now, &mut actions);
            }
            _ => {}
        }
        actions
    }

    /// An ADVERTISEMENT for this VRID (RFC 5798 6.4.2, 6.4.3).
    pub fn on_advertisement(&mut self, now: Instant, heard: Heard) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.state {
            State::Backup => {
                if heard.priority == RESIGN_PRIORITY {
                    // The master resigned: take over after Skew_Time only.
                    self.master_down_at =
                        Some(now + skew_time(self.settings.priority, self.master_advert_interval));
                    self.master = None;
                } else if !self.may_preempt(now) || heard.priority >= self.settings.priority {
                    self.become_backup(
                        now,
                        heard.max_advert_interval,
                        Some(heard.source),
                        &mut actions,
                    );
                }
                // Else a lower-priority master: let Master_Down_Timer expire and preempt it.
            }
            State::Master => {
                if heard.priority == RESIGN_PRIORITY {
                    // Another router resigned: tell everyone at once who the master is.
                    self.advertise_now(now, &mut actions);
                } else if heard.priority > self.settings.priority
                    || (heard.priority == self.settings.priority && heard.source > self.primary)
                {
                    // Two masters (a healed partition): the better one keeps the addresses, we
                    // step down at once. Clients may have followed our announcements; when they
                    // hold our own MAC, one more advertisement tells the winner, which may not
                    // have heard us yet, to announce itself again (FerroLB and keepalived do).
                    if !self.settings.virtual_mac {
                        actions.push(Action::Advertise {
                            priority: self.settings.priority,
                        });
                    }
                    actions.push(Action::ReleaseAddresses);
                    self.become_backup(
                        now,
                        heard.max_advert_interval,
                        Some(heard.source),
                        &mut actions,
                    );
                } else {
                    // Two masters, and we are the better one: the other has not heard us (a
                    // healed partition). Advertise now so it steps down without waiting for
                    // our timer, and announce the addresses again for the clients that
                    // followed it.
                    self.advertise_now(now, &mut actions);
                    actions.push(Action::Announce);
                }
            }
            State::Initialize | State::Fault => {}
        }
        actions
    }

    /// Another detector (a BFD session to the master) says the router at `address` is
    /// unreachable. A backup whose master that is takes over at once instead of waiting out
    /// Master_Down_Interval; should several backups do so, the first advertisements settle
    /// it (the better master reclaims, the others step down). Anything else is ignored: the
    /// report is about a router that is not our master (any more).
    pub fn on_master_unreachable(&mut self, now: Instant, address: IpAddr) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state == State::Backup && self.master == Some(address) {
            self.become_master(now, &mut actions);
        }
        actions
    }

    /// Whether preemption is allowed now (enabled, and the startup delay is over).
    fn may_preempt(&self, now: Instant) -> bool {
        self.settings.preempt && self.preempt_from.is_none_or(|t| now >= t)
    }

    /// Advertises at our priority now and restarts Adver_Timer from here.
    fn advertise_now(&mut self, now: Instant, actions: &mut Vec<Action>) {
        actions.push(Action::Advertise {
            priority: self.settings.priority,
        });
        self.advert_at = Some(now + centiseconds(self.settings.advert_interval));
    }

    fn become_master(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.advertise_now(now, actions);
        actions.push(Action::TakeAddresses);
        self.master_down_at = None;
        self.master = Some(self.primary);
        self.go(State::Master, actions);
    }

    fn become_backup(
        &mut self,
        now: Instant,
        master_advert_interval: u16,
        master: Option<IpAddr>,
        actions: &mut Vec<Action>,
    ) {
        self.master_advert_interval = master_advert_interval;
        self.master_down_at =
            Some(now + master_down_interval(self.settings.priority, master_advert_interval));
        self.advert_at = None;
        self.master = master;
        self.go(State::Backup, actions);
    }

    /// Leaves Backup or Master: a master resigns and releases the addresses.
    fn leave(&mut self, actions: &mut Vec<Action>) {
        if self.state == State::Master {
            actions.push(Action::Advertise {
                priority: RESIGN_PRIORITY,
            });
            actions.push(Action::ReleaseAddresses);
        }
        self.master_down_at = None;
        self.advert_at = None;
        self.master = None;
    }

    fn go(&mut self, to: State, actions: &mut Vec<Action>) {
        if to != self.state {
            actions.push(Action::Transition {
                from: self.state,
                to,
            });
            self.state = to;
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
