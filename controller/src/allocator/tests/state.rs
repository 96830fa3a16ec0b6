//! How assignments evolve: stability, restore, pool changes, and addresses
//! held back for a status.

use std::net::IpAddr;

use ferrolb_api::AddressFamily;

use super::*;

#[test]
fn assignments_are_stable() {
    let mut a = allocator(&[("b-pool", "addresses: [10.0.1.0/30]")]);
    run(&mut a, &[(svc("x"), "b-pool: 10.0.1.0")]);
    // A pool that would come first does not move existing Services.
    a.set_pools([
        pool("a-pool", "addresses: [10.0.0.0/30]"),
        pool("b-pool", "addresses: [10.0.1.0/30]"),
    ]);
    run(
        &mut a,
        &[
            (svc("x"), "b-pool: 10.0.1.0"),
            (svc("y"), "a-pool: 10.0.0.0"),
            // Naming the pool it is already in changes nothing.
            (svc("x").pool("b-pool"), "b-pool: 10.0.1.0"),
            // Asking for the address it has changes nothing.
            (svc("x").ips(&["10.0.1.0"]), "b-pool: 10.0.1.0"),
            // Asking for another address or pool moves it.
            (svc("x").ips(&["10.0.1.3"]), "b-pool: 10.0.1.3"),
            (svc("x").pool("a-pool"), "a-pool: 10.0.0.1"),
            (svc("y"), "a-pool: 10.0.0.0"),
        ],
    );
    // A failed re-request leaves the Service with nothing.
    run(
        &mut a,
        &[(
            svc("x").ips(&["10.0.0.0"]),
            "error: requested address 10.0.0.0 is in use: default/y holds it and does not \
             allow sharing (no allow-shared-ip annotation)",
        )],
    );
    assert_eq!(a.allocation(svc("x").key()), None);
    assert_eq!(a.usage("a-pool").unwrap().ipv4.in_use, 1);
}

#[test]
fn a_service_no_longer_selected_by_its_pool_moves() {
    let mut a = allocator(&[
        ("a-web", "{addresses: [10.0.0.0/30], serviceAllocation: {serviceSelectors: [{matchLabels: {app: web}}]}}"),
        ("b-general", "addresses: [10.0.1.0/30]"),
    ]);
    run(
        &mut a,
        &[
            (svc("x").labels(&[("app", "web")]), "a-web: 10.0.0.0"),
            (svc("x").labels(&[("app", "db")]), "b-general: 10.0.1.0"),
        ],
    );
}

#[test]
fn restore_rebuilds_state_and_keeps_addresses() {
    let mut a = allocator(&[
        ("p", "addresses: [10.0.0.0/29, \"2001:db8::/125\"]"),
        ("q", "{addresses: [10.0.1.0/29], autoAssign: false}"),
    ]);
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let restored = a.restore(&svc("x").0, &[ip("10.0.0.5")]).unwrap();
    assert_eq!(show(&restored), "p: 10.0.0.5");
    let dual = svc("d").family(AddressFamily::V6, IpFamilyPolicy::RequireDualStack);
    assert_eq!(
        show(
            &a.restore(&dual.0, &[ip("10.0.0.1"), ip("2001:db8::7")])
                .unwrap()
        ),
        "p: 2001:db8::7,10.0.0.1"
    );
    // Not in the Service's request (q is not auto-assigned), yet restored.
    assert_eq!(
        show(&a.restore(&svc("z").0, &[ip("10.0.1.1")]).unwrap()),
        "q: 10.0.1.1"
    );
    assert_eq!(
        a.restore(&svc("y").0, &[ip("10.0.0.5")])
            .unwrap_err()
            .to_string(),
        "requested address 10.0.0.5 is in use: default/x holds it and does not allow sharing \
         (no allow-shared-ip annotation)"
    );
    assert_eq!(
        a.restore(&svc("y").0, &[ip("192.0.2.1")])
            .unwrap_err()
            .to_string(),
        "requested address 192.0.2.1 is not in any IPAddressPool"
    );
    run(
        &mut a,
        &[
            (svc("x"), "p: 10.0.0.5"),
            (dual.clone(), "p: 2001:db8::7,10.0.0.1"),
            (svc("new"), "p: 10.0.0.0"),
            (svc("new2"), "p: 10.0.0.2"),
            // q serves z (autoAssign only governs new picks): it stays.
            (svc("z"), "q: 10.0.1.1"),
            (svc("z").pool("p"), "p: 10.0.0.3"),
        ],
    );
}

