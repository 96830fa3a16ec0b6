//! Checks shared by the cluster-object and router-config validators.

use std::collections::BTreeMap;
use std::path::Path;

use ipnet::IpNet;

use super::Report;
use crate::address::AddressBlock;
use crate::crd::bfd::{BFDProfileSpec, MAX_BFD_INTERVAL_MS, MIN_BFD_INTERVAL_MS};
use crate::crd::peer::DEFAULT_HOLD_TIME;
use crate::crd::selector::{selector_problems, LabelSelector};
use crate::duration::Duration;
use crate::router_config::Secret;

/// AS_TRANS (RFC 6793): a placeholder in 2-byte AS fields, never a real AS.
const AS_TRANS: u32 = 23456;
/// Longest TCP MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
const MAX_MD5_KEY_LEN: usize = 80;
/// Longest Linux interface name (`IFNAMSIZ` - 1).
const MAX_IFNAME_LEN: usize = 15;

/// AS numbers must be usable in OPEN messages.
pub(super) fn check_asn(report: &mut Report<'_>, field: &str, asn: u32) {
    match asn {
        0 => report.error(field, "AS number 0 is reserved (RFC 7607)"),
        AS_TRANS => report.error(
            field,
            "AS number 23456 is AS_TRANS (RFC 6793), a placeholder rather than a real AS",
        ),
        _ => {}
    }
}

/// Hold time: whole seconds, 0 or 3s..=65535s. Keepalive: whole seconds,
/// below the hold time (or absent/0 with a hold time of 0). `prefix` is
/// the path of the object holding `holdTime`/`keepaliveTime`, with a
/// trailing dot.
pub(super) fn check_bgp_timers(
    report: &mut Report<'_>,
    prefix: &str,
    hold: Option<Duration>,
    keepalive: Option<Duration>,
) {
    let hold_field = format!("{prefix}holdTime");
    let keepalive_field = format!("{prefix}keepaliveTime");
    let effective_hold = hold.unwrap_or(DEFAULT_HOLD_TIME);
    if let Some(hold) = hold {
        match hold.whole_seconds() {
            None => report.error(
                &hold_field,
                format!("hold time {hold} is not a whole number of seconds"),
            ),
            Some(s) if (1..3).contains(&s) => report.error(
                &hold_field,
                format!("hold time {hold} must be 0 or at least 3s (RFC 4271)"),
            ),
            Some(s) if s > u64::from(u16::MAX) => {
                report.error(&hold_field, format!("hold time {hold} exceeds 65535s"))
            }
            Some(_) => {}
        }
    }
    let Some(keepalive) = keepalive else {
        return;
    };
    if keepalive.whole_seconds().is_none() {
        report.error(
            &keepalive_field,
            format!("keepalive time {keepalive} is not a whole number of seconds"),
        );
    } else if effective_hold.is_zero() {
        if !keepalive.is_zero() {
            report.error(
                &keepalive_field,
                format!(
                    "keepalive time {keepalive} has no effect with a hold time of 0; remove it"
                ),
            );
        }
    } else if keepalive.is_zero() {
        report.error(
            &keepalive_field,
            format!(
                "keepalive time 0 sends no keepalives, so the peer's hold timer ({effective_hold}) \
                 would expire"
            ),
        );
    } else if keepalive >= effective_hold {
        report.error(
            &keepalive_field,
            format!("keepalive time {keepalive} must be less than the hold time {effective_hold}"),
        );
    }
}

/// A duration in whole seconds within `min..=max` seconds.
pub(super) fn check_whole_seconds(
    report: &mut Report<'_>,
    field: &str,
    what: &str,
    value: Duration,
    min: u64,
    max: u64,
) {
    match value.whole_seconds() {
        Some(s) if (min..=max).contains(&s) => {}
        Some(_) => report.error(
            field,
            format!("{what} {value} must be between {min}s and {max}s"),
        ),
        None => report.error(
            field,
            format!("{what} {value} is not a whole number of seconds"),
        ),
    }
}

/// BFD timers within the ranges FerroLB supports. `prefix` ends with a dot.
pub(super) fn check_bfd_profile(report: &mut Report<'_>, prefix: &str, spec: &BFDProfileSpec) {
    let intervals = [
        ("receiveInterval", spec.receive_interval),
        ("transmitInterval", spec.transmit_interval),
        ("echoInterval", spec.echo_interval),
    ];
    for (field, value) in intervals {
        if let Some(ms) =
            value.filter(|ms| !(MIN_BFD_INTERVAL_MS..=MAX_BFD_INTERVAL_MS).contains(ms))
        {
            report.error(
                format!("{prefix}{field}"),
                format!(
                    "{ms}ms is outside {MIN_BFD_INTERVAL_MS}..={MAX_BFD_INTERVAL_MS} milliseconds"
                ),
            );
        }
    }
    if let Some(m) = spec.detect_multiplier.filter(|m| !(2..=255).contains(m)) {
        report.error(
            format!("{prefix}detectMultiplier"),
            format!("detect multiplier {m} is outside 2..=255"),
        );
    }
    if let Some(ttl) = spec.minimum_ttl.filter(|t| !(1..=254).contains(t)) {
        report.error(
            format!("{prefix}minimumTtl"),
            format!("minimum TTL {ttl} is outside 1..=254"),
        );
    }
}

