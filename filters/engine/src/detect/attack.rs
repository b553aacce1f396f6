//! Attack detection on request parts: undo the encodings attackers hide behind, then walk the
//! prebuilt attack DFAs over the decoded bytes (see `search`) and map findings back to the
//! original offsets.
//!
//! A gate comes first. Most parts (a path, `x-forwarded-proto: http`, a JSON number) cannot
//! match most categories, and a search costs about as much whether it matches or not (the six
//! unanchored searches it replaced ran at ~7 MiB/s in wasm). The build script derives, per
//! category, a set of bytes of which every match holds at least one (`necessary_bytes` in
//! `build.rs`, read off the DFA itself, so it is exact); one table lookup per decoded byte
//! then tells which categories can match at all, and only those are searched. Most parts
//! need no decoding either: they are scanned in place, without copying them or building an
//! offset map.

use std::borrow::Cow;

mod search;

pub use search::AttackDfa;

use super::{
    automata::{attack_gate, builtins},
    patterns::{AttackRule, ATTACK_RULES},
    CategoryId, Finding,
};

/// Decoded bytes, each with the original range `[start, end)` it came from.
pub struct Decoded<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// Empty while nothing was decoded: byte `i` then came from `[i, i + 1)`.
    spans: Vec<(u32, u32)>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl<'a> Decoded<'a> {
    fn new(v: &'a [u8]) -> Decoded<'a> {
        Decoded {
            bytes: Cow::Borrowed(v),
            spans: Vec::new(),
        }
    }

    /// The original range decoded byte `i` came from.
    pub fn span(&self, i: usize) -> (u32, u32) {
        self.spans
            .get(i)
            .copied()
            .unwrap_or((i as u32, i as u32 + 1))
    }

    /// One pass of a decoder that consumes `n` input bytes and yields one output byte; `None`
    /// = copy the byte as is.
    fn pass(&mut self, mut step: impl FnMut(&[u8]) -> Option<(u8, usize)>) -> bool {
        let (mut out, mut spans) = (
            Vec::with_capacity(self.bytes.len()),
            Vec::with_capacity(self.bytes.len()),
        );
        let mut i = 0;
        let mut changed = false;
        while i < self.bytes.len() {
            let (b, n) = step(&self.bytes[i..]).unwrap_or((self.bytes[i], 1));
            changed |= n > 1 || b != self.bytes[i];
            out.push(b);
            spans.push((self.span(i).0, self.span(i + n - 1).1));
            i += n;
        }
        self.bytes = Cow::Owned(out);
        self.spans = spans;
        changed
    }
}

fn percent(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        // IIS-style %u00XX
        [b'%', b'u' | b'U', b'0', b'0', a, b, ..] => Some((hex(*a)? << 4 | hex(*b)?, 6)),
        [b'%', a, b, ..] => Some((hex(*a)? << 4 | hex(*b)?, 3)),
        _ => None,
    }
}

fn entity(s: &[u8]) -> Option<(u8, usize)> {
    if s.first() != Some(&b'&') {
        return None;
    }
    let semi = s.iter().take(10).position(|&b| b == b';')?;
    let name = &s[1..semi];
    let b = match name {
        b"lt" => b'<',
        b"gt" => b'>',
        b"quot" => b'"',
        b"apos" => b'\'',
        b"amp" => b'&',
        b"sol" => b'/',
        b"lpar" => b'(',
        b"rpar" => b')',
        b"colon" => b':',
        [b'#', b'x' | b'X', h @ ..] => {
            u8::try_from(u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?).ok()?
        }
        [b'#', d @ ..] => std::str::from_utf8(d).ok()?.parse::<u8>().ok()?,
        _ => return None,
    };
    Some((b, semi + 1))
}

/// `\u003c`, `\x3c` escapes (JSON/JS strings).
fn backslash(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        [b'\\', b'u', b'0', b'0', a, b, ..] => Some((hex(*a)? << 4 | hex(*b)?, 6)),
        [b'\\', b'x', a, b, ..] => Some((hex(*a)? << 4 | hex(*b)?, 4)),
        _ => None,
    }
}

/// Undoes percent-encoding (repeatedly, for double encoding), `+` as space, HTML entities,
/// `\uXXXX` escapes and SQL inline comments (`UN/**/ION` → `UN ION`, `/**/` → space).
pub fn decode(v: &[u8]) -> Decoded<'_> {
    let mut d = Decoded::new(v);
    if v.iter().any(|&b| b == b'+' || b == b'%') {
        d.pass(|s| (s[0] == b'+').then_some((b' ', 1)).or_else(|| percent(s)));
    }
    for _ in 0..2 {
        if !d.bytes.contains(&b'%') || !d.pass(percent) {
            break;
        }
    }
    if d.bytes.contains(&b'&') {
        d.pass(entity);
    }
    if d.bytes.contains(&b'\\') {
        d.pass(backslash);
    }
    if d.bytes.windows(2).any(|w| w == b"/*") {
        d.pass(|s| {
            let body = s.strip_prefix(b"/*")?;
            let close = body.windows(2).position(|w| w == b"*/")?;
            Some((b' ', close + 4))
        });
    }
    d
}

fn category(rule: AttackRule) -> CategoryId {
    match rule {
        AttackRule::Sql => CategoryId::SQL_INJECTION,
        AttackRule::Xss => CategoryId::XSS,
        AttackRule::Traversal => CategoryId::PATH_TRAVERSAL,
        AttackRule::Command => CategoryId::COMMAND_INJECTION,
        AttackRule::Ssrf => CategoryId::SSRF,
        AttackRule::Jndi => CategoryId::JNDI_INJECTION,
    }
}

/// Bit `i` set: category `i` of [`ATTACK_RULES`] may match somewhere in `bytes` (it holds
/// one of that category's necessary bytes). Unset: it cannot.
pub fn gate(bytes: &[u8]) -> u8 {
    let table = attack_gate();
    bytes.iter().fold(0, |m, &b| m | table[usize::from(b)])
}

/// Scans a decoded request part; `enabled(c)` filters categories.
pub fn scan(value: &[u8], enabled: impl Fn(CategoryId) -> bool, out: &mut Vec<Finding>) {
    if value.is_empty() {
        return;
    }
    let d = decode(value);
    let may_match = gate(&d.bytes);
    if may_match == 0 {
        return;
    }
    for (i, ((rule, _), re)) in ATTACK_RULES.iter().zip(&builtins().attack).enumerate() {
        let c = category(*rule);
        if may_match & (1 << i) == 0 || !enabled(c) {
            continue;
        }
        search(&d, re, c, out);
    }
}

/// Every match of one category's DFA in `d`, mapped back to the original offsets.
fn search(d: &Decoded<'_>, dfa: &AttackDfa, c: CategoryId, out: &mut Vec<Finding>) {
    let mut pos = 0;
    while let Some((start, end)) = dfa.find(&d.bytes, pos) {
        out.push(Finding {
            category: c,
            start: d.span(start).0 as usize,
            end: d.span(end - 1).1 as usize,
        });
        pos = end;
    }
}

#[cfg(test)]
mod tests;
