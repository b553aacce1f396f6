//! JSON redaction: a lexical pass that finds string and number tokens and masks them
//! without breaking the document (quotes, escapes and UTF-8 stay well-formed).

use memchr::memchr2;

use super::{Cursor, MaskSet, MASK_BYTE};

pub(super) fn redact(body: &[u8], set: &MaskSet) -> Vec<u8> {
    if set.is_empty() {
        return body.to_vec();
    }
    let mut out = Vec::with_capacity(body.len() + 32);
    let mut c = Cursor::default();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let end = string_end(body, i + 1);
                let content = i + 1..end;
                out.push(b'"');
                if set.token_at(&mut c, i) {
                    out.resize(out.len() + content.len(), MASK_BYTE);
                } else if set.overlaps(&mut c, content.clone()) {
                    mask_string(body, content, set, &mut c, &mut out);
                } else {
                    out.extend_from_slice(&body[content]);
                }
                if end < body.len() {
                    out.push(b'"');
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = body[i..]
                    .iter()
                    .position(|&c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(body.len() - i);
                if set.token_at(&mut c, i) || set.overlaps(&mut c, i..i + len) {
                    out.push(b'"');
                    out.resize(out.len() + len, MASK_BYTE);
                    out.push(b'"');
                } else {
                    out.extend_from_slice(&body[i..i + len]);
                }
                i += len;
            }
            b => {
                // Outside strings only structure and literals exist in valid JSON; a masked
                // byte here comes from the text fallback of a malformed body.
                let structural = matches!(
                    b,
                    b'{' | b'}' | b'[' | b']' | b':' | b',' | b' ' | b'\n' | b'\r' | b'\t'
                );
                if !structural && set.overlaps(&mut c, i..i + 1) {
                    let n = char_len(body, i);
                    out.resize(out.len() + n, MASK_BYTE);
                    i += n;
                } else {
                    out.push(b);
                    i += 1;
                }
            }
        }
    }
    out
}

/// Index of the closing quote of a string whose content starts at `from` (or the body
/// length if unterminated).
fn string_end(body: &[u8], mut from: usize) -> usize {
    loop {
        match memchr2(b'"', b'\\', &body[from.min(body.len())..]) {
            None => return body.len(),
            Some(k) if body[from + k] == b'"' => return from + k,
            Some(k) => from += k + 2,
        }
    }
}

/// Copies string content, replacing every masked unit (a UTF-8 character, an escape, or a
/// `\uD8xx\uDCxx` surrogate pair) by as many mask bytes as it had.
fn mask_string(
    body: &[u8],
    content: std::ops::Range<usize>,
    set: &MaskSet,
    c: &mut Cursor,
    out: &mut Vec<u8>,
) {
    let mut k = content.start;
    while k < content.end {
        let len = if body[k] == b'\\' {
            escape_len(&body[k..content.end])
        } else {
            char_len(body, k)
        }
        .min(content.end - k);
        if set.overlaps(c, k..k + len) {
            out.resize(out.len() + len, MASK_BYTE);
        } else {
            out.extend_from_slice(&body[k..k + len]);
        }
        k += len;
    }
}

fn escape_len(s: &[u8]) -> usize {
    if s.get(1) != Some(&b'u') {
        return 2;
    }
    let high = s
        .get(2..6)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| u16::from_str_radix(h, 16).ok());
    match high {
        Some(0xD800..=0xDBFF) if s.get(6..8) == Some(b"\\u") => 12,
        _ => 6,
    }
}

/// Length of the UTF-8 character starting at `i` (1 for invalid bytes).
pub(super) fn char_len(body: &[u8], i: usize) -> usize {
    let n = match body[i] {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    };
    if body.len() >= i + n && body[i + 1..i + n].iter().all(|&c| c & 0xC0 == 0x80) {
        n
    } else {
        1
    }
}
