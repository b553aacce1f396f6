//! Streaming JSON: every string (keys included) and number, with its key and path.
//!
//! A hand-written push tokenizer rather than a DOM or serde: it never holds more than one
//! value (bounded by the window size) plus the path, it resumes in the middle of any token
//! when a chunk ends, and short strings without escapes are reported straight from the
//! chunk, so the steady state allocates nothing. String bodies are scanned with `memchr2`
//! for `"` and `\`. Concatenated documents and NDJSON are accepted. Malformed input (or
//! nesting deeper than [`Limits::max_depth`]) switches the rest of the body to plain-text
//! scanning and sets [`Flags::fell_back_to_text`].

mod lex;
mod string;

use std::ops::Range;

use super::accum::{emit_slice, emitter, Accum};
use super::{Flags, FormatError, Limits, PushParser, TextParser, ValueKind, ValueSink};
use crate::detect::patterns::KeyFamily;
use lex::{find_quote_or_backslash, is_number_byte, push_index, KeyCache};

/// Longest key prefix copied into a path segment.
const MAX_KEY_IN_PATH: usize = 128;

/// Streaming JSON parser; see the module docs.
#[derive(Debug)]
pub struct JsonParser {
    wo: (usize, usize),
    limits: Limits,
    /// Stream offset of the next byte to arrive.
    off: u64,
    state: State,
    expect: Expect,
    stack: Vec<Frame>,
    path: String,
    /// The current key, as a range of `path`, and its family.
    key: Option<KeyAt>,
    acc: Accum,
    /// Stream offset where the current token starts.
    tok: u64,
    esc: string::Escape,
    fallback: Option<TextParser>,
    flags: Flags,
    keys: KeyCache,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Between,
    Str { is_key: bool },
    Num,
    Lit { word: &'static [u8], at: usize },
    Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrEnd,
    Key,
    KeyOrEnd,
    Colon,
    CommaOrEnd,
}

/// The current key: where it is in `path`, and its family if the key cache knew it.
#[derive(Debug, Clone)]
struct KeyAt {
    range: Range<usize>,
    family: Option<Option<KeyFamily>>,
}

#[derive(Debug, Clone)]
struct Frame {
    array: bool,
    /// Length of `path` at this container's own path.
    path_len: usize,
    /// The key this container was the value of (inherited by array elements).
    key: Option<KeyAt>,
    index: u32,
}

/// Position of a syntax error in the current chunk.
struct Malformed(usize);

impl JsonParser {
    /// A parser for a body starting at stream offset 0.
    pub fn new(limits: &Limits) -> Self {
        let mut acc = Accum::default();
        acc.clear();
        let mut path = String::with_capacity(128);
        path.push('$');
        Self {
            wo: limits.window(),
            limits: limits.clone(),
            off: 0,
            state: State::Between,
            expect: Expect::Value,
            stack: Vec::with_capacity(16),
            path,
            key: None,
            acc,
            tok: 0,
            esc: string::Escape::default(),
            fallback: None,
            flags: Flags::default(),
            keys: KeyCache::default(),
        }
    }

    /// Makes the parser ready for a new body, keeping its buffers (path, stack, value
    /// buffer, key cache), so a filter that reuses one parser per worker allocates nothing
    /// per body in the steady state.
    pub fn reset(&mut self) {
        self.off = 0;
        self.state = State::Between;
        self.expect = Expect::Value;
        self.stack.clear();
        self.path.truncate(1);
        self.key = None;
        self.acc.clear();
        self.tok = 0;
        self.esc = string::Escape::default();
        self.fallback = None;
        self.flags = Flags::default();
    }
}

impl PushParser for JsonParser {
    /// What was observed so far (fallback to text, truncation).
    fn flags(&self) -> Flags {
        self.flags
    }

    /// Feeds the next chunk.
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let base = self.off;
        self.off += chunk.len() as u64;
        let mut i = 0;
        while i < chunk.len() {
            let r = match self.state {
                State::Between => self.between(chunk, i, base, sink),
                State::Str { is_key } => Ok(self.string_slow(chunk, i, base, is_key, sink)),
                State::Num => Ok(self.number_slow(chunk, i, base, sink)),
                State::Lit { word, at } => self.literal(chunk, i, word, at),
                State::Fallback => {
                    let text = self.fallback.as_mut().expect("fallback state has a parser");
                    return text.push(&chunk[i..], sink);
                }
            };
            match r {
                Ok(next) => i = next,
                Err(Malformed(at)) => {
                    self.state = State::Fallback;
                    self.flags.fell_back_to_text = true;
                    self.fallback = Some(TextParser::at(&self.limits, base + at as u64));
                    i = at;
                }
            }
        }
        Ok(())
    }

