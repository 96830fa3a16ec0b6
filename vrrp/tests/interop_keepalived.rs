//! FerroLB and keepalived (`vrrp_version 3`) in one virtual router, both directions: each
//! elects the other when it has the higher priority, takes over when the other crashes
//! (SIGKILL, link down) or stops cleanly (priority 0), and steps down when the other comes
//! back with a higher priority.

mod common;

use std::time::Duration;

use common::*;
use ferrolb_vrrp::{InstanceConfig, State};

/// 25 cs (keepalived's `advert_int 0.25`).
const INTERVAL: u16 = 25;

#[test]
fn interop_keepalived_master_ferrolb_backup() {
    let lan = Lan::new();
    let keepalived = Keepalived::start(&lan, 0, 200, INTERVAL);
    let ferrolb = FerroNode::start(&lan.routers[1], ferrolb_config(100, INTERVAL));
    lan.wait_vip_at(0);
    ferrolb.wait_state(State::Backup);
    wait_until("FerroLB to hear keepalived", WAIT, || {
        ferrolb.status().master == Some(router_addr(0).into())
    });
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    assert_eq!(
        ferrolb.status().invalid_received,
        0,
        "keepalived's packets pass every check"
    );

    // keepalived stops cleanly (priority 0): FerroLB takes over.
    keepalived
        .process
        .terminate(Duration::from_secs(5))
        .unwrap();
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(1);

    // keepalived comes back with the higher priority and preempts; FerroLB steps down.
    let keepalived = Keepalived::start(&lan, 0, 200, INTERVAL);
    ferrolb.wait_state(State::Backup);
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));

    // keepalived's machine dies: FerroLB takes over.
    keepalived.kill_all(&lan.routers[0]);
    lan.set_router_link(0, false);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(1);
}

/// FerroLB (priority 200) is master over keepalived (100); a clean stop (priority 0) hands
/// the address over. Returns keepalived, now master.
fn ferrolb_master_then_clean_stop(lan: &Lan, config: InstanceConfig) -> Keepalived {
    let ferrolb = FerroNode::start(&lan.routers[0], config);
    let keepalived = Keepalived::start(lan, 1, 100, INTERVAL);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(0);
    wait_until("keepalived in BACKUP", WAIT, || {
        keepalived.last_state().as_deref() == Some("BACKUP")
    });
    lan.assert_vip_stays_at(0, Duration::from_secs(1));

    ferrolb.stop();
    wait_until("keepalived in MASTER", WAIT, || {
        keepalived.last_state().as_deref() == Some("MASTER")
    });
    lan.wait_vip_at(1);
    keepalived
}

#[test]
fn interop_ferrolb_master_keepalived_backup() {
    let lan = Lan::new();
    let _keepalived = ferrolb_master_then_clean_stop(&lan, ferrolb_config(200, INTERVAL));

    // FerroLB comes back with the higher priority and preempts keepalived.
    let ferrolb = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));

    // FerroLB's machine dies: keepalived takes over.
    ferrolb.kill();
    lan.set_router_link(0, false);
    lan.wait_vip_at(1);
}

#[test]
fn interop_ipv6_keepalived_and_ferrolb_elect_one_master_and_fail_over() {
    let lan = Lan::new_ipv6();
    let keepalived = Keepalived::start(&lan, 0, 200, INTERVAL);
    let ferrolb = FerroNode::start(&lan.routers[1], lan.ferrolb_config(100, INTERVAL));
    lan.wait_vip_at(0);
    ferrolb.wait_state(State::Backup);
    wait_until("FerroLB to hear keepalived over IPv6", WAIT, || {
        ferrolb.status().master.is_some_and(|m| m.is_ipv6())
    });
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    assert_eq!(
        ferrolb.status().invalid_received,
        0,
        "keepalived's IPv6 packets pass every check"
    );

    // keepalived's machine dies: FerroLB takes over and announces the address.
    keepalived.kill_all(&lan.routers[0]);
    lan.set_router_link(0, false);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(1);
}

/// The same over IPv6: the priority-0 advertisement of the clean stop too.
#[test]
fn interop_ipv6_ferrolb_master_keepalived_backup() {
    let lan = Lan::new_ipv6();
    let _keepalived = ferrolb_master_then_clean_stop(&lan, lan.ferrolb_config(200, INTERVAL));
}
