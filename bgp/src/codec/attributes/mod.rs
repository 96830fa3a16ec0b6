//! Path attributes: the attribute block decoder with RFC 7606 error handling (here) and the
//! encoder (`encode`).
//!
//! Per-attribute handling is data in [`rules`]; the decoder walks the block, checks flags,
//! lengths and duplicates, and applies the handling the table names.

mod as_path;
mod community;
mod encode;
pub(crate) mod mp;
mod path;
pub mod rules;

pub(crate) use encode::encode_path;
pub use encode::encode_path_attributes;
pub use mp::{MpReachView, MpUnreachView};
use rules::{AttributeRule, Handling};

use super::error::{malformed_attribute_list, update_error};
use super::wire::Reader;
use super::CodecOptions;
use crate::attribute::{
    flags, type_code, Aggregator, AsPath, AttributeError, ErrorAction, PathAttributes,
    UnknownAttribute,
};
use crate::message::subcode::update::{
    ATTRIBUTE_FLAGS_ERROR, ATTRIBUTE_LENGTH_ERROR, UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
};
use crate::message::Notification;

/// A malformed attribute value: the RFC 4271 subcode naming the error and a reason for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) subcode: u8,
    pub(crate) reason: String,
}

impl Malformed {
    pub(crate) fn new(subcode: u8, reason: impl Into<String>) -> Malformed {
        Malformed {
            subcode,
            reason: reason.into(),
        }
    }
}

/// A decoded attribute block. The MP attributes' prefixes are still in the frame.
#[derive(Debug, Clone, Default)]
pub struct DecodedAttributes<'a> {
    /// The attributes, without `mp_reach` / `mp_unreach` (see the views). When
    /// `treat_as_withdraw` is set they must not be used for routes.
    pub attributes: PathAttributes,
    /// MP_REACH_NLRI, if present and of a family FerroLB carries.
    pub mp_reach: Option<MpReachView<'a>>,
    /// MP_UNREACH_NLRI, if present and of a family FerroLB carries.
    pub mp_unreach: Option<MpUnreachView<'a>>,
    /// Errors handled per RFC 7606, in the order found.
    pub errors: Vec<AttributeError>,
    /// Some error calls for treat-as-withdraw.
    pub treat_as_withdraw: bool,
}

/// A set of attribute type codes.
#[derive(Debug, Default)]
struct TypeSet([u64; 4]);

impl TypeSet {
    /// Adds `code`; false if it was already there.
    fn insert(&mut self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), 1u64 << (code % 64));
        match self.0.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }

    fn contains(&self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), 1u64 << (code % 64));
        self.0.get(word).is_some_and(|w| w & bit != 0)
    }
}

fn is_mp(code: u8) -> bool {
    code == type_code::MP_REACH_NLRI || code == type_code::MP_UNREACH_NLRI
}

fn name(code: u8) -> String {
    rules::rule(code).map_or_else(|| format!("attribute {code}"), |r| r.name.to_string())
}

/// Decodes a path attribute block.
///
/// `classic_nlri` says whether the UPDATE's NLRI field is non-empty (it makes NEXT_HOP
/// mandatory). Errors RFC 7606 handles without a session reset are in the result; the `Err`
/// is the NOTIFICATION for the others.
pub fn decode_path_attributes(
    block: &[u8],
    classic_nlri: bool,
    opts: CodecOptions,
) -> Result<DecodedAttributes<'_>, Notification> {
    let mut d = BlockDecoder {
        opts,
        out: DecodedAttributes::default(),
        seen: TypeSet::default(),
        duplicates: TypeSet::default(),
        as4_path: None,
        as4_aggregator: None,
    };
    let mut r = Reader::new(block);
    while !r.is_empty() {
        let start = r.rest();
        let (Some(attr_flags), code) = (r.u8(), r.u8()) else {
            break;
        };
        let len = if attr_flags & flags::EXTENDED_LENGTH != 0 {
            r.u16().map(usize::from)
        } else {
            r.u8().map(usize::from)
        };
        let (Some(code), Some(value)) = (code, len.and_then(|n| r.take(n))) else {
            d.overrun(code, start)?;
            break;
        };
        let raw = start.get(..start.len() - r.remaining()).unwrap_or(start);
        d.attribute(attr_flags, code, value, raw)?;
    }
    Ok(d.finish(classic_nlri))
}

