//! Bad input on the wire: malformed requests, oversized headers, slow headers, HTTP/2 rapid
//! reset and CONTINUATION floods.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::*;

pub(super) async fn start_limited(limits: &str) -> microwaf_proxy::app::App {
    let yaml = simple(upstream("a").await, "").replace(
        "    routes:",
        &format!("    limits: {{ {limits} }}\n    routes:"),
    );
    start(&yaml).await
}

/// Writes `bytes` and reads until the peer closes (or 5 s pass); returns what was read.
pub(super) async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn malformed_request_line_is_400() {
    let app = start_limited("").await;
    let out = exchange(addr(&app), b"NOT A REQUEST\r\n\r\n").await;
    assert!(
        out.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn oversized_headers_are_431() {
    let app = start_limited("max_request_headers_kb: 8").await;
    let mut req = b"GET / HTTP/1.1\r\nhost: svc\r\nx-big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 20_000));
    req.extend_from_slice(b"\r\n\r\n");
    let out = exchange(addr(&app), &req).await;
    assert!(
        out.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn slow_headers_time_out_and_close_the_connection() {
    let app = start_limited("request_headers_timeout: 200ms").await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: svc\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    assert!(
        closed.is_ok(),
        "connection still open after the headers timeout"
    );
    assert!(!out.starts_with(b"HTTP/1.1 200"));
}

/// One HTTP/2 frame.
pub(super) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// HPACK: GET, http, /, :authority "svc" (literal, not indexed).
pub(super) const GET_BLOCK: &[u8] = &[0x82, 0x86, 0x84, 0x01, 0x03, b's', b'v', b'c'];

/// Whether `buf` contains a GOAWAY frame.
pub(super) fn has_goaway(buf: &[u8]) -> bool {
    let mut i = 0;
    while i + 9 <= buf.len() {
        let len = (buf[i] as usize) << 16 | (buf[i + 1] as usize) << 8 | buf[i + 2] as usize;
        if buf[i + 3] == 7 {
            return true;
        }
        i += 9 + len;
    }
    false
}

#[tokio::test]
async fn http2_rapid_reset_closes_the_connection() {
    let app = start_limited("").await;
    let mut req = PREFACE.to_vec();
    req.extend(frame(4, 0, 0, &[]));
    for i in 0..2000u32 {
        let id = 1 + 2 * i;
        req.extend(frame(1, 0x4 | 0x1, id, GET_BLOCK));
        req.extend(frame(3, 0, id, &8u32.to_be_bytes()));
    }
    let out = exchange(addr(&app), &req).await;
    assert!(has_goaway(&out), "expected GOAWAY after a reset flood");
    // The proxy still serves others.
    assert_eq!(
        send(addr(&app), true, get("svc", "/", true)).await.status,
        200
    );
}

#[tokio::test]
async fn http2_continuation_flood_closes_the_connection() {
    let app = start_limited("max_request_headers_kb: 16").await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(4, 0, 0, &[]));
    hello.extend(frame(1, 0x1, 1, GET_BLOCK)); // no END_HEADERS
    s.write_all(&hello).await.unwrap();
    // Literal header "x-f: aaaa…" repeated, never ending the header block.
    let mut block = vec![0x00, 0x03, b'x', b'-', b'f', 0x7f, 0x81, 0x7f];
    block.extend(std::iter::repeat_n(b'a', 255));
    let cont = frame(9, 0, 1, &block.repeat(60));
    let mut sent = 0usize;
    let mut closed_early = false;
    for _ in 0..400 {
        if s.write_all(&cont).await.is_err() {
            closed_early = true;
            break;
        }
        sent += cont.len();
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        closed_early || read.is_ok(),
        "connection still open after {sent} bytes of CONTINUATION"
    );
}
