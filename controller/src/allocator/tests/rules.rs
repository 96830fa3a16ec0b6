//! Which addresses a Service gets, and why it gets none.

use ferrolb_api::AddressFamily;

use super::*;

#[test]
fn lowest_free_address_first_in_both_families() {
    let mut a = allocator(&[
        ("v4", "addresses: [192.0.2.8/30, 192.0.2.0/30]"),
        ("v6", "{addresses: [\"2001:db8::/126\"], autoAssign: false}"),
    ]);
    run(
        &mut a,
        &[
            (svc("a"), "v4: 192.0.2.0"),
            (svc("b"), "v4: 192.0.2.1"),
            (svc("c"), "v4: 192.0.2.2"),
            (svc("d").v6().pool("v6"), "v6: 2001:db8::"),
            (svc("e").v6().pool("v6"), "v6: 2001:db8::1"),
        ],
    );
    a.release(svc("b").key());
    a.release(svc("d").key());
    run(
        &mut a,
        &[
            (svc("f"), "v4: 192.0.2.1"),
            (svc("g"), "v4: 192.0.2.3"),
            (svc("h"), "v4: 192.0.2.8"),
            (svc("i").v6().pool("v6"), "v6: 2001:db8::"),
            // Already assigned: the same answer again.
            (svc("a"), "v4: 192.0.2.0"),
        ],
    );
}

#[test]
fn avoid_buggy_ips_skips_dot_0_and_dot_255() {
    let mut a = allocator(&[(
        "p",
        "{addresses: [192.0.2.254-192.0.3.1, \"2001:db8::ff-2001:db8::100\"], avoidBuggyIPs: true}",
    )]);
    run(
        &mut a,
        &[
            (svc("a"), "p: 192.0.2.254"),
            (svc("b"), "p: 192.0.3.1"),
            (
                svc("c"),
                "error: no eligible IPAddressPool has a free IPv4 address (tried p)",
            ),
            (
                svc("d").ips(&["192.0.3.0"]),
                "error: requested address 192.0.3.0 is in IPAddressPool \"p\", which avoids \
                 addresses ending in .0 and .255 (avoidBuggyIPs)",
            ),
            // IPv6 has no such addresses.
            (svc("e").v6(), "p: 2001:db8::ff"),
            (svc("f").v6(), "p: 2001:db8::100"),
        ],
    );
    // Released addresses come back; avoided ones never do.
    a.release(svc("a").key());
    run(&mut a, &[(svc("g"), "p: 192.0.2.254")]);
    assert_eq!(
        a.usage("p").unwrap().ipv4,
        FamilyUsage { size: 2, in_use: 2 }
    );
}

#[test]
fn avoid_buggy_ips_across_many_slash_24s() {
    let mut a = allocator(&[("p", "{addresses: [10.0.0.0/8], avoidBuggyIPs: true}")]);
    let mut last = String::new();
    for i in 0..3_000 {
        last = assign(&mut a, &svc(&format!("s{i}")));
    }
    // 254 usable addresses (.1 to .254) per /24.
    let n = 3_000 - 1;
    let (block, offset) = (n / 254, n % 254 + 1);
    assert_eq!(
        last,
        format!("p: 10.{}.{}.{}", block / 256, block % 256, offset)
    );
    assert_eq!(
        a.usage("p").unwrap().ipv4,
        FamilyUsage {
            size: (1 << 24) - 2 * (1 << 16),
            in_use: 3_000
        }
    );
}