struct BlockDecoder<'a> {
    opts: CodecOptions,
    out: DecodedAttributes<'a>,
    seen: TypeSet,
    duplicates: TypeSet,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
}

impl<'a> BlockDecoder<'a> {
    fn record(&mut self, type_code: u8, action: ErrorAction, reason: String) {
        if action == ErrorAction::TreatAsWithdraw {
            self.out.treat_as_withdraw = true;
        }
        self.out.errors.push(crate::attribute::AttributeError {
            type_code,
            action,
            reason,
        });
    }

    /// Applies `handling` to a malformed attribute (`raw`: the whole attribute as received).
    fn apply(
        &mut self,
        rule: &AttributeRule,
        handling: Handling,
        m: Malformed,
        raw: &[u8],
    ) -> Result<(), Notification> {
        match handling {
            Handling::SessionReset => return Err(update_error(m.subcode, raw)),
            Handling::TreatAsWithdraw => {
                self.record(rule.type_code, ErrorAction::TreatAsWithdraw, m.reason)
            }
            Handling::AttributeDiscard => {
                self.record(rule.type_code, ErrorAction::AttributeDiscard, m.reason)
            }
        }
        Ok(())
    }

    /// The last attribute's header or value overruns the block (RFC 7606 section 4).
    fn overrun(&mut self, code: Option<u8>, attribute: &[u8]) -> Result<(), Notification> {
        match code {
            // Its NLRI cannot be located, so treat-as-withdraw is impossible (RFC 7606 3h).
            Some(c) if is_mp(c) => Err(update_error(ATTRIBUTE_LENGTH_ERROR, attribute)),
            _ => {
                let c = code.unwrap_or(0);
                let reason = format!("{}: overruns the path attributes", name(c));
                self.record(c, ErrorAction::TreatAsWithdraw, reason);
                Ok(())
            }
        }
    }

    fn attribute(
        &mut self,
        attr_flags: u8,
        code: u8,
        value: &'a [u8],
        raw: &[u8],
    ) -> Result<(), Notification> {
        if !self.seen.insert(code) {
            if is_mp(code) {
                return Err(malformed_attribute_list());
            }
            // Recorded once per type so the error list stays small whatever the peer sends.
            if self.duplicates.insert(code) {
                let reason = format!("{} appears more than once; the first is kept", name(code));
                self.record(code, ErrorAction::AttributeDiscard, reason);
            }
            return Ok(());
        }
        let Some(rule) = rules::rule(code) else {
            return self.unrecognized(attr_flags, code, value, raw);
        };
        let kind = attr_flags & (flags::OPTIONAL | flags::TRANSITIVE);
        if kind != rule.flags {
            let why = format!(
                "{}: flags {attr_flags:#04x} conflict with {:#04x}",
                rule.name, rule.flags
            );
            self.apply(
                rule,
                rule.flags_conflict,
                Malformed::new(ATTRIBUTE_FLAGS_ERROR, why),
                raw,
            )?;
            // The MP attributes are still read: their prefixes are what gets withdrawn.
            if !is_mp(code) {
                return Ok(());
            }
        }
        match self.known(code, value) {
            Ok(()) => Ok(()),
            Err(m) => self.apply(rule, rule.malformed, m, raw),
        }
    }

    fn unrecognized(
        &mut self,
        attr_flags: u8,
        code: u8,
        value: &[u8],
        raw: &[u8],
    ) -> Result<(), Notification> {
        if attr_flags & flags::OPTIONAL == 0 {
            return Err(update_error(UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, raw));
        }
        self.out.attributes.unknown.push(UnknownAttribute {
            // Extended Length describes this encoding only; the low four bits are unused.
            flags: attr_flags & (flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL),
            type_code: code,
            value: value.to_vec(),
        });
        Ok(())
    }

