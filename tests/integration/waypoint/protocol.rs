//! Ports whose protocol discovery declares skip protocol detection: a server-first protocol on
//! a port declared `tcp` is connected at once (undeclared, it waits out the detection
//! timeout), and a port declared `http2` is spoken to in HTTP/2 whatever the client's first
//! bytes would have said.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use microwaf_proxy::waypoint::discovery::file;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hbone::http_in_tunnel;
use super::{Mesh, SVC};
use crate::proxy::harness::{get, upstream};

/// Long, so that a banner arriving in time cannot be the detection giving up.
const DETECTION: &str = "  protocol_detection_timeout: 5s\n";

const BANNER: &[u8] = b"220 banner.example ESMTP\r\n";

/// A server-first server: greets every connection before reading anything.
async fn banner_server() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(BANNER).await;
                let mut sink = [0u8; 64];
                while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// Publishes [`SVC`] through the discovery file format: port 25 declared `tcp` and port 26
/// undeclared (both the banner server), port 80 declared `http2` (an HTTP upstream).
fn publish(mesh: &Mesh, banner: SocketAddr, http: SocketAddr) {
    let yaml = format!(
        "services:\n  - hostname: {SVC}\n    vips: [10.96.0.10]\n    ports:\n      - {{port: 25, target_port: {b}, app_protocol: tcp}}\n      - {{port: 26, target_port: {b}}}\n      - {{port: 80, target_port: {h}, app_protocol: http2}}\n    endpoints: [{{address: 127.0.0.1, mesh: true}}]\n",
        b = banner.port(),
        h = http.port()
    );
    mesh.publisher
        .publish(file::parse(&yaml, "services.yaml").unwrap());
}

/// How long a tunnel to `authority` takes to deliver the server's greeting.
async fn time_to_banner(mesh: &Mesh, authority: &str) -> Duration {
    let client = mesh.client().await;
    let start = Instant::now();
    let mut t = hyper_util::rt::TokioIo::new(client.connect_stream(authority).await.tunnel());
    let mut got = vec![0u8; BANNER.len()];
    tokio::time::timeout(Duration::from_secs(15), t.read_exact(&mut got))
        .await
        .expect("no banner")
        .unwrap();
    assert_eq!(got, BANNER);
    start.elapsed()
}

#[tokio::test]
async fn a_server_first_protocol_on_a_port_declared_tcp_does_not_wait_for_detection() {
    let mesh = Mesh::start("proto-tcp", DETECTION).await;
    publish(&mesh, banner_server().await, upstream("dest").await);
    let declared = time_to_banner(&mesh, "10.96.0.10:25").await;
    assert!(
        declared < Duration::from_secs(2),
        "declared tcp took {declared:?} (detection timeout 5s)"
    );
    // The same server behind an undeclared port: only once detection gives up.
    let sniffed = time_to_banner(&mesh, "10.96.0.10:26").await;
    assert!(
        sniffed >= Duration::from_millis(4900),
        "undeclared took {sniffed:?}: the configured timeout was not applied"
    );
}

#[tokio::test]
async fn a_port_declared_http2_is_spoken_to_in_http2() {
    let mesh = Mesh::start("proto-h2", DETECTION).await;
    publish(&mesh, banner_server().await, upstream("dest").await);
    let client = mesh.client().await;
    let t = client.connect_stream("10.96.0.10:80").await.tunnel();
    let start = Instant::now();
    let r = http_in_tunnel(t, false, get(SVC, "/declared", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(start.elapsed() < Duration::from_secs(2));
    // Sniffed, an HTTP/1.1 client would have made the upstream request HTTP/1.1.
    assert_eq!(r.json()["version"], "HTTP/2.0");
}
