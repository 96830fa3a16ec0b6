//! [`UpdatePacker`]: many prefixes sharing one path into as few UPDATEs as fit.

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::IpNet;

use super::attributes::encode_path;
use super::attributes::mp::{put_reach_head, put_unreach_head, reach_head_len};
use super::error::EncodeError;
use super::header;
use super::nlri::{self, prefix_len_on_wire};
use super::wire::{patch_len, reserve_u16, LengthSlot};
use super::{encode_message, CodecOptions};
use crate::attribute::{flags, type_code, NextHop, PathAttributes};
use crate::message::{message_type, Message, Update, HEADER_LEN};
use crate::types::AddressFamily;

/// Withdrawn Routes Length and Total Path Attribute Length.
const UPDATE_FIELDS: usize = 4;
/// An MP attribute header with a two-octet length.
const MP_ATTR_HEADER: usize = 4;
/// AFI and SAFI of MP_UNREACH_NLRI.
const MP_UNREACH_HEAD: usize = 3;

/// Packs prefixes into UPDATE messages no longer than the negotiated maximum.
///
/// The path attributes are encoded once per call and copied into each message; prefixes fill
/// each message as far as it goes. IPv4 prefixes travel in the classic NLRI field with NEXT_HOP,
/// IPv6 prefixes in MP_REACH_NLRI (MP_UNREACH_NLRI for withdrawals). IPv4 goes in
/// MP_REACH_NLRI too when [`ipv4_via_mp_reach`](Self::ipv4_via_mp_reach) is set or its next hop
/// is IPv6 (RFC 8950). Following RFC 7606 section 5.1, each message carries one kind of NLRI
/// only, with the MP attribute first.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdatePacker {
    opts: CodecOptions,
    ipv4_via_mp_reach: bool,
}

/// Messages being written into one buffer, split off as each is finished.
struct Batch {
    buf: BytesMut,
    messages: Vec<Bytes>,
    max: usize,
}

impl Batch {
    fn new(max: usize) -> Batch {
        Batch {
            buf: BytesMut::new(),
            messages: Vec::new(),
            max,
        }
    }

    /// Writes prefixes from the front of `rest` while they fit in `budget` octets; returns the
    /// octets written. Zero means not even one fits.
    fn fill(&mut self, rest: &mut &[IpNet], budget: usize) -> usize {
        let mut used = 0;
        while let Some((p, tail)) = rest.split_first() {
            let n = prefix_len_on_wire(p);
            if used + n > budget {
                break;
            }
            nlri::put(&mut self.buf, p);
            used += n;
            *rest = tail;
        }
        used
    }

    /// [`fill`](Self::fill) that must place at least one prefix; otherwise the message begun is
    /// dropped and `err` returned. This also guarantees every packing loop makes progress.
    fn fill_some(
        &mut self,
        rest: &mut &[IpNet],
        budget: usize,
        err: impl FnOnce() -> EncodeError,
    ) -> Result<(), EncodeError> {
        if self.fill(rest, budget) == 0 {
            self.buf.clear();
            return Err(err());
        }
        Ok(())
    }

    /// Begins an UPDATE whose first attribute is an MP attribute: returns the frame, the
    /// Total Path Attribute Length and the MP attribute's length, all to be filled in.
    fn begin_mp(&mut self, code: u8) -> (header::FrameStart, LengthSlot, LengthSlot) {
        let frame = header::begin(&mut self.buf, message_type::UPDATE);
        self.buf.put_u16(0);
        let all = reserve_u16(&mut self.buf);
        self.buf.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
        self.buf.put_u8(code);
        let mp = reserve_u16(&mut self.buf);
        (frame, all, mp)
    }

    fn finish(&mut self, frame: header::FrameStart) -> Result<(), EncodeError> {
        header::finish(&mut self.buf, frame, self.max)?;
        self.messages.push(self.buf.split().freeze());
        Ok(())
    }
}

