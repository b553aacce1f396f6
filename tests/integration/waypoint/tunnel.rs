//! Traffic through the waypoint: HTTP/1.1 and HTTP/2 inside tunnels, the waypoint's identity
//! toward the destination, pooling, discovery updates, metrics and access log with the source
//! identity, raw TCP, filters seeing the source SVID, MicroWAF blocking inside a tunnel.

use microwaf_tests::fixtures::{self, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hbone::http_in_tunnel;
use super::pki::{CLIENT_ID, WAYPOINT_ID};
use super::{echo_server, Mesh, SVC, VIP};
use crate::proxy::harness::{get, upstream};

#[tokio::test]
async fn http1_and_http2_inside_tunnels_reach_the_destination_as_the_waypoint() {
    let mesh = Mesh::start("http", "").await;
    let up = upstream("dest").await;
    mesh.publish(&[(up, true)]);
    let client = mesh.client().await;
    for (h2, authority) in [
        (false, VIP),
        (true, VIP),
        (false, "echo.shop.svc.cluster.local:80"),
    ] {
        let t = client.connect_stream(authority).await.tunnel();
        let r = http_in_tunnel(t, h2, get(SVC, "/hello", h2)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let j = r.json();
        assert_eq!(j["upstream"], "dest");
        assert!(j["uri"].as_str().unwrap().ends_with("/hello"));
        assert_eq!(j["version"], if h2 { "HTTP/2.0" } else { "HTTP/1.1" });
        // Plain HTTP inside the mTLS tunnel is `http`: the tunnel's TLS is not the request's.
        assert_eq!(j["headers"]["x-forwarded-proto"], "http");
    }
    // The destination's tunnel endpoint saw the waypoint, never the source, and was asked
    // for the pod address with its target port.
    let peers = mesh.dest.peers.lock().unwrap().clone();
    assert!(!peers.is_empty());
    assert!(peers.iter().all(|p| p == WAYPOINT_ID), "{peers:?}");
    let auths = mesh.dest.authorities.lock().unwrap().clone();
    assert!(auths.iter().all(|a| *a == up.to_string()), "{auths:?}");
}

#[tokio::test]
async fn many_requests_over_several_tunnels_share_few_outbound_connections() {
    let mesh = Mesh::start("pool", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let mut ok = 0;
    for _ in 0..3 {
        let client = mesh.client().await;
        for _ in 0..4 {
            let t = client.connect_stream(VIP).await.tunnel();
            let (mut s, conn) = hyper::client::conn::http1::handshake(t).await.unwrap();
            tokio::spawn(conn);
            for i in 0..5 {
                let resp = s
                    .send_request(get(SVC, &format!("/r{i}"), false))
                    .await
                    .unwrap();
                let r = crate::proxy::harness::collect(resp).await;
                assert_eq!(r.status, 200);
                ok += 1;
            }
        }
    }
    assert_eq!(ok, 60);
    let n = mesh.dest.tls_connections();
    assert_eq!(
        n, 1,
        "60 requests over 12 tunnels opened {n} outbound TLS connections"
    );
    let m = mesh.metrics().await;
    assert!(
        m.contains("microwaf_waypoint_outbound_connections_total 1"),
        "{m}"
    );
    assert!(m.contains("microwaf_waypoint_inbound_tunnels_total{reporter=\"waypoint\",source_principal=\"spiffe://cluster.local/ns/shop/sa/checkout\"} 12"), "{m}");
}

#[tokio::test]
async fn a_discovery_update_takes_effect_without_restart() {
    let mesh = Mesh::start("update", "").await;
    let (a, b) = (upstream("a").await, upstream("b").await);
    mesh.publish(&[(a, true)]);
    let client = mesh.client().await;
    let ask = || async {
        let t = client.connect_stream(VIP).await.tunnel();
        http_in_tunnel(t, false, get(SVC, "/name", false))
            .await
            .text()
    };
    assert_eq!(ask().await, "a");
    // The service moves to b, outside the mesh (plain TCP from the waypoint).
    mesh.publish(&[(b, false)]);
    let mut got = String::new();
    for _ in 0..50 {
        got = ask().await;
        if got == "b" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(got, "b");
    let before = mesh.dest.tls_connections();
    assert_eq!(ask().await, "b");
    assert_eq!(
        mesh.dest.tls_connections(),
        before,
        "plain TCP endpoint used HBONE"
    );
}

#[tokio::test]
async fn the_source_identity_is_in_metrics_and_the_access_log() {
    let mesh = Mesh::start("telemetry", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let client = mesh.client().await;
    let t = client
        .request(hyper::Method::CONNECT, VIP, Some("10.1.2.3:45678"))
        .await
        .tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/status/201", false)).await;
    assert_eq!(r.status, 201);
    let line = format!(
        "istio_requests_total{{reporter=\"waypoint\",source_principal=\"{CLIENT_ID}\",destination_service=\"{SVC}\",response_code=\"201\"}} 1"
    );
    let m = mesh.metrics_with(&line).await;
    assert!(m.contains(&line), "{m}");
    let log = mesh.access_log(1).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["source_identity"], CLIENT_ID);
    assert_eq!(
        log[0]["source"], "10.1.2.3:45678",
        "forwarded: for= is the source"
    );
    assert_eq!(log[0]["listener"], "waypoint");
    assert_eq!(log[0]["status"], 201);
}

#[tokio::test]
async fn a_non_http_payload_takes_the_tcp_path() {
    let mesh = Mesh::start("tcp", "").await;
    let echo = echo_server().await;
    mesh.publish(&[(echo, true)]);
    let client = mesh.client().await;
    let t = client.connect_stream(VIP).await.tunnel();
    let mut t = hyper_util::rt::TokioIo::new(t);
    let payload = b"\x00\x01binary mesh payload\xff";
    t.write_all(payload).await.unwrap();
    let mut back = vec![0u8; payload.len()];
    t.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, payload);
    assert_eq!(mesh.dest.tls_connections(), 1);
}

#[tokio::test]
async fn filters_see_the_source_svid_inside_the_tunnel() {
    let wasm = fixtures::wasm("properties", Target::Wasip1);
    let cfg = r#"'{"properties": ["connection.uri_san_peer_certificate", "source.principal", "connection.mtls"]}'"#;
    let extra = format!(
        "  http_filters:\n    - name: properties\n      code: {}\n      config: {cfg}\n",
        wasm.display()
    );
    let mesh = Mesh::start("props", &extra).await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let client = mesh.client().await;
    for h2 in [false, true] {
        let t = client.connect_stream(VIP).await.tunnel();
        let r = http_in_tunnel(t, h2, get(SVC, "/", h2)).await;
        assert_eq!(
            r.headers["x-prop-connection.uri_san_peer_certificate"],
            CLIENT_ID
        );
        assert_eq!(r.headers["x-prop-source.principal"], CLIENT_ID);
        assert_eq!(r.headers["x-prop-connection.mtls"], "hex:01");
    }
}

#[tokio::test]
async fn microwaf_blocks_a_leak_inside_the_tunnel() {
    use crate::microwaf::{upstream::Upstream, CARD};
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let extra = format!(
        "  http_filters:\n    - name: microwaf\n      code: {}\n      vm_count: 1\n      config:\n        defaults:\n          default_action: block\n",
        wasm.display()
    );
    let mesh = Mesh::start("waf", &extra).await;
    let up = Upstream::start().await;
    mesh.publish(&[(up.addr, true)]);
    let client = mesh.client().await;
    for h2 in [false, true] {
        let t = client.connect_stream(VIP).await.tunnel();
        let r = http_in_tunnel(t, h2, get(SVC, "/leak.json", h2)).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(!r.text().contains(CARD));
        assert_eq!(r.text(), r#"{"error":"blocked by policy"}"#);
        let t = client.connect_stream(VIP).await.tunnel();
        let r = http_in_tunnel(t, h2, get(SVC, "/clean.json", h2)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let m = mesh.metrics_with("response_code=\"403\"} 2").await;
    assert!(m.contains("response_code=\"403\"} 2"), "{m}");
}

#[tokio::test]
async fn serve_from_configuration_alone_loads_cert_files_and_the_discovery_file() {
    use super::hbone::{DestTunnel, HboneClient};
    use super::pki::{MeshPki, DEST_ID};
    let pki = MeshPki::new("file root");
    let dir = std::env::temp_dir().join(format!("microwaf-wp-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, root) = pki.pem_files(WAYPOINT_ID, &dir);
    let dest = DestTunnel::start(pki.store(DEST_ID, false, None)).await;
    let up = upstream("file").await;
    std::fs::write(dir.join("services.yaml"), super::sources::services_file(up)).unwrap();
    let yaml = format!(
        "waypoint:\n  address: 127.0.0.1:0\n  health: 127.0.0.1:0\n  metrics: 127.0.0.1:0\n  hbone_port: {}\n  certs: {{cert: {cert}, key: {key}, root: {root}}}\n  discovery: {{file: services.yaml}}\n",
        dest.addr.port()
    );
    let cfg = microwaf_proxy::config::parse(&yaml, "test.yaml", &dir).unwrap();
    let app = microwaf_proxy::app::App::start(cfg).await.unwrap();
    let client = HboneClient::connect(
        app.waypoint_addr().unwrap(),
        pki.store(CLIENT_ID, false, None),
    )
    .await
    .unwrap();
    let t = client.connect_stream(VIP).await.tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/name", false)).await;
    assert_eq!(r.text(), "file");
    assert_eq!(dest.peers.lock().unwrap().as_slice(), [WAYPOINT_ID]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_full_outbound_connection_makes_the_next_stream_open_another() {
    let mesh = Mesh::start("outbound-limit", "").await;
    let echo = echo_server().await;
    mesh.publish(&[(echo, true)]);
    // 120 concurrent raw TCP tunnels (two inbound connections, each under its 100 limit):
    // each holds one outbound HBONE stream while open.
    let (a, b) = (mesh.client().await, mesh.client().await);
    let mut open = Vec::new();
    for i in 0..120 {
        let client = if i % 2 == 0 { &a } else { &b };
        let mut t = hyper_util::rt::TokioIo::new(client.connect_stream(VIP).await.tunnel());
        t.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        t.read_exact(&mut one).await.unwrap();
        open.push(t);
    }
    assert_eq!(
        mesh.dest.tls_connections(),
        2,
        "100 streams per outbound connection"
    );
    let m = mesh.metrics().await;
    assert!(
        m.contains("microwaf_waypoint_outbound_streams_active 120"),
        "{m}"
    );
    assert!(
        m.contains("microwaf_waypoint_outbound_connections_active 2"),
        "{m}"
    );
}

#[tokio::test]
async fn a_reload_gives_new_tunnels_the_new_filters() {
    let mesh = Mesh::start("reload", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    let client = mesh.client().await;
    let t = client.connect_stream(VIP).await.tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/", false)).await;
    assert!(!r.headers.contains_key("x-prop-source.principal"));
    let wasm = fixtures::wasm("properties", Target::Wasip1);
    let yaml = format!(
        "waypoint:\n  address: 127.0.0.1:0\n  health: 127.0.0.1:0\n  metrics: 127.0.0.1:0\n  hbone_port: {}\n  http_filters:\n    - name: properties\n      code: {}\n      config: '{{\"properties\": [\"source.principal\"]}}'\n",
        mesh.dest.addr.port(),
        wasm.display()
    );
    let cfg = microwaf_proxy::config::parse(&yaml, "test.yaml", &mesh.dir).unwrap();
    mesh.app.reload(cfg).unwrap();
    let t = client.connect_stream(VIP).await.tunnel();
    let r = http_in_tunnel(t, false, get(SVC, "/", false)).await;
    assert_eq!(r.headers["x-prop-source.principal"], CLIENT_ID);
}

#[tokio::test]
async fn an_idle_tcp_tunnel_is_closed() {
    let mesh = Mesh::start("tcp-idle", "  tcp_idle_timeout: 300ms\n").await;
    mesh.publish(&[(echo_server().await, true)]);
    let client = mesh.client().await;
    let mut t = hyper_util::rt::TokioIo::new(client.connect_stream(VIP).await.tunnel());
    t.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    t.read_exact(&mut one).await.unwrap();
    let mut rest = Vec::new();
    let ended =
        tokio::time::timeout(std::time::Duration::from_secs(3), t.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the idle tunnel was not closed");
    assert!(rest.is_empty());
}

#[tokio::test]
async fn a_drain_ends_open_tcp_tunnels() {
    let mesh = Mesh::start("tcp-drain", "").await;
    mesh.publish(&[(echo_server().await, true)]);
    let client = mesh.client().await;
    let mut t = hyper_util::rt::TokioIo::new(client.connect_stream(VIP).await.tunnel());
    t.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    t.read_exact(&mut one).await.unwrap();
    let started = std::time::Instant::now();
    let (drained, _) = tokio::join!(mesh.app.drain(std::time::Duration::from_secs(10)), async {
        let mut rest = Vec::new();
        let _ = t.read_to_end(&mut rest).await;
    });
    assert!(drained, "every tunnel ended before the deadline");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
