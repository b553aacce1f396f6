//! Operations: reload under load with zero failed requests, rejected bad reloads, drain.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use microwaf_proxy::config;

use super::harness::*;

fn parse(yaml: &str) -> config::Config {
    config::parse(yaml, "test.yaml", std::path::Path::new(".")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_fails_no_request_and_switches_new_connections() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let app = Arc::new(start(&simple(a, "")).await);
    let target = addr(&app);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (stop, ok) = (stop.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = send(target, false, get("svc", "/name", false)).await;
                if r.status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.push((r.status, r.text()));
                }
            }
            failures
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.reload(parse(&simple(b, ""))).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        assert_eq!(t.await.unwrap(), vec![], "failed requests during reload");
    }
    assert!(ok.load(Ordering::Relaxed) > 20);
    assert_eq!(
        send(target, false, get("svc", "/name", false)).await.text(),
        "b"
    );
}

#[tokio::test]
async fn bad_reload_is_rejected_and_the_old_config_keeps_serving() {
    let a = upstream("a").await;
    let app = start(&simple(a, "")).await;
    let bad = simple(a, "").replace(
        "    routes:",
        "    tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem }\n    routes:",
    );
    // The loader checks files exist, so a missing file is a config error; a file that exists but
    // holds no certificate is a build error. Either way nothing changes.
    match config::parse(&bad, "test.yaml", std::path::Path::new(".")) {
        Err(e) => assert!(e.to_string().contains("cert"), "{e}"),
        Ok(cfg) => assert!(app.reload(cfg).is_err()),
    }
    let empty = std::env::temp_dir().join(format!("microwaf-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "not a certificate").unwrap();
    let bad = simple(a, "").replace(
        "    routes:",
        &format!(
            "    tls: {{ cert: {0}, key: {0} }}\n    routes:",
            empty.display()
        ),
    );
    let err = app.reload(parse(&bad)).unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
    assert_eq!(
        send(addr(&app), false, get("svc", "/name", false))
            .await
            .text(),
        "a"
    );
    let _ = std::fs::remove_file(empty);
}

#[tokio::test]
async fn drain_finishes_in_flight_requests_and_stops_accepting() {
    let app = Arc::new(start(&simple(upstream("a").await, "")).await);
    let target = addr(&app);
    let slow =
        tokio::spawn(async move { send(target, false, get("svc", "/sleep/300", false)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let drained = {
        let app = app.clone();
        tokio::spawn(async move { app.drain(Duration::from_secs(5)).await })
    };
    let r = slow.await.unwrap();
    assert_eq!(r.status, 200, "in-flight request finished");
    assert!(
        drained.await.unwrap(),
        "drain completed before its deadline"
    );
    assert!(tokio::net::TcpStream::connect(target).await.is_err());
}