impl UpdatePacker {
    /// A packer for a session with these parameters.
    pub fn new(opts: CodecOptions) -> UpdatePacker {
        UpdatePacker {
            opts,
            ipv4_via_mp_reach: false,
        }
    }

    /// Carries IPv4 prefixes in MP_REACH_NLRI / MP_UNREACH_NLRI instead of the classic fields.
    pub fn ipv4_via_mp_reach(mut self, yes: bool) -> UpdatePacker {
        self.ipv4_via_mp_reach = yes;
        self
    }

    /// UPDATEs announcing `prefixes` with the path `attributes` (their NEXT_HOP and MP
    /// attributes are ignored) and `next_hop`.
    ///
    /// An IPv4 `next_hop` cannot carry IPv6 prefixes ([`EncodeError::NextHopFamilyMismatch`]);
    /// call once per next hop when announcing both families.
    pub fn announce(
        &self,
        attributes: &PathAttributes,
        next_hop: NextHop,
        prefixes: &[IpNet],
    ) -> Result<Vec<Bytes>, EncodeError> {
        let (v4, v6) = split_families(prefixes);
        if let (Some(p), NextHop::V4(_)) = (v6.first(), next_hop) {
            return Err(EncodeError::NextHopFamilyMismatch {
                family: AddressFamily::of(p),
                next_hop,
            });
        }
        let mut batch = Batch::new(self.opts.max_message_len());
        match next_hop {
            NextHop::V4(nh) if !self.ipv4_via_mp_reach => {
                let path = PathAttributes {
                    next_hop: Some(nh),
                    ..attributes.without_nlri()
                };
                self.pack_classic(&mut batch, &path, &v4)?;
            }
            _ => self.pack_mp_reach(
                &mut batch,
                attributes,
                AddressFamily::Ipv4Unicast,
                next_hop,
                &v4,
            )?,
        }
        self.pack_mp_reach(
            &mut batch,
            attributes,
            AddressFamily::Ipv6Unicast,
            next_hop,
            &v6,
        )?;
        Ok(batch.messages)
    }

    /// UPDATEs withdrawing `prefixes`.
    pub fn withdraw(&self, prefixes: &[IpNet]) -> Result<Vec<Bytes>, EncodeError> {
        let (v4, v6) = split_families(prefixes);
        let mut batch = Batch::new(self.opts.max_message_len());
        if self.ipv4_via_mp_reach {
            self.pack_mp_unreach(&mut batch, AddressFamily::Ipv4Unicast, &v4)?;
        } else {
            self.pack_withdrawn(&mut batch, &v4)?;
        }
        self.pack_mp_unreach(&mut batch, AddressFamily::Ipv6Unicast, &v6)?;
        Ok(batch.messages)
    }

