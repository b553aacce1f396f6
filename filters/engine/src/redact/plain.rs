//! Length-preserving redaction for text, form, HTML and protobuf bodies.

use memchr::memchr;

use super::{MaskSet, MASK_BYTE};

/// Masks byte ranges (widened to whole UTF-8 characters) and whole tokens, whose end is
/// found by `token_end(body, start)`.
pub(super) fn redact(body: &[u8], set: &MaskSet, token_end: fn(&[u8], usize) -> usize) -> Vec<u8> {
    let mut out = body.to_vec();
    mask_ranges(&mut out, set);
    for &t in set.tokens() {
        let end = token_end(body, t).clamp(t, body.len());
        out[t..end].fill(MASK_BYTE);
    }
    out
}

fn mask_ranges(out: &mut [u8], set: &MaskSet) {
    let cont = |c: u8| c & 0xC0 == 0x80;
    for r in set.ranges() {
        let (mut s, mut e) = (r.start, r.end);
        while s > 0 && cont(out[s]) {
            s -= 1;
        }
        while e < out.len() && cont(out[e]) {
            e += 1;
        }
        out[s..e].fill(MASK_BYTE);
    }
}

/// A form value runs to the next `&`.
pub(super) fn form_token_end(body: &[u8], start: usize) -> usize {
    memchr(b'&', &body[start..]).map_or(body.len(), |k| start + k)
}

/// A quoted attribute value runs to its quote, an unquoted one to whitespace or `>`, text
/// to the next tag.
pub(super) fn html_token_end(body: &[u8], start: usize) -> usize {
    let rest = &body[start..];
    let k = match start.checked_sub(1).map(|p| body[p]) {
        Some(q @ (b'"' | b'\'')) => memchr(q, rest),
        Some(b'=') => rest
            .iter()
            .position(|&c| c == b'>' || c.is_ascii_whitespace()),
        _ => memchr(b'<', rest),
    };
    k.map_or(body.len(), |k| start + k)
}

/// Protobuf: byte masks as text; a token mask at a field's tag rewrites the field's value
/// in place (numbers become zero with the same encoded length, payloads become `*`).
pub(super) fn redact_proto(body: &[u8], set: &MaskSet) -> Vec<u8> {
    let mut out = body.to_vec();
    mask_ranges(&mut out, set);
    for &t in set.tokens() {
        zero_field(&mut out, t);
    }
    out
}

fn zero_field(out: &mut [u8], tag_at: usize) {
    let Some((tag, mut at)) = varint(out, tag_at) else {
        return;
    };
    match tag & 7 {
        0 => {
            let start = at;
            let Some((_, end)) = varint(out, start) else {
                return;
            };
            out[start..end].fill(0x80);
            out[end - 1] = 0;
        }
        1 | 5 => {
            let n = if tag & 7 == 1 { 8 } else { 4 };
            if let Some(v) = out.get_mut(at..at + n) {
                v.fill(0);
            }
        }
        2 => {
            let Some((len, start)) = varint(out, at) else {
                return;
            };
            at = start;
            let end = usize::try_from(len)
                .map_or(out.len(), |l| at.saturating_add(l))
                .min(out.len());
            out[at..end].fill(MASK_BYTE);
        }
        _ => {}
    }
}

fn varint(b: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..10 {
        let c = *b.get(at)?;
        at += 1;
        v |= u64::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Some((v, at));
        }
    }
    None
}
