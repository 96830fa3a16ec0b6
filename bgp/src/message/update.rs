//! The UPDATE message.

use ipnet::{IpNet, Ipv4Net};

use crate::attribute::{AttributeError, MpUnreachNlri, NextHop, PathAttributes};
use crate::types::AddressFamily;

/// An UPDATE message (RFC 4271 section 4.3, RFC 4760).
///
/// The classic fields carry IPv4 unicast; other families travel in `attributes.mp_reach` and
/// `attributes.mp_unreach`. [`Update::announced`] and [`Update::withdrawn_prefixes`] give one view of both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn IPv4 routes.
    pub withdrawn: Vec<Ipv4Net>,
    /// Path attributes.
    pub attributes: PathAttributes,
    /// Announced IPv4 prefixes (their next hop is `attributes.next_hop`).
    pub nlri: Vec<Ipv4Net>,
    /// Malformed attributes found while decoding, already handled per RFC 7606. When any says
    /// treat-as-withdraw, the decoder has moved every announced prefix into the withdrawn sets.
    pub errors: Vec<AttributeError>,
}

impl Update {
    /// The End-of-RIB marker for a family (RFC 4724 section 2).
    pub fn end_of_rib(family: AddressFamily) -> Update {
        match family {
            AddressFamily::Ipv4Unicast => Update::default(),
            AddressFamily::Ipv6Unicast => Update {
                attributes: PathAttributes {
                    mp_unreach: Some(MpUnreachNlri {
                        family,
                        withdrawn: Vec::new(),
                    }),
                    ..PathAttributes::default()
                },
                ..Update::default()
            },
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is such a marker.
    pub fn end_of_rib_family(&self) -> Option<AddressFamily> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || !self.errors.is_empty() {
            return None;
        }
        let a = &self.attributes;
        let empty_path = a.origin.is_none()
            && a.as_path.is_none()
            && a.next_hop.is_none()
            && a.med.is_none()
            && a.local_pref.is_none()
            && !a.atomic_aggregate
            && a.aggregator.is_none()
            && a.communities.is_empty()
            && a.large_communities.is_empty()
            && a.unknown.is_empty()
            && a.mp_reach.is_none();
        if !empty_path {
            return None;
        }
        match &a.mp_unreach {
            None => Some(AddressFamily::Ipv4Unicast),
            Some(u) if u.withdrawn.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// Every announced prefix of every family with its next hop.
    pub fn announced(&self) -> impl Iterator<Item = (IpNet, NextHop)> + '_ {
        let classic = self.attributes.next_hop.into_iter().flat_map(move |nh| {
            self.nlri
                .iter()
                .map(move |p| (IpNet::V4(*p), NextHop::V4(nh)))
        });
        let mp = self
            .attributes
            .mp_reach
            .iter()
            .flat_map(|r| r.nlri.iter().map(move |p| (*p, r.next_hop)));
        classic.chain(mp)
    }

    /// Every withdrawn prefix of every family.
    pub fn withdrawn_prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        let classic = self.withdrawn.iter().map(|p| IpNet::V4(*p));
        let mp = self
            .attributes
            .mp_unreach
            .iter()
            .flat_map(|u| u.withdrawn.iter().copied());
        classic.chain(mp)
    }
}
