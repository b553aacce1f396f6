//! L4 routing through filter state: a network filter that sets Envoy's `envoy.tcp_proxy.cluster`
//! in its new-connection callback sends the connection to that cluster, as Envoy's `tcp_proxy`
//! does (the SDK's TCP routing example); a cluster that does not exist closes the connection.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

/// A TCP upstream that answers every connection with `tag` and an echo of 4 bytes, then keeps
/// the connection open for 30 s.
async fn tagged(tag: &'static [u8]) -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4];
                if s.read_exact(&mut buf).await.is_ok() {
                    let _ = s.write_all(&[tag, &buf].concat()).await;
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}

async fn listener(route: &str) -> microwaf_proxy::app::App {
    listener_logging(route, None).await
}

async fn listener_logging(route: &str, log: Option<&std::path::Path>) -> microwaf_proxy::app::App {
    let (a, b) = (tagged(b"A:").await, tagged(b"B:").await);
    let wasm = fixtures::wasm("l4", Target::Wasip1).display().to_string();
    let log = log.map_or(String::new(), |p| {
        format!("    access_log: {}\n", p.display())
    });
    start(&format!(
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    protocol: tcp\n    cluster: default\n{log}    filters:\n      - name: l4\n        code: {wasm}\n        config: {route:?}\nclusters:\n  - name: default\n    endpoints: [\"{a}\"]\n  - name: other\n    endpoints: [\"{b}\"]\n"
    ))
    .await
}

/// Sends `ping` and reads what comes back until the proxy closes or 3 s pass.
async fn exchange(app: &microwaf_proxy::app::App) -> (Vec<u8>, bool) {
    let mut c = tokio::net::TcpStream::connect(addr(app)).await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut out = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(3), c.read_to_end(&mut out))
        .await
        .is_ok();
    (out, closed)
}

#[tokio::test]
async fn filter_state_picks_the_tcp_proxy_cluster() {
    // The l4 fixture upper-cases downstream data and prefixes the first upstream chunk.
    let routed = listener("route=other").await;
    assert_eq!(exchange(&routed).await, (b"l4:B:PING".to_vec(), false));
    let plain = listener("").await;
    assert_eq!(exchange(&plain).await, (b"l4:A:PING".to_vec(), false));
    let nowhere = listener("route=nosuch").await;
    let (out, closed) = exchange(&nowhere).await;
    assert!(
        out.is_empty() && closed,
        "no such cluster: the connection is closed"
    );
}

#[tokio::test]
async fn filter_state_sets_the_connection_idle_timeout() {
    // The listener's idle timeout is Envoy's 1 h; the filter's 200 ms closes the quiet
    // connection long before the upstream's 30 s.
    let app = listener("route=other idle=200").await;
    let (out, closed) = exchange(&app).await;
    assert_eq!(out, b"l4:B:PING");
    assert!(
        closed,
        "the per-connection idle timeout closed the connection"
    );
}
