//! Item 5, fair HTTP/2: one connection holding all the streams it may open cannot take every
//! request slot of a cluster, so another client's request still succeeds.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use microwaf_proxy::app::App;

use crate::proxy::harness::{addr, get, send, start, upstream};

/// Listener `main` (its `limits` line unless empty) in front of an echo upstream whose
/// cluster allows `max_requests` concurrent requests.
async fn proxy(limits: &str, max_requests: u32) -> App {
    let up = upstream("a").await;
    start(&format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
{limits}    routes:
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
    circuit_breakers: {{max_requests: {max_requests}}}
"#
    ))
    .await
}

/// One h2 connection sending `n` requests that each hold the upstream for 5 s; returns the
/// stream limit the server announced. The requests stay in flight in spawned tasks.
async fn greedy(proxy: SocketAddr, n: usize) -> usize {
    let tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut client = client.ready().await.unwrap();
    // The announced limit applies once the server's SETTINGS were read.
    for _ in 0..100 {
        if client.current_max_send_streams() < 1_000_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let limit = client.current_max_send_streams();
    for _ in 0..n {
        let c = client.clone();
        tokio::spawn(async move {
            let Ok(mut c) = c.ready().await else { return };
            let req = http::Request::get("http://svc/sleep/5000")
                .body(())
                .unwrap();
            if let Ok((resp, _)) = c.send_request(req, true) {
                let _ = resp.await;
            }
        });
    }
    client = client.ready().await.unwrap();
    drop(client);
    // Let the streams reach the upstream and take their cluster slots.
    tokio::time::sleep(Duration::from_millis(800)).await;
    limit
}

#[tokio::test]
async fn a_greedy_h2_connection_cannot_starve_another_clients_request() {
    // Defaults: 100 streams per connection, 1024 requests per cluster.
    let app = proxy("", 1024).await;
    let limit = greedy(addr(&app), 1024).await;
    assert_eq!(limit, 100, "the default stream limit is announced");
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/victim", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}: {}", r.text());
    }
}

#[tokio::test]
async fn the_stream_limit_is_configurable_and_decides_whether_the_victim_is_served() {
    // A cluster of 150 slots: 100 streams leave room, 300 take it all.
    let fair = proxy("", 150).await;
    assert_eq!(greedy(addr(&fair), 300).await, 100);
    let r = send(addr(&fair), true, get("svc", "/victim", true)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let limits = "    limits:\n      max_concurrent_streams: 300\n";
    let unfair = proxy(limits, 150).await;
    assert_eq!(greedy(addr(&unfair), 300).await, 300);
    let r = send(addr(&unfair), true, get("svc", "/victim", true)).await;
    assert_eq!(r.status, 503, "the cluster is full: {}", r.text());
    assert_eq!(
        r.body,
        Bytes::from_static(b"upstream connect error or overflow")
    );
}
