//! What the waypoint's own CONNECT tells the destination's tunnel endpoint: besides the pod
//! address in `:authority`, a `forwarded` header naming the original client (`for`, quoted
//! `ip:port`) and, for a service, its hostname (`host`), as ztunnel writes it.

use microwaf_proxy::waypoint::discovery::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hbone::http_in_tunnel;
use super::{echo_server, Mesh, SVC, VIP};
use crate::proxy::harness::{get, upstream};

/// Waits for the destination's tunnel endpoint to have seen `n` CONNECTs; their headers.
async fn forwarded_seen(mesh: &Mesh, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let seen = mesh.dest.forwarded.lock().unwrap().clone();
        if seen.len() >= n {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    mesh.dest.forwarded.lock().unwrap().clone()
}

/// Opens a tunnel to `authority` as the client at `forwarded_for` and echoes a few bytes
/// through it (the destination is an echo server).
async fn echo_through(mesh: &Mesh, authority: &str, forwarded_for: &str) {
    let client = mesh.client().await;
    let t = client
        .request(hyper::Method::CONNECT, authority, Some(forwarded_for))
        .await
        .tunnel();
    let mut t = hyper_util::rt::TokioIo::new(t);
    t.write_all(b"\x00binary").await.unwrap();
    let mut back = [0u8; 7];
    t.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"\x00binary");
}

#[tokio::test]
async fn a_tcp_tunnel_names_the_original_client_and_the_service() {
    let mesh = Mesh::start("fwd-tcp", "").await;
    mesh.publish(&[(echo_server().await, true)]);
    echo_through(&mesh, VIP, "10.1.2.3:45678").await;
    let seen = forwarded_seen(&mesh, 1).await;
    assert_eq!(
        seen,
        [format!(r#"for="10.1.2.3:45678";host={SVC}"#)],
        "the source tunnel's client, not the tunnel's peer"
    );
}

#[tokio::test]
async fn an_http_tunnel_without_forwarded_names_the_tunnel_peer() {
    let mesh = Mesh::start("fwd-http", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let client = mesh.client().await;
    let t = client.connect_stream(VIP).await.tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = forwarded_seen(&mesh, 1).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    // The HBONE client connects from 127.0.0.1 on an ephemeral port.
    let f = &seen[0];
    assert!(f.starts_with(r#"for="127.0.0.1:"#), "{f}");
    assert!(f.ends_with(&format!(r#"";host={SVC}"#)), "{f}");
}

#[tokio::test]
async fn a_pod_addressed_directly_gets_no_host() {
    let mesh = Mesh::start("fwd-pod", "").await;
    let echo = echo_server().await;
    let mut r = Registry::default();
    r.workloads.insert(echo.ip(), true);
    mesh.publisher.publish(r);
    echo_through(&mesh, &echo.to_string(), "10.9.8.7:1234").await;
    assert_eq!(forwarded_seen(&mesh, 1).await, [r#"for="10.9.8.7:1234""#]);
}
