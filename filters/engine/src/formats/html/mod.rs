//! HTML: text content, comments, `<script>`/`<style>` contents and attribute values, with
//! character references decoded.
//!
//! A small tolerant tokenizer in the spirit of the HTML5 one (no tree building, no
//! error recovery beyond "keep going"): it is only asked where text and attribute values
//! are. Attribute values get the attribute name as key, except `value`/`content`/
//! `placeholder`, which take the tag's earlier `name`/`id`/`property` attribute when there is
//! one (`<input name="ssn" value="…">` has key `ssn`). Text has no key and path `$`;
//! attribute values have path `$.tag.attr`.

mod entity;
mod raw;

use super::accum::{Accum, Piece};
use super::{Flags, FormatError, Limits, PushParser, Value, ValueKind, ValueSink};

const MAX_TAG: usize = 16;
const MAX_ATTR: usize = 64;

/// Streaming HTML parser; see the module docs.
#[derive(Debug)]
pub struct HtmlParser {
    wo: (usize, usize),
    off: u64,
    state: St,
    acc: Accum,
    /// Stream offset where the current text or attribute value starts.
    tok: u64,
    tag: Vec<u8>,
    end_tag: bool,
    attr: Vec<u8>,
    /// `name`/`id`/`property` of the current tag, for the key of its `value`.
    ctx: Vec<u8>,
    path: String,
    key: String,
    entity: Vec<u8>,
    /// Bytes of the closing pattern (`</script`, `-->`) matched and held back.
    held: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Text,
    TagOpen,
    TagName,
    SkipToGt,
    BeforeAttr,
    AttrName,
    AfterAttrName,
    BeforeValue,
    Value(Option<u8>),
    Entity { in_value: Option<Option<u8>> },
    Markup(u8),
    Comment,
    RawText(&'static [u8]),
}

impl HtmlParser {
    /// A parser for a body starting at stream offset 0.
    pub fn new(limits: &Limits) -> Self {
        let mut acc = Accum::default();
        acc.clear();
        Self {
            wo: limits.window(),
            off: 0,
            state: St::Text,
            acc,
            tok: 0,
            tag: Vec::new(),
            end_tag: false,
            attr: Vec::new(),
            ctx: Vec::new(),
            path: String::from("$"),
            key: String::new(),
            entity: Vec::new(),
            held: 0,
        }
    }

    fn kind(&self) -> ValueKind {
        match self.state {
            St::Value(_) | St::Entity { in_value: Some(_) } => ValueKind::HtmlAttr,
            _ => ValueKind::HtmlText,
        }
    }

    fn extend(&mut self, bytes: &[u8], off: Option<u64>, sink: &mut dyn ValueSink) {
        if self.acc.extend_quiet(bytes, off, self.wo.0) {
            return;
        }
        let kind = self.kind();
        let mut emit = html_emitter(sink, kind, &self.path, &self.key, self.tok, self.off);
        self.acc.extend(bytes, off, self.wo, &mut emit);
    }

    /// Reports the pending text or attribute value.
    fn end_value(&mut self, sink: &mut dyn ValueSink) {
        let kind = self.kind();
        {
            let mut emit = html_emitter(sink, kind, &self.path, &self.key, self.tok, self.off);
            self.acc.finish(&mut emit);
        }
        if kind == ValueKind::HtmlAttr
            && matches!(self.attr.as_slice(), b"name" | b"id" | b"property")
        {
            self.ctx.clear();
            let b = self.acc.bytes();
            self.ctx.extend_from_slice(&b[..b.len().min(MAX_ATTR)]);
        }
        self.acc.clear();
    }

    fn begin_value(&mut self, quote: Option<u8>, at: u64) {
        self.state = St::Value(quote);
        self.tok = at;
        self.path.truncate(1);
        self.path.push('.');
        self.path.push_str(&String::from_utf8_lossy(&self.tag));
        self.path.push('.');
        self.path.push_str(&String::from_utf8_lossy(&self.attr));
        let labelled = matches!(self.attr.as_slice(), b"value" | b"content" | b"placeholder");
        let key = if labelled && !self.ctx.is_empty() {
            &self.ctx
        } else {
            &self.attr
        };
        self.key = String::from_utf8_lossy(key).into_owned();
    }

    fn end_tag_seen(&mut self, next: u64) {
        self.state = match (self.end_tag, self.tag.as_slice()) {
            (false, b"script") => St::RawText(b"</script"),
            (false, b"style") => St::RawText(b"</style"),
            _ => St::Text,
        };
        self.held = 0;
        self.ctx.clear();
        self.path.truncate(1);
        self.key.clear();
        self.tok = next;
    }

    /// One byte of an entity; returns whether the byte was consumed.
    fn entity_byte(
        &mut self,
        b: u8,
        in_value: Option<Option<u8>>,
        sink: &mut dyn ValueSink,
    ) -> bool {
        if (b.is_ascii_alphanumeric() || b == b'#') && self.entity.len() < entity::MAX_ENTITY {
            self.entity.push(b);
            return true;
        }
        let decoded = if b == b';' {
            entity::decode(&self.entity)
        } else {
            None
        };
        let name = std::mem::take(&mut self.entity);
        match decoded {
            Some(c) => {
                let mut utf8 = [0u8; 4];
                self.extend(c.encode_utf8(&mut utf8).as_bytes(), None, sink);
            }
            None => {
                self.extend(b"&", None, sink);
                self.extend(&name, None, sink);
            }
        }
        self.entity = name;
        self.entity.clear();
        self.state = match in_value {
            Some(q) => St::Value(q),
            None => St::Text,
        };
        decoded.is_some()
    }
}

/// Wraps pieces into values, dropping whitespace-only text between tags.
fn html_emitter<'s>(
    sink: &'s mut dyn ValueSink,
    kind: ValueKind,
    path: &'s str,
    key: &'s str,
    tok: u64,
    end: u64,
) -> impl FnMut(Piece<'_>) + 's {
    move |p: Piece<'_>| {
        if p.text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        sink.value(&Value {
            text: p.text,
            kind,
            key: (!key.is_empty()).then_some(key),
            key_family: None,
            path,
            span: p.span,
            raw: tok..end,
            overlap: p.overlap,
        })
    }
}

