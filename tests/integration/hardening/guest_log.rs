//! Item 4 (logging): a guest logging 1 MiB per request cannot make the host log it all. Each
//! message is cut to 4 KiB and the plugin gets 256 KiB of log per second; lines beyond are
//! dropped and counted, and every request is still served.

use microwaf_tests::fixtures;

use super::support::{fetch, log_path, metric, proxy_yaml};
use crate::proxy::harness::{addr, get, start, upstream};

#[tokio::test]
async fn a_guest_flooding_the_log_is_capped_and_requests_still_pass() {
    let up = upstream("a").await;
    let log = log_path("flood");
    let filters = format!(
        "    filters:\n      - name: flood\n        code: {}\n",
        fixtures::wat("log_flood").display()
    );
    let app = start(&proxy_yaml(up, &log, &filters)).await;
    let started = std::time::Instant::now();
    let mut calls = Vec::new();
    for i in 0..40 {
        let h2 = i % 2 == 1;
        calls.push(tokio::spawn(fetch(addr(&app), h2, get("svc", "/", h2))));
    }
    for c in calls {
        let r = c.await.unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.is_ok());
    }
    // 40 MiB of guest log would take far longer to write than the capped 64 KiB per request.
    let took = started.elapsed();
    let admin = app.admin_addr().unwrap();
    let dropped = metric(
        admin,
        "microwaf_wasm_log_lines_dropped_total",
        &[r#"plugin="flood""#],
    )
    .await;
    // 640 lines of 4 KiB against a 256 KiB/s budget (one second of burst): most are dropped.
    assert!(dropped >= 400.0, "dropped {dropped} in {took:?}");
    let _ = std::fs::remove_file(&log);
}
