//! Bad input on the HBONE port: plaintext, foreign or expired identities, non-CONNECT
//! streams, bad or unknown destinations, a stream flood.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::{Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hbone::{http_in_tunnel, Connect, HboneClient};
use super::pki::CLIENT_ID;
use super::{Mesh, SVC, VIP};
use crate::proxy::harness::{get, send, upstream};

/// A tunnel client that must not get a working connection: the handshake fails, or (TLS 1.3
/// finishes on the client first) its first request does.
async fn assert_no_tunnel(mesh: &Mesh, store: Arc<microwaf_proxy::waypoint::certs::CertStore>) {
    let Ok(client) = HboneClient::connect(mesh.addr(), store).await else {
        return;
    };
    let mut send = client.send.clone();
    let req = Request::builder()
        .method(Method::CONNECT)
        .uri(VIP)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), send.send_request(req))
        .await
        .expect("refused peers are disconnected, not left hanging");
    assert!(
        res.is_err(),
        "a refused peer got a response: {:?}",
        res.map(|r| r.status())
    );
}

#[tokio::test]
async fn a_plaintext_client_gets_a_tls_failure_never_a_tunnel() {
    let mesh = Mesh::start("plain", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    for first in [
        &b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        let mut tcp = tokio::net::TcpStream::connect(mesh.addr()).await.unwrap();
        tcp.write_all(first).await.unwrap();
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut got)).await;
        assert!(
            !got.starts_with(b"HTTP/"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        // Whatever came back is a TLS record (an alert) or nothing.
        assert!(got.is_empty() || got[0] == 0x15, "{got:?}");
    }
    let mut m = String::new();
    for _ in 0..50 {
        m = mesh.metrics().await;
        if m.contains("microwaf_waypoint_inbound_tls_failures_total 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        m.contains("microwaf_waypoint_inbound_tls_failures_total 2"),
        "{m}"
    );
}

#[tokio::test]
async fn foreign_trust_domains_and_expired_certificates_are_refused() {
    let mesh = Mesh::start("identity", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let foreign = mesh
        .pki
        .store("spiffe://evil.example/ns/shop/sa/checkout", false, None);
    assert_no_tunnel(&mesh, foreign).await;
    assert_no_tunnel(&mesh, mesh.pki.store(CLIENT_ID, true, None)).await;
    // A valid client still works.
    let t = mesh.client().await.connect_stream(VIP).await.tunnel();
    assert_eq!(
        http_in_tunnel(t, false, get(SVC, "/", false)).await.status,
        200
    );
}

#[tokio::test]
async fn non_connect_bad_authority_and_unknown_destinations_are_refused_with_a_reason() {
    let mesh = Mesh::start("refusals", "").await;
    let client = mesh.client().await;
    let refused = |c: Connect| match c {
        Connect::Refused(s, body) => (s, body),
        Connect::Tunnel(_) => panic!("got a tunnel"),
    };
    let (s, body) = refused(client.connect_stream(VIP).await);
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("not synced"), "{body}");
    let admin = mesh.app.admin_addr().unwrap();
    let ready = || async {
        send(admin, false, get("admin", "/ready", false))
            .await
            .status
    };
    assert_eq!(ready().await, 503, "ready before discovery synced");
    mesh.publish(&[(upstream("dest").await, true)]);
    let mut status = 0;
    for _ in 0..50 {
        status = ready().await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "ready after the first sync");
    let (s, _) = refused(client.request(Method::GET, VIP, None).await);
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = refused(client.connect_stream("db.shop:0").await);
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("authority"), "{body}");
    let (s, body) = refused(client.connect_stream("10.9.9.9:80").await);
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unknown destination 10.9.9.9:80"), "{body}");
    let m = mesh.metrics().await;
    for reason in [
        "not_connect",
        "bad_authority",
        "unknown_destination",
        "discovery_not_ready",
    ] {
        assert!(
            m.contains(&format!(
                "microwaf_waypoint_inbound_tunnels_rejected_total{{reason=\"{reason}\"}} 1"
            )),
            "{reason}: {m}"
        );
    }
    // The connection that was refused four times still tunnels.
    let t = client.connect_stream(VIP).await.tunnel();
    assert_eq!(
        http_in_tunnel(t, false, get(SVC, "/", false)).await.status,
        200
    );
}

#[tokio::test]
async fn a_stream_flood_is_bounded_by_the_stream_limit_and_the_connection_keeps_serving() {
    let mesh = Mesh::start("flood", "").await;
    // A raw TCP server that holds connections open without a word (server-first protocol).
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let up = upstream("dest").await;
    mesh.publish(&[(silent, false)]);
    let client = Arc::new(mesh.client().await);
    let opened = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..150 {
        let (client, opened, tx) = (client.clone(), opened.clone(), tx.clone());
        tokio::spawn(async move {
            let t = client.connect_stream(VIP).await.tunnel();
            opened.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(t);
        });
    }
    // Streams beyond the limit wait for a slot: the count settles at 100.
    let mut last = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = opened.load(Ordering::SeqCst);
        if now == last && now > 0 {
            break;
        }
        last = now;
    }
    assert_eq!(
        opened.load(Ordering::SeqCst),
        100,
        "streams beyond the limit were accepted"
    );
    let m = mesh.metrics().await;
    assert!(
        m.contains("microwaf_waypoint_inbound_tunnels_active 100"),
        "{m}"
    );
    // Closing tunnels frees slots; the queued ones proceed and the connection still serves.
    let mut held = Vec::new();
    while let Ok(t) = rx.try_recv() {
        held.push(t);
    }
    drop(held);
    mesh.publish(&[(up, true)]);
    let mut done = 0;
    for _ in 0..100 {
        done = opened.load(Ordering::SeqCst);
        if done == 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done, 150);
    while let Ok(t) = rx.try_recv() {
        drop(t);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = client.connect_stream(VIP).await.tunnel();
    assert_eq!(
        http_in_tunnel(t, false, get(SVC, "/", false)).await.status,
        200
    );
}

#[tokio::test]
async fn a_destination_outside_our_trust_domain_gets_no_traffic() {
    let mesh =
        Mesh::start_with_dest("dest-td", "", "spiffe://evil.example/ns/shop/sa/reviews").await;
    let up = upstream("dest").await;
    mesh.publish(&[(up, true)]);
    let t = mesh.client().await.connect_stream(VIP).await.tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/", false)).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        mesh.dest.authorities.lock().unwrap().is_empty(),
        "a CONNECT reached it"
    );
}
