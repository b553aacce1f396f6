//! Shared pieces: a raw HTTP/1.1 upstream whose answers may break mid-body, a client that
//! keeps a body error instead of panicking, and access-log and metric readers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::proxy::harness::{get, open, send};

/// What the raw upstream sends for a path: the head, then each chunk flushed 50 ms apart,
/// then it closes the connection, whatever the head announced.
fn script(path: &str) -> (String, Vec<Vec<u8>>) {
    let ok = |len: usize| {
        format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n")
    };
    match path {
        // Announces 100,000 bytes and dies after 8,092 (the issue's reproducer).
        "/short" => (ok(100_000), vec![vec![b'a'; 4096], vec![b'b'; 3996]]),
        // Chunked, never terminated.
        "/unterminated" => (
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".into(),
            vec![b"5\r\nhello\r\n".to_vec(), b"5\r\nworld\r\n".to_vec()],
        ),
        // Chunked and whole, in two separate chunks.
        "/two-chunked" => (
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".into(),
            vec![
                b"5\r\nhello\r\n".to_vec(),
                b"5\r\nworld\r\n0\r\n\r\n".to_vec(),
            ],
        ),
        // Whole, in two separate chunks.
        "/two" => (ok(10), vec![b"hello".to_vec(), b"world".to_vec()]),
        _ => (ok(2), vec![b"ok".to_vec()]),
    }
}

/// An HTTP/1.1 upstream playing [`script`] for each request's path.
pub async fn raw_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                let (head, chunks) = script(&path);
                let _ = s.write_all(head.as_bytes()).await;
                for c in chunks {
                    let _ = s.write_all(&c).await;
                    let _ = s.flush().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    });
    addr
}

/// A response whose body may have failed.
pub struct Fetched {
    pub status: u16,
    pub body: Result<Bytes, String>,
}

/// One request on a fresh HTTP/1.1 or h2c connection; a body error is kept, not a panic.
pub async fn fetch(addr: SocketAddr, h2: bool, req: Request<Full<Bytes>>) -> Fetched {
    let resp = open(addr, h2, req).await;
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(10), body.collect())
        .await
        .expect("the body ends or fails within 10 s")
        .map(|c| c.to_bytes())
        .map_err(|e| format!("{e:?}"));
    Fetched {
        status: parts.status.as_u16(),
        body,
    }
}

/// Native YAML: listener `main` with an access log at `log` and the `filters` lines (already
/// indented, may be empty), routing everything to the upstream at `up`; with an admin server.
pub fn proxy_yaml(up: SocketAddr, log: &std::path::Path, filters: &str) -> String {
    format!(
        r#"
admin: 127.0.0.1:0
listeners:
  - name: main
    address: 127.0.0.1:0
    access_log: {}
{filters}    routes:
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
    connect_timeout: 1s
"#,
        log.display()
    )
}

/// A fresh access-log path for one test.
pub fn log_path(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("microwaf-hard-{tag}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// The access-log entry for `path`, waiting for it to be written (when the body is dropped).
pub async fn log_entry(log: &std::path::Path, path: &str) -> serde_json::Value {
    for _ in 0..100 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let found = text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|j| j["path"] == path);
        if let Some(j) = found {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no access-log entry for {path} in {}", log.display());
}

/// The sum of a metric's samples whose line contains every one of `parts`.
pub async fn metric(admin: SocketAddr, name: &str, parts: &[&str]) -> f64 {
    let text = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    text.lines()
        .filter(|l| l.starts_with(name) && parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
