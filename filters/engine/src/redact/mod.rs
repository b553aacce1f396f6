//! Redaction: rewrites a body so the bytes of findings are masked, keeping the format valid.
//!
//! Input is the *decoded* body (after `Content-Encoding` is undone: the filter decodes a
//! gzip/deflate body, redacts the decoded form and re-encodes it with the same coding, so
//! `content-encoding` stays true; it drops `content-length` before holding a body, because a
//! masked JSON number gains quotes; a `br` body cannot be re-encoded and takes the policy's
//! fallback instead) and a list of [`Mask`]s derived from findings with
//! [`Mask::for_finding`]:
//!
//! - a finding in a value with a `span` masks exactly its bytes ([`Mask::Bytes`]), widened
//!   to whole UTF-8 characters (and, in JSON, whole escape sequences) so the output stays
//!   valid UTF-8 / JSON; each masked byte becomes [`MASK_BYTE`], so the length is kept;
//! - a finding in a value without a `span` (it had escapes, `%XX`, entities) masks the
//!   whole token starting at the value's `raw.start` ([`Mask::Token`]).
//!
//! JSON stays valid JSON: strings keep their quotes and get `*` for masked characters; a
//! masked **number** becomes a string of `*` of the number's length (`4111111111111111` →
//! `"****************"`), because a number cannot hold a mask character and a substitute
//! number (e.g. zeros) would be silently wrong data. Protobuf keeps its wire structure:
//! masked string bytes become `*`, and a masked varint/fixed field is rewritten as zero
//! with the same encoded length. Compressed gRPC frames (`grpc-encoding`) cannot be redacted:
//! their findings are located only to the frame, so the filter refuses and applies the policy's
//! fallback rather than rewrite the frame header.

mod json;
mod plain;

use std::ops::Range;

use crate::formats::{Format, Value};

/// The byte written over masked content.
pub const MASK_BYTE: u8 = b'*';

/// Something to mask in the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    /// Exactly these bytes (widened to whole characters/escapes).
    Bytes(Range<u64>),
    /// The whole token (JSON string or number, form value, HTML text or attribute value,
    /// protobuf field) that starts at this offset.
    Token(u64),
}

impl Mask {
    /// The mask for a finding at `value.text[start..end]`.
    pub fn for_finding(value: &Value<'_>, start: usize, end: usize) -> Mask {
        match &value.span {
            Some(s) => Mask::Bytes(s.start + start as u64..s.start + end as u64),
            None => Mask::Token(value.raw.start),
        }
    }
}

/// How a body is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactFormat {
    Json,
    Form,
    Html,
    /// A bare protobuf message or uncompressed gRPC frames.
    Protobuf,
    /// Plain text and anything else: masked bytes only.
    Text,
}

impl From<&Format> for RedactFormat {
    fn from(f: &Format) -> Self {
        match f {
            Format::Json => Self::Json,
            Format::Form => Self::Form,
            Format::Html => Self::Html,
            Format::Grpc | Format::Protobuf => Self::Protobuf,
            Format::Multipart(_) | Format::Text | Format::Skip => Self::Text,
        }
    }
}

/// Returns `body` with `masks` applied; see the module docs. Masks outside the body are
/// ignored.
pub fn redact(body: &[u8], format: RedactFormat, masks: &[Mask]) -> Vec<u8> {
    let set = MaskSet::new(body.len(), masks);
    match format {
        RedactFormat::Json => json::redact(body, &set),
        RedactFormat::Form => plain::redact(body, &set, plain::form_token_end),
        RedactFormat::Html => plain::redact(body, &set, plain::html_token_end),
        RedactFormat::Text => plain::redact(body, &set, |_, start| start),
        RedactFormat::Protobuf => plain::redact_proto(body, &set),
    }
}

/// Position of a left-to-right pass over a [`MaskSet`].
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    range: usize,
    token: usize,
}

/// Masks normalised for lookup: merged sorted byte ranges and sorted token starts.
pub(crate) struct MaskSet {
    ranges: Vec<Range<usize>>,
    tokens: Vec<usize>,
}

impl MaskSet {
    fn new(len: usize, masks: &[Mask]) -> Self {
        let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX).min(len);
        let mut ranges: Vec<Range<usize>> = masks
            .iter()
            .filter_map(|m| match m {
                Mask::Bytes(r) => Some(clamp(r.start)..clamp(r.end)),
                Mask::Token(_) => None,
            })
            .filter(|r| r.start < r.end)
            .collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let mut tokens: Vec<usize> = masks
            .iter()
            .filter_map(|m| match m {
                Mask::Token(t) => Some(clamp(*t)),
                Mask::Bytes(_) => None,
            })
            .filter(|&t| t < len)
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        Self {
            ranges: merged,
            tokens,
        }
    }

    /// Whether any byte of `r` is masked. Queries through one cursor must come in
    /// non-decreasing `r.start` order (a left-to-right pass), which makes each O(1).
    pub fn overlaps(&self, c: &mut Cursor, r: Range<usize>) -> bool {
        while self.ranges.get(c.range).is_some_and(|m| m.end <= r.start) {
            c.range += 1;
        }
        self.ranges.get(c.range).is_some_and(|m| m.start < r.end)
    }

    /// Whether a token mask starts at `at`; same ordering rule as [`MaskSet::overlaps`].
    pub fn token_at(&self, c: &mut Cursor, at: usize) -> bool {
        while self.tokens.get(c.token).is_some_and(|&t| t < at) {
            c.token += 1;
        }
        self.tokens.get(c.token) == Some(&at)
    }

    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    pub fn tokens(&self) -> &[usize] {
        &self.tokens
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.tokens.is_empty()
    }
}

#[cfg(test)]
mod tests;
