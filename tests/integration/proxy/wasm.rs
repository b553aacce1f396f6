//! The proxy with real proxy-wasm filters built from `filters/` (see FIXTURES.md): header and
//! body mutation, local replies, pause/resume through HTTP callouts, properties, metrics on
//! `/metrics`, and a plugin that fails to load refusing the start.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use microwaf_proxy::app::App;
use microwaf_proxy::config;
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

fn wasm(name: &str) -> String {
    fixtures::wasm(name, Target::Wasip1).display().to_string()
}

/// Listener `main` with one filter (`config` is a JSON value) in front of cluster `up`, plus a
/// cluster `callout` at the same upstream and an admin server.
fn yaml(up: std::net::SocketAddr, fixture: &str, config: &str) -> String {
    simple(up, "")
        .replace(
            "    routes:",
            &format!(
                "    filters:\n      - name: {fixture}\n        code: {}\n        config: {config}\n    routes:",
                wasm(fixture)
            ),
        )
        .replace("listeners:", "admin: 127.0.0.1:0\nlisteners:")
        + &format!("  - name: callout\n    endpoints: [\"{up}\"]\n")
}

async fn start_fixture(fixture: &str, config: &str) -> App {
    start(&yaml(upstream("a").await, fixture, config)).await
}

#[tokio::test]
async fn wasm_filter_mutates_request_and_response_headers() {
    let app = start_fixture("headers", "{}").await;
    let mut req = get("svc", "/h", false);
    req.headers_mut().insert("x-remove", "1".parse().unwrap());
    req.headers_mut().insert("x-echo", "hi".parse().unwrap());
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["headers"]["x-fixture-added"], "1");
    assert_eq!(j["headers"]["x-fixture-path"], "/h");
    assert_eq!(j["headers"]["x-replace"], "replaced");
    assert!(j["headers"].get("x-remove").is_none());
    assert_eq!(r.headers["x-fixture-response"], "1");
    assert_eq!(r.headers["x-fixture-status"], "200");
    assert_eq!(r.headers["x-fixture-echo"], "hi");
}

#[tokio::test]
async fn wasm_local_reply_sees_its_own_response_headers() {
    let app = start_fixture("local_reply", "{}").await;
    let mut req = get("svc", "/", true);
    req.headers_mut()
        .insert("x-local-reply", "403".parse().unwrap());
    let r = send(addr(&app), true, req).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "local reply 403\n");
    assert_eq!(r.headers["x-seen-status"], "403");
    assert_eq!(r.headers["x-seen-local"], "true");
    assert_eq!(r.headers["x-seen-content-type"], "text/plain");
    assert_eq!(r.headers["x-seen-content-length"], "16");
}

#[tokio::test]
async fn wasm_body_buffering_rewrites_request_and_response() {
    let cfg = r#"{"request": "append", "response": "prepend", "value": "[fx]"}"#;
    let app = start_fixture("body", &format!("'{cfg}'")).await;
    let req = Request::post("/")
        .header("host", "svc")
        .body(Full::new(Bytes::from_static(b"hello")))
        .unwrap();
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let json = text.strip_prefix("[fx]").expect("response prepended");
    let j: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(j["body"], "hello[fx]");
}

#[tokio::test]
async fn wasm_http_callout_pauses_and_resumes_the_stream() {
    let app = start_fixture("callouts", r#"{"path": "/name"}"#).await;
    let r = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-callout-status"], "200");
    assert_eq!(r.headers["x-callout-body"], "a");
    // Unknown cluster: the dispatch fails with BadArgument → local reply 500.
    let mut req = get("svc", "/", false);
    req.headers_mut()
        .insert("x-callout-cluster", "nowhere".parse().unwrap());
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.headers["x-callout-dispatch"], "BadArgument");
}

