//! Salted, truncated SHA-256: how tokens and matched values are identified without being shown.

use sha2::{Digest, Sha256};

/// Hex digest of `salt` and `data`, cut to `hex_len` characters (at most 64).
///
/// The salt is length-prefixed so `("ab", "c")` and `("a", "bc")` hash differently. A salt
/// keeps hashes from being compared across deployments or reversed with a table of known
/// tokens; truncation to 16 hex characters (64 bits) keeps metric labels short while leaving
/// collisions unlikely below billions of tokens.
pub fn hash_hex(salt: &str, data: &[u8], hex_len: usize) -> String {
    let mut h = Sha256::new();
    h.update((salt.len() as u64).to_le_bytes());
    h.update(salt.as_bytes());
    h.update(data);
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out.truncate(hex_len.min(64));
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::hash_hex;

    #[test]
    fn hashes_are_stable_salted_and_truncated() {
        // sha256 of 8 zero bytes (empty salt's length prefix) followed by "abc".
        let full = hash_hex("", b"abc", 64);
        assert_eq!(full.len(), 64);
        assert_eq!(hash_hex("", b"abc", 16), full[..16]);
        assert_ne!(hash_hex("s1", b"abc", 16), hash_hex("s2", b"abc", 16));
        assert_ne!(hash_hex("ab", b"c", 16), hash_hex("a", b"bc", 16));
        assert!(full
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash_hex("", b"abc", 100).len(), 64);
    }
}
