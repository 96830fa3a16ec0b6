//! [`UpdateView`]: an UPDATE checked once, its prefixes read straight from the frame.

use ipnet::{IpNet, Ipv4Net};

use super::attributes::{decode_path_attributes, DecodedAttributes, MpReachView, MpUnreachView};
use super::error::{bad_message_type, invalid_network_field, malformed_attribute_list};
use super::header::split_frame;
use super::nlri::{self, Ipv4Prefixes};
use super::wire::Reader;
use super::CodecOptions;
use crate::attribute::{AttributeError, MpUnreachNlri, NextHop, PathAttributes};
use crate::message::{message_type, Notification, Update};
use crate::types::{AddressFamily, Afi};

/// A decoded UPDATE whose prefixes stay in the frame.
///
/// Construction does every check [`decode_message`](super::decode_message) does (it is what
/// `decode_message` uses), so the iterators cannot fail. Path attributes are decoded once per
/// UPDATE; prefixes are produced on demand without allocating, which is what the RIB's hot path
/// wants: apply [`withdrawn`](Self::withdrawn), then [`announced`](Self::announced) with the
/// shared [`attributes`](Self::attributes).
#[derive(Debug, Clone)]
pub struct UpdateView<'a> {
    withdrawn_routes: Ipv4Prefixes<'a>,
    nlri: Ipv4Prefixes<'a>,
    attrs: DecodedAttributes<'a>,
}

impl<'a> UpdateView<'a> {
    /// Checks a whole framed UPDATE (header included).
    pub fn from_frame(frame: &'a [u8], opts: CodecOptions) -> Result<UpdateView<'a>, Notification> {
        match split_frame(frame, opts)? {
            (message_type::UPDATE, body) => UpdateView::from_body(body, opts),
            (other, _) => Err(bad_message_type(other)),
        }
    }

    /// Checks an UPDATE body (the message without its header).
    ///
    /// Session-reset errors: field lengths overrunning the message (Malformed Attribute List),
    /// syntactically incorrect Withdrawn Routes or NLRI fields (Invalid Network Field), and the
    /// attribute errors [`rules`](super::rules) marks as session reset.
    pub fn from_body(body: &'a [u8], opts: CodecOptions) -> Result<UpdateView<'a>, Notification> {
        let mut r = Reader::new(body);
        let withdrawn = r
            .u16()
            .and_then(|n| r.take(usize::from(n)))
            .ok_or_else(malformed_attribute_list)?;
        let attributes = r
            .u16()
            .and_then(|n| r.take(usize::from(n)))
            .ok_or_else(malformed_attribute_list)?;
        let nlri = r.rest();
        nlri::validate(withdrawn, Afi::Ipv4).map_err(|()| invalid_network_field())?;
        nlri::validate(nlri, Afi::Ipv4).map_err(|()| invalid_network_field())?;
        let attrs = decode_path_attributes(attributes, !nlri.is_empty(), opts)?;
        Ok(UpdateView {
            withdrawn_routes: Ipv4Prefixes::checked(withdrawn),
            nlri: Ipv4Prefixes::checked(nlri),
            attrs,
        })
    }

    /// The classic Withdrawn Routes field, as sent.
    pub fn withdrawn_routes(&self) -> Ipv4Prefixes<'a> {
        self.withdrawn_routes
    }

    /// The classic NLRI field, as sent.
    pub fn nlri(&self) -> Ipv4Prefixes<'a> {
        self.nlri
    }

