//! Plain-TCP proxying: HTTP/1.1 and HTTP/2 both sides, gRPC trailers, routing, forwarding
//! headers, failures with Envoy's statuses, timeouts, retries, circuit breaking, LB.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::harness::*;

#[tokio::test]
async fn http1_request_is_proxied_with_forwarding_headers() {
    let up = upstream("a").await;
    let app = start(&simple(up, "")).await;
    let r = send(addr(&app), false, get("svc.local", "/hello?x=1", false)).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["uri"], "/hello?x=1");
    assert_eq!(j["headers"]["host"], "svc.local");
    assert_eq!(j["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(j["headers"]["x-forwarded-proto"], "http");
    assert_eq!(j["headers"]["x-request-id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn incoming_request_id_is_kept() {
    let up = upstream("a").await;
    let app = start(&simple(up, "")).await;
    let mut req = get("svc", "/", false);
    req.headers_mut()
        .insert("x-request-id", "abc-123".parse().unwrap());
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.json()["headers"]["x-request-id"], "abc-123");
}

#[tokio::test]
async fn h2c_downstream_posts_a_body_to_an_http1_upstream() {
    let up = upstream("a").await;
    let app = start(&simple(up, "")).await;
    let req = Request::post("http://svc.local/submit")
        .body(Full::new(Bytes::from_static(b"hello body")))
        .unwrap();
    let r = send(addr(&app), true, req).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["body"], "hello body");
    assert_eq!(j["version"], "HTTP/1.1");
    assert_eq!(j["headers"]["host"], "svc.local");
}

#[tokio::test]
async fn http2_upstream_sees_authority_and_grpc_trailers_come_back() {
    let app = start(&with_cluster_opts(upstream("a").await, "http2: true")).await;
    let r = send(addr(&app), true, get("svc.local", "/", true)).await;
    let j = r.json();
    assert_eq!(j["version"], "HTTP/2.0");
    assert_eq!(j["uri"], "http://svc.local/");

    let req = Request::post("http://svc.local/trailers")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(b"\0\0\0\0\x03abc")))
        .unwrap();
    let r = send(addr(&app), true, req).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"\0\0\0\0\x03abc");
    assert_eq!(r.trailers.expect("trailers")["grpc-status"], "0");
}

#[tokio::test]
async fn direct_response_and_unknown_route() {
    let up = upstream("a").await;
    let yaml = format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    virtual_hosts:
      - domains: ["api.example.com"]
        routes:
          - path: /health
            direct: {{ status: 200, body: "ok" }}
          - prefix: /
            cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
"#
    );
    let app = start(&yaml).await;
    let r = send(addr(&app), false, get("api.example.com", "/health", false)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(r.headers["content-type"], "text/plain");
    let r = send(addr(&app), false, get("other.example.com", "/", false)).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn upstream_down_is_503_with_the_reason_in_the_access_log() {
    let dead = dead_addr();
    let log = std::env::temp_dir().join(format!("microwaf-al-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let yaml = simple(dead, "").replace(
        "    routes:",
        &format!("    access_log: {}\n    routes:", log.display()),
    );
    let app = start(&yaml).await;
    let r = send(addr(&app), false, get("svc", "/x", false)).await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("upstream connect error"), "{}", r.text());
    // The log line is written when the response body is dropped.
    let mut line = String::new();
    for _ in 0..50 {
        line = std::fs::read_to_string(&log).unwrap_or_default();
        if !line.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let j: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(j["status"], 503);
    assert_eq!(j["response_flags"][0], "UF");
    assert!(
        j["reason"].as_str().unwrap().contains(&dead.to_string()),
        "{j}"
    );
    assert_eq!(j["path"], "/x");
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn route_timeout_is_504() {
    let up = upstream("a").await;
    let app = start(&simple(
        up,
        "      - prefix: /sleep\n        cluster: up\n        timeout: 100ms\n",
    ))
    .await;
    let r = send(addr(&app), false, get("svc", "/sleep/2000", false)).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), "upstream request timeout");
}

#[tokio::test]
async fn retries_skip_a_dead_endpoint_and_rewrite_prefix() {
    let up = upstream("live").await;
    let dead = dead_addr();
    let yaml = format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    routes:
      - prefix: /api/
        cluster: up
        prefix_rewrite: /
        retry: {{ on: [connect-failure], num_retries: 2 }}
clusters:
  - name: up
    endpoints: ["{dead}", "{up}"]
    connect_timeout: 1s
"#
    );
    let app = start(&yaml).await;
    for _ in 0..4 {
        let r = send(addr(&app), false, get("svc", "/api/users", false)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["uri"], "/users");
    }
}

#[tokio::test]
async fn round_robin_spreads_requests() {
    let a = upstream("a").await;
    let b = upstream("b").await;
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
    endpoints: ["{a}", "{b}"]
"#
    );
    let app = start(&yaml).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        seen.insert(
            send(addr(&app), false, get("svc", "/name", false))
                .await
                .text(),
        );
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[tokio::test]
async fn circuit_breaker_overflow_is_503() {
    let opts = "circuit_breakers: { max_requests: 1 }";
    let app = start(&with_cluster_opts(upstream("a").await, opts)).await;
    let a = addr(&app);
    let slow = tokio::spawn(async move { send(a, false, get("svc", "/sleep/500", false)).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let r = send(a, false, get("svc", "/", false)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "upstream connect error or overflow");
    assert_eq!(slow.await.unwrap().status, 200);
}

#[tokio::test]
async fn keep_alive_reuses_upstream_connections() {
    let up = upstream("a").await;
    let app = start(&simple(up, "")).await;
    for _ in 0..5 {
        assert_eq!(
            send(addr(&app), false, get("svc", "/", false)).await.status,
            200
        );
    }
    let state = app.proxy().state();
    let c = &state.clusters["up"];
    assert_eq!(c.connections.get(), 1, "one pooled upstream connection");
}