#[test]
fn shrinking_or_deleting_pools_moves_only_services_outside_every_pool() {
    let mut a = allocator(&[
        ("a", "addresses: [10.0.0.0/29]"),
        ("b", "addresses: [10.0.1.0/30]"),
        ("c", "addresses: [10.0.2.0/30, \"2001:db8::/126\"]"),
    ]);
    run(
        &mut a,
        &[
            (svc("a0"), "a: 10.0.0.0"),
            (svc("a1"), "a: 10.0.0.1"),
            (svc("a5").ips(&["10.0.0.5"]), "a: 10.0.0.5"),
            (svc("b0").pool("b"), "b: 10.0.1.0"),
            (
                svc("c0")
                    .family(AddressFamily::V4, IpFamilyPolicy::RequireDualStack)
                    .pool("c"),
                "c: 10.0.2.0,2001:db8::",
            ),
        ],
    );
    // a shrinks to 10.0.0.0/30; b disappears but its range lives on in d;
    // c loses its IPv6 block.
    let lost = a.set_pools([
        pool("a", "addresses: [10.0.0.0/30]"),
        pool("c", "addresses: [10.0.2.0/30]"),
        pool("d", "addresses: [10.0.1.0/29]"),
    ]);
    let lost: Vec<String> = lost
        .iter()
        .map(|l| format!("{} {:?}", l.service.name, l.ips))
        .collect();
    assert_eq!(lost, ["a5 [10.0.0.5]", "c0 [2001:db8::]"]);
    assert_eq!(show(a.allocation(svc("a0").key()).unwrap()), "a: 10.0.0.0");
    assert_eq!(show(a.allocation(svc("b0").key()).unwrap()), "d: 10.0.1.0");
    assert_eq!(a.allocation(svc("a5").key()), None);
    assert_eq!(show(a.allocation(svc("c0").key()).unwrap()), "c: 10.0.2.0");
    assert_eq!(
        a.usage("d").unwrap().ipv4,
        FamilyUsage { size: 8, in_use: 1 }
    );
    assert_eq!(
        a.usage("c").unwrap().ipv6,
        FamilyUsage { size: 0, in_use: 0 }
    );
    assert_eq!(a.usage("b"), None);
    run(
        &mut a,
        &[
            (
                svc("a5").ips(&["10.0.0.5"]),
                "error: requested address 10.0.0.5 is not in any IPAddressPool",
            ),
            // b0 asked for pool b, which is gone.
            (
                svc("b0").pool("b"),
                "error: IPAddressPool \"b\" does not exist",
            ),
            (
                svc("c0")
                    .family(AddressFamily::V4, IpFamilyPolicy::RequireDualStack)
                    .pool("c"),
                "error: IPAddressPool \"c\" has no IPv6 addresses",
            ),
            (svc("next"), "a: 10.0.0.2"),
        ],
    );
    // Deleting every pool releases everything.
    let lost = a.set_pools([]);
    assert_eq!(lost.len(), 3);
    assert_eq!(a.allocations().count(), 0);
}

#[test]
fn avoid_buggy_ips_turned_on_releases_dot_0_holders() {
    let mut a = allocator(&[("p", "addresses: [10.0.0.0/30]")]);
    run(
        &mut a,
        &[(svc("x"), "p: 10.0.0.0"), (svc("y"), "p: 10.0.0.1")],
    );
    let lost = a.set_pools([pool("p", "{addresses: [10.0.0.0/30], avoidBuggyIPs: true}")]);
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].service.name, "x");
    run(&mut a, &[(svc("x"), "p: 10.0.0.2")]);
}

#[test]
fn addresses_still_listed_in_a_status_are_not_handed_out() {
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut a = allocator(&[("p", "addresses: [10.0.0.0/30]")]);
    run(&mut a, &[(svc("x"), "p: 10.0.0.0")]);
    // x moves to another address; its status still lists 10.0.0.0.
    run(&mut a, &[(svc("x").ips(&["10.0.0.3"]), "p: 10.0.0.3")]);
    a.retain_for_status(svc("x").key(), &[ip("10.0.0.0")]);
    run(
        &mut a,
        &[
            (svc("y"), "p: 10.0.0.1"),
            (
                svc("z").ips(&["10.0.0.0"]),
                "error: requested address 10.0.0.0 is in use: default/x still lists it in its \
                 status; it becomes free once that is updated",
            ),
        ],
    );
    let (_, bits) = request::to_bits(ip("10.0.0.0"));
    assert!(!a.pools["p"].free[0].contains(bits));
    // Pool changes keep it out of circulation too.
    a.set_pools([pool("p", "addresses: [10.0.0.0/30]")]);
    run(&mut a, &[(svc("w"), "p: 10.0.0.2")]);
    // x may take it back itself.
    run(&mut a, &[(svc("x").ips(&["10.0.0.0"]), "p: 10.0.0.0")]);
    assert_eq!(a.releasing().count(), 0);
    // Moving again, then the status write lands: free again.
    run(&mut a, &[(svc("x").ips(&["10.0.0.3"]), "p: 10.0.0.3")]);
    a.retain_for_status(svc("x").key(), &[ip("10.0.0.0")]);
    assert_eq!(
        a.status_updated(svc("x").key(), &[ip("10.0.0.3")]),
        [ip("10.0.0.0")]
    );
    run(&mut a, &[(svc("v"), "p: 10.0.0.0")]);
    // Addresses held by someone are never retained.
    a.retain_for_status(svc("x").key(), &[ip("10.0.0.1")]);
    assert_eq!(a.releasing().count(), 0);
    // A deleted Service frees what it kept.
    a.release(svc("v").key());
    a.retain_for_status(svc("v").key(), &[ip("10.0.0.0")]);
    assert_eq!(a.releasing().count(), 1);
    a.forget(svc("v").key());
    assert_eq!(a.releasing().count(), 0);
    run(&mut a, &[(svc("u"), "p: 10.0.0.0")]);
}