#[test]
fn precedence_requested_then_named_then_selective_then_general() {
    let pools = [
        ("a-general", "addresses: [10.0.0.0/30]"),
        ("b-manual", "{addresses: [10.0.1.0/30], autoAssign: false}"),
        (
            "c-web-5",
            "{addresses: [10.0.2.0/30], serviceAllocation: {priority: 5, namespaces: [web]}}",
        ),
        (
            "d-web-1",
            "{addresses: [10.0.3.0/31], serviceAllocation: {priority: 1, namespaceSelectors: [{matchLabels: {tier: web}}]}}",
        ),
        (
            "e-premium",
            "{addresses: [10.0.4.0/30], serviceAllocation: {serviceSelectors: [{matchLabels: {tier: premium}}]}}",
        ),
    ];
    let mut a = allocator(&pools);
    run(
        &mut a,
        &[
            (svc("plain"), "a-general: 10.0.0.0"),
            (svc("named").pool("b-manual"), "b-manual: 10.0.1.0"),
            (svc("asks").ips(&["10.0.1.3"]), "b-manual: 10.0.1.3"),
            // A requested address wins over every pool rule.
            (
                svc("asks-web")
                    .ips(&["10.0.0.3"])
                    .labels(&[("tier", "premium")]),
                "a-general: 10.0.0.3",
            ),
            (
                svc("web/a").ns_labels(&[("tier", "web")]),
                "d-web-1: 10.0.3.0",
            ),
            (
                svc("web/b").ns_labels(&[("tier", "web")]),
                "d-web-1: 10.0.3.1",
            ),
            // d-web-1 is full: next by priority.
            (
                svc("web/c").ns_labels(&[("tier", "web")]),
                "c-web-5: 10.0.2.0",
            ),
            // Only namespace "web" is listed for c-web-5.
            (
                svc("other/x").ns_labels(&[("tier", "web")]),
                "a-general: 10.0.0.1",
            ),
            (
                svc("premium").labels(&[("tier", "premium")]),
                "e-premium: 10.0.4.0",
            ),
            (
                svc("premium-named")
                    .labels(&[("tier", "premium")])
                    .pool("a-general"),
                "a-general: 10.0.0.2",
            ),
        ],
    );
}

#[test]
fn failures_say_why() {
    let mut a = allocator(&[
        ("general", "addresses: [10.0.0.0/31]"),
        ("manual", "{addresses: [10.0.1.0/31], autoAssign: false}"),
        (
            "web-only",
            "{addresses: [10.0.2.0/31], serviceAllocation: {namespaces: [web]}}",
        ),
        (
            "v6-only",
            "{addresses: [\"2001:db8::/127\"], autoAssign: false}",
        ),
    ]);
    run(
        &mut a,
        &[
            (svc("holder").ips(&["10.0.0.1"]), "general: 10.0.0.1"),
            (
                svc("outside").ips(&["192.0.2.1"]),
                "error: requested address 192.0.2.1 is not in any IPAddressPool",
            ),
            (
                svc("taken").ips(&["10.0.0.1"]),
                "error: requested address 10.0.0.1 is in use: default/holder holds it and does \
                 not allow sharing (no allow-shared-ip annotation)",
            ),
            (
                svc("missing").pool("nope"),
                "error: IPAddressPool \"nope\" does not exist",
            ),
            (
                svc("missing-ip").pool("nope").ips(&["10.0.0.0"]),
                "error: IPAddressPool \"nope\" does not exist",
            ),
            (
                svc("mismatch").pool("manual").ips(&["10.0.0.0"]),
                "error: requested address 10.0.0.0 is not in IPAddressPool \"manual\" named by \
                 the address-pool annotation",
            ),
            (
                svc("mismatch-outside").pool("manual").ips(&["192.0.2.1"]),
                "error: requested address 192.0.2.1 is not in any IPAddressPool",
            ),
            (
                svc("not-web").pool("web-only"),
                "error: IPAddressPool \"web-only\" does not serve this Service (its \
                 serviceAllocation selects other namespaces or Services)",
            ),
            (
                svc("not-web-ip").ips(&["10.0.2.1"]),
                "error: IPAddressPool \"web-only\" does not serve this Service (its \
                 serviceAllocation selects other namespaces or Services)",
            ),
            (
                svc("no-v4").pool("v6-only"),
                "error: IPAddressPool \"v6-only\" has no IPv4 addresses",
            ),
            (
                svc("two-pools")
                    .family(AddressFamily::V4, IpFamilyPolicy::RequireDualStack)
                    .ips(&["10.0.1.1", "2001:db8::1"]),
                "error: requested addresses 10.0.1.1 and 2001:db8::1 are in different \
                 IPAddressPools (\"manual\" and \"v6-only\"); ask for addresses of one pool",
            ),
            (svc("fill"), "general: 10.0.0.0"),
            (
                svc("full"),
                "error: no eligible IPAddressPool has a free IPv4 address (tried general)",
            ),
            (svc("m1").pool("manual"), "manual: 10.0.1.0"),
            (svc("m2").pool("manual"), "manual: 10.0.1.1"),
            (
                svc("m3").pool("manual"),
                "error: IPAddressPool \"manual\" has no free IPv4 address",
            ),
            (
                svc("no-v6-auto").v6(),
                "error: no eligible IPAddressPool has a free IPv6 address (tried general)",
            ),
        ],
    );
    let mut only_manual = allocator(&[("manual", "{addresses: [10.0.1.0/31], autoAssign: false}")]);
    run(
        &mut only_manual,
        &[(
            svc("x"),
            "error: no IPAddressPool assigns addresses to this Service automatically (none has \
             autoAssign and a serviceAllocation that selects it); name one with the \
             address-pool annotation",
        )],
    );
    // A failed Service holds nothing.
    assert_eq!(a.allocation(svc("full").key()), None);
}

