//! Routes with attributes, described once as testbed [`Announcement`]s: turned into UPDATEs for
//! FerroLB to send, and compared with what either side received.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_bgp::attribute::{MpReachNlri, MpUnreachNlri};
use ferrolb_bgp::{
    AddressFamily, AsPath, Community, LargeCommunity, NextHop, Origin, PathAttributes, Update,
};
use ferrolb_testbed::{Announcement, RouteView};
use ipnet::IpNet;

use super::ferro::Learned;

/// How the announcing side fills in what an [`Announcement`] leaves open.
#[derive(Debug, Clone, Copy)]
pub struct Origination {
    /// iBGP: empty AS_PATH and LOCAL_PREF; eBGP: AS_PATH of the own AS, no LOCAL_PREF.
    pub internal: bool,
    /// The announcing AS.
    pub asn: u32,
    /// ORIGIN of the announced routes.
    pub origin: Origin,
    /// Next hop for IPv4 routes.
    pub v4: Ipv4Addr,
    /// Next hop for IPv6 routes.
    pub v6: Ipv6Addr,
}

impl Origination {
    /// The AS_PATH a receiver sees.
    pub fn as_path(&self) -> Vec<u32> {
        if self.internal {
            Vec::new()
        } else {
            vec![self.asn]
        }
    }

    /// The next hop for `prefix`.
    pub fn next_hop(&self, prefix: IpNet) -> IpAddr {
        match prefix {
            IpNet::V4(_) => IpAddr::V4(self.v4),
            IpNet::V6(_) => IpAddr::V6(self.v6),
        }
    }

    /// The LOCAL_PREF a receiver sees: only iBGP carries it.
    pub fn local_pref(&self, a: &Announcement) -> Option<u32> {
        a.local_pref.filter(|_| self.internal)
    }
}

/// The UPDATE announcing `a` (IPv4 in the classic fields, IPv6 in MP_REACH_NLRI).
pub fn announce(a: &Announcement, from: &Origination) -> Update {
    let mut attributes = PathAttributes {
        origin: Some(from.origin),
        as_path: Some(AsPath::from_sequence(from.as_path())),
        med: a.med,
        local_pref: from.local_pref(a),
        communities: a
            .communities
            .iter()
            .map(|(high, low)| Community::new(*high, *low))
            .collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(|(g, d1, d2)| LargeCommunity {
                global_admin: *g,
                local_data1: *d1,
                local_data2: *d2,
            })
            .collect(),
        ..PathAttributes::default()
    };
    match a.prefix {
        IpNet::V4(p) => {
            attributes.next_hop = Some(from.v4);
            Update {
                attributes,
                nlri: vec![p],
                ..Update::default()
            }
        }
        IpNet::V6(_) => {
            attributes.mp_reach = Some(MpReachNlri {
                family: AddressFamily::Ipv6Unicast,
                next_hop: NextHop::V6 {
                    global: from.v6,
                    link_local: None,
                },
                nlri: vec![a.prefix],
            });
            Update {
                attributes,
                ..Update::default()
            }
        }
    }
}

/// The UPDATE withdrawing `prefix`.
pub fn withdraw(prefix: IpNet) -> Update {
    match prefix {
        IpNet::V4(p) => Update {
            withdrawn: vec![p],
            ..Update::default()
        },
        IpNet::V6(_) => Update {
            attributes: PathAttributes {
                mp_unreach: Some(MpUnreachNlri {
                    family: AddressFamily::Ipv6Unicast,
                    withdrawn: vec![prefix],
                }),
                ..PathAttributes::default()
            },
            ..Update::default()
        },
    }
}

/// Asserts that a daemon holds `a` exactly as `from` originated it. LOCAL_PREF is only
/// compared on iBGP: on eBGP paths BIRD reports its default of 100 where the others report
/// none, and FerroLB sent none.
pub fn assert_daemon_holds(route: &RouteView, a: &Announcement, from: &Origination) {
    let context = format!("{route:#?}");
    assert_eq!(route.prefix, a.prefix, "{context}");
    assert_eq!(route.as_path, from.as_path(), "AS_PATH: {context}");
    assert_eq!(
        route.origin,
        Some(ferrolb_testbed::Origin::Igp),
        "ORIGIN: {context}"
    );
    assert_eq!(route.communities, a.communities, "COMMUNITIES: {context}");
    assert_eq!(
        route.large_communities, a.large_communities,
        "LARGE_COMMUNITY: {context}"
    );
    assert_eq!(route.med, a.med, "MULTI_EXIT_DISC: {context}");
    if from.internal {
        assert_eq!(route.local_pref, a.local_pref, "LOCAL_PREF: {context}");
    }
    assert_eq!(
        route.next_hops.first(),
        Some(&from.next_hop(a.prefix)),
        "next hop: {context}"
    );
}

/// Asserts that FerroLB learned `a` exactly as `from` originated it (an eBGP peer must not
/// send LOCAL_PREF at all).
pub fn assert_ferro_holds(learned: &Learned, a: &Announcement, from: &Origination) {
    let context = format!("{learned:#?}");
    let attrs = &learned.attributes;
    assert_eq!(attrs.origin, Some(from.origin), "ORIGIN: {context}");
    assert_eq!(
        attrs.as_path,
        Some(AsPath::from_sequence(from.as_path())),
        "AS_PATH: {context}"
    );
    let communities: Vec<(u16, u16)> = attrs
        .communities
        .iter()
        .map(|c| ((c.0 >> 16) as u16, c.0 as u16))
        .collect();
    assert_eq!(communities, a.communities, "COMMUNITIES: {context}");
    let large: Vec<(u32, u32, u32)> = attrs
        .large_communities
        .iter()
        .map(|l| (l.global_admin, l.local_data1, l.local_data2))
        .collect();
    assert_eq!(large, a.large_communities, "LARGE_COMMUNITY: {context}");
    assert_eq!(attrs.med, a.med, "MULTI_EXIT_DISC: {context}");
    assert_eq!(
        attrs.local_pref,
        from.local_pref(a),
        "LOCAL_PREF: {context}"
    );
    let next_hop = match learned.next_hop {
        NextHop::V4(v4) => IpAddr::V4(v4),
        NextHop::V6 { global, .. } => IpAddr::V6(global),
    };
    assert_eq!(next_hop, from.next_hop(a.prefix), "next hop: {context}");
}
