//! Bounds-checked reading of wire bytes and length-prefixed writing.
//!
//! Every read either returns the bytes asked for or `None`; nothing here can index out of range,
//! and every successful read consumes input, so a parse loop over a [`Reader`] always ends.

use bytes::{BufMut, BytesMut};

/// A cursor over a borrowed byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Octets not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread octets (without consuming them).
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// The next `n` octets.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    /// The next `N` octets as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|s| <[u8; N]>::try_from(s).ok())
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// The next octet without consuming it.
    pub(crate) fn peek_u8(&self) -> Option<u8> {
        self.buf.first().copied()
    }
}

/// A two-octet length field written before its content is known; [`patch_u16`] fills it in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LengthSlot(usize);

/// Writes a zero two-octet length and returns where it is.
pub(crate) fn reserve_u16(out: &mut BytesMut) -> LengthSlot {
    let at = out.len();
    out.put_u16(0);
    LengthSlot(at)
}

/// Octets written after the slot.
pub(crate) fn written_since(out: &BytesMut, slot: LengthSlot) -> usize {
    out.len().saturating_sub(slot.0 + 2)
}

/// Fills a reserved length with `value`.
pub(crate) fn patch_u16(out: &mut BytesMut, slot: LengthSlot, value: u16) {
    if let Some(field) = out.get_mut(slot.0..slot.0 + 2) {
        field.copy_from_slice(&value.to_be_bytes());
    }
}

/// Fills a reserved length with the number of octets written after it, or `None` if that does not
/// fit in two octets.
pub(crate) fn patch_len(out: &mut BytesMut, slot: LengthSlot) -> Option<usize> {
    let len = written_since(out, slot);
    let value = u16::try_from(len).ok()?;
    patch_u16(out, slot, value);
    Some(len)
}
