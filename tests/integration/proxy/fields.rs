//! Routing and security fields that used to be accepted and ignored: `circuit_breakers.max_retries`,
//! the connection idle timeout, `dns_lookup_family`, `max_headers_count`, 5xx retries.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::harness::*;

/// An upstream that answers every request with `status` and counts the requests.
async fn counting_upstream(status: u16) -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let h = h.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    h.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let mut r = Response::new(Full::new(Bytes::from_static(b"up")));
                        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    (addr, hits)
}

fn retrying(up: SocketAddr, breakers: &str) -> String {
    simple(up, "").replace(
        "        cluster: up\n",
        "        cluster: up\n        retry: {on: [5xx], num_retries: 2}\n",
    ) + breakers
}

#[tokio::test]
async fn five_xx_is_retried_within_num_retries() {
    let (up, hits) = counting_upstream(503).await;
    let app = start(&retrying(up, "")).await;
    let r = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(r.status, 503);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "one try and two retries");
}

#[tokio::test]
async fn max_retries_breaker_stops_retries() {
    let (up, hits) = counting_upstream(503).await;
    let app = start(&retrying(up, "    circuit_breakers: {max_retries: 0}\n")).await;
    let r = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.text(),
        "up",
        "the upstream's own answer, not a proxy error"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no retry slot, no retry");
}

/// Reads until the peer closes or `limit` passes; true when it closed.
async fn closes_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_after_idle_timeout() {
    let up = upstream("a").await;
    let with_idle = |t: &str| {
        simple(up, "").replace(
            "    routes:",
            &format!("    limits: {{idle_timeout: {t}}}\n    routes:"),
        )
    };
    let app = start(&with_idle("300ms")).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /sleep/500 HTTP/1.1\r\nhost: svc\r\n\r\n")
        .await
        .unwrap();
    // The request outlives the idle timeout: an active stream keeps the connection.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
        .await
        .expect("response")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(
        closes_within(&mut s, Duration::from_secs(2)).await,
        "idle connection closed"
    );

    let app = start(&with_idle("1h")).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: svc\r\n\r\n")
        .await
        .unwrap();
    assert!(!closes_within(&mut s, Duration::from_millis(800)).await);
}

#[tokio::test]
async fn dns_lookup_family_filters_resolved_addresses() {
    let up = upstream("a").await;
    let cluster = |family: &str| {
        format!(
            r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    routes:
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["localhost:{}"]
    dns_lookup_family: {family}
    connect_timeout: 1s
"#,
            up.port()
        )
    };
    let v4 = start(&cluster("v4_only")).await;
    let v6 = start(&cluster("v6_only")).await;
    // Let the first resolution land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        send(addr(&v4), false, get("svc", "/", false)).await.status,
        200
    );
    // localhost's IPv6 address (if any) has no server: either way no IPv4 endpoint is used.
    assert_eq!(
        send(addr(&v6), false, get("svc", "/", false)).await.status,
        503
    );
}

fn many_headers(n: usize, h2: bool) -> Request<Full<Bytes>> {
    let mut r = get("svc", "/", h2);
    for i in 0..n {
        r.headers_mut().insert(
            format!("x-h{i}")
                .parse::<hyper::header::HeaderName>()
                .unwrap(),
            "v".parse().unwrap(),
        );
    }
    r
}

#[tokio::test]
async fn too_many_headers_are_431_on_both_protocols() {
    let up = upstream("a").await;
    let app = start(&simple(up, "").replace(
        "    routes:",
        "    limits: {max_headers_count: 10}\n    routes:",
    ))
    .await;
    for h2 in [false, true] {
        assert_eq!(send(addr(&app), h2, many_headers(3, h2)).await.status, 200);
        assert_eq!(
            send(addr(&app), h2, many_headers(20, h2)).await.status,
            431,
            "h2={h2}"
        );
    }
}