impl PushParser for HtmlParser {
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let base = self.off;
        self.off += chunk.len() as u64;
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            let at = base + i as u64;
            match self.state {
                St::Text | St::Value(_) => {
                    let stop = |c: u8| match self.state {
                        St::Value(Some(q)) => c == q || c == b'&',
                        St::Value(None) => c == b'&' || c == b'>' || c.is_ascii_whitespace(),
                        _ => c == b'<' || c == b'&',
                    };
                    let run = chunk[i..]
                        .iter()
                        .position(|&c| stop(c))
                        .unwrap_or(chunk.len() - i);
                    if run > 0 {
                        self.extend(&chunk[i..i + run], Some(at), sink);
                        i += run;
                        continue;
                    }
                    match (self.state, b) {
                        (St::Value(q), b'&') => self.state = St::Entity { in_value: Some(q) },
                        (_, b'&') => self.state = St::Entity { in_value: None },
                        (St::Text, _) => {
                            self.end_value(sink);
                            self.state = St::TagOpen;
                        }
                        (_, b'>') => {
                            self.end_value(sink);
                            self.end_tag_seen(at + 1);
                        }
                        _ => {
                            self.end_value(sink);
                            self.state = St::BeforeAttr;
                        }
                    }
                }
                St::Entity { in_value } => {
                    if !self.entity_byte(b, in_value, sink) {
                        continue;
                    }
                }
                St::TagOpen => {
                    self.tag.clear();
                    self.end_tag = false;
                    match b {
                        b'/' => {
                            self.end_tag = true;
                            self.state = St::TagName;
                        }
                        b'!' => self.state = St::Markup(0),
                        b'?' => self.state = St::SkipToGt,
                        c if c.is_ascii_alphabetic() => {
                            self.tag.push(c.to_ascii_lowercase());
                            self.state = St::TagName;
                        }
                        _ => {
                            self.state = St::Text;
                            self.tok = at - 1;
                            self.extend(b"<", None, sink);
                            continue;
                        }
                    }
                }
                St::TagName => match b {
                    b'>' => self.end_tag_seen(at + 1),
                    b'/' => self.state = St::BeforeAttr,
                    c if c.is_ascii_whitespace() => self.state = St::BeforeAttr,
                    c => {
                        if self.tag.len() < MAX_TAG {
                            self.tag.push(c.to_ascii_lowercase());
                        }
                    }
                },
                St::SkipToGt => {
                    if b == b'>' {
                        self.end_tag = true;
                        self.end_tag_seen(at + 1);
                    }
                }
                St::BeforeAttr | St::AfterAttrName => match b {
                    b'>' => self.end_tag_seen(at + 1),
                    b'=' if self.state == St::AfterAttrName => self.state = St::BeforeValue,
                    c if c.is_ascii_whitespace() || c == b'/' => {}
                    c => {
                        self.attr.clear();
                        self.attr.push(c.to_ascii_lowercase());
                        self.state = St::AttrName;
                    }
                },
                St::AttrName => match b {
                    b'=' => self.state = St::BeforeValue,
                    b'>' => self.end_tag_seen(at + 1),
                    b'/' => self.state = St::BeforeAttr,
                    c if c.is_ascii_whitespace() => self.state = St::AfterAttrName,
                    c => {
                        if self.attr.len() < MAX_ATTR {
                            self.attr.push(c.to_ascii_lowercase());
                        }
                    }
                },
                St::BeforeValue => match b {
                    b'"' | b'\'' => self.begin_value(Some(b), at + 1),
                    b'>' => self.end_tag_seen(at + 1),
                    c if c.is_ascii_whitespace() => {}
                    _ => {
                        self.begin_value(None, at);
                        continue;
                    }
                },
                St::Markup(n) => match (n, b) {
                    (0, b'-') => self.state = St::Markup(1),
                    (1, b'-') => {
                        self.state = St::Comment;
                        self.tok = at + 1;
                        self.held = 0;
                    }
                    _ => {
                        self.state = St::SkipToGt;
                        continue;
                    }
                },
                St::Comment => {
                    i = self.raw_text(chunk, i, base, b"-->", sink);
                    continue;
                }
                St::RawText(pattern) => {
                    i = self.raw_text(chunk, i, base, pattern, sink);
                    continue;
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let St::Entity { in_value } = self.state {
            self.entity_byte(0, in_value, sink);
        }
        match self.state {
            St::Comment => self.flush_held(raw::COMMENT_END, sink),
            St::RawText(pattern) => self.flush_held(pattern, sink),
            _ => {}
        }
        self.end_value(sink);
        self.state = St::Text;
        Ok(())
    }

    fn flags(&self) -> Flags {
        Flags::default()
    }
}

#[cfg(test)]
mod tests;
