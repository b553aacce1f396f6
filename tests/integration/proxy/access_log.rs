//! Access-log lines carry what operators need: request and response body bytes, the duration,
//! and the actions each filter took.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

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

fn log_path(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("microwaf-alog-{tag}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[tokio::test]
async fn access_log_records_bytes_both_ways_and_duration() {
    let log = log_path("bytes");
    let yaml = simple(upstream("a").await, "").replace(
        "    routes:",
        &format!("    access_log: {}\n    routes:", log.display()),
    );
    let app = start(&yaml).await;
    let req = Request::post("/sleep/150")
        .header("host", "svc")
        .body(Full::new(Bytes::from_static(b"hello world")))
        .unwrap();
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 200);
    let e = &read_log(&log, 1).await[0];
    assert_eq!(e["bytes_in"], 11, "{e}");
    assert_eq!(e["bytes_out"], r.body.len() as u64, "{e}");
    let ms = e["duration_ms"].as_f64().unwrap();
    assert!((150.0..5000.0).contains(&ms), "{e}");
    assert_eq!(e["filter_actions"], serde_json::json!([]), "{e}");
    let _ = std::fs::remove_file(log);
}

#[tokio::test]
async fn access_log_names_the_filter_that_replied() {
    let log = log_path("actions");
    let code = fixtures::wasm("local_reply", Target::Wasip1);
    let yaml = simple(upstream("a").await, "").replace(
        "    routes:",
        &format!(
            "    access_log: {}\n    filters:\n      - name: guard\n        code: {}\n        config: {{}}\n    routes:",
            log.display(),
            code.display()
        ),
    );
    let app = start(&yaml).await;
    let mut req = get("svc", "/", false);
    req.headers_mut()
        .insert("x-local-reply", "403".parse().unwrap());
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 403);
    let ok = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(ok.status, 200);
    let lines = read_log(&log, 2).await;
    let (blocked, passed) = (&lines[0], &lines[1]);
    assert_eq!(blocked["status"], 403);
    assert_eq!(
        blocked["filter_actions"],
        serde_json::json!(["guard:local_reply"]),
        "{blocked}"
    );
    assert_eq!(blocked["bytes_out"], r.body.len() as u64, "{blocked}");
    assert_eq!(passed["filter_actions"], serde_json::json!([]), "{passed}");
    let _ = std::fs::remove_file(log);
}
