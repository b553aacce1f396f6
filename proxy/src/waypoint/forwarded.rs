//! The `forwarded` header (RFC 7239) of HBONE `CONNECT` requests, both ways.
//!
//! A tunnel endpoint sees only the peer that opened the tunnel: the source's node tunnel on the
//! way in, the waypoint on the way out. So the mesh's tunnels name the original client in the
//! CONNECT itself, in the form ztunnel sends and reads: `for="10.0.0.5:41234"` (quoted, since
//! `:` and `[` are not token characters), followed by `;host=<service hostname>` when the
//! destination is a service rather than a pod addressed directly.

use std::net::SocketAddr;

use http::HeaderValue;

/// The original client named by `forwarded: for="ip:port"`, when present and well formed.
/// Other parameters (`host`, `proto`, `by`) and unparsable values (`for=unknown`, obfuscated
/// identifiers) are ignored: the caller falls back to the tunnel's peer.
pub fn parse_for(h: &http::HeaderMap) -> Option<SocketAddr> {
    let v = h.get(http::header::FORWARDED)?.to_str().ok()?;
    v.split([';', ',']).find_map(|part| {
        let (k, val) = part.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        val.trim().trim_matches('"').parse().ok()
    })
}

/// The header the waypoint sends on an outbound CONNECT: `for` the client the stream is
/// opened for, `host` the destination service. `None` when there is nothing to say.
pub fn build(client: Option<SocketAddr>, host: Option<&str>) -> Option<HeaderValue> {
    let mut parts = Vec::with_capacity(2);
    if let Some(c) = client {
        parts.push(format!("for=\"{c}\""));
    }
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        parts.push(format!("host={}", value(h)));
    }
    if parts.is_empty() {
        return None;
    }
    HeaderValue::from_str(&parts.join(";")).ok()
}

/// A parameter value: as is when it is an RFC 7230 token (every DNS name is), else a quoted
/// string, so a hostname from the control plane can never inject another parameter.
fn value(v: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if v.bytes().all(token) {
        return v.to_owned();
    }
    let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::FORWARDED, v.parse().unwrap());
        h
    }

    #[test]
    fn reads_the_original_client() {
        let want = Some("10.1.2.3:4567".parse().unwrap());
        assert_eq!(
            parse_for(&header(r#"for="10.1.2.3:4567";proto=http"#)),
            want
        );
        assert_eq!(
            parse_for(&header(r#"host=svc.ns;for="10.1.2.3:4567""#)),
            want
        );
        assert_eq!(
            parse_for(&header(r#"for="[fd00::1]:80""#)),
            Some("[fd00::1]:80".parse().unwrap())
        );
        assert_eq!(parse_for(&header("for=unknown")), None);
        assert_eq!(parse_for(&http::HeaderMap::new()), None);
    }

    #[test]
    fn writes_what_ztunnel_writes() {
        let c = Some("10.0.0.5:41234".parse().unwrap());
        let v6 = Some("[fd00::5]:80".parse().unwrap());
        let svc = Some("reviews.shop.svc.cluster.local");
        assert_eq!(
            build(c, svc).unwrap(),
            r#"for="10.0.0.5:41234";host=reviews.shop.svc.cluster.local"#
        );
        assert_eq!(build(v6, None).unwrap(), r#"for="[fd00::5]:80""#);
        assert_eq!(
            build(None, svc).unwrap(),
            "host=reviews.shop.svc.cluster.local"
        );
        assert_eq!(build(None, None), None);
        assert_eq!(
            build(c, Some("a;for=1.2.3.4")).unwrap(),
            r#"for="10.0.0.5:41234";host="a;for=1.2.3.4""#
        );
        // What we write, we (and ztunnel's inbound) read back.
        let h = header(build(c, svc).unwrap().to_str().unwrap());
        assert_eq!(parse_for(&h), c);
    }
}
