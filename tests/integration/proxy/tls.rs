//! Downstream TLS and mTLS: ALPN h2/http1.1, client certificates with SPIFFE URI SANs reaching
//! the access log, clients without a certificate refused.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;

use super::harness::*;
use super::pki::Pki;

fn tls_yaml(up: std::net::SocketAddr, pki: &Pki, mtls: bool, log: &std::path::Path) -> String {
    let (cert, key) = pki.server_files();
    let client = if mtls {
        format!(
            ", client_ca: {}, require_client_cert: true",
            pki.dir.join("ca.pem").display()
        )
    } else {
        String::new()
    };
    simple(up, "").replace(
        "    routes:",
        &format!(
            "    tls: {{ cert: {}, key: {}{client} }}\n    access_log: {}\n    routes:",
            cert.display(),
            key.display(),
            log.display()
        ),
    )
}

async fn tls_request(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    h2: bool,
) -> std::io::Result<Reply> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let negotiated_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    assert_eq!(negotiated_h2, h2, "ALPN");
    let io = TokioIo::new(tls);
    let req = |uri: &str| {
        Request::get(uri)
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let resp = if h2 {
        let (mut s, c) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(c);
        s.send_request(req("https://localhost/tls"))
            .await
            .map_err(std::io::Error::other)?
    } else {
        let (mut s, c) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(c);
        s.send_request(req("/tls"))
            .await
            .map_err(std::io::Error::other)?
    };
    Ok(collect(resp).await)
}

async fn read_log(path: &std::path::Path, lines: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("access log {path:?} has fewer than {lines} lines");
}

#[tokio::test]
async fn tls_serves_http1_and_h2_by_alpn() {
    let pki = Pki::new("tls");
    let log = pki.dir.join("access.log");
    let app = start(&tls_yaml(upstream("a").await, &pki, false, &log)).await;
    let c1 = pki.client(&[b"http/1.1"], None);
    let r = tls_request(addr(&app), &c1, false).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["headers"]["x-forwarded-proto"], "https");
    let c2 = pki.client(&[b"h2", b"http/1.1"], None);
    let r = tls_request(addr(&app), &c2, true).await.unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn mtls_exposes_the_spiffe_id_and_refuses_clients_without_a_certificate() {
    let pki = Pki::new("mtls");
    let log = pki.dir.join("access.log");
    let app = start(&tls_yaml(upstream("a").await, &pki, true, &log)).await;
    let spiffe = "spiffe://cluster.local/ns/shop/sa/checkout";
    let id = pki.leaf("checkout", &[], &[spiffe]);
    let c = pki.client(&[b"h2"], Some(id));
    let r = tls_request(addr(&app), &c, true).await.unwrap();
    assert_eq!(r.status, 200);
    let lines = read_log(&log, 1).await;
    assert_eq!(lines[0]["source_identity"], spiffe);

    // No client certificate: the handshake (or the first read under TLS 1.3) fails.
    let anon = pki.client(&[b"http/1.1"], None);
    assert!(tls_request(addr(&app), &anon, false).await.is_err());
}