    /// Reports a value still pending at the end of the body and records truncation.
    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        match self.state {
            State::Fallback => {
                let text = self.fallback.as_mut().expect("fallback state has a parser");
                return text.finish(sink);
            }
            State::Num => {
                self.finish_acc(ValueKind::JsonNumber, sink);
                self.after_value();
            }
            State::Str { is_key } => {
                self.flags.truncated = true;
                let kind = if is_key {
                    ValueKind::JsonKey
                } else {
                    ValueKind::JsonString
                };
                self.finish_acc(kind, sink);
            }
            State::Lit { .. } => self.flags.truncated = true,
            State::Between => {}
        }
        if !self.stack.is_empty() || matches!(self.expect, Expect::Colon) {
            self.flags.truncated = true;
        }
        self.state = State::Between;
        Ok(())
    }
}

impl JsonParser {
    /// Structural bytes between tokens; the hot loop for objects and arrays.
    fn between(
        &mut self,
        chunk: &[u8],
        mut i: usize,
        base: u64,
        sink: &mut dyn ValueSink,
    ) -> Result<usize, Malformed> {
        while i < chunk.len() {
            let b = chunk[i];
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                b'"' => {
                    let is_key = match self.expect {
                        Expect::Key | Expect::KeyOrEnd => {
                            self.begin_key();
                            true
                        }
                        Expect::Value | Expect::ValueOrEnd => {
                            self.begin_value();
                            false
                        }
                        _ => return Err(Malformed(i)),
                    };
                    self.tok = base + i as u64;
                    let body = &chunk[i + 1..];
                    match find_quote_or_backslash(body) {
                        Some(j) if body[j] == b'"' => {
                            let text = &body[..j];
                            let end = self.tok + j as u64 + 2;
                            self.emit_str(text, Some(self.tok + 1), is_key, end, sink);
                            if is_key {
                                self.set_key(text);
                            } else {
                                self.after_value();
                            }
                            i += j + 2;
                        }
                        _ => {
                            self.acc.clear();
                            self.esc = string::Escape::default();
                            self.state = State::Str { is_key };
                            return Ok(i + 1);
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    self.expect_value(i)?;
                    self.begin_value();
                    self.tok = base + i as u64;
                    let len = chunk[i..]
                        .iter()
                        .position(|&c| !is_number_byte(c))
                        .unwrap_or(chunk.len() - i);
                    if i + len == chunk.len() {
                        self.acc.clear();
                        self.acc_extend(&chunk[i..], Some(self.tok), ValueKind::JsonNumber, sink);
                        self.state = State::Num;
                        return Ok(chunk.len());
                    }
                    let end = self.tok + len as u64;
                    let kind = ValueKind::JsonNumber;
                    {
                        let (key, family) = (self.key_str(), self.key_family());
                        let mut emit = emitter(sink, kind, &self.path, key, family, self.tok..end);
                        emit_slice(&chunk[i..i + len], Some(self.tok), self.wo, &mut emit);
                    }
                    self.after_value();
                    i += len;
                }
                b'{' | b'[' => {
                    self.expect_value(i)?;
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(Malformed(i));
                    }
                    self.begin_value();
                    let array = b == b'[';
                    self.stack.push(Frame {
                        array,
                        path_len: self.path.len(),
                        key: self.key.clone(),
                        index: 0,
                    });
                    self.expect = if array {
                        Expect::ValueOrEnd
                    } else {
                        Expect::KeyOrEnd
                    };
                    i += 1;
                }
                b'}' | b']' => {
                    let ok_expect = if b == b'}' {
                        matches!(self.expect, Expect::KeyOrEnd | Expect::CommaOrEnd)
                    } else {
                        matches!(self.expect, Expect::ValueOrEnd | Expect::CommaOrEnd)
                    };
                    match self.stack.last() {
                        Some(f) if ok_expect && f.array == (b == b']') => {}
                        _ => return Err(Malformed(i)),
                    }
                    let frame = self.stack.pop().expect("checked above");
                    self.path.truncate(frame.path_len);
                    self.key = frame.key;
                    self.after_value();
                    i += 1;
                }
                b',' => {
                    match (self.expect, self.stack.last_mut()) {
                        (Expect::CommaOrEnd, Some(f)) if f.array => {
                            f.index = f.index.saturating_add(1);
                            self.expect = Expect::Value;
                        }
                        (Expect::CommaOrEnd, Some(_)) => self.expect = Expect::Key,
                        _ => return Err(Malformed(i)),
                    }
                    i += 1;
                }
                b':' if self.expect == Expect::Colon => {
                    self.expect = Expect::Value;
                    i += 1;
                }
                0xEF if base + i as u64 == 0 => {
                    // A UTF-8 byte order mark: skipped like a literal that reports nothing.
                    self.state = State::Lit {
                        word: b"\xEF\xBB\xBF",
                        at: 1,
                    };
                    return Ok(i + 1);
                }
                b't' | b'f' | b'n' => {
                    self.expect_value(i)?;
                    self.begin_value();
                    let word: &'static [u8] = match b {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    self.state = State::Lit { word, at: 1 };
                    return Ok(i + 1);
                }
                _ => return Err(Malformed(i)),
            }
        }
        Ok(i)
    }

