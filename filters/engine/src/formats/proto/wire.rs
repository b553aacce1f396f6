//! Protobuf wire-format reader: an iterator over the fields of one message that stops at
//! the first structural error and remembers whether it reached the end cleanly.

use std::ops::Range;

/// One field of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub number: u32,
    /// Offset of the field's tag in the message.
    pub tag: usize,
    /// Offset just past the field.
    pub end: usize,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Payload {
    /// Varint, fixed64 or fixed32, as an unsigned integer.
    Number(u64),
    /// A length-delimited payload, as a range of the message.
    Bytes(Range<usize>),
}

/// Iterates the fields of `msg`; see [`Fields::is_complete`].
pub(super) struct Fields<'a> {
    msg: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    pub fn new(msg: &'a [u8]) -> Self {
        Self {
            msg,
            at: 0,
            failed: false,
        }
    }

    /// Every byte was consumed by well-formed fields.
    pub fn is_complete(&self) -> bool {
        !self.failed && self.at == self.msg.len()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.msg.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn fixed(&mut self, n: usize) -> Option<u64> {
        let bytes = self.msg.get(self.at..self.at + n)?;
        self.at += n;
        Some(bytes.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b)))
    }

    fn field(&mut self) -> Option<Field> {
        let tag_at = self.at;
        let tag = self.varint()?;
        let number = u32::try_from(tag >> 3)
            .ok()
            .filter(|n| (1..1 << 29).contains(n))?;
        let payload = match tag & 7 {
            0 => Payload::Number(self.varint()?),
            1 => Payload::Number(self.fixed(8)?),
            5 => Payload::Number(self.fixed(4)?),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let end = self.at.checked_add(len).filter(|&e| e <= self.msg.len())?;
                let r = self.at..end;
                self.at = end;
                Payload::Bytes(r)
            }
            // Groups (3, 4) are deprecated and 6, 7 do not exist: treat as "not a message".
            _ => return None,
        };
        Some(Field {
            number,
            tag: tag_at,
            end: self.at,
            payload,
        })
    }
}

impl Iterator for Fields<'_> {
    type Item = Field;

    fn next(&mut self) -> Option<Field> {
        if self.failed || self.at >= self.msg.len() {
            return None;
        }
        let start = self.at;
        let f = self.field();
        if f.is_none() {
            self.failed = true;
            self.at = start;
        }
        f
    }
}
