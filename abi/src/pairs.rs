//! The header-pair codec: how header maps, gRPC metadata and map-valued properties cross the ABI.
//!
//! Layout (little endian): `u32 count`, then `count × (u32 key_len, u32 value_len)`, then for each
//! pair `key \0 value \0`. Decoding borrows from the input and is capped (1 MiB, 1024 pairs,
//! the limits proxy-wasm-cpp-host applies), so a hostile guest cannot make the host allocate
//! unbounded memory or read out of bounds.
//!
//! Envoy turns a malformed buffer into an *empty* map and carries on, which for
//! `proxy_set_header_map_pairs` silently drops every header. We answer `BadArgument` instead
//! (documented deviation; the SDKs never produce malformed buffers, so only hostile or broken
//! guests see it). An empty input (`size` 0) is accepted as an empty map, as Envoy does.

use crate::host::PairRef;
use crate::types::Status;

/// Largest encoded pairs buffer the host decodes (cpp-host's `PROXY_WASM_HOST_PAIRS_MAX_BYTES`).
pub const MAX_PAIRS_BYTES: usize = 1 << 20;
/// Most pairs the host decodes from one buffer (cpp-host's `PROXY_WASM_HOST_PAIRS_MAX_COUNT`).
pub const MAX_PAIRS_COUNT: usize = 1024;

/// Why a pairs buffer could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairsError {
    #[error("pairs buffer of {0} bytes exceeds the {MAX_PAIRS_BYTES}-byte cap")]
    TooLarge(usize),
    #[error("pairs buffer declares {0} pairs, more than the {MAX_PAIRS_COUNT} allowed")]
    TooManyPairs(u32),
    #[error("pairs buffer truncated: {what} needs bytes up to {needed}, buffer has {len}")]
    Truncated {
        what: &'static str,
        needed: usize,
        len: usize,
    },
    #[error("pair {index}: {what} is not NUL-terminated")]
    MissingNul { index: usize, what: &'static str },
    #[error("pairs buffer has {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    #[error("a key or value of {0} bytes does not fit the ABI's u32 length")]
    Unencodable(usize),
}

impl PairsError {
    /// The status a guest sees: malformed input is its argument's fault (`BadArgument`); a map
    /// the host cannot serialize is a `SerializationFailure`.
    pub fn status(&self) -> Status {
        match self {
            PairsError::Unencodable(_) => Status::SerializationFailure,
            _ => Status::BadArgument,
        }
    }
}

impl From<PairsError> for Status {
    fn from(e: PairsError) -> Status {
        e.status()
    }
}

/// Size in bytes of `pairs` once encoded.
pub fn encoded_len<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> usize {
    pairs.iter().fold(4, |n, (k, v)| {
        n + 8 + k.as_ref().len() + 1 + v.as_ref().len() + 1
    })
}

/// Encodes `pairs` in the ABI layout. Fails only if a key, value or the count exceeds `u32`.
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Result<Vec<u8>, PairsError> {
    let wire_len = |n: usize| u32::try_from(n).map_err(|_| PairsError::Unencodable(n));
    let mut out = Vec::with_capacity(encoded_len(pairs));
    out.extend_from_slice(&wire_len(pairs.len())?.to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&wire_len(k.as_ref().len())?.to_le_bytes());
        out.extend_from_slice(&wire_len(v.as_ref().len())?.to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    Ok(out)
}

/// Decodes a pairs buffer, borrowing keys and values from `buf`.
pub fn decode(buf: &[u8]) -> Result<Vec<PairRef<'_>>, PairsError> {
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    if buf.len() > MAX_PAIRS_BYTES {
        return Err(PairsError::TooLarge(buf.len()));
    }
    let mut cur = Cursor { buf, pos: 0 };
    let count = cur.u32("pair count")?;
    if count as usize > MAX_PAIRS_COUNT {
        return Err(PairsError::TooManyPairs(count));
    }
    let count = count as usize;
    // The size table must fit before anything is allocated for it.
    cur.check(count * 8, "size table")?;
    let mut sizes = Vec::with_capacity(count);
    for _ in 0..count {
        sizes.push((
            cur.u32("key length")? as usize,
            cur.u32("value length")? as usize,
        ));
    }
    let mut pairs = Vec::with_capacity(count);
    for (index, (klen, vlen)) in sizes.into_iter().enumerate() {
        let key = cur.terminated(klen, index, "key")?;
        let value = cur.terminated(vlen, index, "value")?;
        pairs.push((key, value));
    }
    match buf.len() - cur.pos {
        0 => Ok(pairs),
        extra => Err(PairsError::TrailingBytes(extra)),
    }
}

/// A bounds-checked reader over the input; every step checks before it slices.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn check(&self, n: usize, what: &'static str) -> Result<(), PairsError> {
        let needed = self.pos.saturating_add(n);
        if needed > self.buf.len() {
            return Err(PairsError::Truncated {
                what,
                needed,
                len: self.buf.len(),
            });
        }
        Ok(())
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PairsError> {
        self.check(n, what)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PairsError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn terminated(
        &mut self,
        len: usize,
        index: usize,
        what: &'static str,
    ) -> Result<&'a [u8], PairsError> {
        let s = self.take(len, what)?;
        match self.take(1, what)? {
            [0] => Ok(s),
            _ => Err(PairsError::MissingNul { index, what }),
        }
    }
}

#[cfg(test)]
mod tests;
