//! FerroLB and keepalived (`vrrp_version 3`) in one virtual router, both directions: each
//! elects the other when it has the higher priority, takes over when the other crashes
//! (SIGKILL, link down) or stops cleanly (priority 0), and steps down when the other comes
//! back with a higher priority.

mod common;

use std::time::Duration;

use common::*;
use ferrolb_vrrp::State;

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

#[test]
fn interop_ferrolb_master_keepalived_backup() {
    let lan = Lan::new();
    let ferrolb = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    let keepalived = Keepalived::start(&lan, 1, 100, INTERVAL);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(0);
    wait_until("keepalived in BACKUP", WAIT, || {
        keepalived.last_state().as_deref() == Some("BACKUP")
    });
    lan.assert_vip_stays_at(0, Duration::from_secs(1));

    // FerroLB stops cleanly: keepalived takes over.
    ferrolb.stop();
    wait_until("keepalived in MASTER", WAIT, || {
        keepalived.last_state().as_deref() == Some("MASTER")
    });
    lan.wait_vip_at(1);

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