    /// MP_REACH_NLRI, as sent.
    pub fn mp_reach(&self) -> Option<MpReachView<'a>> {
        self.attrs.mp_reach
    }

    /// MP_UNREACH_NLRI, as sent.
    pub fn mp_unreach(&self) -> Option<MpUnreachView<'a>> {
        self.attrs.mp_unreach
    }

    /// The path attributes shared by every announced prefix (no `mp_reach` / `mp_unreach`).
    /// Not to be used when [`treat_as_withdraw`](Self::treat_as_withdraw) is set.
    pub fn attributes(&self) -> &PathAttributes {
        &self.attrs.attributes
    }

    /// Attribute errors handled per RFC 7606.
    pub fn errors(&self) -> &[AttributeError] {
        &self.attrs.errors
    }

    /// Some attribute error made every announced prefix a withdrawal (RFC 7606 section 2).
    pub fn treat_as_withdraw(&self) -> bool {
        self.attrs.treat_as_withdraw
    }

    /// Every prefix announced, with its next hop; nothing under treat-as-withdraw.
    pub fn announced(&self) -> impl Iterator<Item = (IpNet, NextHop)> + 'a {
        let live = !self.attrs.treat_as_withdraw;
        let classic = self
            .attrs
            .attributes
            .next_hop
            .filter(|_| live)
            .map(|nh| (self.nlri, NextHop::V4(nh)));
        let mp = self.attrs.mp_reach.filter(|_| live);
        classic
            .into_iter()
            .flat_map(|(prefixes, nh)| prefixes.map(move |p| (IpNet::V4(p), nh)))
            .chain(
                mp.into_iter()
                    .flat_map(|m| m.nlri.map(move |p| (p, m.next_hop))),
            )
    }

    /// Every prefix withdrawn, including those announced when treat-as-withdraw applies.
    pub fn withdrawn(&self) -> impl Iterator<Item = IpNet> + 'a {
        let taw = self.attrs.treat_as_withdraw;
        let classic = self.withdrawn_routes.map(IpNet::V4);
        let mp = self.attrs.mp_unreach.into_iter().flat_map(|u| u.withdrawn);
        let announced_classic = Some(self.nlri)
            .filter(|_| taw)
            .into_iter()
            .flatten()
            .map(IpNet::V4);
        let announced_mp = self
            .attrs
            .mp_reach
            .filter(|_| taw)
            .into_iter()
            .flat_map(|m| m.nlri);
        classic
            .chain(mp)
            .chain(announced_classic)
            .chain(announced_mp)
    }

    /// The family this UPDATE marks End-of-RIB for (RFC 4724 section 2), if it is such a marker.
    pub fn end_of_rib(&self) -> Option<AddressFamily> {
        let empty = self.withdrawn_routes.is_empty()
            && self.nlri.is_empty()
            && self.attrs.errors.is_empty()
            && self.attrs.mp_reach.is_none()
            && self.attrs.attributes == PathAttributes::default();
        if !empty {
            return None;
        }
        match self.attrs.mp_unreach {
            None => Some(AddressFamily::Ipv4Unicast),
            Some(u) if u.withdrawn.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// The UPDATE as owned data, with treat-as-withdraw applied.
    pub fn to_update(&self) -> Update {
        self.clone().into_update()
    }

    /// The UPDATE as owned data, with treat-as-withdraw applied: every announced prefix is
    /// withdrawn (IPv4 in the classic field, IPv6 in MP_UNREACH_NLRI) and the path attributes are
    /// cleared.
    pub fn into_update(self) -> Update {
        let DecodedAttributes {
            mut attributes,
            mp_reach,
            mp_unreach,
            errors,
            treat_as_withdraw,
        } = self.attrs;
        if !treat_as_withdraw {
            attributes.mp_reach = mp_reach.map(|m| m.to_owned_nlri());
            attributes.mp_unreach = mp_unreach.map(|u| u.to_owned_nlri());
            return Update {
                withdrawn: self.withdrawn_routes.collect(),
                attributes,
                nlri: self.nlri.collect(),
                errors,
            };
        }
        let mut v4: Vec<Ipv4Net> = self.withdrawn_routes.chain(self.nlri).collect();
        let mut v6: Option<Vec<IpNet>> = None;
        let mp = mp_unreach
            .map(|u| (u.family, u.withdrawn))
            .into_iter()
            .chain(mp_reach.map(|r| (r.family, r.nlri)));
        for (family, prefixes) in mp {
            match family {
                AddressFamily::Ipv4Unicast => v4.extend(prefixes.filter_map(|p| match p {
                    IpNet::V4(p) => Some(p),
                    IpNet::V6(_) => None,
                })),
                AddressFamily::Ipv6Unicast => v6.get_or_insert_with(Vec::new).extend(prefixes),
            }
        }
        Update {
            withdrawn: v4,
            attributes: PathAttributes {
                mp_unreach: v6.map(|withdrawn| MpUnreachNlri {
                    family: AddressFamily::Ipv6Unicast,
                    withdrawn,
                }),
                ..PathAttributes::default()
            },
            nlri: Vec::new(),
            errors,
        }
    }
}
