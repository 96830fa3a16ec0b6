//! FerroLB and FRR's `vrrpd` (VRRPv3, virtual MAC on a macvlan) in one virtual router, both
//! directions: the higher priority is elected master, the other stays backup, and when the
//! master's machine dies (SIGKILL, link down) the backup takes over. The client sees the VIP's
//! MAC move between FRR's virtual MAC and FerroLB's interface MAC; with FerroLB on the
//! virtual MAC too, the client keeps the MAC and the switch sees it move to the new master.

mod common;

use std::time::Duration;

use common::frr::{virtual_mac, FrrVrrp};
use common::*;
use ferrolb_vrrp::State;

/// 25 cs (vrrpd's `advertisement-interval 250`).
const INTERVAL: u16 = 25;

#[test]
fn interop_frr_master_ferrolb_backup() {
    let lan = Lan::new();
    let frr = FrrVrrp::start(&lan, 0, 200, INTERVAL);
    let ferrolb = FerroNode::start(&lan.routers[1], ferrolb_config(100, INTERVAL));
    frr.wait_state("Master");
    ferrolb.wait_state(State::Backup);
    wait_until("FerroLB to hear vrrpd", WAIT, || {
        ferrolb.status().master == Some(router_addr(0).into())
    });
    lan.wait_vip_at_mac(0, &virtual_mac());
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    assert_eq!(
        ferrolb.status().invalid_received,
        0,
        "vrrpd's packets pass every check"
    );

    // The FRR machine dies: vrrpd gets SIGKILL (no priority 0), then the link goes down.
    frr.vrrpd.kill().unwrap();
    lan.set_router_link(0, false);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at(1);
}

#[test]
fn interop_ferrolb_master_frr_backup() {
    let lan = Lan::new();
    let ferrolb = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    let frr = FrrVrrp::start(&lan, 1, 100, INTERVAL);
    ferrolb.wait_state(State::Master);
    frr.wait_state("Backup");
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    assert!(frr.adverts_received() > 0, "vrrpd hears FerroLB");

    // The FerroLB machine dies: no resignation, the link goes down. vrrpd takes over and
    // the client follows the virtual MAC.
    ferrolb.kill();
    lan.set_router_link(0, false);
    frr.wait_state("Master");
    lan.wait_vip_at_mac(1, &virtual_mac());
}

#[test]
fn interop_frr_and_ferrolb_share_the_virtual_mac() {
    let lan = Lan::new();
    let vmac = virtual_mac();
    let frr = FrrVrrp::start(&lan, 0, 200, INTERVAL);
    let mut config = ferrolb_config(100, INTERVAL);
    config.virtual_mac = true;
    let ferrolb = FerroNode::start(&lan.routers[1], config);
    frr.wait_state("Master");
    ferrolb.wait_state(State::Backup);
    lan.wait_vip_at_mac(0, &vmac);
    wait_until("virtual MAC behind p0", WAIT, || {
        lan.switch_port_of(&vmac).as_deref() == Some("p0")
    });

    // The FRR machine dies: FerroLB serves the same MAC, and the switch learns it moved.
    frr.vrrpd.kill().unwrap();
    lan.set_router_link(0, false);
    ferrolb.wait_state(State::Master);
    lan.wait_vip_at_mac(1, &vmac);
    wait_until("virtual MAC behind p1", WAIT, || {
        lan.switch_port_of(&vmac).as_deref() == Some("p1")
    });
}
