//! Raw HTTP/1.1 messages for `microwaf run`: parsing into proxy-wasm header maps (pseudo-headers
//! first) and rendering back.

use anyhow::{bail, Context as _};
use bytes::{Bytes, BytesMut};
use microwaf_runtime::Headers;

const MAX_HEADERS: usize = 256;

fn pseudo(name: &'static str, value: &[u8]) -> (Bytes, Bytes) {
    (
        Bytes::from_static(name.as_bytes()),
        Bytes::copy_from_slice(value),
    )
}

/// The body after the head at `at`, framed as RFC 9112 §6 says: chunked (decoded, with its
/// trailers), else `content-length`, else the rest of the file.
fn body_after(
    raw: &[u8],
    at: usize,
    headers: &[httparse::Header<'_>],
) -> anyhow::Result<(Bytes, Headers)> {
    let rest = &raw[at..];
    let field = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    if let Some(te) = field("transfer-encoding") {
        if field("content-length").is_some() {
            bail!("both transfer-encoding and content-length (RFC 9112 §6.3 forbids it)");
        }
        if te.rsplit(',').next().map(str::trim) != Some("chunked") {
            bail!("transfer-encoding {te:?} does not end in chunked: the body has no framing");
        }
        if te != "chunked" {
            bail!("transfer-encoding {te:?}: only chunked is decoded");
        }
        return decode_chunked(rest);
    }
    let declared = field("content-length").map(|v| v.parse::<usize>().ok());
    let body = match declared {
        Some(None) => bail!("invalid content-length"),
        Some(Some(n)) if n > rest.len() => {
            bail!("body shorter than content-length ({} < {n})", rest.len())
        }
        Some(Some(n)) => Bytes::copy_from_slice(&rest[..n]),
        None => Bytes::copy_from_slice(rest),
    };
    Ok((body, Headers::new()))
}

/// A chunked body: the chunks' data joined, and the trailer fields after the last chunk.
fn decode_chunked(mut rest: &[u8]) -> anyhow::Result<(Bytes, Headers)> {
    let mut body = BytesMut::new();
    loop {
        let (line, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => bail!("chunked body ends inside a chunk-size line"),
            Err(_) => bail!("invalid chunk-size line after {} body bytes", body.len()),
        };
        rest = &rest[line..];
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).context("chunk size too large")?;
        let data = rest
            .get(..size)
            .with_context(|| format!("chunk of {size} bytes cut short"))?;
        body.extend_from_slice(data);
        rest = rest[size..]
            .strip_prefix(b"\r\n")
            .with_context(|| format!("chunk of {size} bytes not followed by CRLF"))?;
    }
    if rest.is_empty() {
        // A hand-written file often stops after `0\r\n`: no trailers.
        return Ok((body.freeze(), Headers::new()));
    }
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(rest, &mut hs) {
        Ok(httparse::Status::Complete((_, fields))) => Ok((body.freeze(), regular(fields, false))),
        Ok(httparse::Status::Partial) => bail!("trailer section without its closing blank line"),
        Err(e) => bail!("invalid trailer section: {e}"),
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

/// One HTTP message of `run`: header pairs (pseudo-headers first), the decoded body, and the
/// trailers of a chunked body (empty if none).
#[derive(Debug, Default)]
pub struct Message {
    pub headers: Headers,
    pub body: Bytes,
    pub trailers: Headers,
}

/// Request → `:method`, `:path`, `:authority` (from Host), `:scheme`, then the other headers.
pub fn parse_request(raw: &[u8]) -> anyhow::Result<Message> {
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
    let mut headers = vec![
        pseudo(":method", req.method.unwrap_or("GET").as_bytes()),
        pseudo(":path", req.path.unwrap_or("/").as_bytes()),
        pseudo(":authority", host),
        pseudo(":scheme", b"http"),
    ];
    headers.extend(regular(req.headers, true));
    let (body, trailers) = body_after(raw, at, req.headers)?;
    Ok(Message {
        headers,
        body,
        trailers,
    })
}

/// Response → `:status`, then the headers.
pub fn parse_response(raw: &[u8]) -> anyhow::Result<Message> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut hs);
    let at = match resp.parse(raw).context("malformed response")? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => bail!("incomplete response head (missing blank line?)"),
    };
    let code = resp.code.context("missing status code")?;
    let mut headers = vec![pseudo(":status", code.to_string().as_bytes())];
    headers.extend(regular(resp.headers, false));
    let (body, trailers) = body_after(raw, at, resp.headers)?;
    Ok(Message {
        headers,
        body,
        trailers,
    })
}

fn value<'a>(h: &'a Headers, name: &str) -> Option<&'a Bytes> {
    h.iter()
        .find(|(k, _)| k.as_ref() == name.as_bytes())
        .map(|(_, v)| v)
}

