//! FerroLB against FerroLB on a LAN of network namespaces: election, takeover after a crash
//! and after a clean stop (priority 0), preemption, tracked faults, and a partition that
//! makes two masters, healed back to one.

mod common;

use std::time::Duration;

use common::*;
use ferrolb_vrrp::State;

/// 20 cs: master down in about 0.6 s, so each step takes about a second.
const INTERVAL: u16 = 20;

#[test]
fn netns_highest_priority_wins_and_the_backup_takes_over_after_a_crash_and_a_stop() {
    let lan = Lan::new();
    let high = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    let low = FerroNode::start(&lan.routers[1], ferrolb_config(100, INTERVAL));
    high.wait_state(State::Master);
    low.wait_state(State::Backup);
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    assert_eq!(low.status().master, Some(router_addr(0).into()));
    assert!(low.status().adverts_received > 0);

    // The master's machine dies: process gone, link down, the address left behind.
    high.kill();
    lan.set_router_link(0, false);
    low.wait_state(State::Master);
    lan.wait_vip_at(1);

    // The machine comes back; the higher priority preempts, the backup steps down.
    lan.set_router_link(0, true);
    let high = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    high.wait_state(State::Master);
    low.wait_state(State::Backup);
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));

    // A clean stop resigns with priority 0 and takes the address away itself.
    high.stop();
    assert!(!lan.holds_vip(0), "a stopped master keeps no address");
    low.wait_state(State::Master);
    lan.wait_vip_at(1);
}

#[test]
fn netns_a_tracked_fault_hands_the_vip_over_and_recovery_takes_it_back() {
    let lan = Lan::new();
    let a = FerroNode::start(&lan.routers[0], ferrolb_config(200, INTERVAL));
    let b = FerroNode::start(&lan.routers[1], ferrolb_config(100, INTERVAL));
    a.wait_state(State::Master);
    lan.wait_vip_at(0);
    a.set_fault(true);
    a.wait_state(State::Fault);
    b.wait_state(State::Master);
    lan.wait_vip_at(1);
    assert!(a.status().fault);
    a.set_fault(false);
    a.wait_state(State::Master);
    b.wait_state(State::Backup);
    lan.wait_vip_at(0);
}

#[test]
fn netns_a_partition_makes_two_masters_and_healing_leaves_one() {
    let lan = Lan::new();
    // Equal priorities: the higher address (router 1) wins the tie.
    let a = FerroNode::start(&lan.routers[0], ferrolb_config(100, INTERVAL));
    let b = FerroNode::start(&lan.routers[1], ferrolb_config(100, INTERVAL));
    wait_until("one master", WAIT, || {
        let states = [a.status().state, b.status().state];
        states.contains(&State::Master) && states.contains(&State::Backup)
    });
    let first = lan.holders();
    assert_eq!(first.len(), 1, "{first:?}");

    lan.partition(true);
    a.wait_state(State::Master);
    b.wait_state(State::Master);
    wait_until("both hold the VIP while partitioned", WAIT, || {
        lan.holders() == [0, 1]
    });

    lan.partition(false);
    // The split-brain guard: the master with the lower address hears the other and steps down.
    a.wait_state(State::Backup);
    assert_eq!(b.status().state, State::Master);
    lan.wait_vip_at(1);
    lan.assert_vip_stays_at(1, Duration::from_secs(1));
    assert!(a.status().became_master >= 1);
}

#[test]
fn netns_the_virtual_mac_moves_with_the_master_and_the_client_keeps_it() {
    let lan = Lan::new();
    let vmac = ferrolb_vrrp::virtual_mac(VRID).to_string();
    let config = |priority| {
        let mut c = ferrolb_config(priority, INTERVAL);
        c.virtual_mac = true;
        c
    };
    let high = FerroNode::start(&lan.routers[0], config(200));
    let low = FerroNode::start(&lan.routers[1], config(100));
    high.wait_state(State::Master);
    low.wait_state(State::Backup);
    lan.wait_vip_at_mac(0, &vmac);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    // The switch learned the virtual MAC on the master's port (gratuitous ARP and
    // advertisements come from it).
    wait_until("virtual MAC behind p0", WAIT, || {
        lan.switch_port_of(&vmac).as_deref() == Some("p0")
    });

    // The master's machine dies; the backup announces the same MAC from its own port.
    high.kill();
    lan.set_router_link(0, false);
    low.wait_state(State::Master);
    lan.wait_vip_at_mac(1, &vmac);
    wait_until("virtual MAC behind p1", WAIT, || {
        lan.switch_port_of(&vmac).as_deref() == Some("p1")
    });

    // A clean stop deletes the macvlan.
    low.stop();
    assert!(
        !lan.routers[1].ip(&["-o", "link"]).unwrap().contains(&vmac),
        "the virtual MAC interface is gone after a stop"
    );
}

#[test]
fn netns_ipv6_highest_priority_wins_and_the_backup_takes_over() {
    let lan = Lan::new_ipv6();
    let high = FerroNode::start(&lan.routers[0], lan.ferrolb_config(200, INTERVAL));
    let low = FerroNode::start(&lan.routers[1], lan.ferrolb_config(100, INTERVAL));
    high.wait_state(State::Master);
    low.wait_state(State::Backup);
    lan.wait_vip_at(0);
    lan.assert_vip_stays_at(0, Duration::from_secs(1));
    // Advertisements come from the link-local address (RFC 5798 5.1.2.1).
    let master = low.status().master.unwrap();
    assert!(
        matches!(master, std::net::IpAddr::V6(a) if a.is_unicast_link_local()),
        "{master}"
    );
    assert_eq!(low.status().invalid_received, 0);

    // The master's machine dies; the backup takes over and its unsolicited Neighbor
    // Advertisement moves the client's neighbour entry.
    high.kill();
    lan.set_router_link(0, false);
    low.wait_state(State::Master);
    lan.wait_vip_at(1);

    // A clean stop resigns (priority 0) and removes the address.
    lan.set_router_link(0, true);
    let high = FerroNode::start(&lan.routers[0], lan.ferrolb_config(200, INTERVAL));
    high.wait_state(State::Master);
    lan.wait_vip_at(0);
    high.stop();
    assert!(!lan.holds_vip(0));
    low.wait_state(State::Master);
    lan.wait_vip_at(1);
    assert!(low.status().priority_zero_received >= 1);
}
