//! Who made a request: the caller's token, extracted from request headers and reported only as
//! a salted hash.
//!
//! Headers are given as `(name, value)` pairs exactly as the proxy-wasm host returns them
//! (names lower-case in HTTP/2, any case in HTTP/1; both handled).

mod hash;
mod jwt;

pub use hash::hash_hex;
pub use jwt::{jwt_sub, looks_like_jwt, MAX_JWT_SEGMENT};

use crate::policy::{TokenSource, TokensDoc};

/// A request's token, identified by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId {
    /// Salted SHA-256 prefix of the token (or of the JWT `sub`), lower-case hex.
    pub hash: String,
    /// Which source gave it: `bearer`, `jwt_sub`, `header` or `cookie`.
    pub source: &'static str,
}

/// Extracts and hashes tokens per the policy's `tokens` section.
#[derive(Debug, Clone)]
pub struct TokenExtractor {
    sources: Vec<TokenSource>,
    salt: String,
    hash_length: usize,
}

impl TokenExtractor {
    pub fn new(tokens: &TokensDoc) -> Self {
        TokenExtractor {
            sources: tokens.sources.clone(),
            salt: tokens.salt.clone(),
            hash_length: tokens.hash_length,
        }
    }

    /// The token of the first source that yields one, hashed.
    pub fn extract(&self, headers: &[(&str, &str)]) -> Option<TokenId> {
        self.sources.iter().find_map(|s| {
            let raw = raw_token(s, headers)?;
            Some(TokenId {
                hash: hash_hex(&self.salt, raw.as_bytes(), self.hash_length),
                source: source_name(s),
            })
        })
    }
}

fn source_name(s: &TokenSource) -> &'static str {
    match s {
        TokenSource::Bearer => "bearer",
        TokenSource::JwtSub => "jwt_sub",
        TokenSource::Header(_) => "header",
        TokenSource::Cookie(_) => "cookie",
    }
}

/// The unhashed token from one source, if present and non-empty.
pub fn raw_token(source: &TokenSource, headers: &[(&str, &str)]) -> Option<String> {
    match source {
        TokenSource::Bearer => bearer(headers).map(String::from),
        TokenSource::JwtSub => bearer(headers).and_then(jwt_sub),
        TokenSource::Header(name) => header(headers, name).map(String::from),
        TokenSource::Cookie(name) => cookie(headers, name).map(String::from),
    }
}

/// The first non-empty value of a header, trimmed.
pub fn header<'a>(headers: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .find(|v| !v.is_empty())
}

/// The credential of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750).
pub fn bearer<'a>(headers: &[(&str, &'a str)]) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .find_map(|(_, v)| {
            let v = v.trim();
            let (scheme, rest) = v.split_once(' ')?;
            let token = rest.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
        })
}

/// A cookie's value from the `cookie` header(s) (HTTP/2 may split them), quotes removed.
/// Cookie names are case-sensitive (RFC 6265).
pub fn cookie<'a>(headers: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