/// Each selector in a list, with problems located inside it.
pub(super) fn check_selectors(report: &mut Report<'_>, field: &str, selectors: &[LabelSelector]) {
    for (i, selector) in selectors.iter().enumerate() {
        for problem in selector_problems(selector) {
            report.error(format!("{field}[{i}].{}", problem.field), problem.reason);
        }
    }
}

/// Names must be present and unique within a list. `items` yields the
/// field path of each name and the name.
pub(super) fn check_unique_names<'n>(
    report: &mut Report<'_>,
    what: &str,
    items: impl IntoIterator<Item = (String, &'n str)>,
) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (field, name) in items {
        if name.is_empty() {
            report.error(field, format!("{what} name is required"));
        } else if let Some(first) = seen.get(name) {
            report.error(
                field,
                format!("duplicate {what} name {name:?} (also at {first})"),
            );
        } else {
            seen.insert(name, field);
        }
    }
}

/// A CIDR must be written as its network address.
pub(super) fn check_network(report: &mut Report<'_>, field: &str, net: &IpNet) {
    if net.trunc() != *net {
        report.error(
            field,
            format!("{net} has host bits set (the network is {})", net.trunc()),
        );
    }
}

/// For each block that overlaps an earlier one, its index and the earlier
/// block's index. Sorting first keeps this O(n log n) for large lists.
pub(super) fn find_overlaps(blocks: &[AddressBlock]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| (blocks[i].family(), blocks[i].first(), i));
    let mut found = Vec::new();
    // The block seen so far that reaches furthest; any block starting
    // before its end overlaps it.
    let mut reach: Option<usize> = None;
    for &i in &order {
        match reach {
            Some(r) if blocks[r].overlaps(&blocks[i]) => {
                found.push((r.max(i), r.min(i)));
                if blocks[i].last() > blocks[r].last() {
                    reach = Some(i);
                }
            }
            _ => reach = Some(i),
        }
    }
    found.sort_unstable();
    found
}

/// TCP MD5 settings: one source only, non-empty, within the kernel's limit.
pub(super) fn check_password(
    report: &mut Report<'_>,
    prefix: &str,
    password: Option<&Secret>,
    password_file: Option<&Path>,
) {
    if let Some(p) = password {
        let field = format!("{prefix}password");
        if password_file.is_some() {
            report.error(field, "set either password or passwordFile, not both");
        } else if p.expose().is_empty() {
            report.error(field, "password is empty");
        } else if p.expose().len() > MAX_MD5_KEY_LEN {
            report.error(
                field,
                format!("password is longer than {MAX_MD5_KEY_LEN} bytes (the TCP MD5 key limit)"),
            );
        }
    }
    if password_file.is_some_and(|f| f.as_os_str().is_empty()) {
        report.error(format!("{prefix}passwordFile"), "path is empty");
    }
}

/// A Linux network interface name.
pub(super) fn interface_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("interface name is empty".to_owned())
    } else if name.len() > MAX_IFNAME_LEN {
        Some(format!(
            "interface name {name:?} is longer than {MAX_IFNAME_LEN} characters"
        ))
    } else if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        Some(format!("{name:?} is not a valid interface name"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(list: &[&str]) -> Vec<AddressBlock> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn overlaps_are_reported_against_an_earlier_block() {
        type Case<'a> = (&'a [&'a str], &'a [(usize, usize)]);
        let table: &[Case] = &[
            (&["10.0.0.0/24", "10.0.1.0/24"], &[]),
            (&["10.0.0.0/24", "10.0.0.128/25"], &[(1, 0)]),
            (&["10.0.0.128/25", "10.0.0.0/24"], &[(1, 0)]),
            (
                &["10.0.0.0/16", "10.0.5.0/24", "10.0.9.0/24"],
                &[(1, 0), (2, 0)],
            ),
            (&["10.0.0.0/8", "::/0"], &[]),
            (
                &["10.0.0.1-10.0.0.5", "10.0.0.6-10.0.0.9", "10.0.0.5/32"],
                &[(2, 0)],
            ),
        ];
        for (list, want) in table {
            assert_eq!(find_overlaps(&blocks(list)), *want, "{list:?}");
        }
    }

    #[test]
    fn interface_names() {
        assert_eq!(interface_name_problem("eth0"), None);
        assert_eq!(interface_name_problem("enp3s0f1.100"), None);
        assert!(interface_name_problem("averyveryverylongname").is_some());
        assert!(interface_name_problem("eth 0").is_some());
        assert!(interface_name_problem("a/b").is_some());
    }
}
