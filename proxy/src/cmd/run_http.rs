//! Raw HTTP/1.1 messages for `microwaf run`: parsing into proxy-wasm header maps (pseudo-headers
//! first) and rendering back.

use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use microwaf_runtime::Headers;

const MAX_HEADERS: usize = 256;

fn pseudo(name: &'static str, value: &[u8]) -> (Bytes, Bytes) {
    (
        Bytes::from_static(name.as_bytes()),
        Bytes::copy_from_slice(value),
    )
}

fn body_after(raw: &[u8], at: usize, headers: &[httparse::Header<'_>]) -> anyhow::Result<Bytes> {
    let rest = &raw[at..];
    let declared = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| {
            std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
    match declared {
        Some(None) => bail!("invalid content-length"),
        Some(Some(n)) if n > rest.len() => {
            bail!("body shorter than content-length ({} < {n})", rest.len())
        }
        Some(Some(n)) => Ok(Bytes::copy_from_slice(&rest[..n])),
        None => Ok(Bytes::copy_from_slice(rest)),
    }
}

fn regular(headers: &[httparse::Header<'_>], skip_host: bool) -> Headers {
    headers
        .iter()
        .filter(|h| !(skip_host && h.name.eq_ignore_ascii_case("host")))
        .map(|h| {
            (
                Bytes::from(h.name.to_ascii_lowercase()),
                Bytes::copy_from_slice(h.value),
            )
        })
        .collect()
}

/// Request → `:method`, `:path`, `:authority` (from Host), `:scheme`, then the other headers.
pub fn parse_request(raw: &[u8]) -> anyhow::Result<(Headers, Bytes)> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut hs);
    let at = match req.parse(raw).context("malformed request")? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => bail!("incomplete request head (missing blank line?)"),
    };
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map_or(&b""[..], |h| h.value);
    let mut out = vec![
        pseudo(":method", req.method.unwrap_or("GET").as_bytes()),
        pseudo(":path", req.path.unwrap_or("/").as_bytes()),
        pseudo(":authority", host),
        pseudo(":scheme", b"http"),
    ];
    out.extend(regular(req.headers, true));
    let body = body_after(raw, at, req.headers)?;
    Ok((out, body))
}

/// Response → `:status`, then the headers.
pub fn parse_response(raw: &[u8]) -> anyhow::Result<(Headers, Bytes)> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut hs);
    let at = match resp.parse(raw).context("malformed response")? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => bail!("incomplete response head (missing blank line?)"),
    };
    let code = resp.code.context("missing status code")?;
    let mut out = vec![pseudo(":status", code.to_string().as_bytes())];
    out.extend(regular(resp.headers, false));
    let body = body_after(raw, at, resp.headers)?;
    Ok((out, body))
}

fn value<'a>(h: &'a Headers, name: &str) -> Option<&'a Bytes> {
    h.iter()
        .find(|(k, _)| k.as_ref() == name.as_bytes())
        .map(|(_, v)| v)
}

/// Headers without pseudo-headers, with content-length matching the (possibly rewritten) body.
fn write_fields(out: &mut String, h: &Headers, body: &[u8]) {
    let mut has_len = false;
    for (k, v) in h.iter().filter(|(k, _)| !k.starts_with(b":")) {
        if k.as_ref() == b"content-length" {
            has_len = true;
            let _ = write!(out, "content-length: {}\r\n", body.len());
            continue;
        }
        let _ = write!(
            out,
            "{}: {}\r\n",
            String::from_utf8_lossy(k),
            String::from_utf8_lossy(v)
        );
    }
    if !has_len && (!body.is_empty() || value(h, "transfer-encoding").is_none()) {
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(body));
}

pub fn render_request(h: &Headers, body: &[u8]) -> String {
    let s = |n| {
        value(h, n)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let mut out = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\n",
        s(":method"),
        s(":path"),
        s(":authority")
    );
    write_fields(&mut out, h, body);
    out
}

pub fn render_response(h: &Headers, body: &[u8]) -> String {
    let status = value(h, ":status")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| "200".into());
    let reason = status
        .parse::<u16>()
        .ok()
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .and_then(|c| c.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    write_fields(&mut out, h, body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_becomes_pseudo_headers_and_body_respects_content_length() {
        let (h, body) = parse_request(
            b"POST /x?y=1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcdef",
        )
        .unwrap();
        assert_eq!(value(&h, ":path").unwrap().as_ref(), b"/x?y=1");
        assert_eq!(value(&h, ":authority").unwrap().as_ref(), b"a.test");
        assert_eq!(value(&h, "x-a").unwrap().as_ref(), b"b");
        assert!(value(&h, "host").is_none());
        assert_eq!(body.as_ref(), b"abc");
        assert!(parse_request(b"GET / HTTP/1.1\r\nHost: a").is_err());
        assert!(parse_request(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab").is_err());
    }

    #[test]
    fn response_renders_with_the_rewritten_length() {
        let (h, _) =
            parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").unwrap();
        let out = render_response(&h, b"longer");
        assert_eq!(
            out,
            "HTTP/1.1 404 Not Found\r\ncontent-length: 6\r\n\r\nlonger"
        );
    }
}
