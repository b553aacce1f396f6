//! Thread-per-core data plane: with two worker threads each listener is bound once per worker
//! (`SO_REUSEPORT`), connections are spread over both workers and served there, wasm filters
//! get one VM per worker, and reload (listeners added and removed) and drain still work.

use std::net::SocketAddr;
use std::time::Duration;

use microwaf_proxy::app::App;
use microwaf_proxy::config;
use microwaf_proxy::worker::Workers;
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

fn parse(yaml: &str) -> config::Config {
    config::parse(yaml, "test.yaml", std::path::Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

async fn start_workers(yaml: &str, n: usize) -> App {
    App::start_on(parse(yaml), Workers::spawn(n).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends `n` requests, each on a fresh connection (so the kernel picks a socket each time),
/// half of them over HTTP/2.
async fn spread(addr: SocketAddr, n: usize) {
    for i in 0..n {
        let h2 = i % 2 == 1;
        let r = send(addr, h2, get("svc", "/", h2)).await;
        assert_eq!(r.status, 200, "request {i}");
    }
}

fn extra_listener(yaml: &str, name: &str, at: SocketAddr) -> String {
    yaml.replace(
        "clusters:",
        &format!(
            "  - name: {name}\n    address: {at}\n    routes:\n      - prefix: /\n        cluster: up\nclusters:"
        ),
    )
}

#[tokio::test]
async fn two_workers_serve_reload_and_drain() {
    let up = upstream("a").await;
    let base = simple(up, "").replace("listeners:", "admin: 127.0.0.1:0\nlisteners:");
    let app = start_workers(&base, 2).await;
    let main = addr(&app);

    // Connections land on both workers (all 48 on one: probability 2^-47).
    spread(main, 48).await;
    let per = app.proxy().accepted_per_worker();
    assert_eq!(per.len(), 2);
    assert_eq!(per.iter().sum::<u64>(), 48, "{per:?}");
    assert!(per.iter().all(|n| *n > 0), "one worker idle: {per:?}");

    // The per-worker counts are on /metrics.
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &app.registry).unwrap();
    for (w, n) in per.iter().enumerate() {
        let line = format!("microwaf_worker_downstream_cx_total{{worker=\"{w}\"}} {n}");
        assert!(text.contains(&line), "missing {line:?}");
    }

    // Reload adds a listener: bound on both workers, serving at once.
    let at = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    app.reload(parse(&extra_listener(&base, "extra", at)))
        .unwrap();
    assert_eq!(app.proxy().addr("extra"), Some(at));
    spread(at, 32).await;
    let after = app.proxy().accepted_per_worker();
    assert!(
        after[0] > per[0] && after[1] > per[1],
        "{per:?} -> {after:?}"
    );

    // Reload removes it: every worker's socket closes.
    app.reload(parse(&base)).unwrap();
    assert_eq!(app.proxy().addr("extra"), None);
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(at).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "removed listener still accepts");

    // Drain: a request in flight finishes, then nothing accepts.
    let slow =
        tokio::spawn(async move { send(main, false, get("svc", "/sleep/300", false)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(app.drain(Duration::from_secs(5)).await, "drain timed out");
    assert_eq!(slow.await.unwrap().status, 200, "in-flight request drained");
    assert!(
        tokio::net::TcpStream::connect(main).await.is_err(),
        "drained listener still accepts"
    );
}

#[tokio::test]
async fn a_filter_gets_one_vm_per_worker() {
    let up = upstream("a").await;
    let wasm = fixtures::wasm("headers", Target::Wasip1)
        .display()
        .to_string();
    let yaml = simple(up, "").replace(
        "    routes:",
        &format!("    filters:\n      - name: headers\n        code: {wasm}\n    routes:"),
    );
    let app = start_workers(&yaml, 2).await;
    let state = app.proxy().state();
    let health = state.plugins[0].wasm_health().expect("a wasm plugin");
    assert_eq!(health.live_vms, 2, "one VM per worker");
    for i in 0..16 {
        let h2 = i % 2 == 0;
        let r = send(addr(&app), h2, get("svc", "/h", h2)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-fixture-response"], "1");
    }
    let per = app.proxy().accepted_per_worker();
    assert_eq!(per.iter().sum::<u64>(), 16, "{per:?}");
}
