//! Protobuf without a schema: a wire-format walk that reports every scalar with its field
//! path (`$.1.3`), for bare `application/x-protobuf` bodies and for gRPC messages.
//!
//! Length-delimited fields are ambiguous (string, bytes or nested message). A payload that is
//! printable UTF-8 is reported as a string; otherwise it is walked as a nested message if it
//! parses *completely* (valid wire types, field numbers ≥ 1, lengths in bounds, no groups);
//! otherwise it is reported as opaque bytes ([`ValueKind::ProtoString`]) so the detector
//! still sees any text inside. Either way the detector sees the bytes, only the key differs.
//! Varints and fixed-width fields are reported as unsigned decimals ([`ValueKind::ProtoNumber`]
//! with no `span`, since the encoding is not the text).

mod wire;

use std::ops::Range;

use super::accum::{emit_slice, emitter};
use super::decimal::{format_u64, push_u64};
use super::{Flags, FormatError, Limits, PushParser, TextParser, ValueKind, ValueSink};
use wire::{Field, Fields, Payload};

/// Where a message's bytes sit in the decoded body stream.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// Stream offset of the message's first byte, when the message is a verbatim slice of
    /// the stream (not out of a compressed frame).
    pub base: Option<u64>,
    /// Raw range reported for values whose own bytes are not in the stream.
    pub frame: Range<u64>,
}

/// Reports every scalar of `msg` to `sink`. A message that does not parse as protobuf is
/// reported as one opaque value (windowed) and `Ok(false)` is returned.
pub fn scan_message(
    msg: &[u8],
    limits: &Limits,
    sink: &mut dyn ValueSink,
) -> Result<bool, FormatError> {
    let origin = Origin {
        base: Some(0),
        frame: 0..msg.len() as u64,
    };
    Ok(scan(msg, &origin, limits, &mut String::from("$"), sink))
}

/// See [`scan_message`]; `path` is reused between calls.
pub(crate) fn scan(
    msg: &[u8],
    origin: &Origin,
    limits: &Limits,
    path: &mut String,
    sink: &mut dyn ValueSink,
) -> bool {
    path.truncate(0);
    path.push('$');
    if is_message(msg) {
        walk(msg, 0, 1, origin, limits, path, sink);
        true
    } else {
        emit_bytes(msg, 0, origin, limits, path, None, sink);
        false
    }
}

fn walk(
    msg: &[u8],
    at: usize,
    depth: usize,
    origin: &Origin,
    limits: &Limits,
    path: &mut String,
    sink: &mut dyn ValueSink,
) {
    let parent = path.len();
    for Field {
        number,
        tag: start,
        end,
        payload,
    } in Fields::new(msg)
    {
        path.truncate(parent);
        path.push('.');
        let key_start = path.len();
        push_u64(path, u64::from(number));
        let key = key_start..path.len();
        let abs = at + start;
        match payload {
            Payload::Number(n) => {
                let mut buf = [0u8; 20];
                let text = format_u64(n, &mut buf);
                let raw = raw_range(origin, abs, at + end);
                let key = Some(&path[key.clone()]);
                let mut emit = emitter(sink, ValueKind::ProtoNumber, path, key, None, raw);
                emit_slice(text, None, limits.window(), &mut emit);
            }
            Payload::Bytes(range) => {
                let body = &msg[range.clone()];
                if depth < limits.max_depth && !is_printable(body) && is_message(body) {
                    walk(
                        body,
                        at + range.start,
                        depth + 1,
                        origin,
                        limits,
                        path,
                        sink,
                    );
                } else {
                    emit_bytes(
                        body,
                        at + range.start,
                        origin,
                        limits,
                        path,
                        Some(key),
                        sink,
                    );
                }
            }
        }
    }
    path.truncate(parent);
}

fn emit_bytes(
    body: &[u8],
    at: usize,
    origin: &Origin,
    limits: &Limits,
    path: &str,
    key: Option<Range<usize>>,
    sink: &mut dyn ValueSink,
) {
    if body.is_empty() {
        return;
    }
    let off = origin.base.map(|b| b + at as u64);
    let raw = raw_range(origin, at, at + body.len());
    let key = key.map(|k| &path[k]);
    let mut emit = emitter(sink, ValueKind::ProtoString, path, key, None, raw);
    emit_slice(body, off, limits.window(), &mut emit);
}

fn raw_range(origin: &Origin, start: usize, end: usize) -> Range<u64> {
    match origin.base {
        Some(b) => b + start as u64..b + end as u64,
        None => origin.frame.clone(),
    }
}

/// Parses completely as a message with at least one field.
fn is_message(b: &[u8]) -> bool {
    if b.is_empty() {
        return false;
    }
    let mut fields = Fields::new(b);
    for _ in fields.by_ref() {}
    fields.is_complete()
}

/// UTF-8 with no ASCII control characters other than tab, newline, carriage return.
fn is_printable(b: &[u8]) -> bool {
    let control = |c: u8| (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) || c == 0x7f;
    !b.iter().any(|&c| control(c)) && std::str::from_utf8(b).is_ok()
}

/// A bare protobuf body: buffered up to [`Limits::max_message_len`] and walked at the end;
/// a larger body is scanned as text windows instead (flagged `fell_back_to_text`).
#[derive(Debug)]
pub struct ProtoParser {
    limits: Limits,
    buf: Vec<u8>,
    path: String,
    flags: Flags,
    /// Set once the body outgrew [`Limits::max_message_len`]: the rest streams as text.
    oversize: Option<TextParser>,
}

impl ProtoParser {
    /// A parser for a body starting at stream offset 0.
    pub fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
            buf: Vec::new(),
            path: String::new(),
            flags: Flags::default(),
            oversize: None,
        }
    }
}

impl PushParser for ProtoParser {
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some(text) = self.oversize.as_mut() {
            return text.push(chunk, sink);
        }
        if self.buf.len() + chunk.len() > self.limits.max_message_len {
            // Too large to buffer for the walk: scan the whole body as text instead.
            self.flags.fell_back_to_text = true;
            let mut text = TextParser::new(&self.limits);
            text.push(&std::mem::take(&mut self.buf), sink)?;
            text.push(chunk, sink)?;
            self.oversize = Some(text);
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some(text) = self.oversize.as_mut() {
            return text.finish(sink);
        }
        let origin = Origin {
            base: Some(0),
            frame: 0..self.buf.len() as u64,
        };
        if !scan(&self.buf, &origin, &self.limits, &mut self.path, sink) {
            self.flags.fell_back_to_text = true;
        }
        self.buf.clear();
        Ok(())
    }

    fn flags(&self) -> Flags {
        self.flags
    }
}

#[cfg(test)]
pub(crate) mod tests;
