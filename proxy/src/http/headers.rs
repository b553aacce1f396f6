//! Header hygiene at the proxy boundary: hop-by-hop removal, `x-forwarded-for`,
//! `x-forwarded-proto`, `x-request-id`.

use http::{header, HeaderMap, HeaderValue};

use crate::upstream::lb::random;

/// Connection-specific headers that must not be forwarded (RFC 9110 §7.6.1; HTTP/2 rejects
/// them). `te: trailers` survives: gRPC needs it.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    if let Some(conn) = h.get(header::CONNECTION).and_then(|v| v.to_str().ok()) {
        let named: Vec<String> = conn
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        for n in named {
            if n != "te" && !n.is_empty() {
                h.remove(n.as_str());
            }
        }
    }
    for n in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ] {
        h.remove(n);
    }
    if h.get(header::TE)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        h.remove(header::TE);
    }
}

/// Appends the peer to `x-forwarded-for`, sets `x-forwarded-proto`, and makes sure a request
/// id exists. Returns the request id.
pub fn forwarding(h: &mut HeaderMap, peer_ip: std::net::IpAddr, scheme: &str) -> String {
    let xff = match h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.is_empty() => format!("{prev}, {peer_ip}"),
        _ => peer_ip.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert("x-forwarded-for", v);
    }
    h.insert(
        "x-forwarded-proto",
        HeaderValue::from_static(if scheme == "https" { "https" } else { "http" }),
    );
    match h.get("x-request-id").and_then(|v| v.to_str().ok()) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            let id = request_id();
            h.insert("x-request-id", HeaderValue::from_str(&id).expect("hex id"));
            id
        }
    }
}

/// A random UUID v4 in text form.
pub fn request_id() -> String {
    let (a, b) = (random(), random());
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Whether the request is gRPC (`content-type: application/grpc[+proto|...]`).
pub fn is_grpc(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Envoy's HTTP → gRPC status mapping for local replies to gRPC requests.
pub fn grpc_status_for(http: u16) -> u32 {
    match http {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502..=504 => 14,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_a_v4_uuid() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, request_id());
    }

    #[test]
    fn xff_appends_and_hop_by_hop_goes() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        h.insert("connection", "close, x-secret".parse().unwrap());
        h.insert("x-secret", "s".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        forwarding(&mut h, "10.0.0.1".parse().unwrap(), "http");
        strip_hop_by_hop(&mut h);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.1");
        assert!(h.get("x-secret").is_none() && h.get("connection").is_none());
        assert_eq!(h["te"], "trailers");
        assert!(h.contains_key("x-request-id"));
    }
}
