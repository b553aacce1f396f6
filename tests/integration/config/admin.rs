//! The admin server over real HTTP on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use microwaf_proxy::admin::{self, AdminState, FilterMetric, FilterMetricValue, Readiness};
use microwaf_proxy::config::{self, Config, Pattern, StatsTag};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

/// One HTTP/1.1 request on a fresh connection: (status, content-type, body).
pub(super) async fn call(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "admin")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

fn example_config() -> Config {
    config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/native.yaml")).unwrap()
}

#[tokio::test]
async fn readiness_follows_the_flag_and_health_is_always_ok() {
    let (_tx, rx) = watch::channel(Arc::new(example_config()));
    let ready = Readiness::default();
    let handle = admin::spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState::new(rx, ready.clone()),
    )
    .unwrap();
    let addr = handle.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(call(addr, "GET", "/ready").await.0, 503);
    assert_eq!(call(addr, "GET", "/healthz").await.0, 200);
    ready.set(true);
    assert_eq!(
        call(addr, "GET", "/ready").await,
        (200, "text/plain; charset=utf-8".into(), "ready\n".into())
    );
    assert_eq!(call(addr, "GET", "/nope").await.0, 404);
    assert_eq!(call(addr, "DELETE", "/metrics").await.0, 405);
    handle.shutdown();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn metrics_combine_registry_and_tagged_filter_metrics() {
    let mut cfg = example_config();
    cfg.stats_tags = vec![StatsTag {
        tag_name: "value".into(),
        regex: Pattern::search("(_value=([a-z]+))").unwrap(),
    }];
    let (tx, rx) = watch::channel(Arc::new(cfg.clone()));
    let mut registry = Registry::default();
    let requests: Counter = Counter::default();
    registry.register("downstream_rq", "Downstream requests", requests.clone());
    requests.inc_by(7);
    let scrapes = Arc::new(AtomicU64::new(0));
    let counted = scrapes.clone();
    let hook = Arc::new(move || {
        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
        vec![
            FilterMetric {
                name: "requests_total".into(),
                value: FilterMetricValue::Counter(n),
            },
            FilterMetric {
                name: "reqs_value=foo".into(),
                value: FilterMetricValue::Counter(1),
            },
            FilterMetric {
                name: "reqs_value=bar".into(),
                value: FilterMetricValue::Gauge(2),
            },
        ]
    });
    let state = AdminState::new(rx, Readiness::default())
        .with_registry(Arc::new(registry))
        .with_filter_metrics(hook);
    let handle = admin::spawn("127.0.0.1:0".parse().unwrap(), state).unwrap();
    let (status, ctype, body) = call(handle.local_addr(), "GET", "/metrics").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    assert!(body.contains("downstream_rq_total 7\n"), "{body}");
    assert!(
        body.contains("# TYPE requests_total counter\nrequests_total 1\n"),
        "{body}"
    );
    assert!(!body.contains("requests_total_total"), "{body}");
    // The gauge lands in the counter family `reqs`: different types cannot share it.
    assert!(
        body.contains("# TYPE reqs counter\nreqs{value=\"foo\"} 1\n"),
        "{body}"
    );
    assert!(!body.contains("value=\"bar\""), "{body}");
    // The hook is called per scrape, and a reload's stats_tags apply to the next scrape.
    cfg.stats_tags.clear();
    tx.send(Arc::new(cfg)).unwrap();
    let (_, _, body) = call(handle.local_addr(), "GET", "/stats/prometheus").await;
    assert!(body.contains("requests_total 2\n"), "{body}");
    assert!(body.contains("reqs_value_foo 1\n"), "{body}");
    assert_eq!(scrapes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn config_dump_is_json_without_secrets() {
    let dir = std::env::temp_dir().join(format!("microwaf-admin-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), "placeholder").unwrap();
    let yaml = r#"
static_resources:
  listeners:
  - address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            tls_certificates: [{certificate_chain: {filename: cert.pem}, private_key: {inline_string: "-----BEGIN PRIVATE KEY-----TOPSECRET"}}]
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c}
  clusters:
  - name: c
    connect_timeout: 0.25s
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]}
"#;
    let cfg = config::parse(yaml, "tls.yaml", &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let (_tx, rx) = watch::channel(Arc::new(cfg));
    let handle = admin::spawn(
        "127.0.0.1:0".parse().unwrap(),
        AdminState::new(rx, Readiness::default()),
    )
    .unwrap();
    let (status, ctype, body) = call(handle.local_addr(), "GET", "/config_dump").await;
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    assert!(!body.contains("TOPSECRET"), "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["listeners"][0]["tls"]["key"]["inline"], "[redacted]");
    assert_eq!(json["clusters"][0]["connect_timeout"], "0.25s");
}

#[tokio::test]
async fn logging_level_changes_through_the_hook() {
    let (_tx, rx) = watch::channel(Arc::new(example_config()));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let hook: admin::LogLevelFn = Arc::new(move |level: &str| {
        if level == "bogus" {
            return Err("invalid level \"bogus\"".into());
        }
        record.lock().unwrap().push(level.to_owned());
        Ok(())
    });
    let state = AdminState::new(rx, Readiness::default()).with_log_level(hook);
    let handle = admin::spawn("127.0.0.1:0".parse().unwrap(), state).unwrap();
    let addr = handle.local_addr();
    assert_eq!(call(addr, "POST", "/logging?level=debug").await.0, 200);
    assert_eq!(
        call(addr, "POST", "/logging?level=info%2Cmicrowaf_proxy%3Dtrace")
            .await
            .0,
        200
    );
    assert_eq!(call(addr, "POST", "/logging?level=bogus").await.0, 400);
    assert_eq!(call(addr, "POST", "/logging").await.0, 400);
    assert_eq!(call(addr, "GET", "/logging?level=debug").await.0, 405);
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["debug", "info,microwaf_proxy=trace"]
    );
}

#[test]
fn bind_conflict_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (_tx, rx) = watch::channel(Arc::new(example_config()));
    let err = admin::spawn(
        taken.local_addr().unwrap(),
        AdminState::new(rx, Readiness::default()),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .starts_with("admin: cannot listen on 127.0.0.1:"),
        "{err}"
    );
}

/// The proxy keeps its registry behind a lock and its config wherever it likes; metrics
/// registered after the server started show up on the next scrape.
#[tokio::test]
async fn closures_over_locked_state() {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let config = Arc::new(Mutex::new(Arc::new(example_config())));
    let (reg, cfg) = (registry.clone(), config.clone());
    let state = AdminState::from_fn(
        Arc::new(move || cfg.lock().unwrap().clone()),
        Readiness::default(),
    )
    .with_registry_fn(Arc::new(move |out: &mut String| {
        prometheus_client::encoding::text::encode(out, &reg.lock().unwrap())
    }));
    let handle = admin::spawn("127.0.0.1:0".parse().unwrap(), state).unwrap();
    let late: Counter = Counter::default();
    late.inc();
    registry
        .lock()
        .unwrap()
        .register("late", "Registered after start", late);
    let (_, _, body) = call(handle.local_addr(), "GET", "/metrics").await;
    assert!(body.contains("late_total 1\n"), "{body}");
    let mut changed = (*config.lock().unwrap().clone()).clone();
    changed.admin = Some("127.0.0.1:1".parse().unwrap());
    *config.lock().unwrap() = Arc::new(changed);
    let (_, _, dump) = call(handle.local_addr(), "GET", "/config_dump").await;
    let json: serde_json::Value = serde_json::from_str(&dump).unwrap();
    assert_eq!(json["admin"], "127.0.0.1:1");
}