fn field(out: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    out.extend_from_slice(k);
    out.extend_from_slice(b": ");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

/// The fields (no pseudo-headers) and the body, framed for what the filters left: one chunk and
/// the trailers when there are trailers, else a `content-length` matching the body. The
/// message's own framing fields are dropped, so the output never carries both.
fn write_message(out: &mut Vec<u8>, h: &Headers, body: &[u8], trailers: &Headers, length: bool) {
    for (k, v) in h.iter().filter(|(k, _)| !k.starts_with(b":")) {
        if !matches!(k.as_ref(), b"content-length" | b"transfer-encoding") {
            field(out, k, v);
        }
    }
    if !trailers.is_empty() {
        field(out, b"transfer-encoding", b"chunked");
        out.extend_from_slice(b"\r\n");
        if !body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        for (k, v) in trailers {
            field(out, k, v);
        }
        out.extend_from_slice(b"\r\n");
        return;
    }
    if length {
        field(out, b"content-length", body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

pub fn render_request(h: &Headers, body: &[u8], trailers: &Headers) -> Vec<u8> {
    let s = |n| value(h, n).map_or(&b""[..], |v| v.as_ref());
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(s(":method"));
    out.push(b' ');
    out.extend_from_slice(s(":path"));
    out.extend_from_slice(b" HTTP/1.1\r\n");
    field(&mut out, b"host", s(":authority"));
    // A request without a body has no framing field (RFC 9112 §6.3: no length means none).
    let length = !body.is_empty() || value(h, "content-length").is_some();
    write_message(&mut out, h, body, trailers, length);
    out
}

pub fn render_response(h: &Headers, body: &[u8], trailers: &Headers) -> Vec<u8> {
    let status = value(h, ":status")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| "200".into());
    let code = status.parse::<u16>().ok();
    let reason = code
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .and_then(|c| c.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    // 1xx, 204 and 304 carry no content (RFC 9110 §8.6): no content-length on them.
    let length = !matches!(code, Some(100..=199 | 204 | 304));
    write_message(&mut out, h, body, trailers, length);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_becomes_pseudo_headers_and_body_respects_content_length() {
        let m = parse_request(
            b"POST /x?y=1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcdef",
        )
        .unwrap();
        let h = &m.headers;
        assert_eq!(value(h, ":path").unwrap().as_ref(), b"/x?y=1");
        assert_eq!(value(h, ":authority").unwrap().as_ref(), b"a.test");
        assert_eq!(value(h, "x-a").unwrap().as_ref(), b"b");
        assert!(value(h, "host").is_none());
        assert_eq!(m.body.as_ref(), b"abc");
        assert!(parse_request(b"GET / HTTP/1.1\r\nHost: a").is_err());
        assert!(parse_request(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab").is_err());
    }

    #[test]
    fn response_renders_with_the_rewritten_length() {
        let m = parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").unwrap();
        let out = render_response(&m.headers, b"longer", &m.trailers);
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 6\r\n\r\nlonger"
        );
    }

    #[test]
    fn chunked_bodies_are_decoded_and_rendered_with_one_framing() {
        let m = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n\
              5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.body.as_ref(), b"hello world");
        assert!(m.trailers.is_empty());
        let out = render_response(&m.headers, &m.body, &m.trailers);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 11\r\n\r\nhello world"
        );

        let m = parse_response(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
              3\r\nabc\r\n0\r\ngrpc-status: 0\r\nx-t: y\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.body.as_ref(), b"abc");
        assert_eq!(value(&m.trailers, "grpc-status").unwrap().as_ref(), b"0");
        let out = render_response(&m.headers, &m.body, &m.trailers);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
              3\r\nabc\r\n0\r\ngrpc-status: 0\r\nx-t: y\r\n\r\n"
        );
        // A file that stops after the last chunk has no trailers.
        let m =
            parse_request(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n")
                .unwrap();
        assert_eq!(m.body.as_ref(), b"ab");
    }

    #[test]
    fn bad_framing_is_refused_with_its_reason() {
        let err = |raw: &[u8]| format!("{:#}", parse_request(raw).unwrap_err());
        let both = err(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n",
        );
        assert!(
            both.contains("both transfer-encoding and content-length"),
            "{both}"
        );
        let short = err(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
        assert!(short.contains("cut short"), "{short}");
        let crlf =
            err(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n");
        assert!(crlf.contains("not followed by CRLF"), "{crlf}");
        let size = err(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(size.contains("chunk-size"), "{size}");
        let gzip = err(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx");
        assert!(gzip.contains("does not end in chunked"), "{gzip}");
    }

    #[test]
    fn binary_bodies_pass_unchanged() {
        let mut raw = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0, 0xff, 0x80, b'\n']);
        let m = parse_response(&raw).unwrap();
        assert_eq!(render_response(&m.headers, &m.body, &m.trailers), raw);
        let m = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(
            render_response(&m.headers, &m.body, &m.trailers),
            b"HTTP/1.1 204 No Content\r\n\r\n"
        );
    }
}
