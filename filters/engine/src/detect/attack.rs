//! Attack detection on request parts: undo the encodings attackers hide behind, then run the
//! prebuilt attack DFA over the decoded bytes and map findings back to the original offsets.

use regex_automata::Input;

use super::{
    automata::builtins,
    patterns::{AttackRule, ATTACK_RULES},
    CategoryId, Finding,
};

/// Decoded bytes, each with the original range `[start, end)` it came from.
pub struct Decoded {
    pub bytes: Vec<u8>,
    pub spans: Vec<(u32, u32)>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl Decoded {
    fn new(v: &[u8]) -> Decoded {
        Decoded {
            bytes: v.to_vec(),
            spans: (0..v.len() as u32).map(|i| (i, i + 1)).collect(),
        }
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
            spans.push((self.spans[i].0, self.spans[i + n - 1].1));
            i += n;
        }
        self.bytes = out;
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
pub fn decode(v: &[u8]) -> Decoded {
    let mut d = Decoded::new(v);
    d.pass(|s| (s[0] == b'+').then_some((b' ', 1)).or_else(|| percent(s)));
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

/// Scans a decoded request part; `enabled(c)` filters categories.
pub fn scan(value: &[u8], enabled: impl Fn(CategoryId) -> bool, out: &mut Vec<Finding>) {
    if value.is_empty() {
        return;
    }
    let d = decode(value);
    for ((rule, _), re) in ATTACK_RULES.iter().zip(&builtins().attack) {
        let c = category(*rule);
        if !enabled(c) {
            continue;
        }
        let mut pos = 0;
        while pos < d.bytes.len() {
            let m = match re.try_search(&Input::new(&d.bytes).range(pos..)) {
                Ok(Some(m)) => m,
                _ => break,
            };
            pos = m.end().max(pos + 1);
            if !m.is_empty() {
                let (start, end) = (
                    d.spans[m.start()].0 as usize,
                    d.spans[m.end() - 1].1 as usize,
                );
                out.push(Finding {
                    category: c,
                    start,
                    end,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_layers_and_maps_offsets() {
        let d = decode(b"a%253Cscript%253E+&lt;b&gt;");
        assert_eq!(d.bytes, b"a<script> <b>");
        assert_eq!(d.spans[1], (1, 6), "`<` came from `%253C`");
        let d = decode(b"UN/**/ION");
        assert_eq!(d.bytes, b"UN ION");
    }
}