#[test]
fn dual_stack_policies() {
    use AddressFamily::{V4, V6};
    use IpFamilyPolicy::*;
    let mut a = allocator(&[
        ("a-v4", "addresses: [10.0.0.0/30]"),
        ("b-dual", "addresses: [10.0.1.0/30, \"2001:db8:1::/126\"]"),
        ("c-v6", "addresses: [\"2001:db8:2::/126\"]"),
        (
            "d-dual-small",
            "{addresses: [10.0.3.0/32, \"2001:db8:3::/128\"], autoAssign: false}",
        ),
    ]);
    run(
        &mut a,
        &[
            (svc("single4"), "a-v4: 10.0.0.0"),
            (svc("single6").v6(), "b-dual: 2001:db8:1::"),
            (svc("prefer4").family(V4, PreferDualStack), "a-v4: 10.0.0.1"),
            (svc("prefer6").family(V6, PreferDualStack), "b-dual: 2001:db8:1::1,10.0.1.0"),
            (svc("require4").family(V4, RequireDualStack), "b-dual: 10.0.1.1,2001:db8:1::2"),
            (svc("require6").family(V6, RequireDualStack), "b-dual: 2001:db8:1::3,10.0.1.2"),
            // b-dual has IPv4 left but no IPv6.
            (
                svc("require-full").family(V4, RequireDualStack),
                "error: no eligible IPAddressPool has a free IPv4 and IPv6 address (tried a-v4, b-dual, c-v6)",
            ),
            (svc("prefer-partial").family(V4, PreferDualStack).pool("b-dual"), "b-dual: 10.0.1.3"),
            (
                svc("require-named-v4").family(V4, RequireDualStack).pool("a-v4"),
                "error: IPAddressPool \"a-v4\" has no IPv6 addresses",
            ),
            (
                svc("require-named").family(V6, RequireDualStack).pool("d-dual-small"),
                "d-dual-small: 2001:db8:3::,10.0.3.0",
            ),
            (
                svc("require-exhausted").family(V6, RequireDualStack).pool("d-dual-small"),
                "error: IPAddressPool \"d-dual-small\" has no free IPv6 address",
            ),
            (
                svc("asks-both")
                    .family(V6, RequireDualStack)
                    .ips(&["10.0.0.3", "2001:db8:2::3"]),
                "error: requested addresses 10.0.0.3 and 2001:db8:2::3 are in different \
                 IPAddressPools (\"a-v4\" and \"c-v6\"); ask for addresses of one pool",
            ),
            (
                svc("asks-one").family(V4, RequireDualStack).ips(&["10.0.0.3"]),
                "error: requested only 10.0.0.3 but the Service requires dual-stack (one IPv4 \
                 and one IPv6 address)",
            ),
            (
                svc("asks-wrong-family").ips(&["2001:db8:2::3"]),
                "error: requested 2001:db8:2::3 but the Service's first IP family is IPv4",
            ),
            (svc("asks-v6").v6().ips(&["2001:db8:2::3"]), "c-v6: 2001:db8:2::3"),
        ],
    );
    let usage = a.usage("b-dual").unwrap();
    assert_eq!(usage.ipv4, FamilyUsage { size: 4, in_use: 4 });
    assert_eq!(usage.ipv6, FamilyUsage { size: 4, in_use: 4 });
    assert_eq!(usage.ipv6.available(), 0);
}

#[test]
fn family_policy_changes_keep_the_primary_address() {
    use AddressFamily::V4;
    use IpFamilyPolicy::*;
    let mut a = allocator(&[("dual", "addresses: [10.0.0.0/30, \"2001:db8::/126\"]")]);
    run(
        &mut a,
        &[
            (svc("x"), "dual: 10.0.0.0"),
            (svc("y"), "dual: 10.0.0.1"),
            (
                svc("x").family(V4, PreferDualStack),
                "dual: 10.0.0.0,2001:db8::",
            ),
            (
                svc("x").family(V4, RequireDualStack),
                "dual: 10.0.0.0,2001:db8::",
            ),
            (svc("x"), "dual: 10.0.0.0"),
            (
                svc("y").family(V4, RequireDualStack),
                "dual: 10.0.0.1,2001:db8::",
            ),
        ],
    );
}

