//! The admin server of an in-process [`App`]: runtime log level changes and the metrics the
//! proxy registers.

use microwaf_proxy::admin;

use super::admin::call;
use crate::proxy::harness::{addr, get, send, simple, start, upstream};

#[tokio::test]
async fn post_logging_changes_the_global_filter_of_a_running_app() {
    // What `serve` and `demo` do at startup (idempotent within the process).
    admin::init_reloadable_logging("info").unwrap();
    let up = upstream("a").await;
    let yaml = format!("admin: 127.0.0.1:0\n{}", simple(up, ""));
    let app = start(&yaml).await;
    let admin = app.admin_addr().expect("admin server");
    assert_eq!(
        send(addr(&app), false, get("svc", "/", false)).await.status,
        200
    );

    let (status, _, body) = call(admin, "POST", "/logging?level=error").await;
    assert_eq!(status, 200, "{body}");
    assert!(!tracing::enabled!(tracing::Level::WARN), "error only");
    assert!(tracing::enabled!(tracing::Level::ERROR));

    let (status, _, body) = call(admin, "POST", "/logging?level=info,%3D%5B").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        !tracing::enabled!(tracing::Level::WARN),
        "a bad filter keeps the old one"
    );

    let (status, _, _) = call(admin, "POST", "/logging?level=info").await;
    assert_eq!(status, 200);
    assert!(tracing::enabled!(tracing::Level::INFO));
}

/// The value of the first sample line starting with `series` (name plus labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_show_upstream_failures_latency_vm_replacements_and_the_wasm_pool() {
    let up = upstream("a").await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let hostile = microwaf_tests::fixtures::wat("hostile");
    let yaml = format!(
        r#"
admin: 127.0.0.1:0
listeners:
  - name: main
    address: 127.0.0.1:0
    filters:
      - name: hostile
        code: {}
        config: "trap on_request_headers once"
    routes:
      - prefix: /dead
        cluster: dead
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
  - name: dead
    endpoints: ["{dead}"]
    connect_timeout: 1s
"#,
        hostile.display()
    );
    let app = start(&yaml).await;
    let a = addr(&app);
    // 1: the VM traps (fail closed); 2: a fresh VM serves; 3: the upstream is down.
    assert_eq!(send(a, false, get("svc", "/", false)).await.status, 503);
    assert_eq!(send(a, false, get("svc", "/", false)).await.status, 200);
    assert_eq!(send(a, false, get("svc", "/dead", false)).await.status, 503);
    let (status, _, text) = call(app.admin_addr().unwrap(), "GET", "/metrics").await;
    assert_eq!(status, 200);
    let get = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        get(r#"microwaf_upstream_rq_failures_total{cluster="dead",reason="connect_failure"}"#),
        1.0
    );
    assert_eq!(
        get(r#"microwaf_upstream_rq_total{cluster="up",code_class="2xx"}"#),
        1.0
    );
    assert_eq!(
        get(r#"microwaf_upstream_rq_duration_seconds_count{cluster="up"}"#),
        1.0
    );
    assert_eq!(
        get(r#"microwaf_upstream_rq_duration_seconds_bucket{le="+Inf",cluster="up"}"#),
        1.0
    );
    assert_eq!(
        get(r#"microwaf_wasm_vm_replacements_total{plugin="hostile"}"#),
        1.0
    );
    assert_eq!(get("microwaf_wasm_pool_instance_slots"), 128.0);
    assert!(get("microwaf_wasm_pool_instances") >= 1.0, "{text}");
    assert!(get("microwaf_wasm_pool_memories") >= 1.0, "{text}");
}