    fn known(&mut self, code: u8, value: &'a [u8]) -> Result<(), Malformed> {
        let asn_len = if self.opts.four_octet_as { 4 } else { 2 };
        let a = &mut self.out.attributes;
        match code {
            type_code::ORIGIN => a.origin = Some(path::decode_origin(value)?),
            type_code::AS_PATH => a.as_path = Some(as_path::decode("AS_PATH", value, asn_len)?),
            type_code::NEXT_HOP => a.next_hop = Some(path::decode_next_hop(value)?),
            type_code::MULTI_EXIT_DISC => a.med = Some(path::decode_u32("MULTI_EXIT_DISC", value)?),
            type_code::LOCAL_PREF => a.local_pref = Some(path::decode_u32("LOCAL_PREF", value)?),
            type_code::ATOMIC_AGGREGATE => {
                path::decode_atomic_aggregate(value)?;
                a.atomic_aggregate = true;
            }
            type_code::AGGREGATOR => {
                a.aggregator = Some(path::decode_aggregator("AGGREGATOR", value, asn_len)?);
            }
            type_code::COMMUNITIES => a.communities = community::decode_communities(value)?,
            type_code::LARGE_COMMUNITY => a.large_communities = community::decode_large(value)?,
            type_code::MP_REACH_NLRI => match mp::decode_reach(value)? {
                mp::Mp::Supported(v) => self.out.mp_reach = Some(v),
                mp::Mp::Unsupported { afi, safi } => self.unsupported_family(code, afi, safi),
            },
            type_code::MP_UNREACH_NLRI => match mp::decode_unreach(value)? {
                mp::Mp::Supported(v) => self.out.mp_unreach = Some(v),
                mp::Mp::Unsupported { afi, safi } => self.unsupported_family(code, afi, safi),
            },
            type_code::AS4_PATH if self.opts.four_octet_as => self.as4_on_new_session(code),
            type_code::AS4_PATH => self.as4_path = Some(as_path::decode("AS4_PATH", value, 4)?),
            type_code::AS4_AGGREGATOR if self.opts.four_octet_as => self.as4_on_new_session(code),
            type_code::AS4_AGGREGATOR => {
                self.as4_aggregator = Some(path::decode_aggregator("AS4_AGGREGATOR", value, 4)?);
            }
            _ => {}
        }
        Ok(())
    }

    fn unsupported_family(&mut self, code: u8, afi: u16, safi: u8) {
        let reason = format!(
            "{}: AFI {afi} SAFI {safi} is not carried by FerroLB",
            name(code)
        );
        self.record(code, ErrorAction::AttributeDiscard, reason);
    }

    /// RFC 6793 section 4.1: NEW speakers do not exchange AS4 attributes; discard them.
    fn as4_on_new_session(&mut self, code: u8) {
        let reason = format!("{} received on a 4-octet AS session", name(code));
        self.record(code, ErrorAction::AttributeDiscard, reason);
    }

    fn finish(mut self, classic_nlri: bool) -> DecodedAttributes<'a> {
        if !self.opts.four_octet_as {
            self.merge_as4();
        }
        let a = &self.out.attributes;
        let any_nlri = classic_nlri || self.out.mp_reach.is_some_and(|m| !m.nlri.is_empty());
        let missing: Vec<u8> = [
            (type_code::ORIGIN, any_nlri && a.origin.is_none()),
            (type_code::AS_PATH, any_nlri && a.as_path.is_none()),
            (type_code::NEXT_HOP, classic_nlri && a.next_hop.is_none()),
        ]
        .into_iter()
        // An attribute present but malformed has been recorded already.
        .filter(|&(code, absent)| absent && !self.seen.contains(code))
        .map(|(code, _)| code)
        .collect();
        for code in missing {
            let reason = format!("{}: missing well-known mandatory attribute", name(code));
            self.record(code, ErrorAction::TreatAsWithdraw, reason);
        }
        self.out
    }

    /// RFC 6793 section 4.2.3: rebuild the 4-octet AGGREGATOR and AS_PATH an OLD speaker sent.
    fn merge_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();
        let a = &mut self.out.attributes;
        // Only when both aggregator attributes arrive does one have to be chosen.
        match (a.aggregator, as4_aggregator) {
            // An OLD speaker aggregated after the last NEW one: its AGGREGATOR and AS_PATH are
            // current, AS4_AGGREGATOR and AS4_PATH stale.
            (Some(agg), Some(_)) if agg.asn != crate::types::AS_TRANS => return,
            (Some(_), Some(agg4)) => a.aggregator = Some(agg4),
            _ => {}
        }
        if let Some(path4) = as4_path {
            a.as_path = a.as_path.take().map(|path| as_path::merge_as4(path, path4));
        }
    }
}
