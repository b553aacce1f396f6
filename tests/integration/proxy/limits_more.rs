//! More bad input: malformed header lines, HTTP/2 header blocks over the limit, and memory
//! staying bounded while a client floods CONTINUATION frames or resets.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::*;
use super::limits::{exchange, frame, start_limited, GET_BLOCK, PREFACE};

#[tokio::test]
async fn malformed_header_lines_are_400() {
    let app = start_limited("").await;
    for bad in [
        &b"GET / HTTP/1.1\r\nhost: svc\r\nno colon here\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nhost: svc\r\nbad name: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost: svc\r\nx-a: v\x01\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost: svc\r\n: empty\r\n\r\n",
    ] {
        let out = exchange(addr(&app), bad).await;
        assert!(
            out.starts_with(b"HTTP/1.1 400"),
            "{:?} -> {}",
            String::from_utf8_lossy(bad),
            String::from_utf8_lossy(&out)
        );
    }
}

#[tokio::test]
async fn http2_header_block_over_the_limit_is_431() {
    let app = start_limited("max_request_headers_kb: 8").await;
    let req = Request::get("http://svc/")
        .header("x-big", "a".repeat(20_000))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(addr(&app), true, req).await;
    assert_eq!(r.status, 431);
    // The connection limit was per stream: a normal request on a new connection works.
    assert_eq!(
        send(addr(&app), true, get("svc", "/", true)).await.status,
        200
    );
}

/// Resident memory of this process (the in-process proxy), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Writes `chunk` repeatedly (up to `max` bytes) until the peer closes or stops reading;
/// returns the bytes accepted.
async fn flood(s: &mut TcpStream, chunk: &[u8], max: usize) -> usize {
    let mut sent = 0;
    while sent < max {
        match tokio::time::timeout(Duration::from_secs(2), s.write_all(chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    sent
}

#[tokio::test]
async fn http2_continuation_flood_is_cut_with_bounded_memory() {
    let app = start_limited("max_request_headers_kb: 16").await;
    let before = rss_kib();
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(4, 0, 0, &[]));
    hello.extend(frame(1, 0x1, 1, GET_BLOCK)); // no END_HEADERS
    s.write_all(&hello).await.unwrap();
    let mut block = vec![0x00, 0x03, b'x', b'-', b'f', 0x7f, 0x81, 0x7f];
    block.extend(std::iter::repeat_n(b'a', 255));
    let cont = frame(9, 0, 1, &block.repeat(60));
    let max = 256 << 20;
    let sent = flood(&mut s, &cont, max).await;
    let grown = rss_kib().saturating_sub(before);
    // Loopback socket buffers absorb a few MiB; a proxy that kept reading would take it all.
    assert!(sent < 32 << 20, "accepted {sent} bytes of CONTINUATION");
    assert!(grown < 64 << 10, "RSS grew {grown} KiB under the flood");
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "connection still open after the flood");
}

#[tokio::test]
async fn http2_rapid_reset_flood_keeps_memory_bounded() {
    let app = start_limited("").await;
    let before = rss_kib();
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(4, 0, 0, &[]));
    s.write_all(&hello).await.unwrap();
    let mut sent = 0usize;
    let mut id = 1u32;
    let mut batch = Vec::new();
    while sent < 64 << 20 && id < (1 << 30) {
        batch.clear();
        for _ in 0..500 {
            batch.extend(frame(1, 0x4 | 0x1, id, GET_BLOCK));
            batch.extend(frame(3, 0, id, &8u32.to_be_bytes()));
            id += 2;
        }
        let n = flood(&mut s, &batch, batch.len()).await;
        if n == 0 {
            break;
        }
        sent += n;
    }
    let grown = rss_kib().saturating_sub(before);
    assert!(
        sent < 32 << 20,
        "accepted {sent} bytes of HEADERS+RST_STREAM"
    );
    assert!(grown < 64 << 10, "RSS grew {grown} KiB under the flood");
}
