//! A service with two ports: port 80 (HTTP) and port 9000 (raw TCP) map to different pod
//! ports. Each tunnel must reach the endpoints of the port it addressed, whatever other
//! tunnels to the same service do meanwhile.

use std::net::SocketAddr;
use std::sync::Arc;

use microwaf_proxy::waypoint::discovery::{Destination, Endpoint, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hbone::http_in_tunnel;
use super::{echo_server, Mesh, SVC, VIP};
use crate::proxy::harness::{collect, get, upstream};

/// The TCP port of the service, on the same VIP as port 80.
const VIP_TCP: &str = "10.96.0.10:9000";

/// Publishes `SVC` with port 80 → `http` and port 9000 → `tcp`.
fn publish_two_ports(mesh: &Mesh, http: SocketAddr, tcp: SocketAddr) {
    let dest = |port: u16, addr: SocketAddr| {
        Arc::new(Destination {
            name: SVC.into(),
            port,
            endpoints: vec![Endpoint { addr, hbone: true }],
            app_protocol: Default::default(),
        })
    };
    let (d80, d9000) = (dest(80, http), dest(9000, tcp));
    let mut r = Registry::default();
    r.by_vip.insert(VIP.parse().unwrap(), d80.clone());
    r.by_vip.insert(VIP_TCP.parse().unwrap(), d9000.clone());
    r.by_host.insert((SVC.into(), 80), d80);
    r.by_host.insert((SVC.into(), 9000), d9000);
    mesh.publisher.publish(r);
}

#[tokio::test]
async fn http_and_tcp_tunnels_to_two_ports_of_one_service_keep_their_endpoints() {
    let mesh = Mesh::start("multiport", "").await;
    let (http, tcp) = (upstream("http-port").await, echo_server().await);
    publish_two_ports(&mesh, http, tcp);
    let client = mesh.client().await;

    // An HTTP/1.1 tunnel to port 80 stays open across the TCP tunnel below.
    let t = client.connect_stream(VIP).await.tunnel();
    let (mut s, conn) = hyper::client::conn::http1::handshake(t).await.unwrap();
    tokio::spawn(conn);
    let first = collect(s.send_request(get(SVC, "/one", false)).await.unwrap()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["upstream"], "http-port");

    // A TCP tunnel to port 9000 of the same service, open while the HTTP tunnel is used.
    let tcp_tunnel = client.connect_stream(VIP_TCP).await.tunnel();
    let mut tcp_tunnel = hyper_util::rt::TokioIo::new(tcp_tunnel);
    let payload = b"\x00\x01raw bytes for port 9000\xff";
    tcp_tunnel.write_all(payload).await.unwrap();
    let mut back = vec![0u8; payload.len()];
    tcp_tunnel.read_exact(&mut back).await.unwrap();
    assert_eq!(
        &back, payload,
        "the TCP tunnel reaches port 9000's endpoint"
    );

    // The HTTP tunnel still reaches port 80's endpoint, over its pooled cluster and fresh ones.
    for i in 0..3 {
        let r = collect(
            s.send_request(get(SVC, &format!("/again{i}"), false))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        assert_eq!(r.json()["upstream"], "http-port");
    }
    for h2 in [false, true] {
        let t = client.connect_stream(VIP).await.tunnel();
        let r = http_in_tunnel(t, h2, get(SVC, "/new", h2)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["upstream"], "http-port");
    }
    drop(tcp_tunnel);
}
