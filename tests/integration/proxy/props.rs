//! What filters see through the real proxy: the peer certificate's `connection.*` facts over
//! mTLS, route / cluster / listener metadata, gRPC callouts to a cluster, and a LOGICAL_DNS
//! cluster resolving at connect time.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;
use microwaf_tests::fixtures::{self, Target};
use rustls::pki_types::ServerName;
use sha2::{Digest, Sha256};

use super::harness::*;
use super::pki::Pki;
use super::streaming::grpc_echo;

fn wasm(name: &str) -> String {
    fixtures::wasm(name, Target::Wasip1).display().to_string()
}

fn properties_filter(paths: &[&str]) -> String {
    let list = serde_json::to_string(&serde_json::json!({ "properties": paths })).unwrap();
    format!(
        "    filters:\n      - name: properties\n        code: {}\n        config: '{list}'\n",
        wasm("properties")
    )
}

#[tokio::test]
async fn peer_certificate_subject_dns_san_and_digest_reach_the_filter() {
    let pki = Pki::new("props");
    let (cert, key) = pki.server_files();
    let paths = [
        "connection.subject_peer_certificate",
        "connection.dns_san_peer_certificate",
        "connection.uri_san_peer_certificate",
        "connection.sha256_peer_certificate_digest",
        "connection.mtls",
    ];
    let yaml = simple(upstream("a").await, "").replace(
        "    routes:",
        &format!(
            "    tls: {{ cert: {}, key: {}, client_ca: {}, require_client_cert: true }}\n{}    routes:",
            cert.display(),
            key.display(),
            pki.dir.join("ca.pem").display(),
            properties_filter(&paths)
        ),
    );
    let app = start(&yaml).await;
    let spiffe = "spiffe://cluster.local/ns/shop/sa/checkout";
    let (client_cert, client_key) = pki.leaf("checkout", &["checkout.shop.svc"], &[spiffe]);
    let der = rustls_pemfile::certs(&mut client_cert.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let digest: String = Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let connector = pki.client(&[b"http/1.1"], Some((client_cert, client_key)));
    let tcp = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let r = collect(s.send_request(get("localhost", "/", false)).await.unwrap()).await;
    assert_eq!(r.status, 200);
    let h = |k: &str| {
        r.headers
            .get(format!("x-prop-{k}"))
            .unwrap_or_else(|| panic!("no {k}: {:?}", r.headers))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(h("connection.subject_peer_certificate"), "CN=checkout");
    assert_eq!(
        h("connection.dns_san_peer_certificate"),
        "checkout.shop.svc"
    );
    assert_eq!(h("connection.uri_san_peer_certificate"), spiffe);
    assert_eq!(h("connection.sha256_peer_certificate_digest"), digest);
    assert_eq!(h("connection.mtls"), "hex:01");
}

#[tokio::test]
async fn route_cluster_and_listener_metadata_reach_the_filter() {
    let up = upstream("a").await;
    let paths = [
        "xds.route_metadata.filter_metadata.waf.owner",
        "xds.cluster_metadata.filter_metadata.waf.tier",
        "xds.listener_metadata.filter_metadata.waf.zone",
        "route_metadata.waf.owner",
    ];
    let yaml = format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    metadata: {{waf: {{zone: edge}}}}
{}    routes:
      - prefix: /
        cluster: up
        metadata: {{waf: {{owner: identity-team}}}}
clusters:
  - name: up
    endpoints: ["{up}"]
    metadata: {{waf: {{tier: gold}}}}
"#,
        properties_filter(&paths)
    );
    let app = start(&yaml).await;
    let r = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(r.status, 200);
    for (k, v) in [
        (
            "xds.route_metadata.filter_metadata.waf.owner",
            "identity-team",
        ),
        ("xds.cluster_metadata.filter_metadata.waf.tier", "gold"),
        ("xds.listener_metadata.filter_metadata.waf.zone", "edge"),
        ("route_metadata.waf.owner", "identity-team"),
    ] {
        assert_eq!(r.headers[format!("x-prop-{k}").as_str()], v, "{k}");
    }
}

#[tokio::test]
async fn grpc_callout_from_a_filter_reaches_an_http2_cluster() {
    let up = upstream("a").await;
    let grpc = grpc_echo().await;
    let yaml = simple(up, "").replace(
        "    routes:",
        &format!(
            "    filters:\n      - name: callouts\n        code: {}\n        config: '{{\"cluster\": \"grpc\"}}'\n    routes:",
            wasm("callouts")
        ),
    ) + &format!("  - name: grpc\n    endpoints: [\"{grpc}\"]\n    http2: true\n");
    let app = start(&yaml).await;
    let req = Request::get("/")
        .header("host", "svc")
        .header("x-callout-kind", "grpc")
        .header("x-grpc-message", "hello-grpc")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["x-grpc-status"], "0");
    assert_eq!(r.headers["x-grpc-body"], "hello-grpc", "{:?}", r.headers);
    assert_eq!(
        r.json()["upstream"],
        "a",
        "the request resumed to its own cluster"
    );
}

#[tokio::test]
async fn logical_dns_cluster_connects_to_the_resolved_address() {
    let up = upstream("a").await;
    let yaml = format!(
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
    discovery: logical_dns
    dns_lookup_family: v4_only
"#,
        up.port()
    );
    let app = start(&yaml).await;
    let mut status = 0;
    for _ in 0..50 {
        status = send(addr(&app), false, get("svc", "/name", false))
            .await
            .status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    let state = app.proxy().state();
    assert_eq!(
        state.clusters["up"].endpoint_addrs(),
        vec![std::net::SocketAddr::from(([127, 0, 0, 1], up.port()))]
    );
}
