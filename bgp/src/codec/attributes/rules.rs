//! RFC 7606 error handling, per attribute, as data.
//!
//! [`RULES`] lists every attribute the codec interprets with the flags its specification
//! requires and what RFC 7606 (and the attribute's own RFC as revised by it) prescribes when the
//! attribute is malformed or its Optional/Transitive flags conflict (RFC 7606 section 3c).
//!
//! Conditions that do not belong to one attribute:
//!
//! | condition | handling | reference |
//! |---|---|---|
//! | Withdrawn Routes Length or Total Path Attribute Length overruns the message | session reset, Malformed Attribute List | RFC 4271 6.3 |
//! | prefix longer than the family allows, or overrunning its field (classic fields) | session reset, Invalid Network Field | RFC 7606 5.3 |
//! | attribute header or length overrunning the path attributes | treat-as-withdraw (session reset for MP_REACH / MP_UNREACH, whose NLRI could not be located) | RFC 7606 4, 3h |
//! | unrecognized well-known attribute | session reset, Unrecognized Well-known Attribute, data: the attribute | RFC 4271 6.3 |
//! | attribute appearing twice | later copies discarded; session reset with Malformed Attribute List for MP_REACH / MP_UNREACH | RFC 7606 3g |
//! | ORIGIN or AS_PATH missing with NLRI present, NEXT_HOP missing with classic NLRI | treat-as-withdraw | RFC 7606 3d |
//! | MP_REACH / MP_UNREACH of an AFI/SAFI FerroLB does not carry | attribute discard (never negotiated, so never accepted) | RFC 4760 7 |
//! | AS4_PATH / AS4_AGGREGATOR on a 4-octet AS session | attribute discard | RFC 6793 4.1 |
//! | several errors | the strongest handling wins | RFC 7606 3f |
//!
//! LOCAL_PREF follows the rule for internal peers (malformed: treat-as-withdraw). RFC 7606 7.5
//! has external peers discard LOCAL_PREF whatever its shape; the codec does not know the peer
//! type, so the session ignores LOCAL_PREF from external peers, as RFC 4271 5.1.5 requires anyway.

use crate::attribute::{flags, type_code};

/// How an UPDATE with an error is handled (RFC 7606 section 2), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handling {
    /// The attribute is dropped and the UPDATE processed without it.
    AttributeDiscard,
    /// Every prefix the UPDATE announces is handled as withdrawn.
    TreatAsWithdraw,
    /// A NOTIFICATION is sent and the session closed.
    SessionReset,
}

/// The error handling of one attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeRule {
    /// The attribute type code.
    pub type_code: u8,
    /// The attribute's name in its RFC.
    pub name: &'static str,
    /// The Optional and Transitive bits its specification requires.
    pub flags: u8,
    /// When the attribute is malformed.
    pub malformed_when: &'static str,
    /// Handling of a malformed attribute.
    pub malformed: Handling,
    /// Handling of an Optional/Transitive flag conflict (RFC 7606 section 3c).
    pub flags_conflict: Handling,
    /// Where the handling is specified.
    pub reference: &'static str,
}

const WELL_KNOWN: u8 = flags::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = flags::OPTIONAL | flags::TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE: u8 = flags::OPTIONAL;

/// The table: one row per attribute the codec interprets, in type code order.
pub const RULES: [AttributeRule; 13] = [
    AttributeRule {
        type_code: type_code::ORIGIN,
        name: "ORIGIN",
        flags: WELL_KNOWN,
        malformed_when: "length not 1, or value not 0, 1 or 2",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.1",
    },
    AttributeRule {
        type_code: type_code::AS_PATH,
        name: "AS_PATH",
        flags: WELL_KNOWN,
        malformed_when: "segment overrun or underrun, zero segment length, unknown or confederation segment type",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.2",
    },
    AttributeRule {
        type_code: type_code::NEXT_HOP,
        name: "NEXT_HOP",
        flags: WELL_KNOWN,
        malformed_when: "length not 4",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.3",
    },
    AttributeRule {
        type_code: type_code::MULTI_EXIT_DISC,
        name: "MULTI_EXIT_DISC",
        flags: OPTIONAL_NON_TRANSITIVE,
        malformed_when: "length not 4",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.4",
    },
    AttributeRule {
        type_code: type_code::LOCAL_PREF,
        name: "LOCAL_PREF",
        flags: WELL_KNOWN,
        malformed_when: "length not 4 (internal peers)",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.5",
    },
    AttributeRule {
        type_code: type_code::ATOMIC_AGGREGATE,
        name: "ATOMIC_AGGREGATE",
        flags: WELL_KNOWN,
        malformed_when: "length not 0",
        malformed: Handling::AttributeDiscard,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.6",
    },
    AttributeRule {
        type_code: type_code::AGGREGATOR,
        name: "AGGREGATOR",
        flags: OPTIONAL_TRANSITIVE,
        malformed_when: "length not 6 (2-octet AS session) or 8 (4-octet AS session)",
        malformed: Handling::AttributeDiscard,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.7",
    },
    AttributeRule {
        type_code: type_code::COMMUNITIES,
        name: "COMMUNITIES",
        flags: OPTIONAL_TRANSITIVE,
        malformed_when: "length not a non-zero multiple of 4",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.8",
    },
    AttributeRule {
        type_code: type_code::MP_REACH_NLRI,
        name: "MP_REACH_NLRI",
        flags: OPTIONAL_NON_TRANSITIVE,
        malformed_when: "shorter than 5 octets, next hop length wrong for the family or overrunning, NLRI syntactically incorrect",
        malformed: Handling::SessionReset,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.11, 5.3",
    },
    AttributeRule {
        type_code: type_code::MP_UNREACH_NLRI,
        name: "MP_UNREACH_NLRI",
        flags: OPTIONAL_NON_TRANSITIVE,
        malformed_when: "shorter than 3 octets, withdrawn routes syntactically incorrect",
        malformed: Handling::SessionReset,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 7606 7.12, 5.3",
    },
    AttributeRule {
        type_code: type_code::AS4_PATH,
        name: "AS4_PATH",
        flags: OPTIONAL_TRANSITIVE,
        malformed_when: "as AS_PATH with 4-octet ASNs; confederation segments",
        malformed: Handling::AttributeDiscard,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 6793 6, RFC 7606 7.2",
    },
    AttributeRule {
        type_code: type_code::AS4_AGGREGATOR,
        name: "AS4_AGGREGATOR",
        flags: OPTIONAL_TRANSITIVE,
        malformed_when: "length not 8",
        malformed: Handling::AttributeDiscard,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 6793 6",
    },
    AttributeRule {
        type_code: type_code::LARGE_COMMUNITY,
        name: "LARGE_COMMUNITY",
        flags: OPTIONAL_TRANSITIVE,
        malformed_when: "length not a non-zero multiple of 12",
        malformed: Handling::TreatAsWithdraw,
        flags_conflict: Handling::TreatAsWithdraw,
        reference: "RFC 8092 6",
    },
];

/// The rule for a type code, if the codec interprets that attribute.
pub fn rule(type_code: u8) -> Option<&'static AttributeRule> {
    RULES.iter().find(|r| r.type_code == type_code)
}
