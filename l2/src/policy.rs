//! Which interfaces may answer for service IPs, and which IPs each one answers for. Pure
//! functions over plain link facts; the facts come from [`crate::netlink`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What kind of link an interface is, as far as answering ARP/NDP is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// An Ethernet link (physical NIC, bond, bridge, VLAN, veth, ...).
    Ethernet,
    /// The loopback interface.
    Loopback,
    /// Anything without Ethernet framing (tunnels, WireGuard, ...).
    Other,
}

/// The facts about one interface that eligibility depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    /// Interface name.
    pub name: String,
    /// Link kind.
    pub kind: LinkKind,
    /// The index of the bond or bridge this interface is enslaved to, if any.
    pub master: Option<u32>,
    /// Administratively up with carrier.
    pub up: bool,
}

/// Which interfaces may answer ARP requests and Neighbor Solicitations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfacePolicy {
    /// Only these interfaces may answer; empty means every interface not otherwise excluded.
    pub include: Vec<String>,
    /// Interfaces whose name starts with one of these never answer (container and overlay
    /// plumbing: answering there would hand the service IP to pods or tunnels). Applies even to
    /// interfaces named in `include`.
    pub exclude_prefixes: Vec<String>,
    /// Whether a bond or bridge member may answer. Off by default: the bond or bridge itself
    /// carries the node's traffic, and a member answering with its own MAC misdirects it.
    pub allow_enslaved: bool,
}

/// Interface name prefixes excluded by default.
pub const DEFAULT_EXCLUDE_PREFIXES: &[&str] = &[
    "cni",
    "veth",
    "docker",
    "flannel",
    "cali",
    "cilium",
    "lxc",
    "kube-ipvs",
    "vxlan",
    "tunl",
];

impl Default for InterfacePolicy {
    fn default() -> Self {
        InterfacePolicy {
            include: Vec::new(),
            exclude_prefixes: DEFAULT_EXCLUDE_PREFIXES
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            allow_enslaved: false,
        }
    }
}

/// Whether an interface may answer, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    /// The interface may answer.
    Eligible,
    /// Loopback or a link without Ethernet framing.
    NotEthernet,
    /// Down or without carrier.
    Down,
    /// Not in a non-empty include list.
    NotIncluded,
    /// Its name starts with this excluded prefix.
    Excluded(String),
    /// A bond or bridge member.
    Enslaved,
}

impl InterfacePolicy {
    /// Decides whether `link` may answer.
    pub fn eligibility(&self, link: &LinkFacts) -> Eligibility {
        if link.kind != LinkKind::Ethernet {
            return Eligibility::NotEthernet;
        }
        if let Some(prefix) = self
            .exclude_prefixes
            .iter()
            .find(|p| !p.is_empty() && link.name.starts_with(p.as_str()))
        {
            return Eligibility::Excluded(prefix.clone());
        }
        if !self.include.is_empty() && !self.include.contains(&link.name) {
            return Eligibility::NotIncluded;
        }
        if link.master.is_some() && !self.allow_enslaved {
            return Eligibility::Enslaved;
        }
        if !link.up {
            return Eligibility::Down;
        }
        Eligibility::Eligible
    }
}

