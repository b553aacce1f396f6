//! The slow path of JSON strings: bodies that straddle chunks or contain escapes.
//!
//! Escapes are decoded into the value's [`super::Accum`] (so the value loses its `span`);
//! `\uXXXX` pairs are combined into one code point, and lone surrogates become U+FFFD, so
//! the detector always sees UTF-8. Unknown escapes are kept as the escaped byte.

use memchr::memchr2;

use super::{JsonParser, State, ValueKind, ValueSink};

/// Where the decoder is inside an escape sequence; survives chunk boundaries.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Escape {
    state: EscState,
    /// A high surrogate waiting for its low half.
    high: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
enum EscState {
    #[default]
    None,
    Backslash,
    Unicode {
        digits: u8,
        cp: u32,
    },
}

impl JsonParser {
    /// Continues a string; returns the index after the consumed bytes.
    pub(super) fn string_slow(
        &mut self,
        chunk: &[u8],
        mut i: usize,
        base: u64,
        is_key: bool,
        sink: &mut dyn ValueSink,
    ) -> usize {
        let kind = if is_key {
            ValueKind::JsonKey
        } else {
            ValueKind::JsonString
        };
        while i < chunk.len() {
            match self.esc.state {
                EscState::None => match memchr2(b'"', b'\\', &chunk[i..]) {
                    None => {
                        self.flush_high(kind, sink);
                        self.acc_extend(&chunk[i..], Some(base + i as u64), kind, sink);
                        return chunk.len();
                    }
                    Some(j) => {
                        if j > 0 {
                            self.flush_high(kind, sink);
                            self.acc_extend(&chunk[i..i + j], Some(base + i as u64), kind, sink);
                        }
                        i += j + 1;
                        if chunk[i - 1] == b'"' {
                            self.flush_high(kind, sink);
                            self.end_slow_string(is_key, kind, sink);
                            return i;
                        }
                        self.esc.state = EscState::Backslash;
                    }
                },
                EscState::Backslash => {
                    let c = chunk[i];
                    i += 1;
                    if c == b'u' {
                        self.esc.state = EscState::Unicode { digits: 0, cp: 0 };
                        continue;
                    }
                    self.flush_high(kind, sink);
                    let d = match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        other => other,
                    };
                    self.acc_extend(&[d], None, kind, sink);
                    self.esc.state = EscState::None;
                }
                EscState::Unicode { digits, cp } => {
                    let Some(d) = (chunk[i] as char).to_digit(16) else {
                        // Not an escape after all: keep what we have and re-read this byte.
                        self.flush_high(kind, sink);
                        self.push_char(char::REPLACEMENT_CHARACTER, kind, sink);
                        self.esc.state = EscState::None;
                        continue;
                    };
                    i += 1;
                    let cp = cp * 16 + d;
                    if digits < 3 {
                        self.esc.state = EscState::Unicode {
                            digits: digits + 1,
                            cp,
                        };
                        continue;
                    }
                    self.esc.state = EscState::None;
                    self.code_unit(cp, kind, sink);
                }
            }
        }
        i
    }

    /// Combines UTF-16 code units into characters.
    fn code_unit(&mut self, cp: u32, kind: ValueKind, sink: &mut dyn ValueSink) {
        match cp {
            0xD800..=0xDBFF => {
                self.flush_high(kind, sink);
                self.esc.high = Some(cp);
            }
            0xDC00..=0xDFFF => match self.esc.high.take() {
                Some(high) => {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00);
                    let c = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.push_char(c, kind, sink);
                }
                None => self.push_char(char::REPLACEMENT_CHARACTER, kind, sink),
            },
            _ => {
                self.flush_high(kind, sink);
                let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                self.push_char(c, kind, sink);
            }
        }
    }

    /// A high surrogate not followed by a low one becomes U+FFFD.
    fn flush_high(&mut self, kind: ValueKind, sink: &mut dyn ValueSink) {
        if self.esc.high.take().is_some() {
            self.push_char(char::REPLACEMENT_CHARACTER, kind, sink);
        }
    }

    fn push_char(&mut self, c: char, kind: ValueKind, sink: &mut dyn ValueSink) {
        let mut utf8 = [0u8; 4];
        self.acc_extend(c.encode_utf8(&mut utf8).as_bytes(), None, kind, sink);
    }

    fn end_slow_string(&mut self, is_key: bool, kind: ValueKind, sink: &mut dyn ValueSink) {
        self.finish_acc(kind, sink);
        self.state = State::Between;
        if is_key {
            let acc = std::mem::take(&mut self.acc);
            self.set_key(acc.bytes());
            self.acc = acc;
        } else {
            self.after_value();
        }
        self.acc.clear();
    }
}
