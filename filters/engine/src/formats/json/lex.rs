//! Small lexical helpers of the JSON hot path: string-body search, number bytes, path
//! segments and the key cache.

use memchr::memchr2;

use crate::detect::{family_of_key, patterns::KeyFamily};
use crate::formats::decimal::push_u64;

/// Keys already validated as UTF-8, with their field family. API responses repeat the same
/// keys in every array element; validating a short key, and finding its family, cost more
/// than the rest of its handling, so hits skip both (and allocate nothing once the cache is
/// warm).
#[derive(Debug, Default)]
pub(super) struct KeyCache(crate::keycache::KeyCache<Option<KeyFamily>>);

impl KeyCache {
    /// Appends `text` to `path`, lossily if it is not UTF-8; returns the key's family when
    /// the key is cacheable (else the detector works it out).
    pub(super) fn push_to(&mut self, text: &[u8], path: &mut String) -> Option<Option<KeyFamily>> {
        // A miss asks the detector's per-thread family cache: this parser's cache lives for one
        // body, the family of a key is the same in every body.
        match self.0.get(text, family_of_key) {
            Some((key, family)) => {
                path.push_str(key);
                Some(*family)
            }
            None => {
                path.push_str(&String::from_utf8_lossy(text));
                None
            }
        }
    }
}

/// Finds `"` or `\` in a string body. Most JSON strings are short, where the SIMD search
/// of `memchr2` costs more in setup than it saves, so the first 64 bytes are scanned eight
/// at a time with SWAR (also the fast option in wasm without `simd128`), the rest with
/// `memchr2`.
#[inline]
pub(super) fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const SWAR_BYTES: usize = 64;
    let (quote, backslash) = (LO * u64::from(b'"'), LO * u64::from(b'\\'));
    let mut i = 0;
    while i + 8 <= s.len().min(SWAR_BYTES) {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
        let (x, y) = (w ^ quote, w ^ backslash);
        // The lowest flagged byte is exact (borrows only create false flags above it).
        let hit = (x.wrapping_sub(LO) & !x & HI) | (y.wrapping_sub(LO) & !y & HI);
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i >= SWAR_BYTES {
        return memchr2(b'"', b'\\', &s[i..]).map(|k| i + k);
    }
    s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| i + k)
}

#[inline]
pub(super) fn is_number_byte(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// Appends `[index]` without going through `fmt`.
pub(super) fn push_index(path: &mut String, index: u32) {
    path.push('[');
    push_u64(path, u64::from(index));
    path.push(']');
}
