//! Item 2, honest responses: a response that cannot be delivered whole is never announced
//! whole. The HTTP/2 stream is reset or the HTTP/1.1 connection closed before the announced
//! end, the access log carries `TR` plus the cause's flag, and
//! `microwaf_downstream_rq_truncated_total` counts it, while other requests go on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use microwaf_proxy::app::App;
use microwaf_tests::fixtures::{self, Target};

use super::support::{fetch, log_entry, log_path, metric, proxy_yaml, raw_upstream};
use crate::proxy::harness::{addr, get, start};

/// Listener `main` (access log at `log`, the `cut_body` filter in `mode` unless `None`) in
/// front of the raw upstream, plus an admin server.
async fn proxy(log: &Path, mode: Option<&str>) -> App {
    let filter = mode.map(|m| (fixtures::wat("cut_body"), m.to_owned()));
    proxy_with(log, filter).await
}

/// [`proxy`] with any one filter: its file and its configuration text.
async fn proxy_with(log: &Path, filter: Option<(PathBuf, String)>) -> App {
    let up: SocketAddr = raw_upstream().await;
    let filters = match filter {
        Some((code, config)) => format!(
            "    filters:\n      - name: f\n        code: {}\n        config: '{config}'\n",
            code.display()
        ),
        None => String::new(),
    };
    start(&proxy_yaml(up, log, &filters)).await
}

/// Healthy requests beside a broken one all come back whole.
async fn healthy(app: &App, h2: bool) {
    for _ in 0..3 {
        let r = fetch(addr(app), h2, get("svc", "/ok", h2)).await;
        assert_eq!((r.status, r.body.unwrap().as_ref()), (200, &b"ok"[..]));
    }
}

fn flags(entry: &serde_json::Value) -> Vec<String> {
    entry["response_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

/// Fetches `path`, whose 200 must arrive with a broken body and be logged as `TR` + `cause`;
/// returns the access-log entry.
async fn assert_cut(
    proxy: SocketAddr,
    log: PathBuf,
    h2: bool,
    path: &str,
    cause: &str,
) -> serde_json::Value {
    let r = fetch(proxy, h2, get("svc", path, h2)).await;
    assert_eq!(r.status, 200, "{path} h2={h2}");
    assert!(
        r.body.is_err(),
        "{path} h2={h2}: a cut body arrived as complete: {:?}",
        r.body
    );
    let e = log_entry(&log, path).await;
    let f = flags(&e);
    assert!(f.contains(&"TR".into()) && f.contains(&cause.into()), "{e}");
    e
}

#[tokio::test]
async fn an_upstream_dying_mid_body_breaks_the_downstream_message() {
    for (tag, mode) in [("nofilter", None), ("filter", Some("pass"))] {
        let log = log_path(&format!("short-{tag}"));
        let app = proxy(&log, mode).await;
        for h2 in [false, true] {
            // 8,092 of the 100,000 announced bytes, then the upstream closes (the issue's case).
            let cut = tokio::spawn(assert_cut(addr(&app), log.clone(), h2, "/short", "UR"));
            healthy(&app, h2).await;
            let e = cut.await.unwrap();
            assert!(e["bytes_out"].as_u64().unwrap() < 100_000, "{e}");
        }
        let admin = app.admin_addr().unwrap();
        let n = metric(
            admin,
            "microwaf_downstream_rq_truncated_total",
            &[r#"cause="UR""#],
        )
        .await;
        assert_eq!(n, 2.0, "{tag}: one per cut response");
        let _ = std::fs::remove_file(&log);
    }
}

#[tokio::test]
async fn an_unterminated_chunked_upstream_body_is_never_terminated_downstream() {
    let log = log_path("unterminated");
    let app = proxy(&log, Some("pass")).await;
    for h2 in [false, true] {
        assert_cut(addr(&app), log.clone(), h2, "/unterminated", "UR").await;
        healthy(&app, h2).await;
    }
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn a_filter_failing_after_the_first_chunk_breaks_the_message() {
    let log = log_path("trap");
    let app = proxy(&log, Some("trap")).await;
    for h2 in [false, true] {
        assert_cut(addr(&app), log.clone(), h2, "/two", "FF").await;
        // The trapped VM was replaced: the next streams are served whole.
        healthy(&app, h2).await;
    }
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn a_body_grown_past_its_content_length_is_never_cut_to_fit() {
    let log = log_path("grow");
    let app = proxy(&log, Some("grow")).await;
    for h2 in [false, true] {
        // content-length 10, the filter makes it 12: hyper would write 10 and end the message.
        let e = assert_cut(addr(&app), log.clone(), h2, "/two", "FF").await;
        let reason = e["reason"].as_str().unwrap();
        assert!(reason.contains("content-length"), "{e}");
        // Without an announced length the grown body is framed by the proxy and arrives whole.
        let r = fetch(addr(&app), h2, get("svc", "/two-chunked", h2)).await;
        assert_eq!(r.body.unwrap().as_ref(), b"hello!world!");
    }
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn an_upstream_dying_while_a_filter_holds_the_body_is_a_503_not_a_silent_close() {
    let log = log_path("held");
    // The `body` fixture holds the whole response until its end, so nothing was sent yet.
    let body = fixtures::wasm("body", Target::Wasip1);
    let app = proxy_with(&log, Some((body, r#"{"response":"append"}"#.into()))).await;
    for h2 in [false, true] {
        let r = fetch(addr(&app), h2, get("svc", "/short", h2)).await;
        assert_eq!(r.status, 503, "h2={h2}");
        let text = r.body.unwrap();
        assert!(
            String::from_utf8_lossy(&text).contains("upstream"),
            "{text:?}"
        );
        let e = log_entry(&log, "/short").await;
        assert_eq!(flags(&e), ["UR"], "{e}");
        let r = fetch(addr(&app), h2, get("svc", "/ok", h2)).await;
        assert_eq!(
            (r.status, r.body.unwrap().as_ref()),
            (200, &b"ok[fixture]"[..])
        );
    }
    let _ = std::fs::remove_file(&log);
}
