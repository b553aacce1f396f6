//! Reading the `sub` claim of a JWT without verifying it.
//!
//! The filter has no keys to verify signatures with, and attribution does not need them: the
//! `sub` only labels metrics and keys rate limits. It is **untrusted** — a client can put any
//! `sub` in an unsigned token — so it must never be used for an access decision other than the
//! rate limits the operator configured on it, and a forged `sub` only moves the forger's own
//! counts to another label.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;

/// Longer payload segments are not decoded: real JWT claims are well under this, and the
/// filter decodes one per request.
pub const MAX_JWT_SEGMENT: usize = 8 * 1024;

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<serde_json::Value>,
}

/// Whether `token` has the shape of a JWS compact serialization (three dot-separated parts,
/// the first decoding to a JSON object).
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(_), Some(_), None) => decode_segment(h)
            .and_then(|b| serde_json::from_slice::<serde_json::Map<_, _>>(&b).ok())
            .is_some(),
        _ => false,
    }
}

/// The `sub` claim of a JWT as a string (numbers are rendered in decimal), or `None` if the
/// token is not a JWT, is malformed, or has no usable `sub`.
pub fn jwt_sub(token: &str) -> Option<String> {
    if !looks_like_jwt(token) {
        return None;
    }
    let payload = decode_segment(token.split('.').nth(1)?)?;
    let claims: Claims = serde_json::from_slice(&payload).ok()?;
    let sub = match claims.sub? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!sub.is_empty()).then_some(sub)
}

/// base64url without padding per RFC 7515, tolerating `=` padding and the standard alphabet
/// that some issuers emit.
fn decode_segment(seg: &str) -> Option<Vec<u8>> {
    if seg.is_empty() || seg.len() > MAX_JWT_SEGMENT {
        return None;
    }
    let seg = seg.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(seg)
        .or_else(|_| STANDARD_NO_PAD.decode(seg))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(payload)
        )
    }

    #[test]
    fn sub_is_read_from_the_payload() {
        assert_eq!(
            jwt_sub(&jwt(r#"{"sub":"user-42","iat":1}"#)).as_deref(),
            Some("user-42")
        );
        assert_eq!(
            jwt_sub(&jwt(r#"{"sub":1234567890}"#)).as_deref(),
            Some("1234567890")
        );
        // Padded segments are tolerated.
        let padded = format!("{}==", b64(r#"{"sub":"ab"}"#));
        let token = format!("{}.{padded}.x", b64(r#"{"alg":"none"}"#));
        assert_eq!(jwt_sub(&token).as_deref(), Some("ab"));
    }

    #[test]
    fn garbage_gives_none_without_panicking() {
        let cases = [
            String::new(),
            "opaque-token".into(),
            "a.b.c".into(),
            "....".into(),
            format!("{}.!!!.sig", b64(r#"{"alg":"none"}"#)),
            jwt("not json"),
            jwt(r#"{"sub":null}"#),
            jwt(r#"{"sub":""}"#),
            jwt(r#"{"sub":["x"]}"#),
            jwt(r#"{"iss":"x"}"#),
            format!(
                "{}.{}.s",
                b64(r#"{"alg":"none"}"#),
                "A".repeat(MAX_JWT_SEGMENT + 1)
            ),
            "\u{1F600}.\u{1F600}.\u{1F600}".into(),
        ];
        for c in &cases {
            assert_eq!(jwt_sub(c), None, "{c}");
        }
    }
}
