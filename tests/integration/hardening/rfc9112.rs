//! Item 6, RFC 9112 strictness, at the socket level (raw bytes over a `TcpStream`): a
//! malformed chunked request body is a 400, not a 503 or a silent close; an HTTP/1.1 request
//! needs exactly one `Host`; `CONNECT` gets a clear 405. A healthy request follows each one.

use std::net::SocketAddr;
use std::time::Duration;

use microwaf_proxy::app::App;
use microwaf_tests::fixtures::{self, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{log_entry, log_path, proxy_yaml};
use crate::proxy::harness::{addr, start, upstream};

/// Listener `main` in front of an echo upstream, with the `noop` filter when `filtered` (so
/// request bodies go through the filter pump instead of straight upstream).
async fn proxy(log: &std::path::Path, filtered: bool) -> App {
    let up = upstream("a").await;
    let filters = if filtered {
        format!(
            "    filters:\n      - name: noop\n        code: {}\n",
            fixtures::wasm("noop", Target::Wasip1).display()
        )
    } else {
        String::new()
    };
    start(&proxy_yaml(up, log, &filters)).await
}

/// Writes `bytes` on a fresh connection and reads until the proxy closes it (or 5 s pass).
async fn raw(proxy: SocketAddr, bytes: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(proxy).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One response is enough: a healthy exchange keeps the connection open.
                if String::from_utf8_lossy(&out).contains("\"upstream\"") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(resp: &str) -> &str {
    resp.lines()
        .next()
        .unwrap_or("<connection closed without a response>")
}

async fn healthy(proxy: SocketAddr) {
    let r = raw(proxy, b"GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n").await;
    assert_eq!(status_line(&r), "HTTP/1.1 200 OK", "{r}");
}

fn chunked(case: usize, body: &str) -> Vec<u8> {
    format!("POST /upload/{case} HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
        .into_bytes()
}

#[tokio::test]
async fn malformed_chunked_request_bodies_are_400() {
    let cases = [
        ("size overflow", "fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
        ("bare LF chunk lines", "5\nhello\n0\n\n"),
        ("not a size", "zz\r\nhello\r\n0\r\n\r\n"),
        ("bad trailer", "5\r\nhello\r\n0\r\nno colon here\r\n\r\n"),
    ];
    for filtered in [false, true] {
        let log = log_path(&format!("chunked-{filtered}"));
        let app = proxy(&log, filtered).await;
        for (i, (what, body)) in cases.into_iter().enumerate() {
            let r = raw(addr(&app), &chunked(i, body)).await;
            assert_eq!(
                status_line(&r),
                "HTTP/1.1 400 Bad Request",
                "{what} (filtered={filtered}): {r}"
            );
            let e = log_entry(&log, &format!("/upload/{i}")).await;
            assert_eq!(e["response_flags"][0], "DPE", "{what}: {e}");
            healthy(addr(&app)).await;
        }
        let _ = std::fs::remove_file(&log);
    }
}

#[tokio::test]
async fn an_http11_request_needs_exactly_one_host() {
    let log = log_path("host");
    let app = proxy(&log, false).await;
    let missing = raw(addr(&app), b"GET /nohost HTTP/1.1\r\n\r\n").await;
    assert_eq!(
        status_line(&missing),
        "HTTP/1.1 400 Bad Request",
        "{missing}"
    );
    let e = log_entry(&log, "/nohost").await;
    assert_eq!(e["response_flags"], serde_json::json!(["DPE"]), "{e}");
    let two = raw(
        addr(&app),
        b"GET /twohosts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&two), "HTTP/1.1 400 Bad Request", "{two}");
    // HTTP/1.0 predates Host: allowed without one, but never with two.
    let old = raw(addr(&app), b"GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_line(&old), "HTTP/1.0 200 OK", "{old}");
    let old2 = raw(
        addr(&app),
        b"GET /old HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&old2), "HTTP/1.0 400 Bad Request", "{old2}");
    healthy(addr(&app)).await;
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn connect_is_refused_with_405_instead_of_forwarded() {
    let log = log_path("connect");
    let app = proxy(&log, true).await;
    let r = raw(
        addr(&app),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&r), "HTTP/1.1 405 Method Not Allowed", "{r}");
    assert!(r.to_ascii_lowercase().contains("\r\nallow: get, "), "{r}");
    assert!(!r.contains("\"upstream\""), "never forwarded: {r}");
    healthy(addr(&app)).await;
    let _ = std::fs::remove_file(&log);
}
