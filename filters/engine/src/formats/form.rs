//! `application/x-www-form-urlencoded`: `name=value&…`, `+` and `%XX` decoded.
//!
//! Names are reported as [`ValueKind::FormName`] and become the key of their value
//! ([`ValueKind::FormValue`], path `$.name`). Runs of bytes that need no decoding are copied
//! verbatim, so values without `+`/`%` keep their `span`; a malformed `%` escape is kept
//! literally rather than rejected, as servers do.

use std::borrow::Cow;

use super::accum::{emitter, Accum};
use super::{Flags, FormatError, Limits, PushParser, ValueKind, ValueSink};

/// Longest name prefix used as key and path segment.
const MAX_KEY: usize = 128;

/// Streaming form-urlencoded parser.
#[derive(Debug)]
pub struct FormParser {
    wo: (usize, usize),
    off: u64,
    in_value: bool,
    pct: Pct,
    acc: Accum,
    /// `$` while reading a name, `$.name` while reading its value.
    path: String,
    /// Stream offset where the current name or value starts.
    tok: u64,
    /// Scratch copy of the name being turned into the key (reused).
    name: Vec<u8>,
}

/// Progress through a `%XX` escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pct {
    None,
    Percent,
    OneDigit(u8),
}

impl FormParser {
    /// A parser for a body starting at stream offset 0.
    pub fn new(limits: &Limits) -> Self {
        let mut acc = Accum::default();
        acc.clear();
        Self {
            wo: limits.window(),
            off: 0,
            in_value: false,
            pct: Pct::None,
            acc,
            path: String::from("$"),
            tok: 0,
            name: Vec::new(),
        }
    }

    fn kind(&self) -> ValueKind {
        if self.in_value {
            ValueKind::FormValue
        } else {
            ValueKind::FormName
        }
    }

    fn extend(&mut self, bytes: &[u8], off: Option<u64>, sink: &mut dyn ValueSink) {
        if self.acc.extend_quiet(bytes, off, self.wo.0) {
            return;
        }
        let key = self.in_value.then(|| &self.path[2..]);
        let mut emit = emitter(sink, self.kind(), &self.path, key, None, self.tok..self.off);
        self.acc.extend(bytes, off, self.wo, &mut emit);
    }

    /// Ends the current name or value; `next` is the stream offset after the separator.
    fn end_token(&mut self, sink: &mut dyn ValueSink, next: u64) {
        self.flush_pct(sink);
        {
            let key = self.in_value.then(|| &self.path[2..]);
            let mut emit = emitter(sink, self.kind(), &self.path, key, None, self.tok..next - 1);
            self.acc.finish(&mut emit);
        }
        self.acc.clear();
        self.tok = next;
    }

    /// An unfinished `%` escape is kept as literal text.
    fn flush_pct(&mut self, sink: &mut dyn ValueSink) {
        match std::mem::replace(&mut self.pct, Pct::None) {
            Pct::None => {}
            Pct::Percent => self.extend(b"%", None, sink),
            Pct::OneDigit(d) => self.extend(&[b'%', d], None, sink),
        }
    }
}

impl PushParser for FormParser {
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let base = self.off;
        self.off += chunk.len() as u64;
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            match (self.pct, b) {
                (Pct::Percent, _) if b.is_ascii_hexdigit() => self.pct = Pct::OneDigit(b),
                (Pct::OneDigit(d), _) if b.is_ascii_hexdigit() => {
                    self.pct = Pct::None;
                    self.extend(&[hex(d) << 4 | hex(b)], None, sink);
                }
                (Pct::Percent | Pct::OneDigit(_), _) => {
                    // Not an escape: keep it literally and look at `b` again.
                    self.flush_pct(sink);
                    continue;
                }
                (Pct::None, b'%') => self.pct = Pct::Percent,
                (Pct::None, b'+') => self.extend(b" ", None, sink),
                (Pct::None, b'&') => {
                    self.end_token(sink, base + i as u64 + 1);
                    self.in_value = false;
                    self.path.truncate(1);
                }
                (Pct::None, b'=') if !self.in_value => {
                    let mut name = std::mem::take(&mut self.name);
                    name.clear();
                    name.extend_from_slice(
                        &self.acc.bytes()[..self.acc.bytes().len().min(MAX_KEY)],
                    );
                    self.end_token(sink, base + i as u64 + 1);
                    self.path.push('.');
                    match String::from_utf8_lossy(&name) {
                        Cow::Borrowed(s) => self.path.push_str(s),
                        Cow::Owned(s) => self.path.push_str(&s),
                    }
                    self.name = name;
                    self.in_value = true;
                }
                (Pct::None, _) => {
                    let run = chunk[i..]
                        .iter()
                        .position(|&c| matches!(c, b'%' | b'+' | b'&' | b'='))
                        .unwrap_or(chunk.len() - i)
                        .max(1);
                    self.extend(&chunk[i..i + run], Some(base + i as u64), sink);
                    i += run;
                    continue;
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let end = self.off + 1;
        self.end_token(sink, end);
        self.acc.clear();
        Ok(())
    }

    fn flags(&self) -> Flags {
        Flags::default()
    }
}

fn hex(d: u8) -> u8 {
    (d as char).to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use crate::formats::testutil::split_invariant;
    use crate::formats::{FormParser, Limits, ValueKind};

    #[test]
    fn decodes_names_and_values_with_keys() {
        let body = b"card=4111+1111%201111%2F1111&ssn=078-05-1120&flag&a=b=c&bad=%zz%4";
        let r = split_invariant(&|| Box::new(FormParser::new(&Limits::default())), body);
        let got: Vec<_> = r
            .values
            .iter()
            .map(|v| (v.kind, v.key.as_deref(), v.path.as_str(), v.text.as_str()))
            .collect();
        use ValueKind::{FormName as N, FormValue as V};
        assert_eq!(
            got,
            [
                (N, None, "$", "card"),
                (V, Some("card"), "$.card", "4111 1111 1111/1111"),
                (N, None, "$", "ssn"),
                (V, Some("ssn"), "$.ssn", "078-05-1120"),
                (N, None, "$", "flag"),
                (N, None, "$", "a"),
                (V, Some("a"), "$.a", "b=c"),
                (N, None, "$", "bad"),
                (V, Some("bad"), "$.bad", "%zz%4"),
            ]
        );
        assert_eq!(r.values[1].span, None);
        assert_eq!(r.values[1].raw_start, 5);
        assert_eq!(r.values[3].span, Some(33..44));
    }
}