#[tokio::test]
async fn wasm_properties_and_context_ids() {
    let app = start_fixture("properties", "{}").await;
    let r = send(addr(&app), false, get("svc", "/p?q=1", false)).await;
    assert_eq!(r.headers["x-prop-request.path"], "/p?q=1");
    assert_eq!(r.headers["x-prop-request.method"], "GET");
    assert_eq!(r.headers["x-prop-request.host"], "svc");
    assert_eq!(r.headers["x-prop-cluster_name"], "up");
    assert_eq!(r.headers["x-prop-connection.mtls"], "hex:00");
    assert!(r.headers["x-prop-source.address"]
        .to_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
}

#[tokio::test]
async fn wasm_metrics_appear_on_the_admin_endpoint() {
    let app = start_fixture("metrics", "{}").await;
    for n in 1..=2 {
        let r = send(addr(&app), false, get("svc", "/", false)).await;
        assert_eq!(r.headers["x-metric-requests"], n.to_string().as_str());
    }
    let admin = app.admin_addr().unwrap();
    let text = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    assert!(text.contains("fixture_requests_total 2"), "{text}");
    assert!(
        text.contains(r#"microwaf_wasm_vms{plugin="metrics"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"microwaf_wasm_traps_total{plugin="metrics",kind="#),
        "{text}"
    );
    // Linear memory: every live VM holds at least one 64 KiB page, and no VM more than the
    // plugin's memory limit.
    let gauge = |name: &str| -> u64 {
        let prefix = format!("{name}{{plugin=\"metrics\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    };
    let vms = gauge("microwaf_wasm_vms");
    let total = gauge("microwaf_wasm_memory_bytes");
    let peak = gauge("microwaf_wasm_vm_memory_peak_bytes");
    assert!(vms >= 1 && total >= vms * 65536, "{text}");
    assert!(peak >= 65536 && peak <= total && peak < 1 << 30, "{text}");
}

#[tokio::test]
async fn a_plugin_that_fails_to_load_refuses_the_start() {
    let up = upstream("a").await;
    let text = yaml(up, "config", "fail");
    let cfg = config::parse(&text, "test.yaml", std::path::Path::new(".")).unwrap();
    let err = match App::start(cfg).await {
        Ok(_) => panic!("started with a plugin whose on_configure returned false"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("plugin config"), "{err}");
}

#[tokio::test]
async fn singleton_plugin_ticks_in_the_background() {
    let up = upstream("a").await;
    let text = format!(
        "singletons:\n  - name: ticker\n    code: {}\n    config: {{ period_ms: 10, stop_after: 3 }}\n{}",
        wasm("ticks"),
        simple(up, "")
    )
    .replace("listeners:", "admin: 127.0.0.1:0\nlisteners:");
    let app = start(&text).await;
    let admin = app.admin_addr().unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        text = send(admin, false, get("admin", "/metrics", false))
            .await
            .text();
        if text.contains("fixture_ticks 3") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(text.contains("fixture_ticks 3"), "{text}");
}

#[tokio::test]
async fn wasm_filter_reads_the_peer_spiffe_id_over_mtls() {
    use rustls::pki_types::ServerName;
    let pki = super::pki::Pki::new("wasm-mtls");
    let (cert, key) = pki.server_files();
    let cfg = r#"{"properties": ["connection.uri_san_peer_certificate", "connection.mtls", "source.principal"]}"#;
    let text = yaml(upstream("a").await, "properties", &format!("'{cfg}'")).replace(
        "    filters:",
        &format!(
            "    tls: {{ cert: {}, key: {}, client_ca: {}, require_client_cert: true }}\n    filters:",
            cert.display(),
            key.display(),
            pki.dir.join("ca.pem").display()
        ),
    );
    let app = start(&text).await;
    let spiffe = "spiffe://mesh.local/ns/shop/sa/cart";
    let connector = pki.client(&[b"h2"], Some(pki.leaf("cart", &[], &[spiffe])));
    let tcp = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut s, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let resp = s.send_request(get("localhost", "/", true)).await.unwrap();
    let r = collect(resp).await;
    assert_eq!(
        r.headers["x-prop-connection.uri_san_peer_certificate"],
        spiffe
    );
    assert_eq!(r.headers["x-prop-connection.mtls"], "hex:01");
    assert_eq!(r.headers["x-prop-source.principal"], spiffe);
}

#[tokio::test]
async fn tcp_listener_runs_network_wasm_filters() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
    });
    let text = format!(
        "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    protocol: tcp\n    cluster: up\n    filters:\n      - name: l4\n        code: {}\nclusters:\n  - name: up\n    endpoints: [\"{up}\"]\n",
        wasm("l4")
    );
    let app = start(&text).await;
    let mut c = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut out = [0u8; 7];
    c.read_exact(&mut out).await.unwrap();
    assert_eq!(&out, b"l4:PING");
}

#[tokio::test]
async fn wasm_close_stream_resets_the_downstream_stream() {
    let app = start_fixture("local_reply", "{}").await;
    let tcp = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let (mut s, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let mut req = get("svc", "/", true);
    req.headers_mut()
        .insert("x-reset-stream", "1".parse().unwrap());
    assert!(
        s.send_request(req).await.is_err(),
        "expected a stream reset"
    );
    // The connection survives: the next stream on it is served.
    let r = s.send_request(get("svc", "/", true)).await.unwrap();
    assert_eq!(r.status(), 200);
}
