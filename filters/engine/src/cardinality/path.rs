//! Route-like labels from request paths: `/users/12345/orders/9f1c…` → `/users/{id}/orders/{id}`.
//!
//! Endpoint metrics need a label per route, not per URL, or every user id becomes a series.
//! Segments that look like identifiers (numbers, UUIDs, long hex, long mixed letter-digit
//! strings, e-mail addresses, anything over 48 bytes) become `{id}`; words (`users`, `v1`,
//! `orders`) stay. The query string is dropped and at most 12 segments are kept.

/// Segments kept; deeper paths end in `/…`.
const MAX_SEGMENTS: usize = 12;
/// Longer segments are always identifiers (or garbage).
const MAX_WORD_LEN: usize = 48;

/// The normalised route label for a request path.
pub fn normalize_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() || path == "/" {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len().min(256));
    for (i, seg) in path.trim_start_matches('/').split('/').enumerate() {
        out.push('/');
        if i == MAX_SEGMENTS {
            out.push('…');
            break;
        }
        if looks_like_id(seg) {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    out
}

/// Whether a path segment is an identifier rather than part of the route.
pub fn looks_like_id(seg: &str) -> bool {
    if seg.is_empty() {
        return false;
    }
    if seg.len() > MAX_WORD_LEN || seg.contains('@') || seg.contains('%') {
        return true;
    }
    let b = seg.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if digits == b.len() {
        return true;
    }
    if is_uuid(b) {
        return true;
    }
    // Hex ids and hashes: 8+ hex digits with at least one digit (`deadbeef` stays a word).
    if b.len() >= 8 && digits > 0 && b.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    // Mixed ids (`ord_8Ks2h3Xk9`, base64 tokens): long, with letters and several digits.
    b.len() >= 10 && letters > 0 && digits >= 2
        || (digits > 0 && digits * 2 >= b.len() && b.len() >= 4)
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_placeholders() {
        assert_eq!(
            normalize_path("/users/12345/orders/9f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b"),
            "/users/{id}/orders/{id}"
        );
        assert_eq!(
            normalize_path("/api/v1/items/ord_8Ks2h3Xk9?page=2"),
            "/api/v1/items/{id}"
        );
        assert_eq!(
            normalize_path("/blobs/5d41402abc4b2a76b9719d911017c592"),
            "/blobs/{id}"
        );
        assert_eq!(normalize_path("/people/alice@example.com"), "/people/{id}");
        assert_eq!(normalize_path("/dates/2024-01-31"), "/dates/{id}");
    }

    #[test]
    fn words_stay() {
        assert_eq!(normalize_path("/api/v2/users/me"), "/api/v2/users/me");
        assert_eq!(normalize_path("/oauth2/token"), "/oauth2/token");
        assert_eq!(normalize_path("/cache/deadbeef"), "/cache/deadbeef");
        assert_eq!(normalize_path("/healthz"), "/healthz");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/a/"), "/a/");
    }

    #[test]
    fn labels_stay_short() {
        let deep = "/a".repeat(100);
        let label = normalize_path(&deep);
        assert_eq!(label.matches('/').count(), MAX_SEGMENTS + 1);
        assert!(label.ends_with("/…"));
        assert_eq!(
            normalize_path(&format!("/x/{}", "q".repeat(500))),
            "/x/{id}"
        );
    }
}