/// Spreads the owned IPs over the eligible interfaces: an IP with an empty interface list is
/// answered on every eligible interface, otherwise on the listed ones that are eligible. Every
/// eligible interface appears in the result, possibly with no IPs.
pub fn assign(
    owned: &BTreeMap<IpAddr, Vec<String>>,
    eligible: &BTreeSet<String>,
) -> BTreeMap<String, BTreeSet<IpAddr>> {
    eligible
        .iter()
        .map(|name| {
            let ips = owned
                .iter()
                .filter(|(_, on)| on.is_empty() || on.contains(name))
                .map(|(ip, _)| *ip)
                .collect();
            (name.clone(), ips)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, kind: LinkKind, master: Option<u32>, up: bool) -> LinkFacts {
        LinkFacts {
            name: name.into(),
            kind,
            master,
            up,
        }
    }

    #[test]
    fn eligibility_table() {
        use Eligibility::*;
        use LinkKind::*;
        let default = InterfacePolicy::default();
        let only_eth1 = InterfacePolicy {
            include: vec!["eth1".into(), "cni0".into()],
            ..InterfacePolicy::default()
        };
        let members_ok = InterfacePolicy {
            allow_enslaved: true,
            ..InterfacePolicy::default()
        };
        let no_prefixes = InterfacePolicy {
            exclude_prefixes: vec![String::new()],
            ..InterfacePolicy::default()
        };
        let cases = [
            (&default, link("eth0", Ethernet, None, true), Eligible),
            (&default, link("br0", Ethernet, None, true), Eligible),
            (&default, link("bond0", Ethernet, None, true), Eligible),
            (&default, link("lo", Loopback, None, true), NotEthernet),
            (&default, link("wg0", Other, None, true), NotEthernet),
            (&default, link("eth0", Ethernet, None, false), Down),
            (&default, link("eth0", Ethernet, Some(7), true), Enslaved),
            (&members_ok, link("eth0", Ethernet, Some(7), true), Eligible),
            (
                &default,
                link("cni0", Ethernet, None, true),
                Excluded("cni".into()),
            ),
            (
                &default,
                link("veth1234", Ethernet, None, true),
                Excluded("veth".into()),
            ),
            (
                &default,
                link("docker0", Ethernet, None, true),
                Excluded("docker".into()),
            ),
            (
                &default,
                link("flannel.1", Ethernet, None, true),
                Excluded("flannel".into()),
            ),
            (
                &default,
                link("cali12ab", Ethernet, None, true),
                Excluded("cali".into()),
            ),
            (
                &default,
                link("cilium_host", Ethernet, None, true),
                Excluded("cilium".into()),
            ),
            (
                &default,
                link("lxc99", Ethernet, None, true),
                Excluded("lxc".into()),
            ),
            (
                &default,
                link("kube-ipvs0", Ethernet, None, true),
                Excluded("kube-ipvs".into()),
            ),
            (
                &default,
                link("vxlan.calico", Ethernet, None, true),
                Excluded("vxlan".into()),
            ),
            (
                &default,
                link("tunl0", Ethernet, None, true),
                Excluded("tunl".into()),
            ),
            (&only_eth1, link("eth0", Ethernet, None, true), NotIncluded),
            (&only_eth1, link("eth1", Ethernet, None, true), Eligible),
            // An include list does not override the exclusions.
            (
                &only_eth1,
                link("cni0", Ethernet, None, true),
                Excluded("cni".into()),
            ),
            // An empty prefix excludes nothing.
            (&no_prefixes, link("cni0", Ethernet, None, true), Eligible),
        ];
        for (policy, link, want) in cases {
            assert_eq!(policy.eligibility(&link), want, "{link:?}");
        }
    }

    #[test]
    fn assign_table() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let eligible: BTreeSet<String> = ["eth0", "eth1"].map(String::from).into();
        let owned: BTreeMap<IpAddr, Vec<String>> = [
            (ip("192.0.2.1"), vec![]),
            (ip("192.0.2.2"), vec!["eth1".into()]),
            (ip("2001:db8::1"), vec!["eth0".into(), "eth9".into()]),
            (ip("192.0.2.3"), vec!["cni0".into()]),
        ]
        .into();
        let got = assign(&owned, &eligible);
        let want: BTreeMap<String, BTreeSet<IpAddr>> = [
            (
                "eth0".to_owned(),
                [ip("192.0.2.1"), ip("2001:db8::1")].into(),
            ),
            ("eth1".to_owned(), [ip("192.0.2.1"), ip("192.0.2.2")].into()),
        ]
        .into();
        assert_eq!(got, want);
        let none = assign(&BTreeMap::new(), &eligible);
        assert!(none.values().all(BTreeSet::is_empty));
        assert_eq!(none.len(), 2);
    }
}