    fn literal(
        &mut self,
        chunk: &[u8],
        mut i: usize,
        word: &'static [u8],
        mut at: usize,
    ) -> Result<usize, Malformed> {
        while at < word.len() && i < chunk.len() {
            if chunk[i] != word[at] {
                return Err(Malformed(i));
            }
            at += 1;
            i += 1;
        }
        if at == word.len() {
            self.state = State::Between;
            self.after_value();
        } else {
            self.state = State::Lit { word, at };
        }
        Ok(i)
    }

    fn number_slow(
        &mut self,
        chunk: &[u8],
        i: usize,
        base: u64,
        sink: &mut dyn ValueSink,
    ) -> usize {
        let len = chunk[i..]
            .iter()
            .position(|&c| !is_number_byte(c))
            .unwrap_or(chunk.len() - i);
        let off = base + i as u64;
        self.acc_extend(&chunk[i..i + len], Some(off), ValueKind::JsonNumber, sink);
        if i + len < chunk.len() {
            self.finish_acc(ValueKind::JsonNumber, sink);
            self.state = State::Between;
            self.after_value();
        }
        i + len
    }

    #[inline]
    fn expect_value(&self, i: usize) -> Result<(), Malformed> {
        match self.expect {
            Expect::Value | Expect::ValueOrEnd => Ok(()),
            _ => Err(Malformed(i)),
        }
    }

    /// Sets path and key for a value about to start (array index, top-level reset).
    #[inline]
    fn begin_value(&mut self) {
        match self.stack.last() {
            None => {
                self.path.truncate(1);
                self.key = None;
            }
            Some(f) if f.array => {
                self.path.truncate(f.path_len);
                push_index(&mut self.path, f.index);
                self.key = f.key.clone();
            }
            Some(_) => {}
        }
    }

    /// A key is reported with the object's own path and key.
    #[inline]
    fn begin_key(&mut self) {
        if let Some(f) = self.stack.last() {
            self.path.truncate(f.path_len);
            self.key = f.key.clone();
        }
    }

    /// Appends `.key` to the object's path and makes it the current key.
    #[inline]
    fn set_key(&mut self, text: &[u8]) {
        let Some(f) = self.stack.last() else { return };
        self.path.truncate(f.path_len);
        self.path.push('.');
        let start = self.path.len();
        let text = &text[..text.len().min(MAX_KEY_IN_PATH)];
        let family = self.keys.push_to(text, &mut self.path);
        self.key = Some(KeyAt {
            range: start..self.path.len(),
            family,
        });
        self.expect = Expect::Colon;
    }

    #[inline]
    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::Value
        } else {
            Expect::CommaOrEnd
        };
    }

    #[inline]
    fn key_str(&self) -> Option<&str> {
        self.key.as_ref().map(|k| &self.path[k.range.clone()])
    }

    #[inline]
    fn key_family(&self) -> Option<Option<KeyFamily>> {
        self.key.as_ref().and_then(|k| k.family)
    }

    #[inline]
    fn emit_str(
        &mut self,
        text: &[u8],
        off: Option<u64>,
        is_key: bool,
        end: u64,
        sink: &mut dyn ValueSink,
    ) {
        if text.is_empty() {
            return;
        }
        let kind = if is_key {
            ValueKind::JsonKey
        } else {
            ValueKind::JsonString
        };
        let (key, family) = (self.key_str(), self.key_family());
        let mut emit = emitter(sink, kind, &self.path, key, family, self.tok..end);
        emit_slice(text, off, self.wo, &mut emit);
    }

    #[inline]
    fn acc_extend(
        &mut self,
        bytes: &[u8],
        off: Option<u64>,
        kind: ValueKind,
        sink: &mut dyn ValueSink,
    ) {
        if self.acc.extend_quiet(bytes, off, self.wo.0) {
            return;
        }
        let key = self.key.as_ref().map(|k| &self.path[k.range.clone()]);
        let family = self.key_family();
        let mut emit = emitter(sink, kind, &self.path, key, family, self.tok..self.off);
        self.acc.extend(bytes, off, self.wo, &mut emit);
    }

    fn finish_acc(&mut self, kind: ValueKind, sink: &mut dyn ValueSink) {
        let key = self.key.as_ref().map(|k| &self.path[k.range.clone()]);
        let family = self.key_family();
        let mut emit = emitter(sink, kind, &self.path, key, family, self.tok..self.off);
        self.acc.finish(&mut emit);
    }
}

#[cfg(test)]
mod tests;
