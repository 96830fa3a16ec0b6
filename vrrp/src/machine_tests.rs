use std::net::Ipv4Addr;

use super::*;

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const LOWER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const HIGHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));

fn settings(priority: u8) -> Settings {
    Settings {
        vrid: 51,
        priority,
        advert_interval: 100,
        preempt: true,
        preempt_delay: Duration::ZERO,
        virtual_mac: false,
    }
}

fn heard(source: IpAddr, priority: u8) -> Heard {
    Heard {
        source,
        priority,
        max_advert_interval: 100,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn timer_formulas() {
    // RFC 5798 6.1: Skew_Time = ((256 - priority) * interval) / 256.
    let cases = [
        (
            100,
            100,
            ms(609_375).div_f64(1000.0),
            ms(3_609_375).div_f64(1000.0),
        ),
        (
            254,
            100,
            ms(7_812).div_f64(1000.0),
            ms(3_007_812).div_f64(1000.0),
        ),
        (
            1,
            10,
            ms(99_609).div_f64(1000.0),
            ms(399_609).div_f64(1000.0),
        ),
    ];
    for (priority, interval, skew, down) in cases {
        let d = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_micros(5);
        assert!(
            d(skew_time(priority, interval), skew),
            "skew {priority}/{interval}"
        );
        assert!(
            d(master_down_interval(priority, interval), down),
            "down {priority}/{interval}"
        );
    }
}

#[test]
fn startup() {
    let t0 = Instant::now();
    let mut backup = VirtualRouter::new(settings(100), ME);
    assert_eq!(
        backup.startup(t0),
        vec![Action::Transition {
            from: State::Initialize,
            to: State::Backup
        }]
    );
    assert_eq!(
        backup.next_deadline(),
        Some(t0 + master_down_interval(100, 100))
    );

    let mut owner = VirtualRouter::new(settings(OWNER_PRIORITY), ME);
    assert_eq!(
        owner.startup(t0),
        vec![
            Action::Advertise { priority: 255 },
            Action::TakeAddresses,
            Action::Transition {
                from: State::Initialize,
                to: State::Master
            },
        ]
    );
    assert_eq!(owner.master(), Some(ME));
    assert_eq!(owner.next_deadline(), Some(t0 + ms(1000)));
}

/// A backup at priority 100 hearing advertisements; `(heard, time, deadline after)`.
#[test]
fn backup_hearing_advertisements() {
    struct Case {
        name: &'static str,
        preempt: bool,
        preempt_delay: Duration,
        heard: Heard,
        /// The master-down deadline after the advertisement, relative to it.
        down_after: Duration,
    }
    let full = master_down_interval(100, 100);
    let cases = [
        Case {
            name: "higher priority resets",
            preempt: true,
            preempt_delay: Duration::ZERO,
            heard: heard(HIGHER, 200),
            down_after: full,
        },
        Case {
            name: "equal priority resets",
            preempt: true,
            preempt_delay: Duration::ZERO,
            heard: heard(LOWER, 100),
            down_after: full,
        },
        Case {
            name: "resignation: skew only",
            preempt: true,
            preempt_delay: Duration::ZERO,
            heard: heard(HIGHER, 0),
            down_after: skew_time(100, 100),
        },
        Case {
            name: "no preempt: lower master kept",
            preempt: false,
            preempt_delay: Duration::ZERO,
            heard: heard(LOWER, 50),
            down_after: full,
        },
        Case {
            name: "preempt delay: lower master kept",
            preempt: true,
            preempt_delay: Duration::from_secs(60),
            heard: heard(LOWER, 50),
            down_after: full,
        },
        Case {
            name: "slower master interval is learned",
            preempt: true,
            preempt_delay: Duration::ZERO,
            heard: Heard {
                source: HIGHER,
                priority: 200,
                max_advert_interval: 300,
            },
            down_after: master_down_interval(100, 300),
        },
    ];
    for c in cases {
        let t0 = Instant::now();
        let mut s = settings(100);
        s.preempt = c.preempt;
        s.preempt_delay = c.preempt_delay;
        let mut vr = VirtualRouter::new(s, ME);
        vr.startup(t0);
        let t1 = t0 + ms(500);
        assert_eq!(vr.on_advertisement(t1, c.heard), vec![], "{}", c.name);
        assert_eq!(vr.next_deadline(), Some(t1 + c.down_after), "{}", c.name);
        assert_eq!(vr.state(), State::Backup, "{}", c.name);
    }
}

#[test]
fn backup_preempts_a_lower_master_by_letting_the_timer_run() {
    let t0 = Instant::now();
    let mut vr = VirtualRouter::new(settings(100), ME);
    vr.startup(t0);
    let t1 = t0 + ms(500);
    vr.on_advertisement(t1, heard(LOWER, 50));
    // The deadline from startup still stands.
    let deadline = t0 + master_down_interval(100, 100);
    assert_eq!(vr.next_deadline(), Some(deadline));
    assert_eq!(vr.on_timer(deadline - ms(1)), vec![]);
    let actions = vr.on_timer(deadline);
    assert_eq!(
        actions,
        vec![
            Action::Advertise { priority: 100 },
            Action::TakeAddresses,
            Action::Transition {
                from: State::Backup,
                to: State::Master
            },
        ]
    );
}

#[test]
fn an_unreachable_master_is_replaced_at_once() {
    let take_over = vec![
        Action::Advertise { priority: 100 },
        Action::TakeAddresses,
        Action::Transition {
            from: State::Backup,
            to: State::Master,
        },
    ];
    // (case, state reached first, reported address, actions, state after)
    let cases = [
        (
            "backup, its master",
            State::Backup,
            HIGHER,
            take_over,
            State::Master,
        ),
        (
            "backup, another router",
            State::Backup,
            LOWER,
            vec![],
            State::Backup,
        ),
        ("master", State::Master, HIGHER, vec![], State::Master),
    ];
    for (name, first, reported, want, after) in cases {
        let t0 = Instant::now();
        let mut vr = VirtualRouter::new(settings(100), ME);
        vr.startup(t0);
        let t1 = t0 + ms(100);
        match first {
            State::Backup => {
                vr.on_advertisement(t1, heard(HIGHER, 200));
            }
            _ => {
                vr.on_timer(t0 + master_down_interval(100, 100));
            }
        }
        assert_eq!(vr.state(), first, "{name}");
        let t2 = t1 + ms(100);
        assert_eq!(vr.on_master_unreachable(t2, reported), want, "{name}");
        assert_eq!(vr.state(), after, "{name}");
    }
    // Not yet heard from anyone: no master to lose.
    let mut vr = VirtualRouter::new(settings(100), ME);
    vr.startup(Instant::now());
    assert_eq!(vr.on_master_unreachable(Instant::now(), HIGHER), vec![]);
}

#[test]
fn master_advertises_every_interval() {
    let t0 = Instant::now();
    let mut vr = VirtualRouter::new(settings(OWNER_PRIORITY), ME);
    vr.startup(t0);
    let mut t = t0;
    for _ in 0..3 {
        t += ms(1000);
        assert_eq!(vr.on_timer(t), vec![Action::Advertise { priority: 255 }]);
        assert_eq!(vr.next_deadline(), Some(t + ms(1000)));
    }
}

/// A master at priority 100 hearing advertisements: who steps down (the split-brain guard).
#[test]
fn master_hearing_advertisements() {
    let own_mac_step_down = vec![
        Action::Advertise { priority: 100 },
        Action::ReleaseAddresses,
        Action::Transition {
            from: State::Master,
            to: State::Backup,
        },
    ];
    let virtual_mac_step_down = own_mac_step_down[1..].to_vec();
    let reclaim = vec![Action::Advertise { priority: 100 }, Action::Announce];
    struct Case {
        name: &'static str,
        virtual_mac: bool,
        heard: Heard,
        actions: Vec<Action>,
        state: State,
        /// When the next advertisement is due, after the one heard (master only).
        advert_after: Option<Duration>,
    }
    let cases = [
        Case {
            name: "higher priority, own MAC: one more advertisement for the winner",
            virtual_mac: false,
            heard: heard(LOWER, 101),
            actions: own_mac_step_down.clone(),
            state: State::Backup,
            advert_after: None,
        },
        Case {
            name: "higher priority, virtual MAC: clients need nothing",
            virtual_mac: true,
            heard: heard(LOWER, 101),
            actions: virtual_mac_step_down.clone(),
            state: State::Backup,
            advert_after: None,
        },
        Case {
            name: "equal priority, higher address",
            virtual_mac: false,
            heard: heard(HIGHER, 100),
            actions: own_mac_step_down,
            state: State::Backup,
            advert_after: None,
        },
        Case {
            name: "equal priority, higher address, virtual MAC",
            virtual_mac: true,
            heard: heard(HIGHER, 100),
            actions: virtual_mac_step_down,
            state: State::Backup,
            advert_after: None,
        },
        Case {
            name: "equal priority, lower address: reclaim",
            virtual_mac: false,
            heard: heard(LOWER, 100),
            actions: reclaim.clone(),
            state: State::Master,
            advert_after: Some(ms(1000)),
        },
        Case {
            name: "lower priority: reclaim",
            virtual_mac: false,
            heard: heard(HIGHER, 99),
            actions: reclaim.clone(),
            state: State::Master,
            advert_after: Some(ms(1000)),
        },
        Case {
            name: "lower priority, virtual MAC: reclaim (the switch learns the MAC's port again)",
            virtual_mac: true,
            heard: heard(HIGHER, 99),
            actions: reclaim,
            state: State::Master,
            advert_after: Some(ms(1000)),
        },
        Case {
            name: "resignation",
            virtual_mac: false,
            heard: heard(HIGHER, 0),
            actions: vec![Action::Advertise { priority: 100 }],
            state: State::Master,
            advert_after: Some(ms(1000)),
        },
    ];
    for c in cases {
        let (name, h, state) = (c.name, c.heard, c.state);
        let t0 = Instant::now();
        let mut s = settings(100);
        s.virtual_mac = c.virtual_mac;
        let mut vr = VirtualRouter::new(s, ME);
        vr.startup(t0);
        let t1 = t0 + master_down_interval(100, 100);
        vr.on_timer(t1);
        assert_eq!(vr.state(), State::Master, "{name}");
        let t2 = t1 + ms(300);
        assert_eq!(vr.on_advertisement(t2, h), c.actions, "{name}");
        assert_eq!(vr.state(), state, "{name}");
        if state == State::Backup {
            assert_eq!(vr.master(), Some(h.source), "{name}");
            assert_eq!(
                vr.next_deadline(),
                Some(t2 + master_down_interval(100, 100)),
                "{name}"
            );
        }
        if let Some(after) = c.advert_after {
            assert_eq!(vr.next_deadline(), Some(t2 + after), "{name}");
        }
    }
}

#[test]
fn shutdown_resigns_only_from_master() {
    let t0 = Instant::now();
    let mut master = VirtualRouter::new(settings(OWNER_PRIORITY), ME);
    master.startup(t0);
    assert_eq!(
        master.shutdown(),
        vec![
            Action::Advertise { priority: 0 },
            Action::ReleaseAddresses,
            Action::Transition {
                from: State::Master,
                to: State::Initialize
            },
        ]
    );
    assert_eq!(master.next_deadline(), None);
    let mut backup = VirtualRouter::new(settings(100), ME);
    backup.startup(t0);
    assert_eq!(
        backup.shutdown(),
        vec![Action::Transition {
            from: State::Backup,
            to: State::Initialize
        }]
    );
    // Initialize ignores everything but startup.
    assert_eq!(backup.on_advertisement(t0, heard(HIGHER, 0)), vec![]);
    assert_eq!(backup.on_timer(t0 + Duration::from_secs(100)), vec![]);
}

#[test]
fn fault_resigns_and_recovery_restarts() {
    let t0 = Instant::now();
    let mut vr = VirtualRouter::new(settings(OWNER_PRIORITY), ME);
    vr.startup(t0);
    assert_eq!(
        vr.set_fault(t0, true),
        vec![
            Action::Advertise { priority: 0 },
            Action::ReleaseAddresses,
            Action::Transition {
                from: State::Master,
                to: State::Fault
            },
        ]
    );
    assert_eq!(vr.set_fault(t0, true), vec![]);
    assert_eq!(vr.on_advertisement(t0, heard(LOWER, 1)), vec![]);
    assert_eq!(
        vr.set_fault(t0, false),
        vec![
            Action::Advertise { priority: 255 },
            Action::TakeAddresses,
            Action::Transition {
                from: State::Fault,
                to: State::Master
            },
        ]
    );
    // A router that starts while faulty stays out until it recovers.
    let mut late = VirtualRouter::new(settings(100), ME);
    late.set_fault(t0, true);
    assert_eq!(
        late.startup(t0),
        vec![Action::Transition {
            from: State::Initialize,
            to: State::Fault
        }]
    );
    assert_eq!(late.next_deadline(), None);
}

#[test]
fn reconfiguration_takes_effect_in_place() {
    let t0 = Instant::now();
    // (state reached, new priority, new interval, advertises at once)
    let cases = [
        ("master, priority lowered", 200, 50, 100, true),
        ("master, interval changed", 200, 200, 50, true),
        ("master, only preemption changed", 200, 200, 100, false),
        ("backup, priority raised", 100, 150, 100, false),
    ];
    for (name, start, priority, interval, advertises) in cases {
        let mut vr = VirtualRouter::new(settings(start), ME);
        vr.startup(t0);
        if start == 200 {
            vr.on_timer(t0 + ms(4000));
            assert_eq!(vr.state(), State::Master, "{name}");
        } else {
            vr.on_advertisement(t0, heard(HIGHER, 180));
        }
        let mut new = settings(priority);
        new.advert_interval = interval;
        new.preempt = false;
        let now = t0 + ms(5000);
        let actions = vr.reconfigure(now, new.clone());
        assert_eq!(
            actions == [Action::Advertise { priority }],
            advertises,
            "{name}: {actions:?}"
        );
        assert_eq!(vr.settings(), &new, "{name}");
        if advertises {
            assert_eq!(
                vr.next_deadline(),
                Some(now + centiseconds(interval)),
                "{name}"
            );
        }
    }

    // A backup raised above the master preempts it at Master_Down_Timer (preemption on).
    let mut vr = VirtualRouter::new(settings(100), ME);
    vr.startup(t0);
    vr.on_advertisement(t0, heard(HIGHER, 150));
    vr.reconfigure(t0, settings(200));
    // The master's next advertisement no longer holds this router back.
    vr.on_advertisement(t0 + ms(1000), heard(HIGHER, 150));
    let actions = vr.on_timer(t0 + ms(1000) + master_down_interval(200, 100));
    assert!(actions.contains(&Action::TakeAddresses), "{actions:?}");
    assert_eq!(vr.state(), State::Master);
}