#[test]
fn sharing_takes_the_lowest_compatible_address() {
    let mut a = allocator(&[("p", "addresses: [10.0.0.0/29]")]);
    run(
        &mut a,
        &[
            (svc("a").share("k", &[("TCP", 80)]), "p: 10.0.0.0"),
            (svc("b"), "p: 10.0.0.1"),
            // Shares with a on 10.0.0.0, the lowest candidate.
            (svc("c").share("k", &[("TCP", 443)]), "p: 10.0.0.0"),
            (svc("d").share("k", &[("UDP", 443)]), "p: 10.0.0.0"),
            // Port clash with a: the next free address.
            (svc("e").share("k", &[("TCP", 80)]), "p: 10.0.0.2"),
            // Other key: no sharing.
            (svc("f").share("j", &[("TCP", 22)]), "p: 10.0.0.3"),
            // Local policy: must also have the same selector.
            (
                svc("g").share("l", &[("TCP", 1)]).local(&[("app", "x")]),
                "p: 10.0.0.4",
            ),
            (
                svc("h").share("l", &[("TCP", 2)]).local(&[("app", "x")]),
                "p: 10.0.0.4",
            ),
            (
                svc("i").share("l", &[("TCP", 3)]).local(&[("app", "y")]),
                "p: 10.0.0.5",
            ),
            (svc("j").share("l", &[("TCP", 4)]), "p: 10.0.0.6"),
            // Requesting a shared address.
            (
                svc("k").share("k", &[("TCP", 8080)]).ips(&["10.0.0.2"]),
                "p: 10.0.0.2",
            ),
            (
                svc("l").share("k", &[("TCP", 80)]).ips(&["10.0.0.0"]),
                "error: requested address 10.0.0.0 is in use: default/a already uses TCP/80 on it",
            ),
            (
                svc("m").ips(&["10.0.0.0"]),
                "error: requested address 10.0.0.0 is in use: default/a holds it and this \
                 Service has no allow-shared-ip annotation",
            ),
        ],
    );
    let mut holders: Vec<String> = a
        .holders("10.0.0.0".parse().unwrap())
        .iter()
        .map(|s| s.name.clone())
        .collect();
    holders.sort();
    assert_eq!(holders, ["a", "c", "d"]);
    // A shared address stays taken until its last holder goes.
    assert_eq!(a.usage("p").unwrap().ipv4.in_use, 7);
    a.release(svc("a").key());
    a.release(svc("c").key());
    assert_eq!(a.usage("p").unwrap().ipv4.in_use, 7);
    a.release(svc("d").key());
    assert_eq!(a.usage("p").unwrap().ipv4.in_use, 6);
    run(&mut a, &[(svc("n"), "p: 10.0.0.0")]);
}

#[test]
fn a_holder_changing_its_ports_into_a_clash_moves() {
    let mut a = allocator(&[("p", "addresses: [10.0.0.0/30]")]);
    run(
        &mut a,
        &[
            (svc("a").share("k", &[("TCP", 80)]), "p: 10.0.0.0"),
            (svc("b").share("k", &[("TCP", 443)]), "p: 10.0.0.0"),
            // b now clashes with a; a keeps its address, b moves.
            (svc("b").share("k", &[("TCP", 80)]), "p: 10.0.0.1"),
            (svc("a").share("k", &[("TCP", 80)]), "p: 10.0.0.0"),
        ],
    );
}

#[test]
fn huge_ipv6_pools_are_cheap() {
    let mut a = allocator(&[("big", "addresses: [\"2001:db8::/32\", \"::/0\"]")]);
    // ::/0 overlaps the /32; the lowest address is ::.
    run(
        &mut a,
        &[(svc("a").v6(), "big: ::"), (svc("b").v6(), "big: ::1")],
    );
    let usage = a.usage("big").unwrap().ipv6;
    assert_eq!(usage.size, u128::MAX);
    assert_eq!(usage.in_use, 2);
}

#[test]
fn failures_have_stable_reasons() {
    let e = AllocationError::PoolExhausted {
        pool: "p".into(),
        family: AddressFamily::V4,
    };
    assert_eq!(e.reason(), "pool_exhausted");
    assert_eq!(
        AllocationError::AllPoolsExhausted {
            need: FamilyNeed::Both,
            tried: vec![]
        }
        .reason(),
        "all_pools_exhausted"
    );
}