    /// The End-of-RIB marker for a family (RFC 4724 section 2).
    pub fn end_of_rib(&self, family: AddressFamily) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        encode_message(
            &Message::Update(Update::end_of_rib(family)),
            self.opts,
            &mut out,
        )?;
        Ok(out.freeze())
    }

    /// Classic NLRI: header, empty Withdrawn Routes, attributes (with NEXT_HOP), prefixes.
    fn pack_classic(
        &self,
        batch: &mut Batch,
        path: &PathAttributes,
        prefixes: &[IpNet],
    ) -> Result<(), EncodeError> {
        let attrs = self.encode_once(path)?;
        let attrs_len = u16::try_from(attrs.len()).map_err(|_| self.too_large(attrs.len()))?;
        let budget = batch
            .max
            .checked_sub(HEADER_LEN + UPDATE_FIELDS + attrs.len());
        let mut rest = prefixes;
        while !rest.is_empty() {
            let frame = header::begin(&mut batch.buf, message_type::UPDATE);
            batch.buf.put_u16(0);
            batch.buf.put_u16(attrs_len);
            batch.buf.put_slice(&attrs);
            batch.fill_some(&mut rest, budget.unwrap_or(0), || {
                self.too_large(attrs.len())
            })?;
            batch.finish(frame)?;
        }
        Ok(())
    }

    /// Classic Withdrawn Routes: header, prefixes, empty path attributes.
    fn pack_withdrawn(&self, batch: &mut Batch, prefixes: &[IpNet]) -> Result<(), EncodeError> {
        let budget = batch.max.saturating_sub(HEADER_LEN + UPDATE_FIELDS);
        let mut rest = prefixes;
        while !rest.is_empty() {
            let frame = header::begin(&mut batch.buf, message_type::UPDATE);
            let withdrawn = reserve_u16(&mut batch.buf);
            batch.fill_some(&mut rest, budget, || EncodeError::FieldTooLong(budget))?;
            patch_len(&mut batch.buf, withdrawn).ok_or(EncodeError::FieldTooLong(budget))?;
            batch.buf.put_u16(0);
            batch.finish(frame)?;
        }
        Ok(())
    }

    /// MP_REACH_NLRI (first, as RFC 7606 section 5.1 asks), then the other attributes.
    fn pack_mp_reach(
        &self,
        batch: &mut Batch,
        attributes: &PathAttributes,
        family: AddressFamily,
        next_hop: NextHop,
        prefixes: &[IpNet],
    ) -> Result<(), EncodeError> {
        if prefixes.is_empty() {
            return Ok(());
        }
        let attrs = self.encode_once(&PathAttributes {
            next_hop: None,
            ..attributes.without_nlri()
        })?;
        let fixed =
            HEADER_LEN + UPDATE_FIELDS + MP_ATTR_HEADER + reach_head_len(&next_hop) + attrs.len();
        let budget = batch.max.checked_sub(fixed);
        let mut rest = prefixes;
        while !rest.is_empty() {
            let (frame, all, mp) = batch.begin_mp(type_code::MP_REACH_NLRI);
            put_reach_head(&mut batch.buf, family, &next_hop)?;
            batch.fill_some(&mut rest, budget.unwrap_or(0), || {
                self.too_large(attrs.len())
            })?;
            patch_len(&mut batch.buf, mp).ok_or_else(|| self.too_large(attrs.len()))?;
            batch.buf.put_slice(&attrs);
            patch_len(&mut batch.buf, all).ok_or_else(|| self.too_large(attrs.len()))?;
            batch.finish(frame)?;
        }
        Ok(())
    }

    /// MP_UNREACH_NLRI as the only attribute.
    fn pack_mp_unreach(
        &self,
        batch: &mut Batch,
        family: AddressFamily,
        prefixes: &[IpNet],
    ) -> Result<(), EncodeError> {
        let fixed = HEADER_LEN + UPDATE_FIELDS + MP_ATTR_HEADER + MP_UNREACH_HEAD;
        let budget = batch.max.saturating_sub(fixed);
        let mut rest = prefixes;
        while !rest.is_empty() {
            let (frame, all, mp) = batch.begin_mp(type_code::MP_UNREACH_NLRI);
            put_unreach_head(&mut batch.buf, family);
            batch.fill_some(&mut rest, budget, || EncodeError::FieldTooLong(budget))?;
            patch_len(&mut batch.buf, mp).ok_or(EncodeError::FieldTooLong(budget))?;
            patch_len(&mut batch.buf, all).ok_or(EncodeError::FieldTooLong(budget))?;
            batch.finish(frame)?;
        }
        Ok(())
    }

    /// The path attributes, encoded once for every message of the batch.
    fn encode_once(&self, path: &PathAttributes) -> Result<Bytes, EncodeError> {
        let mut attrs = BytesMut::new();
        encode_path(path, self.opts, &mut attrs)?;
        Ok(attrs.freeze())
    }

    fn too_large(&self, length: usize) -> EncodeError {
        EncodeError::AttributesTooLarge {
            length,
            max: self.opts.max_message_len(),
        }
    }
}

/// IPv4 and IPv6 prefixes, each in the order given.
fn split_families(prefixes: &[IpNet]) -> (Vec<IpNet>, Vec<IpNet>) {
    prefixes
        .iter()
        .copied()
        .partition(|p| matches!(p, IpNet::V4(_)))
}
