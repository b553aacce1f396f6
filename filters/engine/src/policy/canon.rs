//! Canonical request paths and hosts for endpoint matching.
//!
//! Endpoints are a security boundary: a strict policy on `/api/*/customers/**` must not be
//! escaped by asking for `/api/v1/%63ustomers/7`, `/api/v1//customers/7` or
//! `/api/v1/x/../customers/7`, which most upstreams serve as the same resource. So the path is
//! matched after decoding percent-encoded *unreserved* characters (RFC 3986 §2.3: letters,
//! digits, `-._~`; reserved ones such as `%2F` keep their meaning as data), merging repeated
//! slashes, and removing dot segments (RFC 3986 §5.2.4). The query and fragment are dropped.

use std::borrow::Cow;

/// The canonical form of a request path (see the module docs).
pub fn canonical_path(raw: &str) -> Cow<'_, str> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let needs_work =
        path.contains('%') || path.contains("//") || path.contains("/.") || path != raw;
    if !needs_work && path.starts_with('/') {
        return Cow::Borrowed(path);
    }
    let decoded = decode_unreserved(path);
    let mut segments: Vec<&str> = Vec::new();
    let mut parts = decoded.split('/').peekable();
    let mut trailing_slash = false;
    while let Some(seg) = parts.next() {
        let last = parts.peek().is_none();
        match seg {
            "" | "." => trailing_slash = last,
            ".." => {
                segments.pop();
                trailing_slash = last;
            }
            s => {
                segments.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if trailing_slash || segments.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Lower-case host without port or trailing dot.
pub fn canonical_host(raw: &str) -> Cow<'_, str> {
    let host = strip_port(raw.trim());
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// `host:port` → `host`; bracketed IPv6 literals keep their brackets.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Decodes `%XX` when it encodes an unreserved character; everything else is kept as is.
fn decode_unreserved(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let c = h << 4 | l;
                if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                    out.push(c);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // Only ASCII sequences were replaced by ASCII bytes, so the result is still UTF-8.
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_and_dot_segments_cannot_disguise_a_path() {
        let want = "/api/v1/customers/7";
        for raw in [
            "/api/v1/customers/7",
            "/api/v1/%63ustomers/7",
            "/api/v1/%63%75stomers/7?q=1",
            "/api//v1///customers/7",
            "/api/v1/x/../customers/7",
            "/api/./v1/customers/7#frag",
            "/../api/v1/customers/7",
            "api/v1/customers/7",
        ] {
            assert_eq!(canonical_path(raw), want, "{raw}");
        }
    }

    #[test]
    fn reserved_escapes_and_trailing_slashes_are_kept() {
        assert_eq!(canonical_path("/files/a%2Fb"), "/files/a%2Fb");
        assert_eq!(canonical_path("/a/"), "/a/");
        assert_eq!(canonical_path("/a/b/.."), "/a/");
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/%"), "/%");
        assert_eq!(canonical_path("/%4"), "/%4");
        assert_eq!(canonical_path("/%zz"), "/%zz");
        assert_eq!(canonical_path("/caf%C3%A9"), "/caf%C3%A9");
        assert!(matches!(canonical_path("/plain/path"), Cow::Borrowed(_)));
    }

    #[test]
    fn hosts_lose_port_case_and_trailing_dot() {
        assert_eq!(canonical_host("API.Example.com.:8443"), "api.example.com");
        assert_eq!(canonical_host("svc"), "svc");
        assert_eq!(canonical_host("[::1]:443"), "[::1]");
    }
}
